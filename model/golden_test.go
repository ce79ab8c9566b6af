package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// goldenDir is the nanochat home whose golden/*.json the tests check:
// $NANOCHAT_GOLDEN_DIR, else the copy of ../shared/golden/home in testdata.
func goldenDir(t *testing.T) string {
	if d := os.Getenv("NANOCHAT_GOLDEN_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "testdata", "golden", "home")
}

type golden struct {
	Variant    string               `json:"variant"`
	Source     string               `json:"source"`
	ModelTag   string               `json:"model_tag"`
	Step       int                  `json:"step"`
	Generation string               `json:"generation"`
	Override   map[string]any       `json:"override"`
	Tokens     []int                `json:"tokens"`
	Argmax     []int                `json:"argmax"`
	LogSumExp  []float64            `json:"logsumexp"`
	NextLogP   []float64            `json:"next_token_logprob"`
	LogitsRows map[string][]float64 `json:"logits_rows"`
	PromptLen  int                  `json:"prompt_len"`
	Greedy     []int                `json:"greedy"`
	Margins    []float64            `json:"greedy_margins"`
}

// modelGoldens loads every golden/*.json that describes a model forward.
func modelGoldens(t *testing.T) (string, []golden) {
	t.Helper()
	dir := goldenDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []golden
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var g golden
		if json.Unmarshal(data, &g) != nil || g.Tokens == nil {
			continue // tokenizer goldens and other files
		}
		if g.Variant == "" {
			g.Variant = filepath.Base(f)
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		t.Fatalf("no model goldens (golden/*.json with \"tokens\") in %s", dir)
	}
	return dir, out
}

func (g golden) path(dir string) string {
	return filepath.Join(dir, g.Source+"_checkpoints", g.ModelTag, fmt.Sprintf("model_%06d.pt", g.Step))
}

func (g golden) overrides(t *testing.T) Overrides {
	var o Overrides
	if g.Override == nil {
		return o
	}
	data, _ := json.Marshal(g.Override)
	if err := jsonStrict(data, &o); err != nil {
		t.Fatalf("%s: override %s: %v", g.Variant, data, err)
	}
	return o
}

const (
	logitTol  = 1e-4
	marginTol = 1e-3
)

func TestGoldenForward(t *testing.T) {
	dir, goldens := modelGoldens(t)
	for _, g := range goldens {
		t.Run(g.Variant, func(t *testing.T) {
			m, err := Load(g.path(dir), Options{Precision: Exact, Overrides: g.overrides(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if g.Generation != "" && m.Arch.Generation != g.Generation && !(g.Generation == "A2/A3" && (m.Arch.Generation == "A2" || m.Arch.Generation == "A3")) {
				t.Errorf("generation: got %s, want %s", m.Arch.Generation, g.Generation)
			}
			T, V := len(g.Tokens), m.Config.VocabSize
			c, err := m.NewCache(1, T)
			if err != nil {
				t.Fatal(err)
			}
			logits := make([]float32, T*V)
			if err := m.Forward(c, g.Tokens, T, logits, true); err != nil {
				t.Fatal(err)
			}
			checkLogits(t, g, logits, V)
			checkGreedy(t, m, g)
		})
	}
}

func checkLogits(t *testing.T, g golden, logits []float32, V int) {
	t.Helper()
	var keys []int
	for k := range g.LogitsRows {
		p, err := strconv.Atoi(k)
		if err != nil {
			t.Fatalf("logits_rows key %q", k)
		}
		keys = append(keys, p)
	}
	sort.Ints(keys)
	for _, p := range keys {
		want := g.LogitsRows[strconv.Itoa(p)]
		if len(want) != V {
			t.Fatalf("logits_rows[%d]: %d values, vocab %d", p, len(want), V)
		}
		worst, at := 0.0, 0
		for i, w := range want {
			if d := math.Abs(float64(logits[p*V+i]) - w); d > worst {
				worst, at = d, i
			}
		}
		if worst > logitTol {
			t.Errorf("logits[%d][%d]: got %.7f, want %.7f (|Δ| %.2g > %g)", p, at, logits[p*V+at], want[at], worst, logitTol)
		}
	}
	bad := 0
	for p := range g.Argmax {
		row := logits[p*V : (p+1)*V]
		top, margin := top2(row)
		lse := logSumExp(row)
		if d := math.Abs(lse - g.LogSumExp[p]); d > logitTol && bad < 5 {
			bad++
			t.Errorf("logsumexp[%d]: got %.7f, want %.7f", p, lse, g.LogSumExp[p])
		}
		if top != g.Argmax[p] && margin > marginTol && bad < 5 {
			bad++
			t.Errorf("argmax[%d]: got %d, want %d (margin %.4g)", p, top, g.Argmax[p], margin)
		}
		if p < len(g.NextLogP) {
			lp := float64(row[g.Tokens[p+1]]) - lse
			if d := math.Abs(lp - g.NextLogP[p]); d > logitTol && bad < 5 {
				bad++
				t.Errorf("next_token_logprob[%d]: got %.7f, want %.7f", p, lp, g.NextLogP[p])
			}
		}
	}
}

// checkGreedy decodes through the KV cache like upstream Engine.generate at
// temperature 0 and compares tokens up to the first near-tie.
func checkGreedy(t *testing.T, m *Model, g golden) {
	t.Helper()
	V := m.Config.VocabSize
	prompt := g.Tokens[:g.PromptLen]
	c, err := m.NewCache(1, len(prompt)+len(g.Greedy))
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, V)
	if err := m.Forward(c, prompt, len(prompt), logits, false); err != nil {
		t.Fatal(err)
	}
	for i, want := range g.Greedy {
		got, margin := top2(logits)
		if got != want {
			if g.Margins[i] < marginTol || margin < marginTol {
				return // a legitimate near-tie: later tokens may diverge
			}
			t.Fatalf("greedy step %d: got %d, want %d (margin %.4g)", i, got, want, margin)
		}
		if g.Margins[i] < marginTol {
			return
		}
		if i+1 < len(g.Greedy) {
			if err := m.Forward(c, []int{got}, 1, logits, false); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func top2(row []float32) (int, float64) {
	best, second := 0, -1
	for i := 1; i < len(row); i++ {
		switch {
		case row[i] > row[best]:
			best, second = i, best
		case second < 0 || row[i] > row[second]:
			second = i
		}
	}
	return best, float64(row[best]) - float64(row[second])
}

func logSumExp(row []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}
