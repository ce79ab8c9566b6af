package engine_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/golden"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// The engine's greedy KV-cache generation equals upstream Engine.generate at
// temperature 0, up to the first near-tie.
func TestGoldenGreedy(t *testing.T) {
	dir := golden.Dir(filepath.Join("..", "testdata", "golden", "home"))
	cases, err := golden.Cases(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer", "tokenizer.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	ct := tok.ChatTokens()
	for _, g := range cases {
		t.Run(g.Variant, func(t *testing.T) {
			var ov model.Overrides
			if js := g.OverrideJSON(); js != "" {
				dec := json.NewDecoder(strings.NewReader(js))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&ov); err != nil {
					t.Fatalf("override %s: %v", js, err)
				}
			}
			m, err := model.Load(g.Path(dir), model.Options{Precision: model.Exact, Overrides: ov})
			if err != nil {
				t.Fatal(err)
			}
			b := engine.CPU(m, "cpu")
			defer b.Close()
			e, err := engine.New(b, engine.Options{PrefillChunk: 100, Specials: engine.Specials{
				BOS: ct.BOS, AssistantEnd: ct.AssistantEnd, PythonStart: -1, PythonEnd: -1, OutputStart: -1, OutputEnd: -1}})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			var got []int
			_, err = e.Generate(context.Background(), engine.Request{Prompt: g.Tokens[:g.PromptLen], MaxTokens: len(g.Greedy)},
				func(col []engine.Token) error { got = append(got, col[0].ID); return nil })
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range g.Greedy {
				if g.Margins[i] < 1e-3 {
					return
				}
				if i >= len(got) || got[i] != want {
					t.Fatalf("step %d: got %v, want %v", i, got, g.Greedy)
				}
			}
			if len(got) != len(g.Greedy) {
				t.Fatalf("got %d tokens, want %d", len(got), len(g.Greedy))
			}
		})
	}
}
