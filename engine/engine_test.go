package engine

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeBackend is a scripted model: the logits after a history are a pure
// function of it, so rows and caches can be compared exactly.
type fakeBackend struct {
	vocab, ctxLen int
	// next, if set, returns the token to favour after history (-1: none).
	next     func(history []int) int
	mu       sync.Mutex
	forwards int   // Forward calls
	fed      int   // tokens fed
	steps    []int // chunks per Forward call
	delay    time.Duration
}

func (b *fakeBackend) VocabSize() int    { return b.vocab }
func (b *fakeBackend) ContextLen() int   { return b.ctxLen }
func (b *fakeBackend) MaxPositions() int { return 10 * b.ctxLen }
func (b *fakeBackend) Describe() string  { return "fake" }
func (b *fakeBackend) Allocated() int64  { return 0 }
func (b *fakeBackend) Close() error      { return nil }
func (b *fakeBackend) NewCache(rows, maxLen int) (Cache, error) {
	return &fakeCache{b: b, rows: make([][]int, rows), max: maxLen}, nil
}

// logits writes the scripted logits after history into out.
func (b *fakeBackend) logits(history []int, out []float32) {
	h := uint64(1469598103934665603)
	for _, t := range history {
		h = (h ^ uint64(t)) * 1099511628211
	}
	for i := range out {
		x := (h ^ uint64(i)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
		out[i] = float32(x>>40) / float32(1<<24) * 4
	}
	if b.next != nil {
		if n := b.next(history); n >= 0 {
			out[n] = 100
		}
	}
}

type fakeCache struct {
	b    *fakeBackend
	rows [][]int
	max  int
}

func (c *fakeCache) Rows() int          { return len(c.rows) }
func (c *fakeCache) Cap() int           { return c.max }
func (c *fakeCache) Tokens(r int) []int { return c.rows[r] }
func (c *fakeCache) RowLen(r int) int   { return len(c.rows[r]) }
func (c *fakeCache) Close() error       { return nil }
func (c *fakeCache) Forward(chunks []Chunk, logits []float32) error {
	if err := CheckChunks(c, chunks, c.b.vocab, logits); err != nil {
		return err
	}
	c.b.mu.Lock()
	c.b.forwards++
	c.b.steps = append(c.b.steps, len(chunks))
	for _, ch := range chunks {
		c.b.fed += len(ch.Tokens)
	}
	c.b.mu.Unlock()
	time.Sleep(c.b.delay)
	V := c.b.vocab
	for k, ch := range chunks {
		c.rows[ch.Row] = append(c.rows[ch.Row], ch.Tokens...)
		c.b.logits(c.rows[ch.Row], logits[k*V:(k+1)*V])
	}
	return nil
}
func (c *fakeCache) Score(ch Chunk, gather [][]int, topN int) ([]Scored, error) {
	return scoreChunked(ch, gather, topN, c.b.vocab, func(part Chunk, logits []float32, all bool) error {
		V := c.b.vocab
		for i, id := range part.Tokens {
			c.rows[part.Row] = append(c.rows[part.Row], id)
			if all {
				c.b.logits(c.rows[part.Row], logits[i*V:(i+1)*V])
			}
		}
		if !all {
			c.b.logits(c.rows[part.Row], logits[:V])
		}
		return nil
	})
}
func (c *fakeCache) CopyRow(dst int, src Cache, srcRow int) error {
	c.rows[dst] = slices.Clone(src.(*fakeCache).rows[srcRow])
	return nil
}
func (c *fakeCache) TruncateRow(r, n int) error { c.rows[r] = c.rows[r][:n]; return nil }

// newEngine starts an engine over b, closed at the end of the test.
func newEngine(t *testing.T, b Backend, o Options) *Engine {
	t.Helper()
	e, err := New(b, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

const (
	tBOS = iota + 100
	tEnd
	tPyStart
	tPyEnd
	tOutStart
	tOutEnd
)

var specials = Specials{BOS: tBOS, AssistantEnd: tEnd, PythonStart: tPyStart, PythonEnd: tPyEnd, OutputStart: tOutStart, OutputEnd: tOutEnd}

func collect(t *testing.T, e *Engine, req Request) ([][]Token, Stats) {
	t.Helper()
	rows := make([][]Token, max(req.NumSamples, 1))
	st, err := e.Generate(context.Background(), req, func(col []Token) error {
		for _, tok := range col {
			rows[tok.Row] = append(rows[tok.Row], tok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, st
}

func ids(toks []Token) []int {
	out := make([]int, len(toks))
	for i, t := range toks {
		out[i] = t.ID
	}
	return out
}

func TestGreedyIsArgmaxAndDeterministic(t *testing.T) {
	b := &fakeBackend{vocab: 90, ctxLen: 64}
	e := newEngine(t, b, Options{Specials: specials})
	req := Request{Prompt: []int{1, 2, 3}, MaxTokens: 10}
	a, st := collect(t, e, req)
	if st.Generated != 10 || len(a[0]) != 10 || st.Stop != "length" {
		t.Fatalf("generated %d tokens (stop %q), want 10 (length)", len(a[0]), st.Stop)
	}
	// Recompute argmax independently from the script.
	logits := make([]float32, 90)
	hist := []int{1, 2, 3}
	for i, tok := range a[0] {
		b.logits(hist, logits)
		if want := Argmax(logits); tok.ID != want {
			t.Fatalf("step %d: got %d, want argmax %d", i, tok.ID, want)
		}
		hist = append(hist, tok.ID)
	}
	e2 := newEngine(t, &fakeBackend{vocab: 90, ctxLen: 64}, Options{Specials: specials})
	req.Temperature, req.Seed = 1, 7
	x, _ := collect(t, e2, req)
	y, _ := collect(t, newEngine(t, &fakeBackend{vocab: 90, ctxLen: 64}, Options{Specials: specials}), req)
	if !slices.Equal(ids(x[0]), ids(y[0])) {
		t.Fatalf("same seed gave %v and %v", ids(x[0]), ids(y[0]))
	}
}

func TestForkedRowsEqualIndependentRuns(t *testing.T) {
	// At temperature 0 every row must equal a batch-1 run.
	// The engine starts with one row and grows its cache for three.
	e := newEngine(t, &fakeBackend{vocab: 90, ctxLen: 64}, Options{Specials: specials})
	rows, _ := collect(t, e, Request{Prompt: []int{5, 6, 7, 8}, NumSamples: 3, MaxTokens: 12})
	single, _ := collect(t, newEngine(t, &fakeBackend{vocab: 90, ctxLen: 64}, Options{Specials: specials}), Request{Prompt: []int{5, 6, 7, 8}, MaxTokens: 12})
	for r := range rows {
		if !slices.Equal(ids(rows[r]), ids(single[0])) {
			t.Errorf("row %d: %v, want %v", r, ids(rows[r]), ids(single[0]))
		}
	}
}

func TestStopsAtAssistantEndAndReusesPrefix(t *testing.T) {
	b := &fakeBackend{vocab: 110, ctxLen: 64, next: func(h []int) int {
		if len(h) >= 6 {
			return tEnd
		}
		return 50
	}}
	e := newEngine(t, b, Options{Specials: specials})
	rows, st := collect(t, e, Request{Prompt: []int{1, 2, 3}, MaxTokens: 20})
	if got := ids(rows[0]); !slices.Equal(got, []int{50, 50, 50, tEnd}) || !rows[0][3].Last || st.Stop != "end" {
		t.Fatalf("got %v (stop %q), want [50 50 50 end] ending the row", got, st.Stop)
	}
	// Continuing the conversation only feeds the new tokens.
	b.fed = 0
	prompt := []int{1, 2, 3, 50, 50, 50, tEnd, 9}
	_, st = collect(t, e, Request{Prompt: prompt, MaxTokens: 1})
	if st.CachedTokens != 6 || b.fed != 2 {
		t.Fatalf("cached %d tokens and fed %d, want 6 cached and 2 fed", st.CachedTokens, b.fed)
	}
}

func TestCancellationLeavesEngineUsable(t *testing.T) {
	e := newEngine(t, &fakeBackend{vocab: 90, ctxLen: 512}, Options{Specials: specials})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	st, err := e.Generate(ctx, Request{Prompt: []int{1, 2}, MaxTokens: 400}, func([]Token) error {
		n++
		if n == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || st.Generated != 5 || st.Stop != "cancelled" {
		t.Fatalf("err %v, generated %d, stop %q; want Canceled after 5", err, st.Generated, st.Stop)
	}
	rows, _ := collect(t, e, Request{Prompt: []int{1, 2}, MaxTokens: 3})
	if len(rows[0]) != 3 {
		t.Fatalf("after cancel: %d tokens, want 3", len(rows[0]))
	}
}

func TestToolCallForcesOutputTokens(t *testing.T) {
	// Script: python_start 7 8 python_end, then (after the forced output)
	// the answer 60 and assistant_end.
	script := []int{tPyStart, 7, 8, tPyEnd, -1, -1, -1, -1, 60, tEnd}
	b := &fakeBackend{vocab: 110, ctxLen: 64, next: func(h []int) int {
		i := len(h) - 2
		if i >= 0 && i < len(script) {
			return script[i]
		}
		return -1
	}}
	var gotExpr []int
	tool := func(expr []int) ([]int, bool) {
		gotExpr = slices.Clone(expr)
		return []int{42, 43}, true
	}
	e := newEngine(t, b, Options{Specials: specials, Tool: tool})
	rows, _ := collect(t, e, Request{Prompt: []int{1, 2}, MaxTokens: 30})
	want := []int{tPyStart, 7, 8, tPyEnd, tOutStart, 42, 43, tOutEnd, 60, tEnd}
	if got := ids(rows[0]); !slices.Equal(got, want) {
		t.Fatalf("tokens %v, want %v", got, want)
	}
	if !slices.Equal(gotExpr, []int{7, 8}) {
		t.Fatalf("tool saw %v, want [7 8]", gotExpr)
	}
	for i, tok := range rows[0] {
		if forced := i >= 4 && i <= 7; tok.Forced != forced {
			t.Errorf("token %d (%d): forced %t, want %t", i, tok.ID, tok.Forced, forced)
		}
		if (tok.Tool != nil) != (i == 3) {
			t.Errorf("token %d (%d): tool outcome %+v, want one only on python_end", i, tok.ID, tok.Tool)
		}
	}
	if o := rows[0][3].Tool; o == nil || !o.OK || !slices.Equal(o.Expr, []int{7, 8}) || !slices.Equal(o.Result, []int{42, 43}) {
		t.Fatalf("tool outcome %+v, want expr [7 8] result [42 43] ok", o)
	}
}

func TestPromptTooLong(t *testing.T) {
	e := newEngine(t, &fakeBackend{vocab: 90, ctxLen: 8}, Options{Specials: specials})
	_, err := e.Generate(context.Background(), Request{Prompt: make([]int, 8)}, func([]Token) error { return nil })
	if !errors.Is(err, ErrPromptTooLong) {
		t.Fatalf("err %v, want ErrPromptTooLong", err)
	}
	rows, st := collect(t, e, Request{Prompt: make([]int, 5), MaxTokens: 100})
	if len(rows[0]) != 3 || st.Stop != "length" {
		t.Fatalf("got %d tokens, want the 3 left in the context", len(rows[0]))
	}
}

func TestSamplingRespectsTopKAndTopP(t *testing.T) {
	logits := []float32{0, 3, 1, 2.5, -1, 2.9}
	counts := map[int]int{}
	sp := newSampler(Sampling{Temperature: 1, TopK: 3, Seed: 1}, len(logits))
	for i := 0; i < 20000; i++ {
		counts[sp.next(logits)]++
	}
	for id := range counts {
		if id != 1 && id != 3 && id != 5 {
			t.Fatalf("top-k 3 sampled id %d", id)
		}
	}
	// Frequencies follow softmax over the kept logits.
	z := math.Exp(3) + math.Exp(2.5) + math.Exp(2.9)
	for _, id := range []int{1, 3, 5} {
		want := math.Exp(float64(logits[id])) / z
		if got := float64(counts[id]) / 20000; math.Abs(got-want) > 0.015 {
			t.Errorf("id %d: frequency %.3f, want %.3f", id, got, want)
		}
	}
	// top-p 0.5: p(1) = e^3/Σ ≈ 0.38 < 0.5, so ids 1 and 5 are kept.
	sp = newSampler(Sampling{Temperature: 1, TopP: 0.5, Seed: 2}, len(logits))
	for i := 0; i < 5000; i++ {
		if id := sp.next(logits); id != 1 && id != 5 {
			t.Fatalf("top-p 0.5 sampled id %d", id)
		}
	}
	if got := newSampler(Sampling{Temperature: 0, TopK: 2}, 6).next(logits); got != 1 {
		t.Fatalf("temperature 0: got %d, want argmax 1", got)
	}
	for _, bad := range []Sampling{{Temperature: -1}, {TopK: -2}, {TopP: 1.5}, {Temperature: math.NaN()}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: no validation error", bad)
		}
	}
}
