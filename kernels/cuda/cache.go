//go:build cuda && cgo

package cuda

import (
	"fmt"
	"runtime"

	"gorgonia.org/cu"

	"github.com/nanochat-go/nanochat/engine"
)

// Cache is a device KV cache of rows rows that each sit at their own
// position, with the activations of one launch sequence. Close frees its
// device memory at once; a cache nobody closes is freed after the GC
// collects it (a safety net, at the backend's next call).
type Cache struct {
	b            *Backend
	rows, maxLen int
	pos          []int // [rows] positions cached per row
	toks         []int // [rows][maxLen] host copy of the cached ids (Tokens, smear, bigram)

	res     *cacheRes
	cleanup runtime.Cleanup

	dec     [][]AttnPlan // [B] per layer: the decode (T = 1) attention plans for B entries, made on first use
	step    []int32      // host copy of the step block
	entries []entry      // scratch: one launch's entries
	groups  []group      // scratch: Forward's chunks grouped by length
	stage   []float32    // host logits of one launch, when they cannot go straight to the caller
}

// cacheRes is what a Cache holds on the device. It is separate from the
// Cache so the GC cleanup can free it without keeping the Cache alive.
// Its fields change only under the backend's mu.
type cacheRes struct {
	kv     cu.DevicePtr // K then V, each [L][rows][maxLen][KV][hd] bf16
	kvSize int64
	ws     workspace
	graphs map[int]*graph // captured decode steps by entry count B, for workspace generation graphGen
	gen    int            // the workspace generation the graphs were captured with
	closed bool
}

// bytes is the device memory r holds.
func (r *cacheRes) bytes() int64 { return r.kvSize + r.ws.size }

// free releases r's device memory and returns how much; call with the
// context current.
func (r *cacheRes) free() int64 {
	n := r.bytes()
	r.dropGraphs()
	r.ws.free()
	if r.kv != 0 {
		cu.MemFree(r.kv)
		r.kv, r.kvSize = 0, 0
	}
	r.closed = true
	return n
}

func (r *cacheRes) dropGraphs() {
	for B, gr := range r.graphs {
		gr.destroy()
		delete(r.graphs, B)
	}
}

// workspace holds the activations of one launch sequence over up to n
// token rows (B·T). It grows only when a larger launch arrives; gen counts
// the reallocations, so a decode graph captured on older buffers is redone.
type workspace struct {
	n, logitRows, parts, stepWords, gen int
	size                                int64 // bytes
	bufs                                []cu.DevicePtr
	step                                cu.DevicePtr // int32 [stepWords]: StepWords(B, T) of the launch
	x, x0, xb, bg                       cu.DevicePtr // fp32 [n][C] residual stream, x0, backout snapshot, bigram rows
	h                                   cu.DevicePtr // bf16 [n][C] normalized GEMM input
	inv                                 cu.DevicePtr // fp32 [n] 1/rms of the block input
	qkv                                 cu.DevicePtr // fp32 [n][H·hd + 2·KV·hd]
	q, att                              cu.DevicePtr // bf16 [n][H·hd]
	fc                                  cu.DevicePtr // bf16 [n][4C]
	opart, lse                          cu.DevicePtr // fp32 [parts][hd], [parts] split-KV partials
	logits                              cu.DevicePtr // fp32 [logitRows][V]
}

func (ws *workspace) free() {
	for _, p := range ws.bufs {
		cu.MemFree(p)
	}
	*ws = workspace{gen: ws.gen}
}

// NewCache allocates a device cache of rows rows of up to maxLen tokens.
func (b *Backend) NewCache(rows, maxLen int) (engine.Cache, error) {
	if rows <= 0 || maxLen <= 0 {
		return nil, fmt.Errorf("new cache: %d rows and length %d must be positive", rows, maxLen)
	}
	if maxLen > b.MaxPositions() {
		return nil, fmt.Errorf("new cache: length %d exceeds the model's %d positions (10·sequence_len)", maxLen, b.MaxPositions())
	}
	unlock, err := b.acquire("new cache", nil)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cfg := b.cfg
	res := &cacheRes{graphs: map[int]*graph{}}
	c := &Cache{b: b, rows: rows, maxLen: maxLen, pos: make([]int, rows), toks: make([]int, rows*maxLen),
		res: res, dec: make([][]AttnPlan, rows+1)}
	kvBytes := 2 * int64(cfg.NLayer) * int64(rows) * int64(maxLen) * int64(cfg.KVDim()) * 2
	if res.kv, err = b.allocLocked(fmt.Sprintf("KV cache for %d rows × %d positions", rows, maxLen), kvBytes); err != nil {
		return nil, fmt.Errorf("new cache: %w", err)
	}
	res.kvSize = kvBytes
	b.open[res] = struct{}{}
	b.allocated.Add(kvBytes)
	// The activations of a decode step of every row, so the common case
	// never grows the workspace.
	dec, err := c.decodePlans(rows)
	if err == nil {
		err = c.ensure(rows, rows, rows*cfg.NHead*maxSplits(dec), StepWords(rows, 1))
	}
	if err != nil {
		b.freeLocked(res)
		return nil, fmt.Errorf("new cache: %w", err)
	}
	c.cleanup = runtime.AddCleanup(c, func(r *cacheRes) { b.release(r) }, res)
	return c, nil
}

