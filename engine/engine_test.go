package engine

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// fakeBackend is a scripted model: the logits after a history are a pure
// function of it, so rows and caches can be compared exactly.
type fakeBackend struct {
	vocab, ctxLen int
	// next, if set, returns the token to favour after history (-1: none).
	next     func(history []int) int
	forwards int // Forward calls
	fed      int // tokens fed
	delay    time.Duration
}

func (b *fakeBackend) VocabSize() int   { return b.vocab }
func (b *fakeBackend) ContextLen() int  { return b.ctxLen }
func (b *fakeBackend) Describe() string { return "fake" }
func (b *fakeBackend) NewCache(rows, maxLen int) (Cache, error) {
	return &fakeCache{b: b, rows: make([][]int, rows), max: maxLen}, nil
}

type fakeCache struct {
	b    *fakeBackend
	rows [][]int
	max  int
}

func (c *fakeCache) Rows() int          { return len(c.rows) }
func (c *fakeCache) Cap() int           { return c.max }
func (c *fakeCache) Len() int           { return len(c.rows[0]) }
func (c *fakeCache) Tokens(r int) []int { return c.rows[r] }
func (c *fakeCache) Truncate(n int) error {
	for r := range c.rows {
		c.rows[r] = c.rows[r][:n]
	}
	return nil
}
func (c *fakeCache) CopyFrom(src Cache, row int) error {
	s := src.(*fakeCache)
	for r := range c.rows {
		c.rows[r] = slices.Clone(s.rows[row])
	}
	return nil
}
func (c *fakeCache) Forward(tokens []int, T int, logits []float32, all bool) error {
	c.b.forwards++
	c.b.fed += len(tokens)
	time.Sleep(c.b.delay)
	V := c.b.vocab
	for r := range c.rows {
		if len(c.rows[r])+T > c.max {
			return errors.New("fake cache overflow")
		}
		c.rows[r] = append(c.rows[r], tokens[r*T:(r+1)*T]...)
		out := logits[r*V : (r+1)*V]
		h := uint64(1469598103934665603)
		for _, t := range c.rows[r] {
			h = (h ^ uint64(t)) * 1099511628211
		}
		for i := range out {
			x := (h ^ uint64(i)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
			out[i] = float32(x>>40) / float32(1<<24) * 4
		}
		if c.b.next != nil {
			if n := c.b.next(c.rows[r]); n >= 0 {
				out[n] = 100
			}
		}
	}
	return nil
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
	e := New(b, Options{Specials: specials})
	req := Request{Prompt: []int{1, 2, 3}, MaxTokens: 10}
	a, st := collect(t, e, req)
	if st.Generated != 10 || len(a[0]) != 10 || st.Stop != "length" {
		t.Fatalf("generated %d tokens (stop %q), want 10 (length)", len(a[0]), st.Stop)
	}
	// Recompute argmax independently with a fresh cache.
	c, _ := b.NewCache(1, 64)
	logits := make([]float32, 90)
	hist := []int{1, 2, 3}
	c.Forward(hist, 3, logits, false)
	for i, tok := range a[0] {
		if want := Argmax(logits); tok.ID != want {
			t.Fatalf("step %d: got %d, want argmax %d", i, tok.ID, want)
		}
		c.Forward([]int{tok.ID}, 1, logits, false)
	}
	e2 := New(&fakeBackend{vocab: 90, ctxLen: 64}, Options{Specials: specials})
	req.Temperature, req.Seed = 1, 7
	x, _ := collect(t, e2, req)
	y, _ := collect(t, New(&fakeBackend{vocab: 90, ctxLen: 64}, Options{Specials: specials}), req)
	if !slices.Equal(ids(x[0]), ids(y[0])) {
		t.Fatalf("same seed gave %v and %v", ids(x[0]), ids(y[0]))
	}
}

func TestForkedRowsEqualIndependentRuns(t *testing.T) {
	// At temperature 0 every row must equal a batch-1 run.
	e := New(&fakeBackend{vocab: 90, ctxLen: 64}, Options{Specials: specials})
	rows, _ := collect(t, e, Request{Prompt: []int{5, 6, 7, 8}, NumSamples: 3, MaxTokens: 12})
	single, _ := collect(t, New(&fakeBackend{vocab: 90, ctxLen: 64}, Options{Specials: specials}), Request{Prompt: []int{5, 6, 7, 8}, MaxTokens: 12})
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
	e := New(b, Options{Specials: specials})
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
	e := New(&fakeBackend{vocab: 90, ctxLen: 512}, Options{Specials: specials})
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
	e := New(b, Options{Specials: specials, Tool: tool})
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
	}
}

func TestPromptTooLong(t *testing.T) {
	e := New(&fakeBackend{vocab: 90, ctxLen: 8}, Options{Specials: specials})
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

func (c *fakeCache) ForwardRows(rows []int, tokens []int, logits []float32) error {
	V := c.b.vocab
	for j, r := range rows {
		sub := &fakeCache{b: c.b, rows: [][]int{c.rows[r]}, max: c.max}
		if err := sub.Forward(tokens[j:j+1], 1, logits[j*V:(j+1)*V], false); err != nil {
			return err
		}
		c.rows[r] = sub.rows[0]
	}
	return nil
}
func (c *fakeCache) CopyRow(dst int, src Cache, srcRow int) error {
	c.rows[dst] = slices.Clone(src.(*fakeCache).rows[srcRow])
	return nil
}
func (c *fakeCache) TruncateRow(r, n int) error { c.rows[r] = c.rows[r][:n]; return nil }
func (c *fakeCache) RowLen(r int) int           { return len(c.rows[r]) }
