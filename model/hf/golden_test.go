package hf

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nanochat-go/nanochat/model"
)

// transformersGolden is testdata/hf/transformers_<variant>.json, written by
// testdata/hf/gen_golden.py: transformers' NanoChatForCausalLM run on our
// export of a golden checkpoint.
type transformersGolden struct {
	Transformers string               `json:"transformers"`
	Files        map[string]string    `json:"files"` // name → sha256 of the export it ran
	LogitsRows   map[string][]float64 `json:"logits_rows"`
}

func readTransformersGolden(t *testing.T, variant string) transformersGolden {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "hf", "transformers_"+variant+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var g transformersGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestTransformersGolden checks that our export is still byte for byte
// the one transformers ran, that transformers' logits are within 5e-3 of
// upstream's (fp32 cos/sin against upstream's bf16-rounded ones alone moves
// them by 2–3e-3), and that the export loaded here computes what
// transformers computed.
func TestTransformersGolden(t *testing.T) {
	for _, variant := range []string{"a0_oct2025", "a_dec2025"} {
		t.Run(variant, func(t *testing.T) {
			tg := readTransformersGolden(t, variant)
			g, dir := exportGolden(t, variant)
			for name, want := range tg.Files {
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(data)
				if got := hex.EncodeToString(sum[:]); got != want {
					t.Errorf("export %s: sha256 %s, the golden's export had %s (regenerate with testdata/hf/gen_golden.py if the change is meant)", name, got, want)
				}
			}
			m, err := model.Load(dir, model.Options{Precision: model.Exact})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ours := logits(t, m, g.Tokens)
			V := m.Config.VocabSize
			var vsUpstream, vsOurs float64
			for pos, row := range tg.LogitsRows {
				p, err := strconv.Atoi(pos)
				if err != nil {
					t.Fatal(err)
				}
				for j, x := range row {
					vsUpstream = math.Max(vsUpstream, math.Abs(x-g.LogitsRows[pos][j]))
					vsOurs = math.Max(vsOurs, math.Abs(x-float64(ours[p*V+j])))
				}
			}
			t.Logf("transformers %s: max |Δ| vs upstream %.2g, vs this export in Go %.2g", tg.Transformers, vsUpstream, vsOurs)
			if vsUpstream > 5e-3 {
				t.Errorf("transformers vs upstream: max |Δ| %g, want ≤ 5e-3", vsUpstream)
			}
			if vsOurs > 1e-4 {
				t.Errorf("transformers vs our Go loader on the same export: max |Δ| %g, want ≤ 1e-4", vsOurs)
			}
		})
	}
}

// TestLoadSavePretrained loads the directory transformers' save_pretrained
// wrote (testdata/hf/saved_a0: its config.json, model.safetensors and
// tokenizer.json, bytes we did not write) and checks it computes what the
// original A0 checkpoint computes with fp32 cos/sin.
func TestLoadSavePretrained(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "hf", "saved_a0")
	m, err := model.Load(dir, model.Options{Precision: model.Exact})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	g := goldenCase(t, "a0_oct2025")
	fp32 := false
	orig, err := model.Load(g.Path(goldenHome), model.Options{Precision: model.Exact, Overrides: model.Overrides{RoPEBF16: &fp32}})
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	if m.Step() != 2000 || m.Arch.Generation != "A0" {
		t.Errorf("saved_a0: step %d generation %s, want 2000 and A0", m.Step(), m.Arch.Generation)
	}
	a, b := logits(t, orig, g.Tokens), logits(t, m, g.Tokens)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: save_pretrained's directory %g, original %g", i, b[i], a[i])
		}
	}
}