// decodePlans returns the per-layer attention plans of a T = 1 launch of B
// entries. The split count depends only on B and the capacity, so the
// plans (and a graph captured with them) hold as the rows fill.
func (c *Cache) decodePlans(B int) ([]AttnPlan, error) {
	if c.dec[B] != nil {
		return c.dec[B], nil
	}
	b, cfg := c.b, c.b.cfg
	plans := make([]AttnPlan, cfg.NLayer)
	for i := range plans {
		var err error
		if plans[i], err = PlanAttention(Attn{B: B, T: 1, H: cfg.NHead, KV: cfg.NKVHead, HD: cfg.HeadDim(),
			MaxKeys: MaxKeys(c.maxLen, b.window(i, true)), SMs: b.g.info.SMs}); err != nil {
			return nil, err
		}
	}
	c.dec[B] = plans
	return plans, nil
}

func maxSplits(plans []AttnPlan) int {
	s := 1
	for _, p := range plans {
		s = max(s, p.Splits)
	}
	return s
}

// window is layer i's attention window for a launch; decode (single-token
// chunks) ignores it for the checkpoints whose nanochat SDPA fallback did
// (before 2026-01-30).
func (b *Backend) window(i int, decode bool) int {
	if decode && b.arch.DecodeNoWindow {
		return -1
	}
	return b.arch.Windows[i]
}

// ensure sizes the workspace for n token rows, logitRows logits rows, parts
// split-KV partials and a step block of stepWords; call with the lock held.
func (c *Cache) ensure(n, logitRows, parts, stepWords int) error {
	ws := &c.res.ws
	if n <= ws.n && logitRows <= ws.logitRows && parts <= ws.parts && stepWords <= ws.stepWords {
		return nil
	}
	n, logitRows = max(n, ws.n), max(logitRows, ws.logitRows)
	parts, stepWords = max(parts, ws.parts, n*c.b.cfg.NHead), max(stepWords, ws.stepWords)
	cfg, b := c.b.cfg, c.b
	C, H, KV, hd := int64(cfg.NEmbd), int64(cfg.NHead), int64(cfg.NKVHead), int64(cfg.HeadDim())
	N, P := int64(n), int64(parts)
	sizes := []struct {
		dst   *cu.DevicePtr
		bytes int64
	}{
		{&ws.step, 4 * int64(stepWords)},
		{&ws.x, 4 * N * C}, {&ws.x0, 4 * N * C}, {&ws.xb, 4 * N * C},
		{&ws.h, 2 * N * C}, {&ws.inv, 4 * N},
		{&ws.qkv, 4 * N * (H + 2*KV) * hd},
		{&ws.q, 2 * N * H * hd}, {&ws.att, 2 * N * H * hd},
		{&ws.fc, 2 * N * 4 * C},
		{&ws.opart, 4 * P * hd}, {&ws.lse, 4 * P},
		{&ws.logits, 4 * int64(logitRows) * int64(cfg.VocabSize)},
	}
	if b.arch.Bigram {
		sizes = append(sizes, struct {
			dst   *cu.DevicePtr
			bytes int64
		}{&ws.bg, 4 * N * C})
	}
	var total int64
	for _, s := range sizes {
		total += s.bytes
	}
	// Free the old buffers first: the new ones are larger, and the device
	// may not hold both.
	c.res.dropGraphs()
	b.allocated.Add(-ws.size)
	ws.free()
	what := fmt.Sprintf("activations for %d tokens and %d logits rows", n, logitRows)
	for _, s := range sizes {
		p, err := b.allocLocked(what+fmt.Sprintf(" (%s in all)", sizeString(total)), s.bytes)
		if err != nil {
			b.allocated.Add(-ws.size)
			ws.free()
			return err
		}
		*s.dst = p
		ws.bufs = append(ws.bufs, p)
		ws.size += s.bytes
		b.allocated.Add(s.bytes)
	}
	ws.n, ws.logitRows, ws.parts, ws.stepWords = n, logitRows, parts, stepWords
	ws.gen++
	return nil
}

// Rows is the number of rows.
func (c *Cache) Rows() int { return c.rows }

