// Package enginetest is the conformance suite every engine.Backend must
// pass: the CPU backend in engine's tests, the CUDA backend in
// kernels/cuda's GPU tests. It pins a backend to upstream's goldens
// (testdata/golden) and checks the per-row cache contract of
// engine/backend.go case by case. Its own tests run each case against a
// deliberately broken backend, so no case can pass vacuously.
package enginetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/golden"
)

// Config describes the backend under test.
type Config struct {
	// Home is a nanochat home with golden/*.json (testdata/golden/home).
	Home string
	// Precision the models are loaded with before Open.
	Precision model.Precision
	// Open puts a loaded model on the backend under test; the backend
	// takes ownership of m.
	Open func(m *model.Model) (engine.Backend, error)
	// MaxLogitDiff and MeanLogitDiff bound |Δ| against upstream's logits;
	// MarginTol is the top-2 margin below which argmax may differ.
	MaxLogitDiff, MeanLogitDiff, MarginTol float64
	// SameTol bounds |Δ| between two ways of computing the same logits on
	// this backend (a row fed alone vs in a batch; default MaxLogitDiff).
	SameTol float64
}

// T is the part of *testing.T the cases use (the suite's own tests pass a
// recorder).
type T interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Case is one conformance check.
type Case struct {
	Name string
	Run  func(t T, cfg Config)
}

// Cases lists every check, in the order Run runs them.
var Cases = []Case{
	{"golden_logits", goldenLogits},
	{"greedy_continuation", greedyContinuation},
	{"mixed_positions", mixedPositions},
	{"copy_row", copyRow},
	{"truncate_row", truncateRow},
	{"scoring_matches_logsoftmax", scoringMatchesLogSoftmax},
	{"cancel_mid_prefill", cancelMidPrefill},
	{"close_releases", closeReleases},
	{"use_after_close", useAfterClose},
	{"concurrent_callers", concurrentCallers},
}

// Run runs every case as a subtest of t (name them TestBackendConformance).
func Run(t *testing.T, cfg Config) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, cfg) })
	}
}

// goldens loads the model goldens of cfg.Home.
func goldens(t T, cfg Config) []golden.Case {
	t.Helper()
	cases, err := golden.Cases(cfg.Home)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return cases
}

// goldenCase returns the golden named variant.
func goldenCase(t T, cfg Config, variant string) golden.Case {
	t.Helper()
	for _, g := range goldens(t, cfg) {
		if g.Variant == variant {
			return g
		}
	}
	t.Fatalf("no golden %q in %s", variant, cfg.Home)
	return golden.Case{}
}

// open loads golden g's checkpoint and puts it on the backend under test.
// The caller closes the backend.
func open(t T, cfg Config, g golden.Case) engine.Backend {
	t.Helper()
	var ov model.Overrides
	if js := g.OverrideJSON(); js != "" {
		dec := json.NewDecoder(strings.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ov); err != nil {
			t.Fatalf("%s: override %s: %v", g.Variant, js, err)
		}
	}
	m, err := model.Load(g.Path(cfg.Home), model.Options{Precision: cfg.Precision, Overrides: ov})
	if err != nil {
		t.Fatalf("%s: %v", g.Variant, err)
	}
	b, err := cfg.Open(m)
	if err != nil {
		m.Close()
		t.Fatalf("%s: open backend: %v", g.Variant, err)
	}
	return b
}

// newCache is b.NewCache or a fatal error.
func newCache(t T, b engine.Backend, rows, maxLen int) engine.Cache {
	t.Helper()
	c, err := b.NewCache(rows, maxLen)
	if err != nil {
		t.Fatalf("new cache %d×%d: %v", rows, maxLen, err)
	}
	return c
}

// forward feeds chunks and returns their logits ([len(chunks)][V]).
func forward(t T, b engine.Backend, c engine.Cache, chunks ...engine.Chunk) []float32 {
	t.Helper()
	logits := make([]float32, len(chunks)*b.VocabSize())
	if err := c.Forward(chunks, logits); err != nil {
		t.Fatalf("forward: %v", err)
	}
	return logits
}

// chunk is a Chunk literal.
func chunk(row int, toks []int) engine.Chunk { return engine.Chunk{Row: row, Tokens: toks} }

// diff is the largest and mean |a−b|.
func diff(a, b []float32) (worst, mean float64) {
	for i := range a {
		d := float64(a[i] - b[i])
		if d < 0 {
			d = -d
		}
		worst = max(worst, d)
		mean += d
	}
	return worst, mean / float64(max(len(a), 1))
}

func (cfg Config) sameTol() float64 {
	if cfg.SameTol > 0 {
		return cfg.SameTol
	}
	return cfg.MaxLogitDiff
}

// same fails t when a and b differ beyond the backend's SameTol.
func same(t T, cfg Config, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d logits, want %d", what, len(got), len(want))
	}
	if worst, _ := diff(got, want); worst > cfg.sameTol() || worst != worst {
		t.Fatalf("%s: logits differ by %.3g (tolerance %g)", what, worst, cfg.sameTol())
	}
}

// top2 is the argmax of row and its margin over the runner-up.
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
	if second < 0 {
		return best, 0
	}
	return best, float64(row[best] - row[second])
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return fmt.Sprintf("%q", err)
}
