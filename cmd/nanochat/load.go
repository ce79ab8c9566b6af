package main

import (
	"fmt"
	"io"
	"os"

	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/home"
)

// openLocal resolves and loads the checkpoint named by the global flags (or
// ref, "source[/tag[/step]]" or a path), reporting progress on w.
func (g *globals) openLocal(ref string, w io.Writer) (*local.Model, error) {
	opts, err := g.loadOptions()
	if err != nil {
		return nil, err
	}
	var ck home.Checkpoint
	if ref != "" {
		ck, err = home.Parse(g.homeDir(), ref)
	} else {
		ck, err = g.resolve()
	}
	if err != nil {
		return nil, err
	}
	hd := g.home
	if ref == "" && hd == "" {
		hd = home.Dir()
	}
	return local.Open(ck, local.OpenOptions{Home: hd, Model: opts, Progress: func(s string) {
		if w != nil {
			fmt.Fprintln(w, "nanochat: "+s)
		}
	}})
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
