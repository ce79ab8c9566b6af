package engine

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// phase is where a request stands in the loop (as llama.cpp's server
// slots): queued → prefilling → decoding → done.
//
//	queued      waiting for free rows (first in, first out)
//	prefilling  its prompt is fed into its first row a chunk per step,
//	            after the longest prefix that row already held
//	decoding    every step samples one token per row and feeds it back
//	done        rows released (their tokens stay cached for reuse)
type phase int

const (
	queued phase = iota
	prefilling
	decoding
	done
)

// job is one request inside the loop. Only the loop touches its fields,
// except err (under mu) and out/end, which the caller reads.
type job struct {
	mu     sync.Mutex
	ctx    context.Context
	req    Request
	phase  phase
	out    chan []Token // buffered: the loop never blocks on a slow consumer
	err    error
	stats  Stats
	start  time.Time
	rows   []int // cache rows held (num_samples); rows[0] takes the prefill
	fed    int   // prompt tokens in rows[0]
	state  []rowState
	sp     *sampler
	maxTok int
	logits []float32 // [len(rows)][V] next-token logits of each row
	col    []int     // the tokens sampled last, fed at the next step
	end    chan struct{}
}

// fail records the job's first error; the loop retires it at its next step.
func (j *job) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = err
	}
}

func (j *job) failure() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// loop owns the cache: admit, feed, sample, retire.
type loop struct {
	e     *Engine
	cache Cache
	V     int

	active   []*job    // prefilling and decoding, in admission order
	busy     []bool    // [rows] held by an active job
	lastUsed []int64   // [rows] step that last released the row (LRU)
	steps    int64     // forwards run so far
	chunks   []Chunk   // this step's chunks
	owners   []*job    // job of each chunk
	logits   []float32 // [len(chunks)][V]
}

func newLoop(e *Engine, c Cache) *loop {
	return &loop{e: e, cache: c, V: e.b.VocabSize(), busy: make([]bool, c.Rows()), lastUsed: make([]int64, c.Rows())}
}

func (l *loop) run() {
	defer func() { l.cache.Close() }()
	for {
		closed := l.admit()
		if closed {
			for _, j := range l.active {
				l.finish(j, ErrEngineClosed)
			}
			return
		}
		l.retireCancelled()
		if len(l.active) == 0 {
			select {
			case <-l.e.wake:
			case <-l.e.done:
			}
			continue
		}
		l.step()
	}
}

// admit drops cancelled queued jobs and admits the queue's head while its
// rows are free (growing the cache when a request wants more rows than it
// has and nothing runs). It reports whether the engine is closing, after
// failing the queue.
func (l *loop) admit() bool {
	e := l.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		for _, j := range e.queue {
			l.finishLocked(j, ErrEngineClosed)
		}
		e.queue = nil
		return true
	}
	waiting := e.queue[:0]
	for _, j := range e.queue {
		if err := j.ctx.Err(); err != nil {
			j.stats.Stop = "cancelled"
			l.finishLocked(j, err)
			continue
		}
		waiting = append(waiting, j)
	}
	e.queue = waiting
	for len(e.queue) > 0 {
		j := e.queue[0]
		need := len(j.state)
		if need > l.cache.Rows() {
			if len(l.active) > 0 {
				break // grow once the running requests are done
			}
			if err := l.grow(need); err != nil {
				e.queue = e.queue[1:]
				l.finishLocked(j, err)
				continue
			}
		}
		if l.free() < need {
			break
		}
		e.queue = e.queue[1:]
		if err := l.place(j); err != nil {
			l.finishLocked(j, err)
			continue
		}
		l.active = append(l.active, j)
	}
	return false
}

// grow replaces the cache by one of rows rows (cached prefixes are lost).
func (l *loop) grow(rows int) error {
	c, err := l.e.b.NewCache(rows, l.e.b.ContextLen())
	if err != nil {
		return fmt.Errorf("generate: %d samples: %w", rows, err)
	}
	l.cache.Close()
	l.cache = c
	l.busy, l.lastUsed = make([]bool, rows), make([]int64, rows)
	return nil
}

func (l *loop) free() int {
	n := 0
	for _, b := range l.busy {
		if !b {
			n++
		}
	}
	return n
}

// place gives j its rows: first the free row sharing the longest prefix
// with the prompt (least recently used on ties), truncated to that prefix
// (leaving at least the last two prompt tokens to feed), then the least
// recently used free rows for the other samples.
func (l *loop) place(j *job) error {
	prompt := j.req.Prompt
	best, bestLen := -1, -1
	for r, b := range l.busy {
		if b {
			continue
		}
		// Keep at least the last prompt token to feed, for its logits,
		// and never exactly one (see PieceLen).
		n := min(commonPrefix(l.cache.Tokens(r), prompt), len(prompt)-2)
		n = max(n, 0)
		if n > bestLen || (n == bestLen && l.lastUsed[r] < l.lastUsed[best]) {
			best, bestLen = r, n
		}
	}
	j.rows = append(j.rows[:0], best)
	l.busy[best] = true
	for len(j.rows) < len(j.state) {
		r := -1
		for i, b := range l.busy {
			if !b && (r < 0 || l.lastUsed[i] < l.lastUsed[r]) {
				r = i
			}
		}
		j.rows = append(j.rows, r)
		l.busy[r] = true
	}
	if err := l.cache.TruncateRow(best, bestLen); err != nil {
		return err
	}
	j.fed, j.stats.CachedTokens, j.phase = bestLen, bestLen, prefilling
	return nil
}

