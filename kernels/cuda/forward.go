//go:build cuda && cgo

package cuda

import (
	"fmt"
	"slices"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/nanochat-go/nanochat/engine"
)

// How a Cache turns the engine's chunks into launches. A launch sequence
// (enqueue) runs B entries of T tokens each, every entry one chunk of one
// cache row at that row's own position (the step block, csrc/common.cuh).
// Forward groups its chunks by length: all single-token decode chunks go
// in one launch sequence, replayed from a CUDA graph captured once per B;
// each other length gets its own. Score feeds one chunk in pieces with the
// logits of every position. In both, the host bookkeeping (ids,
// positions) changes only after every launch succeeded: the device keys
// past a row's position are ignored until overwritten.

// scoreChunk is the most positions Score runs per launch, bounding the
// logits it holds to scoreChunk·V floats on the device and the host.
const scoreChunk = 128

// entry is one chunk of a launch: tokens toks for cache row row at
// position pos, prev the token before them (−1 at position 0).
type entry struct {
	row, pos, prev int
	toks           []int
}

// group is the chunks of one length in a Forward call, in call order.
type group struct {
	T   int
	idx []int // indices into the chunks
}

// entryAt is the entry for tokens all[off:off+n] of a chunk for row r that
// starts at the row's current position.
func (c *Cache) entryAt(r int, all []int, off, n int) entry {
	e := entry{row: r, pos: c.pos[r] + off, prev: -1, toks: all[off : off+n]}
	switch {
	case off > 0:
		e.prev = all[off-1]
	case c.pos[r] > 0:
		e.prev = c.toks[r*c.maxLen+c.pos[r]-1]
	}
	return e
}

// commit appends toks to row r's ids and position.
func (c *Cache) commit(r int, toks []int) {
	copy(c.toks[r*c.maxLen+c.pos[r]:], toks)
	c.pos[r] += len(toks)
}

// Forward appends each chunk's tokens to its row and writes the logits
// after each chunk's last token ([len(chunks)][V], in chunk order), as
// engine.Cache says. On error no row has advanced.
func (c *Cache) Forward(chunks []engine.Chunk, logits []float32) error {
	b := c.b
	V := b.cfg.VocabSize
	if err := engine.CheckChunks(c, chunks, V, logits); err != nil {
		return err
	}
	unlock, err := b.acquire("forward", c.res)
	if err != nil {
		return err
	}
	defer unlock()

	// 1. Group the chunks by length (first appearance order).
	c.groups = c.groups[:0]
	for i, ch := range chunks {
		T, j := len(ch.Tokens), 0
		for j < len(c.groups) && c.groups[j].T != T {
			j++
		}
		if j == len(c.groups) {
			if j < cap(c.groups) {
				c.groups = c.groups[:j+1]
				c.groups[j].T, c.groups[j].idx = T, c.groups[j].idx[:0]
			} else {
				c.groups = append(c.groups, group{T: T})
			}
		}
		c.groups[j].idx = append(c.groups[j].idx, i)
	}

	// 2. One launch sequence per group; its logits in the caller's chunk order.
	for _, gr := range c.groups {
		c.entries = c.entries[:0]
		for _, i := range gr.idx {
			c.entries = append(c.entries, c.entryAt(chunks[i].Row, chunks[i].Tokens, 0, gr.T))
		}
		if err := c.launch(c.entries, gr.T, gr.T == 1, false); err != nil {
			return fmt.Errorf("forward on %s: %w", b.g.info, err)
		}
		if err := c.downloadLogits(gr.idx, logits); err != nil {
			return fmt.Errorf("forward: download logits: %w", err)
		}
	}

	// 3. Only now does any row advance.
	for _, ch := range chunks {
		c.commit(ch.Row, ch.Tokens)
	}
	return nil
}

// downloadLogits copies the launch's [len(idx)][V] logits to
// logits[idx[j]]: in one copy when idx is a run of consecutive chunks,
// else through the host stage.
func (c *Cache) downloadLogits(idx []int, logits []float32) error {
	V := c.b.cfg.VocabSize
	B := len(idx)
	run := true
	for j := range idx {
		run = run && idx[j] == idx[0]+j
	}
	if run {
		return cu.MemcpyDtoH(unsafe.Pointer(&logits[idx[0]*V]), c.res.ws.logits, int64(4*B*V))
	}
	stage := c.stageFor(B * V)
	if err := cu.MemcpyDtoH(unsafe.Pointer(&stage[0]), c.res.ws.logits, int64(4*B*V)); err != nil {
		return err
	}
	for j, i := range idx {
		copy(logits[i*V:(i+1)*V], stage[j*V:(j+1)*V])
	}
	return nil
}

// stageFor returns the host stage with room for n floats.
func (c *Cache) stageFor(n int) []float32 {
	if len(c.stage) < n {
		c.stage = make([]float32, n)
	}
	return c.stage[:n]
}

