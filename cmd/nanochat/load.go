package main

import (
	"fmt"
	"io"
	"os"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/llm/remote"
	"github.com/nanochat-go/nanochat/model"
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
	if w != nil {
		fmt.Fprintln(w, deviceLine(g.dev, g.devWhy))
	}
	return local.Open(ck, local.OpenOptions{Home: hd, Model: opts, Backend: g.backend, Progress: func(s string) {
		if w != nil {
			fmt.Fprintln(w, "nanochat: "+s)
		}
	}})
}

// backend puts a loaded model on the resolved --device. When a GPU that
// --device auto chose fails and the model falls back to the CPU, g.dev
// says so from then on (bench reports the device it ran on).
func (g *globals) backend(m *model.Model, cpuName string) (engine.Backend, error) {
	b, used, err := openDevice(m, g.dev, cpuName, os.Stderr)
	if err == nil && used != g.dev {
		g.dev, g.devWhy = used, fmt.Sprintf("fell back from %s", g.dev)
	}
	return b, err
}

// openModel is openLocal, or the --remote server when one is given.
func (g *globals) openModel(ref string, w io.Writer) (llm.Model, error) {
	if g.remote == "" {
		return g.openLocal(ref, w)
	}
	key := g.apiKey
	if key == "" {
		key = os.Getenv("NANOCHAT_API_KEY")
	}
	m, err := remote.Open(remote.Options{URL: g.remote, APIKey: key, Model: g.model, API: g.remoteAPI})
	if err != nil {
		return nil, err
	}
	if w != nil {
		fmt.Fprintf(w, "nanochat: using %s on %s\n", m.Info().Name, m.Info().Device)
	}
	return m, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