// retireCancelled finishes active jobs whose caller went away.
func (l *loop) retireCancelled() {
	kept := l.active[:0]
	for _, j := range l.active {
		if j.failure() != nil || j.ctx.Err() != nil {
			j.stats.Stop = "cancelled"
			l.finish(j, j.ctx.Err())
			continue
		}
		kept = append(kept, j)
	}
	l.active = kept
}

// step runs one forward: a token per row of every decoding job, then
// prompt chunks of the prefilling jobs within the PrefillChunk budget (in
// admission order). Jobs whose logits are complete then sample and emit.
func (l *loop) step() {
	V := l.V
	l.chunks, l.owners = l.chunks[:0], l.owners[:0]
	for _, j := range l.active {
		if j.phase != decoding {
			continue
		}
		for i, r := range j.rows {
			l.chunks = append(l.chunks, Chunk{Row: r, Tokens: j.col[i : i+1]})
			l.owners = append(l.owners, j)
		}
	}
	budget := l.e.opts.PrefillChunk
	for _, j := range l.active {
		if j.phase != prefilling || budget <= 0 {
			continue
		}
		n := PieceLen(len(j.req.Prompt)-j.fed, budget)
		l.chunks = append(l.chunks, Chunk{Row: j.rows[0], Tokens: j.req.Prompt[j.fed : j.fed+n]})
		l.owners = append(l.owners, j)
		budget -= n
	}
	if cap(l.logits) < len(l.chunks)*V {
		l.logits = make([]float32, len(l.chunks)*V)
	}
	logits := l.logits[:len(l.chunks)*V]
	l.steps++
	if err := l.cache.Forward(l.chunks, logits); err != nil {
		for _, j := range l.active {
			l.finish(j, err)
		}
		l.active = l.active[:0]
		return
	}

	// Hand out the logits: decode rows in order, prefill chunks advance.
	next := 0 // index into each decoding job's rows
	var prev *job
	for k, ch := range l.chunks {
		j := l.owners[k]
		row := logits[k*V : (k+1)*V]
		if j.phase == decoding {
			if j != prev {
				next, prev = 0, j
			}
			copy(j.logits[next*V:(next+1)*V], row)
			next++
			continue
		}
		j.fed += len(ch.Tokens)
		if j.fed < len(j.req.Prompt) {
			continue
		}
		for i, r := range j.rows {
			if i > 0 {
				if err := l.cache.CopyRow(r, l.cache, j.rows[0]); err != nil {
					j.fail(err)
				}
			}
			copy(j.logits[i*V:(i+1)*V], row)
		}
		j.phase = decoding
	}

	// Sample, emit, retire. A job that finished its prefill in this step
	// samples its first tokens now.
	kept := l.active[:0]
	for _, j := range l.active {
		if j.failure() != nil {
			l.finish(j, nil)
			continue
		}
		if j.phase != decoding {
			kept = append(kept, j)
			continue
		}
		j.out <- l.sample(j)
		if allDone(j.state) || j.stats.Generated >= j.maxTok {
			j.stats.Stop = "length"
			if allDone(j.state) {
				j.stats.Stop = "end"
			}
			l.finish(j, nil)
			continue
		}
		kept = append(kept, j)
	}
	l.active = kept
}

// sample draws the next token of each of the job's rows and returns the
// tokens to emit. The slice is new each step: it is handed to the job's
// consumer over a channel.
func (l *loop) sample(j *job) []Token {
	out := sampleStep(j.sp, j.state, j.logits, l.V, j.col, make([]Token, 0, len(j.rows)), l.e.opts)
	if j.stats.Generated == 0 {
		j.stats.TTFT = time.Since(j.start)
	}
	j.stats.Generated++
	return out
}

// finish releases j's rows (their tokens stay cached) and wakes its caller.
func (l *loop) finish(j *job, err error) {
	l.e.mu.Lock()
	defer l.e.mu.Unlock()
	l.finishLocked(j, err)
}

func (l *loop) finishLocked(j *job, err error) {
	for _, r := range j.rows {
		l.busy[r] = false
		l.lastUsed[r] = l.steps
	}
	if err != nil {
		j.fail(err)
	}
	if j.stats.Generated > 0 {
		j.stats.Decode = time.Since(j.start) - j.stats.TTFT
	}
	j.phase = done
	close(j.out)
	close(j.end)
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