// launch runs one launch sequence for entries es of T tokens each and
// leaves the logits in the workspace: [len(es)][V] after each entry's last
// token, or with all [len(es)·T][V] for every position. decode marks
// single-token chunks (nanochat's decode-step quirks apply; the decode
// graph is used). Call with the lock held.
func (c *Cache) launch(es []entry, T int, decode, all bool) error {
	b, ws := c.b, &c.res.ws
	B := len(es)
	N := B * T
	outRows := B
	if all {
		outRows = N
	}
	parts := N * b.cfg.NHead
	if T == 1 {
		plans, err := c.decodePlans(B)
		if err != nil {
			return err
		}
		parts = max(parts, B*b.cfg.NHead*maxSplits(plans))
	}
	if err := c.ensure(N, outRows, parts, StepWords(B, T)); err != nil {
		return err
	}

	// 1. The step block: rows, positions, previous tokens, new tokens.
	c.step = c.step[:0]
	for _, e := range es {
		c.step = append(c.step, int32(e.row))
	}
	for _, e := range es {
		c.step = append(c.step, int32(e.pos))
	}
	for _, e := range es {
		c.step = append(c.step, int32(e.prev))
	}
	for _, e := range es {
		for _, t := range e.toks {
			c.step = append(c.step, int32(t))
		}
	}
	if err := cu.MemcpyHtoD(ws.step, unsafe.Pointer(&c.step[0]), int64(4*len(c.step))); err != nil {
		return fmt.Errorf("upload the step block: %w", err)
	}

	// 2. The layers: a replayed graph for a decode step, launches otherwise.
	var err error
	if decode && T == 1 && !all && b.graphs {
		err = c.decodeGraph(B)
	} else {
		err = c.enqueue(B, T, decode, all)
	}
	if err != nil {
		return err
	}
	return b.g.stream.Synchronize()
}

// decodeGraph replays the captured decode step of B entries, capturing it
// first (again after the workspace moved). The graph reads the rows and
// positions from the step block, so one per B serves any rows at any
// positions. If capture fails the backend falls back to plain launches for
// good.
func (c *Cache) decodeGraph(B int) error {
	r, g := c.res, c.b.g
	if r.gen != r.ws.gen {
		r.dropGraphs()
		r.gen = r.ws.gen
	}
	gr := r.graphs[B]
	if gr == nil {
		if err := beginCapture(g.stream); err != nil {
			c.b.graphs = false
			return c.enqueue(B, 1, true, false)
		}
		errRun := c.enqueue(B, 1, true, false)
		captured, errEnd := endCapture(g.stream)
		if errRun != nil || errEnd != nil {
			captured.destroy()
			c.b.graphs = false
			return c.enqueue(B, 1, true, false)
		}
		gr = captured
		r.graphs[B] = gr
	}
	return gr.launch(g.stream)
}

// Score appends ch to its row like Forward and returns, for each position
// t, the log-probabilities of the next-token distribution at the ids
// gather[t] and the topN most likely ids (engine.ScoreLogits). It feeds ch
// in pieces of at most scoreChunk tokens (engine.PieceLen: never a lone
// last token, which would be a decode step), as the CPU backend does, downloading the logits of
// every position only for pieces with something to gather or rank. On
// error the row has not advanced.
func (c *Cache) Score(ch engine.Chunk, gather [][]int, topN int) ([]engine.Scored, error) {
	V := c.b.cfg.VocabSize
	if err := engine.CheckChunks(c, []engine.Chunk{ch}, V, c.stageFor(V)); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	switch {
	case len(gather) > len(ch.Tokens):
		return nil, fmt.Errorf("score: %d gather lists for %d tokens", len(gather), len(ch.Tokens))
	case topN < 0:
		return nil, fmt.Errorf("score: top %d: want ≥ 0", topN)
	}
	for t, ids := range gather {
		for _, id := range ids {
			if id < 0 || id >= V {
				return nil, fmt.Errorf("score: position %d: id %d outside the vocabulary [0, %d)", t, id, V)
			}
		}
	}
	topN = min(topN, V)
	T := len(ch.Tokens)
	out := make([]engine.Scored, 0, T)
	for off, n := 0, 0; off < T; off += n {
		n = engine.PieceLen(T-off, scoreChunk)
		var g [][]int
		if off < len(gather) {
			g = gather[off:min(off+n, len(gather))]
		}
		all := topN > 0 || slices.ContainsFunc(g, func(ids []int) bool { return len(ids) > 0 })
		logits, err := c.piece(ch, off, n, all)
		if err != nil {
			return nil, err
		}
		if !all {
			out = append(out, make([]engine.Scored, n)...)
			continue
		}
		// Outside the lock: other caches' calls run meanwhile.
		out = append(out, engine.ScoreLogits(logits, V, g, topN)...)
	}
	c.commit(ch.Row, ch.Tokens)
	return out, nil
}

// piece runs tokens [off, off+n) of chunk ch (which passed
// engine.CheckChunks) at the row's position + off without advancing the
// row, and with all returns the [n][V] logits of every position (in the
// host stage, valid until the next call).
func (c *Cache) piece(ch engine.Chunk, off, n int, all bool) ([]float32, error) {
	b := c.b
	unlock, err := b.acquire("score", c.res)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c.entries = append(c.entries[:0], c.entryAt(ch.Row, ch.Tokens, off, n))
	if err := c.launch(c.entries, n, n == 1, all); err != nil {
		return nil, fmt.Errorf("score on %s: %w", b.g.info, err)
	}
	if !all {
		return nil, nil
	}
	stage := c.stageFor(n * b.cfg.VocabSize)
	if err := cu.MemcpyDtoH(unsafe.Pointer(&stage[0]), c.res.ws.logits, int64(4*len(stage))); err != nil {
		return nil, fmt.Errorf("score: download logits: %w", err)
	}
	return stage, nil
}
