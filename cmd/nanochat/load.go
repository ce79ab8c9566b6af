package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

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
		ck, err = parseCheckpoint(g.homeDir(), ref)
	} else {
		ck, err = g.resolve()
	}
	if err != nil {
		return nil, err
	}
	hd := g.home
	if ref == "" && hd == "" && g.checkpoint == "" {
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
		// The name and device are the server's words.
		fmt.Fprintf(w, "nanochat: using %s on %s\n", visible(w, m.Info().Name), visible(w, m.Info().Device))
	}
	return m, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// resolveCheckpoint is home.Resolve that, when the tag or the source asked
// for is not in the home, names what is: "--tag d9" lists the tags.
func resolveCheckpoint(dir, source, tag string, step int) (home.Checkpoint, error) {
	ck, err := home.Resolve(dir, source, tag, step)
	if err == nil {
		return ck, nil
	}
	sdir, derr := home.SourceDir(source)
	cks, serr := home.Scan(dir)
	if derr != nil || serr != nil || len(cks) == 0 {
		return ck, err
	}
	var tags, all []string
	steps := map[string][]string{}
	for _, c := range cks {
		name := c.Source + "/" + c.Tag
		if _, seen := steps[name]; !seen {
			all = append(all, name)
			if sourceDir, _ := home.SourceDir(c.Source); sourceDir == sdir {
				tags = append(tags, c.Tag)
			}
		}
		steps[name] = append(steps[name], strconv.Itoa(c.Step))
	}
	src := strings.TrimSuffix(strings.TrimPrefix(sdir, "chat"), "_checkpoints")
	switch {
	case len(tags) == 0:
		return ck, fmt.Errorf("%w; the home has %s", err, strings.Join(all, ", "))
	case tag != "" && !slices.Contains(tags, tag):
		have := make([]string, len(tags))
		for i, t := range tags {
			have[i] = fmt.Sprintf("%s (step %s)", t, strings.Join(steps[src+"/"+t], ", "))
		}
		return ck, fmt.Errorf("no tag %q for source %s in %s: its tags are %s", tag, src, dir, strings.Join(have, ", "))
	}
	return ck, err
}

// parseCheckpoint is home.Parse, naming what the home has when a
// "source/tag[/step]" reference is not there.
func parseCheckpoint(dir, ref string) (home.Checkpoint, error) {
	parts := strings.Split(ref, "/")
	if strings.HasSuffix(ref, ".pt") || len(parts) > 3 {
		return home.Parse(dir, ref)
	}
	ck, err := home.Parse(dir, ref)
	if err != nil && len(parts) >= 2 {
		if _, rerr := resolveCheckpoint(dir, parts[0], parts[1], -1); rerr != nil {
			return ck, rerr
		}
	}
	return ck, err
}
