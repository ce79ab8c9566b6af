package hf

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/golden"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

var goldenHome = filepath.Join("..", "..", "testdata", "golden", "home")

func goldenCase(t *testing.T, variant string) golden.Case {
	t.Helper()
	cases, err := golden.Cases(goldenHome)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.Variant == variant {
			return c
		}
	}
	t.Fatalf("no golden %s", variant)
	return golden.Case{}
}

// logits runs tokens through m and returns every position's logits.
func logits(t *testing.T, m *model.Model, tokens []int) []float32 {
	t.Helper()
	c, err := m.NewCache(1, len(tokens))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(tokens)*m.Config.VocabSize)
	if err := m.Forward(c, []model.Chunk{{Row: 0, Tokens: tokens}}, out, true); err != nil {
		t.Fatal(err)
	}
	return out
}

func exportGolden(t *testing.T, variant string) (golden.Case, string) {
	t.Helper()
	g := goldenCase(t, variant)
	tok, err := tokenizer.Load(filepath.Join(goldenHome, "tokenizer", "tokenizer.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	files, err := Export(g.Path(goldenHome), model.Overrides{}, tok, out, Provenance{Source: g.Source, Tag: g.ModelTag})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("wrote %v, want %v", files, want)
	}
	return g, out
}

// TestExportRoundTrip exports the A0 and A1 goldens, loads the directories
// back and checks they compute exactly what the originals compute with
// fp32 cos/sin (as transformers does), and stay within 5e-3 of upstream's
// logits (bf16 cos/sin).
func TestExportRoundTrip(t *testing.T) {
	for _, variant := range []string{"a0_oct2025", "a_dec2025"} {
		t.Run(variant, func(t *testing.T) {
			g, dir := exportGolden(t, variant)
			fp32 := false
			orig, err := model.Load(g.Path(goldenHome), model.Options{Precision: model.Exact, Overrides: model.Overrides{RoPEBF16: &fp32}})
			if err != nil {
				t.Fatal(err)
			}
			defer orig.Close()
			hf, err := model.Load(dir, model.Options{Precision: model.Exact})
			if err != nil {
				t.Fatal(err)
			}
			defer hf.Close()
			if hf.Config.VocabSize != orig.Config.VocabSize || hf.Step() != g.Step {
				t.Fatalf("export: vocab %d step %d, want %d and %d", hf.Config.VocabSize, hf.Step(), orig.Config.VocabSize, g.Step)
			}
			if hf.Arch.PaddedVocab != hf.Config.VocabSize {
				t.Errorf("export keeps %d embedding rows, want the %d of the vocabulary", hf.Arch.PaddedVocab, hf.Config.VocabSize)
			}
			tokens := g.Tokens
			a, b := logits(t, orig, tokens), logits(t, hf, tokens)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("logit %d (position %d): export %g, original %g", i, i/orig.Config.VocabSize, b[i], a[i])
				}
			}
			V := hf.Config.VocabSize
			worst := 0.0
			for pos, row := range g.LogitsRows {
				var p int
				if _, err := fmt.Sscan(pos, &p); err != nil || p >= len(tokens) {
					continue
				}
				for j, want := range row {
					worst = math.Max(worst, math.Abs(float64(b[p*V+j])-want))
				}
			}
			t.Logf("export vs upstream: max abs diff %g", worst)
			if worst > 5e-3 {
				t.Errorf("export vs upstream's logits: max |Δ| %g, want ≤ 5e-3", worst)
			}
		})
	}
}

func TestExportRefusesLaterGenerations(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join(goldenHome, "tokenizer", "tokenizer.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"chatsft_checkpoints/d6/model_000650.pt": "value embeddings",
		"base_checkpoints/d6/model_001000.pt":    "smear and backout",
		"mid_checkpoints/d4/model_000500.pt":     "resid/x0 lambdas",
	} {
		out := t.TempDir()
		_, err := Export(filepath.Join(goldenHome, path), model.Overrides{}, tok, out, Provenance{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "transformers' NanoChat") {
			t.Errorf("export %s: %v, want a refusal naming %q", path, err, want)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("export %s: a refused export wrote %d files", path, len(entries))
		}
	}
}
