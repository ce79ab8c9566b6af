package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Batcher runs many generations at once on one backend (continuous
// batching). Each request takes rows of a shared cache; every step advances
// all active rows by one token in a single batched forward, so the weights
// are read once per step for every stream. Requests join and leave between
// steps; a cancelled request frees its rows at the next step.
type Batcher struct {
	b     Backend
	opts  Options
	rows  int
	cache RowCache

	mu      sync.Mutex
	wake    chan struct{}
	queue   []*job
	closed  bool
	done    chan struct{}
	running sync.WaitGroup
}

// job is one request inside the batcher.
type job struct {
	ctx    context.Context
	req    Request
	out    chan []Token // buffered: the loop never blocks on a slow consumer
	err    error
	stats  Stats
	start  time.Time
	rows   []int // cache rows held (num_samples)
	state  []rowState
	sp     *sampler
	maxTok int
	logits []float32 // [len(rows)][V]
	col    []int
	end    chan struct{}
}

// ErrClosed is returned by Generate after Close.
var ErrClosed = errors.New("batcher closed")

// NewBatcher starts a batcher with room for rows concurrent rows, each up
// to the backend's context length.
func NewBatcher(b Backend, opts Options, rows int) (*Batcher, error) {
	if opts.PrefillChunk <= 0 {
		opts.PrefillChunk = 128
	}
	c, err := b.NewCache(rows, b.ContextLen())
	if err != nil {
		return nil, err
	}
	rc, ok := c.(RowCache)
	if !ok {
		return nil, fmt.Errorf("batcher: backend %s has no per-row cache", b.Describe())
	}
	for r := 0; r < rows; r++ {
		rc.TruncateRow(r, 0)
	}
	bt := &Batcher{b: b, opts: opts, rows: rows, cache: rc, wake: make(chan struct{}, 1), done: make(chan struct{})}
	bt.running.Add(1)
	go bt.loop()
	return bt, nil
}

// Rows is the number of rows the batcher holds.
func (bt *Batcher) Rows() int { return bt.rows }

// Close stops the batcher after failing queued and running requests.
func (bt *Batcher) Close() {
	bt.mu.Lock()
	if !bt.closed {
		bt.closed = true
		close(bt.done)
	}
	bt.mu.Unlock()
	bt.running.Wait()
}

// Generate has the contract of Engine.Generate. It waits for free rows
// (honouring ctx), then streams tokens as the shared decode loop produces
// them; emit runs in the caller's goroutine.
func (bt *Batcher) Generate(ctx context.Context, req Request, emit func([]Token) error) (Stats, error) {
	st := Stats{PromptTokens: len(req.Prompt)}
	rows := max(req.NumSamples, 1)
	V, ctxLen := bt.b.VocabSize(), bt.b.ContextLen()
	if rows > bt.rows {
		return st, fmt.Errorf("generate: %d samples, the batcher has %d rows", rows, bt.rows)
	}
	maxTok, err := checkRequest(req, V, ctxLen)
	if err != nil {
		return st, err
	}
	j := &job{ctx: ctx, req: req, out: make(chan []Token, maxTok+1), start: time.Now(), maxTok: maxTok,
		state: make([]rowState, rows), sp: newSampler(req.Sampling, V), logits: make([]float32, rows*V),
		col: make([]int, rows), end: make(chan struct{})}
	j.stats = st
	bt.mu.Lock()
	if bt.closed {
		bt.mu.Unlock()
		return st, ErrClosed
	}
	bt.queue = append(bt.queue, j)
	bt.mu.Unlock()
	bt.poke()

	var emitErr error
	for {
		select {
		case col, ok := <-j.out:
			if !ok {
				<-j.end
				if emitErr != nil {
					return j.stats, emitErr
				}
				return j.stats, j.err
			}
			if emitErr == nil {
				if emitErr = emit(col); emitErr != nil {
					bt.cancel(j)
				}
			}
		case <-ctx.Done():
			bt.poke()
			<-j.end // the loop frees the rows at its next step
			j.stats.Stop = "cancelled"
			return j.stats, ctx.Err()
		}
	}
}

func (bt *Batcher) poke() {
	select {
	case bt.wake <- struct{}{}:
	default:
	}
}

// cancel marks a job whose consumer failed; the loop drops it.
func (bt *Batcher) cancel(j *job) {
	bt.mu.Lock()
	j.err = context.Canceled
	bt.mu.Unlock()
	bt.poke()
}

// loop owns the cache: admit, prefill, step, retire.
func (bt *Batcher) loop() {
	defer bt.running.Done()
	V := bt.b.VocabSize()
	free := make([]bool, bt.rows)
	for i := range free {
		free[i] = true
	}
	var active []*job
	var rows, toks []int
	logits := make([]float32, bt.rows*V)
	finish := func(j *job, err error) {
		for _, r := range j.rows {
			bt.cache.TruncateRow(r, 0)
			free[r] = true
		}
		bt.mu.Lock()
		if err != nil && j.err == nil {
			j.err = err
		}
		bt.mu.Unlock()
		if j.stats.Generated > 0 {
			j.stats.Decode = time.Since(j.start) - j.stats.TTFT
		}
		close(j.out)
		close(j.end)
	}
	for {
		// 1. Drop cancelled queued jobs, then admit while rows are free (FIFO).
		bt.mu.Lock()
		closed := bt.closed
		waiting := bt.queue[:0]
		for _, j := range bt.queue {
			if j.ctx.Err() != nil {
				bt.mu.Unlock()
				finish(j, j.ctx.Err())
				bt.mu.Lock()
				continue
			}
			waiting = append(waiting, j)
		}
		bt.queue = waiting
		for len(bt.queue) > 0 && !closed {
			j := bt.queue[0]
			if countFree(free) < len(j.state) {
				break
			}
			bt.queue = bt.queue[1:]
			for r := range free {
				if free[r] && len(j.rows) < len(j.state) {
					free[r] = false
					j.rows = append(j.rows, r)
				}
			}
			bt.mu.Unlock()
			if err := bt.prefill(j); err != nil {
				finish(j, err)
			} else {
				active = append(active, j)
			}
			bt.mu.Lock()
		}
		if closed {
			for _, j := range bt.queue {
				finish(j, ErrClosed)
			}
			bt.queue = nil
		}
		bt.mu.Unlock()
		if closed {
			for _, j := range active {
				finish(j, ErrClosed)
			}
			return
		}
		if len(active) == 0 {
			select {
			case <-bt.wake:
			case <-bt.done:
			}
			continue
		}
		// 2. Sample one token per row of every active job, emit, retire.
		rows, toks = rows[:0], toks[:0]
		kept := active[:0]
		for _, j := range active {
			bt.mu.Lock()
			failed := j.err
			bt.mu.Unlock()
			if failed != nil || j.ctx.Err() != nil {
				j.stats.Stop = "cancelled"
				finish(j, j.ctx.Err())
				continue
			}
			out := bt.sample(j)
			j.out <- out
			if allDone(j.state) || j.stats.Generated >= j.maxTok {
				j.stats.Stop = "length"
				if allDone(j.state) {
					j.stats.Stop = "end"
				}
				finish(j, nil)
				continue
			}
			kept = append(kept, j)
			rows = append(rows, j.rows...)
			toks = append(toks, j.col...)
		}
		active = kept
		if len(rows) == 0 {
			continue
		}
		// 3. One batched forward for every continuing row.
		if err := bt.cache.ForwardRows(rows, toks, logits[:len(rows)*V]); err != nil {
			for _, j := range active {
				finish(j, err)
			}
			active = active[:0]
			continue
		}
		k := 0
		for _, j := range active {
			copy(j.logits, logits[k*V:(k+len(j.rows))*V])
			k += len(j.rows)
		}
	}
}

// prefill runs the job's prompt through a batch-1 cache in chunks and
// copies it into each of its rows.
func (bt *Batcher) prefill(j *job) error {
	V := bt.b.VocabSize()
	c, err := bt.b.NewCache(1, len(j.req.Prompt))
	if err != nil {
		return err
	}
	if err := feed(j.ctx, c, j.req.Prompt, bt.opts.PrefillChunk, j.logits[:V]); err != nil {
		return err
	}
	for i, r := range j.rows {
		if err := bt.cache.CopyRow(r, c, 0); err != nil {
			return err
		}
		copy(j.logits[i*V:(i+1)*V], j.logits[:V])
	}
	return nil
}

// sample draws the next token of each of the job's rows (Engine.Generate's
// step 3 for one job) and returns the tokens to emit. The slice is new each
// step: it is handed to the job's consumer over a channel.
func (bt *Batcher) sample(j *job) []Token {
	out := sampleStep(j.sp, j.state, j.logits, bt.b.VocabSize(), j.col, make([]Token, 0, len(j.rows)), bt.opts)
	if j.stats.Generated == 0 {
		j.stats.TTFT = time.Since(j.start)
	}
	j.stats.Generated++
	return out
}

func countFree(free []bool) int {
	n := 0
	for _, f := range free {
		if f {
			n++
		}
	}
	return n
}
