package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// Concurrent requests through the batcher produce exactly what each would
// produce alone through the engine.
func TestBatcherMatchesEngine(t *testing.T) {
	b := &fakeBackend{vocab: 90, ctxLen: 128}
	bt, err := NewBatcher(b, Options{Specials: specials}, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Close()
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
		want, _ := collect(t, New(&fakeBackend{vocab: 90, ctxLen: 128}, Options{Specials: specials}), req)
		for r := range want {
			if !slices.Equal(got[i][r], ids(want[r])) {
				t.Errorf("request %d row %d: batcher %v, engine %v", i, r, got[i][r], ids(want[r]))
			}
		}
	}
}

func TestBatcherCancelFreesRows(t *testing.T) {
	b := &fakeBackend{vocab: 90, ctxLen: 4096, delay: 100 * time.Microsecond}
	bt, err := NewBatcher(b, Options{Specials: specials}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Close()
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