// Cap is the most tokens a row holds.
func (c *Cache) Cap() int { return c.maxLen }

// RowLen is the number of positions cached in row r.
func (c *Cache) RowLen(r int) int { return c.pos[r] }

// Tokens returns the ids cached in row r (valid until the next call that
// changes the row).
func (c *Cache) Tokens(r int) []int { return c.toks[r*c.maxLen : r*c.maxLen+c.pos[r]] }

// TruncateRow drops positions ≥ n of row r. The device keys past n are
// simply ignored and overwritten later.
func (c *Cache) TruncateRow(r, n int) error {
	if c.isClosed() {
		return fmt.Errorf("truncate cache row %d: cuda cache: %w", r, engine.ErrClosed)
	}
	if r < 0 || r >= c.rows || n < 0 || n > c.pos[r] {
		return fmt.Errorf("truncate cache row %d to %d: the cache has %d rows, the row %d positions", r, n, c.rows, c.rowLenOr0(r))
	}
	c.pos[r] = n
	return nil
}

func (c *Cache) rowLenOr0(r int) int {
	if r < 0 || r >= c.rows {
		return 0
	}
	return c.pos[r]
}

// isClosed reports whether the cache or its backend was closed.
func (c *Cache) isClosed() bool {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return c.res.closed || c.b.closed
}

// kvRow returns where row r of layer l's K (or V) cache starts.
func (c *Cache) kvRow(v bool, l, r int) cu.DevicePtr {
	return c.kvLayer(v, l) + cu.DevicePtr(int64(r)*int64(c.maxLen)*int64(c.b.cfg.KVDim())*2)
}

// kvLayer returns the K or V cache of layer l: [rows][maxLen][KV][hd] bf16.
func (c *Cache) kvLayer(v bool, l int) cu.DevicePtr {
	cfg := c.b.cfg
	per := int64(c.rows) * int64(c.maxLen) * int64(cfg.KVDim()) * 2
	off := int64(l) * per
	if v {
		off += int64(cfg.NLayer) * per
	}
	return c.res.kv + cu.DevicePtr(off)
}

// CopyRow replaces row dst with row srcRow of src (a CUDA cache of the same
// backend, possibly c): the keys and values of every layer, copied on the
// device, and the ids.
func (c *Cache) CopyRow(dst int, src engine.Cache, srcRow int) error {
	s, ok := src.(*Cache)
	switch {
	case !ok:
		return fmt.Errorf("copy cache row: source is %T, want a CUDA cache", src)
	case s.b != c.b:
		return fmt.Errorf("copy cache row: the source belongs to another backend")
	case dst < 0 || dst >= c.rows:
		return fmt.Errorf("copy cache row %d to row %d: the cache has %d rows", srcRow, dst, c.rows)
	case srcRow < 0 || srcRow >= s.rows:
		return fmt.Errorf("copy cache row %d to row %d: the source has %d rows", srcRow, dst, s.rows)
	case s.pos[srcRow] > c.maxLen:
		return fmt.Errorf("copy cache row %d to row %d: %d positions exceed the cache length %d", srcRow, dst, s.pos[srcRow], c.maxLen)
	}
	b := c.b
	unlock, err := b.acquire("copy cache row", c.res)
	if err != nil {
		return err
	}
	defer unlock()
	if s.res.closed {
		return fmt.Errorf("copy cache row: source cuda cache: %w", engine.ErrClosed)
	}
	if s == c && srcRow == dst {
		return nil
	}
	n := int64(s.pos[srcRow]) * int64(b.cfg.KVDim()) * 2
	if n > 0 {
		for _, v := range []bool{false, true} {
			for l := 0; l < b.cfg.NLayer; l++ {
				if err := copyDtoDAsync(c.kvRow(v, l, dst), s.kvRow(v, l, srcRow), n, b.g.stream); err != nil {
					return fmt.Errorf("copy cache row: %w", err)
				}
			}
		}
		if err := b.g.stream.Synchronize(); err != nil {
			return fmt.Errorf("copy cache row on %s: %w", b.g.info, err)
		}
	}
	copy(c.toks[dst*c.maxLen:], s.toks[srcRow*s.maxLen:srcRow*s.maxLen+s.pos[srcRow]])
	c.pos[dst] = s.pos[srcRow]
	return nil
}

// Close frees the cache's device memory now. Closing twice is a no-op;
// other calls afterwards return an error wrapping engine.ErrClosed.
func (c *Cache) Close() error {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.res.closed {
		return nil
	}
	c.cleanup.Stop()
	if b.g == nil { // the backend's Close freed it already
		c.res.closed = true
		return nil
	}
	done := b.g.enter()
	defer done()
	b.freeLocked(c.res)
	return nil
}
