package enginetest

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/golden"
)

// recorder is a T that notes failures; Fatalf ends the case by panicking
// with fatal, which run recovers.
type recorder struct {
	failed bool
	msgs   []string
}

type fatal struct{}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(f string, a ...any) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(f, a...))
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.Errorf(f, a...)
	panic(fatal{})
}

// run runs one case against cfg and reports whether it failed and why.
func run(c Case, cfg Config) (r *recorder) {
	r = &recorder{}
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(fatal); !ok {
				r.failed = true
				r.msgs = append(r.msgs, fmt.Sprint("panic: ", p))
			}
		}
	}()
	c.Run(r, cfg)
	return r
}

// defect is one way to break the CPU backend.
type defect struct {
	forward  func(c *brokenCache, chunks []engine.Chunk, logits []float32) error
	score    func(c *brokenCache, ch engine.Chunk, gather [][]int, topN int) ([]engine.Scored, error)
	copyRow  func(c *brokenCache, dst int, src engine.Cache, srcRow int) error
	truncate func(c *brokenCache, r, n int) error
	tokens   func(c *brokenCache, r int) []int
	close    func(c *brokenCache) error
	alloc    func(b *brokenBackend) int64
}

type brokenBackend struct {
	engine.Backend
	d *defect
}

func (b *brokenBackend) NewCache(rows, maxLen int) (engine.Cache, error) {
	c, err := b.Backend.NewCache(rows, maxLen)
	if err != nil {
		return nil, err
	}
	return &brokenCache{Cache: c, b: b, claimed: map[int][]int{}}, nil
}

func (b *brokenBackend) Allocated() int64 {
	if b.d.alloc != nil {
		return b.d.alloc(b)
	}
	return b.Backend.Allocated()
}

type brokenCache struct {
	engine.Cache
	b       *brokenBackend
	claimed map[int][]int // row → ids reported but never fed
}

func inner(c engine.Cache) engine.Cache {
	if b, ok := c.(*brokenCache); ok {
		return b.Cache
	}
	return c
}

func (c *brokenCache) Forward(chunks []engine.Chunk, logits []float32) error {
	if c.b.d.forward != nil {
		return c.b.d.forward(c, chunks, logits)
	}
	return c.Cache.Forward(chunks, logits)
}

func (c *brokenCache) Score(ch engine.Chunk, gather [][]int, topN int) ([]engine.Scored, error) {
	if c.b.d.score != nil {
		return c.b.d.score(c, ch, gather, topN)
	}
	return c.Cache.Score(ch, gather, topN)
}

func (c *brokenCache) CopyRow(dst int, src engine.Cache, srcRow int) error {
	if c.b.d.copyRow != nil {
		return c.b.d.copyRow(c, dst, src, srcRow)
	}
	return c.Cache.CopyRow(dst, inner(src), srcRow)
}

func (c *brokenCache) TruncateRow(r, n int) error {
	if c.b.d.truncate != nil {
		return c.b.d.truncate(c, r, n)
	}
	return c.Cache.TruncateRow(r, n)
}

func (c *brokenCache) Tokens(r int) []int {
	if c.b.d.tokens != nil {
		return c.b.d.tokens(c, r)
	}
	return c.Cache.Tokens(r)
}

func (c *brokenCache) Close() error {
	if c.b.d.close != nil {
		return c.b.d.close(c)
	}
	return c.Cache.Close()
}

// shared is the scratch a backend with a data race shares between caches.
var shared struct {
	sync.Mutex
	buf []float32
}

