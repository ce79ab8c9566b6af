//go:build cuda && cgo

package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/model"
)

// mixedSteps is a Forward sequence over 4 rows at different positions:
// prefill groups whose chunks are not adjacent in the call, decode chunks
// mixed with prefill chunks, decode steps of 4 and of 2 rows (one CUDA
// graph per entry count, replayed for other rows), a row starting empty
// late. Each step lists {row, new tokens}.
var mixedSteps = [][][2]int{
	{{1, 70}, {0, 150}, {3, 70}},
	{{2, 3}, {0, 1}, {1, 1}, {3, 130}},
	{{3, 1}, {0, 1}, {2, 1}, {1, 1}},
	{{2, 1}, {0, 1}},
	{{1, 1}, {0, 40}, {2, 1}},
	{{3, 1}, {2, 1}, {1, 1}, {0, 1}},
}

// TestMixedPositions: rows at different positions, fed chunks of different
// lengths in one Forward, get the logits each row gets fed alone (its own
// one-row cache, same chunks) and the logits of the CPU forward of the same
// calls; with the decode graphs and without.
func TestMixedPositions(t *testing.T) {
	dir, cases := goldenModels(t)
	for _, gc := range cases {
		t.Run(gc.Variant, func(t *testing.T) {
			m := loadGolden(t, dir, gc)
			b := newTestBackend(t, m)
			V := m.Config.VocabSize
			// Row r reads the golden tokens from offset 17·r on, wrapping.
			seq := func(r, from, n int) []int {
				out := make([]int, n)
				for i := range out {
					out[i] = gc.Tokens[(17*r+from+i)%len(gc.Tokens)]
				}
				return out
			}
			const rows, maxLen = 4, 256
			for _, graphs := range []bool{true, false} {
				b.graphs = graphs
				mixed := newTestCache(t, b, rows, maxLen)
				cpu, err := m.NewCache(rows, maxLen)
				if err != nil {
					t.Fatal(err)
				}
				alone := make([]*Cache, rows)
				for r := range alone {
					alone[r] = newTestCache(t, b, 1, maxLen)
				}
				for si, st := range mixedSteps {
					chunks := make([]engine.Chunk, len(st))
					cpuChunks := make([]model.Chunk, len(st))
					for j, rn := range st {
						toks := seq(rn[0], mixed.RowLen(rn[0]), rn[1])
						chunks[j] = engine.Chunk{Row: rn[0], Tokens: toks}
						cpuChunks[j] = model.Chunk{Row: rn[0], Tokens: toks}
					}
					got := forward(t, mixed, V, chunks...)
					want := make([]float32, len(st)*V)
					if err := m.Forward(cpu, cpuChunks, want, false); err != nil {
						t.Fatal(err)
					}
					for j, ch := range chunks {
						what := fmt.Sprintf("graphs %v, step %d, row %d at %d +%d", graphs, si, ch.Row,
							mixed.RowLen(ch.Row)-len(ch.Tokens), len(ch.Tokens))
						one := forward(t, alone[ch.Row], V, engine.Chunk{Row: 0, Tokens: ch.Tokens})
						compareLogits(t, what+" vs the row alone", got[j*V:(j+1)*V], one)
						compareLogits(t, what+" vs the CPU", got[j*V:(j+1)*V], want[j*V:(j+1)*V])
					}
				}
				for r := 0; r < rows; r++ {
					if got, want := mixed.Tokens(r), alone[r].Tokens(0); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("graphs %v: Tokens(%d) has %d ids, want %d (the row fed alone)", graphs, r, len(got), len(want))
					}
				}
			}
			b.graphs = true
		})
	}
}

// TestCacheLifecycle: Allocated follows NewCache and Close, a failed
// Forward advances nothing, a cache nobody closed is freed once the GC
// collects it, and everything after Close fails with engine.ErrClosed.
func TestCacheLifecycle(t *testing.T) {
	dir, cases := goldenModels(t)
	m := loadGolden(t, dir, cases[0])
	b := newTestBackend(t, m)
	V := m.Config.VocabSize
	if got := b.Allocated(); got != 0 {
		t.Fatalf("Allocated before any cache = %d, want 0", got)
	}
	c := newTestCache(t, b, 2, 64)
	if got := b.Allocated(); got <= 0 {
		t.Fatalf("Allocated with one cache = %d, want > 0", got)
	}
	forward(t, c, V, engine.Chunk{Row: 0, Tokens: cases[0].Tokens[:5]})
	err := c.Forward([]engine.Chunk{{Row: 1, Tokens: cases[0].Tokens[:3]}, {Row: 0, Tokens: []int{V}}}, make([]float32, 2*V))
	if err == nil || c.RowLen(0) != 5 || c.RowLen(1) != 0 {
		t.Errorf("Forward with a bad id: error %v, rows at %d and %d; want an error and rows at 5 and 0", err, c.RowLen(0), c.RowLen(1))
	}
	if _, err := c.Score(engine.Chunk{Row: 1, Tokens: cases[0].Tokens[:3]}, [][]int{{V}}, 0); err == nil || c.RowLen(1) != 0 {
		t.Errorf("Score with a bad gather id: error %v, row 1 at %d; want an error and row 1 at 0", err, c.RowLen(1))
	}

	// A cache dropped without Close is freed at a later call. (The
	// workspace grows to the largest launch so far: measure after a step
	// like the ones below.)
	forward(t, c, V, engine.Chunk{Row: 1, Tokens: []int{1}})
	held := b.Allocated()
	func() {
		lost, err := b.NewCache(1, 64)
		if err != nil {
			t.Fatal(err)
		}
		_ = lost
	}()
	for i := 0; i < 10 && b.Allocated() > held; i++ {
		runtime.GC()
		forward(t, c, V, engine.Chunk{Row: 1, Tokens: []int{1}})
	}
	if got := b.Allocated(); got > held {
		t.Errorf("Allocated after the GC collected an unclosed cache = %d, want ≤ %d", got, held)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := b.Allocated(); got != 0 {
		t.Errorf("Allocated after Close = %d, want 0", got)
	}
	if err := c.Forward([]engine.Chunk{{Row: 0, Tokens: []int{1}}}, make([]float32, V)); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Forward after Close: got %v, want ErrClosed", err)
	}
	c2 := newTestCache(t, b, 1, 8)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"Forward":     c2.Forward([]engine.Chunk{{Row: 0, Tokens: []int{1}}}, make([]float32, V)),
		"TruncateRow": c2.TruncateRow(0, 0),
		"CopyRow":     c2.CopyRow(0, c2, 0),
		"NewCache":    func() error { _, err := b.NewCache(1, 8); return err }(),
	} {
		if !errors.Is(err, engine.ErrClosed) {
			t.Errorf("%s after the backend's Close: got %v, want ErrClosed", what, err)
		}
	}
	if got := b.Allocated(); got != 0 {
		t.Errorf("Allocated after the backend's Close = %d, want 0", got)
	}
}
