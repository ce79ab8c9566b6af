package model

import (
	"math"
	"strconv"
	"testing"
)

// precisionBound is the largest |Δlogit| against exact (fp32) numerics
// each reduced precision may show on the golden models: about twice the
// worst measured on these checkpoints at any position (bf16 0.063, int8
// 0.212; against the goldens' stored rows 0.034 and 0.123). The argmax
// must agree wherever the exact top-two margin exceeds twice the bound
// (then no pair of errors within the bound can swap the top two).
var precisionBound = map[Precision]float64{BF16: 0.12, Int8: 0.4}

// TestPrecisionFidelity runs every golden at bf16 and int8 and compares the
// logits with the goldens (computed at fp32), logging the worst |Δlogit|
// per model: the README's fidelity figures come from this test (-v).
func TestPrecisionFidelity(t *testing.T) {
	dir, goldens := modelGoldens(t)
	for _, prec := range []Precision{BF16, Int8} {
		for _, g := range goldens {
			t.Run(prec.String()+"/"+g.Variant, func(t *testing.T) {
				m, err := Load(g.Path(dir), Options{Precision: prec, Overrides: overridesOf(t, g)})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				T, V := len(g.Tokens), m.Config.VocabSize
				c, err := m.NewCache(1, T)
				if err != nil {
					t.Fatal(err)
				}
				logits := make([]float32, T*V)
				if err := m.Forward(c, []Chunk{{0, g.Tokens}}, logits, true); err != nil {
					t.Fatal(err)
				}
				ref, err := Load(g.Path(dir), Options{Precision: Exact, Overrides: overridesOf(t, g)})
				if err != nil {
					t.Fatal(err)
				}
				defer ref.Close()
				rc, err := ref.NewCache(1, T)
				if err != nil {
					t.Fatal(err)
				}
				exact := make([]float32, T*V)
				if err := ref.Forward(rc, []Chunk{{0, g.Tokens}}, exact, true); err != nil {
					t.Fatal(err)
				}
				bound := precisionBound[prec]
				golden := 0.0 // worst against the golden rows
				for k, want := range g.LogitsRows {
					p, err := strconv.Atoi(k)
					if err != nil {
						t.Fatalf("logits_rows key %q", k)
					}
					for i, w := range want {
						golden = math.Max(golden, math.Abs(float64(logits[p*V+i])-w))
					}
				}
				worst := maxDiff(logits, exact) // every position
				flips, checked := 0, 0
				for p := range T {
					top, margin := top2(exact[p*V : (p+1)*V])
					if margin <= 2*bound {
						continue
					}
					checked++
					if got, _ := top2(logits[p*V : (p+1)*V]); got != top {
						flips++
						t.Errorf("position %d: argmax %d, exact %d with margin %.3f > 2·%g", p, got, top, margin, bound)
					}
				}
				t.Logf("%s %s: max |Δlogit| %.4f vs the golden rows, %.4f vs exact at all %d positions; argmax kept at %d of %d positions with margin > %g",
					prec, g.Variant, golden, worst, T, checked-flips, checked, 2*bound)
				worst = math.Max(worst, golden)
				if worst > bound {
					t.Errorf("max |Δlogit| %.4f > bound %g", worst, bound)
				}
			})
		}
	}
}