// defects maps each case to a backend bug it must catch.
var defects = map[string]*defect{
	// Logits off by a constant: a wrong softcap or bias.
	"golden_logits": {forward: func(c *brokenCache, chunks []engine.Chunk, logits []float32) error {
		err := c.Cache.Forward(chunks, logits)
		for i := range logits {
			logits[i] += 0.01
		}
		return err
	}},
	// A decode step reads the cache one position short.
	"greedy_continuation": {forward: func(c *brokenCache, chunks []engine.Chunk, logits []float32) error {
		for _, ch := range chunks {
			if len(ch.Tokens) == 1 && c.RowLen(ch.Row) > 0 {
				c.Cache.TruncateRow(ch.Row, c.RowLen(ch.Row)-1)
			}
		}
		return c.Cache.Forward(chunks, logits)
	}},
	// A batched step hands every chunk the first chunk's logits.
	"mixed_positions": {forward: func(c *brokenCache, chunks []engine.Chunk, logits []float32) error {
		err := c.Cache.Forward(chunks, logits)
		V := len(logits) / len(chunks)
		for j := 1; j < len(chunks); j++ {
			copy(logits[j*V:(j+1)*V], logits[:V])
		}
		return err
	}},
	// CopyRow always copies the source's row 0.
	"copy_row": {copyRow: func(c *brokenCache, dst int, src engine.Cache, srcRow int) error {
		return c.Cache.CopyRow(dst, inner(src), 0)
	}},
	// TruncateRow forgets the tokens but the next forward continues at the
	// old position.
	"truncate_row": {truncate: func(c *brokenCache, r, n int) error {
		if n > c.RowLen(r) {
			return fmt.Errorf("truncate past the end")
		}
		return nil
	}},
	// Score's log-probabilities are raw logits.
	"scoring_matches_logsoftmax": {score: func(c *brokenCache, ch engine.Chunk, gather [][]int, topN int) ([]engine.Scored, error) {
		out, err := c.Cache.Score(ch, gather, topN)
		for i := range out {
			for k := range out[i].Gathered {
				out[i].Gathered[k] += 0.5
			}
		}
		return out, err
	}},
	// A prompt chunk's second half is still in flight when the step
	// returns, but the row's ids already claim it: a stopped prefill leaves
	// ids the keys and values do not back.
	"cancel_mid_prefill": {
		forward: func(c *brokenCache, chunks []engine.Chunk, logits []float32) error {
			for i, ch := range chunks {
				if n := len(ch.Tokens); n > 1 {
					chunks[i].Tokens = ch.Tokens[:n/2]
					c.claimed[ch.Row] = append(c.claimed[ch.Row], ch.Tokens[n/2:]...)
				}
			}
			return c.Cache.Forward(chunks, logits)
		},
		tokens: func(c *brokenCache, r int) []int {
			return append(append([]int(nil), c.Cache.Tokens(r)...), c.claimed[r]...)
		},
	},
	// Allocated never goes down.
	"close_releases": {alloc: func(b *brokenBackend) int64 { return b.Backend.Allocated() + 1 }},
	// Close is a no-op: the cache stays usable.
	"use_after_close": {close: func(c *brokenCache) error { return nil }},
	// Caches share one scratch buffer without a lock.
	"concurrent_callers": {forward: func(c *brokenCache, chunks []engine.Chunk, logits []float32) error {
		tmp := make([]float32, len(logits))
		err := c.Cache.Forward(chunks, tmp)
		// Each copy is locked (no memory race), but another cache may write
		// between the two: the logical race of a shared workspace.
		shared.Lock()
		if len(shared.buf) < len(tmp) {
			shared.buf = make([]float32, len(tmp))
		}
		copy(shared.buf, tmp)
		shared.Unlock()
		time.Sleep(2 * time.Millisecond)
		shared.Lock()
		copy(logits, shared.buf[:len(logits)])
		shared.Unlock()
		return err
	}},
}

func cpuConfig(d *defect) Config {
	return Config{
		Home:      golden.Dir(filepath.Join("..", "..", "testdata", "golden", "home")),
		Precision: model.Exact,
		Open: func(m *model.Model) (engine.Backend, error) {
			b := engine.CPU(m, "cpu")
			if d == nil {
				return b, nil
			}
			return &brokenBackend{Backend: b, d: d}, nil
		},
		MaxLogitDiff: 1e-4, MeanLogitDiff: 1e-5, MarginTol: 1e-3,
	}
}

// Every case fails against the backend broken for it, and the wrapper with
// no defect passes it (so the failure is the defect's doing).
func TestEachCaseCatchesItsDefect(t *testing.T) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			d, ok := defects[c.Name]
			if !ok {
				t.Fatalf("no broken backend for case %s", c.Name)
			}
			if r := run(c, cpuConfig(&defect{})); r.failed {
				t.Fatalf("the unbroken wrapper fails: %v", r.msgs)
			}
			r := run(c, cpuConfig(d))
			if !r.failed {
				t.Fatalf("case %s passes against its broken backend", c.Name)
			}
			t.Logf("caught: %s", r.msgs[0])
		})
	}
}
