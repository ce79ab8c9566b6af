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

// Concurrent requests sharing the loop's rows produce exactly what each
// produces alone.
func TestConcurrentRequestsMatchLoneRuns(t *testing.T) {
	b := &fakeBackend{vocab: 90, ctxLen: 128}
	bt := newEngine(t, b, Options{Specials: specials, Rows: 4, PrefillChunk: 3})
	reqs := []Request{
		{Prompt: []int{1, 2, 3}, MaxTokens: 20},
		{Prompt: []int{4, 5}, MaxTokens: 7},
		{Prompt: []int{6, 7, 8, 9, 10}, MaxTokens: 15, Sampling: Sampling{Temperature: 1, Seed: 5}},
		{Prompt: []int{11}, MaxTokens: 12, NumSamples: 2, Sampling: Sampling{Temperature: 0.7, TopK: 5, Seed: 9}},
		{Prompt: []int{12, 13}, MaxTokens: 9}, // waits for free rows
		{Prompt: []int{14, 15, 16}, MaxTokens: 11},
	}
	got := make([][][]int, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows := make([][]int, max(req.NumSamples, 1))
			_, err := bt.Generate(context.Background(), req, func(col []Token) error {
				for _, tok := range col {
					rows[tok.Row] = append(rows[tok.Row], tok.ID)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			got[i] = rows
		}()
	}
	wg.Wait()
	for i, req := range reqs {
		want, _ := collect(t, newEngine(t, &fakeBackend{vocab: 90, ctxLen: 128}, Options{Specials: specials}), req)
		for r := range want {
			if !slices.Equal(got[i][r], ids(want[r])) {
				t.Errorf("request %d row %d: shared %v, alone %v", i, r, got[i][r], ids(want[r]))
			}
		}
	}
}

func TestCancelFreesRows(t *testing.T) {
	b := &fakeBackend{vocab: 90, ctxLen: 4096, delay: 100 * time.Microsecond}
	bt := newEngine(t, b, Options{Specials: specials})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		var once sync.Once
		_, err := bt.Generate(ctx, Request{Prompt: []int{1}, MaxTokens: 4000}, func([]Token) error {
			once.Do(func() { close(started) })
			return nil
		})
		done <- err
	}()
	<-started
	// A queued request that gives up returns at once.
	qctx, qcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer qcancel()
	if _, err := bt.Generate(qctx, Request{Prompt: []int{2}, MaxTokens: 3}, func([]Token) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued request: %v, want deadline exceeded", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	// The row is free again.
	rows, err := bt.Generate(context.Background(), Request{Prompt: []int{3}, MaxTokens: 3}, func([]Token) error { return nil })
	if err != nil || rows.Generated != 3 {
		t.Fatalf("after cancel: %v, %d tokens", err, rows.Generated)
	}
	bt.Close()
	if _, err := bt.Generate(context.Background(), Request{Prompt: []int{3}}, func([]Token) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// A long prompt arriving while another request decodes is fed in chunks
// between that request's decode steps: each step carries the decoding row's
// token and at most one prompt chunk, so the stream never stalls for the
// whole prefill.
func TestLongPromptInterleavesWithDecode(t *testing.T) {
	b := &fakeBackend{vocab: 90, ctxLen: 4096, delay: 200 * time.Microsecond}
	e := newEngine(t, b, Options{Specials: specials, Rows: 2, PrefillChunk: 16})
	started := make(chan struct{})
	var first sync.WaitGroup
	first.Add(1)
	var decodedDuringPrefill int
	var prefilling sync.Mutex
	inPrefill := false
	go func() {
		defer first.Done()
		var once sync.Once
		e.Generate(context.Background(), Request{Prompt: []int{1, 2}, MaxTokens: 300}, func([]Token) error {
			once.Do(func() { close(started) })
			prefilling.Lock()
			if inPrefill {
				decodedDuringPrefill++
			}
			prefilling.Unlock()
			return nil
		})
	}()
	<-started
	long := make([]int, 160) // 10 chunks of 16
	for i := range long {
		long[i] = i % 80
	}
	prefilling.Lock()
	inPrefill = true
	prefilling.Unlock()
	_, err := e.Generate(context.Background(), Request{Prompt: long, MaxTokens: 1}, func([]Token) error {
		prefilling.Lock()
		inPrefill = false
		prefilling.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if decodedDuringPrefill < 8 {
		t.Fatalf("the decoding stream got %d tokens during a 10-chunk prefill, want ≥ 8 (one per step)", decodedDuringPrefill)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, n := range b.steps {
		if n > 2 {
			t.Fatalf("step %d fed %d chunks, want ≤ 2 (one decode row + one prompt chunk)", i, n)
		}
	}
}

// Scoring returns the log-softmax of the scripted logits at the gathered
// ids and the top ids, chunk boundaries included.
func TestScoreMatchesLogSoftmax(t *testing.T) {
	b := &fakeBackend{vocab: 90, ctxLen: 512}
	e := newEngine(t, b, Options{Specials: specials})
	toks := make([]int, 300) // spans three score chunks
	for i := range toks {
		toks[i] = (i*31 + 7) % 90
	}
	gather := make([][]int, len(toks))
	for i := range gather {
		if i%50 == 3 {
			gather[i] = []int{toks[(i+1)%len(toks)], 5}
		}
	}
	got, err := e.Score(context.Background(), toks, gather, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(toks) {
		t.Fatalf("%d positions, want %d", len(got), len(toks))
	}
	row := make([]float32, 90)
	for i := range toks {
		b.logits(toks[:i+1], row)
		lse := logSumExp(row)
		for k, id := range gather[i] {
			if want := float64(row[id]) - lse; math.Abs(got[i].Gathered[k]-want) > 1e-9 {
				t.Fatalf("position %d id %d: %v, want %v", i, id, got[i].Gathered[k], want)
			}
		}
		if top := got[i].Top; len(top) != 3 || top[0].ID != Argmax(row) || top[0].Logprob < top[1].Logprob || top[1].Logprob < top[2].Logprob {
			t.Fatalf("position %d: top %+v, want 3 descending from argmax %d", i, top, Argmax(row))
		}
	}
	if _, err := e.Score(context.Background(), toks, [][]int{{90}}, 0); err == nil {
		t.Fatal("gathering an id outside the vocabulary: no error")
	}
}

// Prompt chunks are never a single token after position 0: that would be a
// decode step, which some generations computed differently.
func TestPieceLenNeverLeavesOneToken(t *testing.T) {
	for remaining := 1; remaining < 40; remaining++ {
		for limit := 1; limit < 12; limit++ {
			n := PieceLen(remaining, limit)
			if n < 1 || n > max(limit, 2)+1 || remaining-n == 1 {
				t.Fatalf("PieceLen(%d, %d) = %d", remaining, limit, n)
			}
		}
	}
}
