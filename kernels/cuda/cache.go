//go:build cuda && cgo

package cuda

import (
	"fmt"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/nanochat-go/nanochat/engine"
)

// Cache is a device KV cache for rows rows at a common position, with the
// activations of one forward call. Its device memory is freed when the GC
// collects it (engine.Cache has no Close).
type Cache struct {
	b            *Backend
	rows, maxLen int
	pos          int
	toks         []int // [rows][maxLen] host copy of the cached ids (Tokens, smear, bigram)

	kv  cu.DevicePtr // K then V, each [L][rows][maxLen][KV][hd] bf16
	ws  workspace
	dec []AttnPlan // per layer: the decode (T = 1) attention plan
	res *cacheRes

	step []int32 // host copy of the step block
}

// cacheRes is what a Cache owns on the device.
type cacheRes struct {
	bufs  []cu.DevicePtr
	graph *graph
	gen   int // workspace generation the graph was captured with
}

func (r *cacheRes) free() {
	r.graph.destroy()
	r.graph = nil
	for _, p := range r.bufs {
		cu.MemFree(p)
	}
	r.bufs = nil
}

// workspace holds the activations of one forward over up to n rows
// (rows·T). It grows only when a larger chunk arrives; gen counts the
// reallocations, so a decode graph captured on older buffers is redone.
type workspace struct {
	n, logitRows, gen int
	bufs              []cu.DevicePtr
	step              cu.DevicePtr // int32 [StepWords(rows, T)]
	x, x0, xb, bg     cu.DevicePtr // fp32 [n][C] residual stream, x0, backout snapshot, bigram rows
	h                 cu.DevicePtr // bf16 [n][C] normalized GEMM input
	inv               cu.DevicePtr // fp32 [n] 1/rms of the block input
	qkv               cu.DevicePtr // fp32 [n][H·hd + 2·KV·hd]
	q, att            cu.DevicePtr // bf16 [n][H·hd]
	fc                cu.DevicePtr // bf16 [n][4C]
	opart, lse        cu.DevicePtr // fp32 split-KV partials
	logits            cu.DevicePtr // fp32 [logitRows][V]
}

// NewCache allocates a device cache for batch rows of up to maxLen tokens.
func (b *Backend) NewCache(batch, maxLen int) (engine.Cache, error) {
	if batch <= 0 || maxLen <= 0 {
		return nil, fmt.Errorf("new cache: batch %d and length %d must be positive", batch, maxLen)
	}
	if maxLen > b.ropeLen {
		return nil, fmt.Errorf("new cache: length %d exceeds the model's %d positions (10·sequence_len)", maxLen, b.ropeLen)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.g == nil {
		return nil, fmt.Errorf("new cache: backend closed")
	}
	done := b.g.enter()
	defer done()
	b.reapLocked()
	cfg := b.cfg
	c := &Cache{b: b, rows: batch, maxLen: maxLen, toks: make([]int, batch*maxLen), res: &cacheRes{}}
	kvBytes := 2 * int64(cfg.NLayer) * int64(batch) * int64(maxLen) * int64(cfg.KVDim()) * 2
	var err error
	if c.kv, err = b.g.alloc(kvBytes); err != nil {
		return nil, fmt.Errorf("new cache: KV cache for %d×%d tokens: %w", batch, maxLen, err)
	}
	c.res.bufs = append(c.res.bufs, c.kv)
	c.dec = make([]AttnPlan, cfg.NLayer)
	for i := range c.dec {
		if c.dec[i], err = PlanAttention(Attn{B: batch, T: 1, H: cfg.NHead, KV: cfg.NKVHead, HD: cfg.HeadDim(),
			MaxKeys: MaxKeys(maxLen, b.window(i, 1)), SMs: b.g.info.SMs}); err != nil {
			c.res.free()
			return nil, err
		}
	}
	if err := c.ensure(batch, batch); err != nil {
		c.res.free()
		return nil, fmt.Errorf("new cache: %w", err)
	}
	runtime.AddCleanup(c, func(r *cacheRes) { b.release(r) }, c.res)
	return c, nil
}

// window is layer i's attention window for a T-token call (nanochat's
// pre-2026-01-30 SDPA fallback ignored it for single-token decode).
func (b *Backend) window(i, T int) int {
	if T == 1 && b.arch.DecodeNoWindow {
		return -1
	}
	return b.arch.Windows[i]
}

// ensure sizes the workspace for n activation rows and logitRows logits rows.
func (c *Cache) ensure(n, logitRows int) error {
	ws := &c.ws
	if n <= ws.n && logitRows <= ws.logitRows {
		return nil
	}
	n, logitRows = max(n, ws.n), max(logitRows, ws.logitRows)
	cfg, g := c.b.cfg, c.b.g
	C, H, KV, hd := int64(cfg.NEmbd), int64(cfg.NHead), int64(cfg.NKVHead), int64(cfg.HeadDim())
	splits := 1
	for _, p := range c.dec {
		splits = max(splits, p.Splits)
	}
	parts := max(int64(n)*H, int64(c.rows)*H*int64(splits))
	N := int64(n)
	sizes := []struct {
		dst   *cu.DevicePtr
		bytes int64
	}{
		{&ws.step, 4 * int64(StepWords(c.rows, ceilDiv(n, c.rows)))},
		{&ws.x, 4 * N * C}, {&ws.x0, 4 * N * C}, {&ws.xb, 4 * N * C},
		{&ws.h, 2 * N * C}, {&ws.inv, 4 * N},
		{&ws.qkv, 4 * N * (H + 2*KV) * hd},
		{&ws.q, 2 * N * H * hd}, {&ws.att, 2 * N * H * hd},
		{&ws.fc, 2 * N * 4 * C},
		{&ws.opart, 4 * parts * hd}, {&ws.lse, 4 * parts},
		{&ws.logits, 4 * int64(logitRows) * int64(cfg.VocabSize)},
	}
	if c.b.arch.Bigram {
		sizes = append(sizes, struct {
			dst   *cu.DevicePtr
			bytes int64
		}{&ws.bg, 4 * N * C})
	}
	c.freeWorkspace()
	for _, s := range sizes {
		p, err := g.alloc(s.bytes)
		if err != nil {
			c.freeWorkspace()
			return err
		}
		*s.dst = p
		ws.bufs = append(ws.bufs, p)
		c.res.bufs = append(c.res.bufs, p)
	}
	ws.n, ws.logitRows = n, logitRows
	ws.gen++
	return nil
}

func (c *Cache) freeWorkspace() {
	ws := &c.ws
	for _, p := range ws.bufs {
		cu.MemFree(p)
		for i, q := range c.res.bufs {
			if q == p {
				c.res.bufs = append(c.res.bufs[:i], c.res.bufs[i+1:]...)
				break
			}
		}
	}
	*ws = workspace{gen: ws.gen}
	c.res.graph.destroy()
	c.res.graph = nil
}

func (c *Cache) Rows() int { return c.rows }
func (c *Cache) Cap() int  { return c.maxLen }
func (c *Cache) Len() int  { return c.pos }

// Tokens returns the ids cached in row r (valid until the next Forward).
func (c *Cache) Tokens(r int) []int { return c.toks[r*c.maxLen : r*c.maxLen+c.pos] }

// Truncate drops positions ≥ n (the device keys past n are simply ignored
// and overwritten later).
func (c *Cache) Truncate(n int) error {
	if n < 0 || n > c.pos {
		return fmt.Errorf("truncate cache to %d: have %d positions", n, c.pos)
	}
	c.pos = n
	return nil
}

// kvLayer returns the K or V cache of layer l.
func (c *Cache) kvLayer(v bool, l int) cu.DevicePtr {
	cfg := c.b.cfg
	per := int64(c.rows) * int64(c.maxLen) * int64(cfg.KVDim()) * 2
	off := int64(l) * per
	if v {
		off += int64(cfg.NLayer) * per
	}
	return c.kv + cu.DevicePtr(off)
}

// CopyFrom fills every row with row `row` of src: its keys, values and ids.
func (c *Cache) CopyFrom(src engine.Cache, row int) error {
	s, ok := src.(*Cache)
	switch {
	case !ok:
		return fmt.Errorf("copy cache: source is %T, want a CUDA cache", src)
	case s.b != c.b:
		return fmt.Errorf("copy cache: source belongs to another backend")
	case row < 0 || row >= s.rows || s.pos > c.maxLen:
		return fmt.Errorf("copy cache: incompatible caches (row %d of %d, pos %d, max %d)", row, s.rows, s.pos, c.maxLen)
	}
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.g == nil {
		return fmt.Errorf("copy cache: backend closed")
	}
	done := b.g.enter()
	defer done()
	kvd := int64(b.cfg.KVDim())
	n := int64(s.pos) * kvd * 2
	if n > 0 {
		for _, v := range []bool{false, true} {
			for l := 0; l < b.cfg.NLayer; l++ {
				from := s.kvLayer(v, l) + cu.DevicePtr(int64(row)*int64(s.maxLen)*kvd*2)
				for r := 0; r < c.rows; r++ {
					to := c.kvLayer(v, l) + cu.DevicePtr(int64(r)*int64(c.maxLen)*kvd*2)
					if err := copyDtoDAsync(to, from, n, b.g.stream); err != nil {
						return fmt.Errorf("copy cache: %w", err)
					}
				}
			}
		}
		if err := b.g.stream.Synchronize(); err != nil {
			return fmt.Errorf("copy cache: %w", err)
		}
	}
	for r := 0; r < c.rows; r++ {
		copy(c.toks[r*c.maxLen:], s.toks[row*s.maxLen:row*s.maxLen+s.pos])
	}
	c.pos = s.pos
	return nil
}

// Forward appends T tokens per row (tokens is [rows][T]) and writes fp32
// logits for the last position of each row ([rows][V]) or, with all, for
// every position ([rows][T][V]); the same contract as model.Forward.
func (c *Cache) Forward(tokens []int, T int, logits []float32, all bool) error {
	b := c.b
	V := b.cfg.VocabSize
	N := c.rows * T
	switch {
	case T <= 0 || len(tokens) != N:
		return fmt.Errorf("forward: %d tokens for %d rows × %d positions", len(tokens), c.rows, T)
	case c.pos+T > c.maxLen:
		return fmt.Errorf("forward: %d cached + %d new tokens exceed the cache length %d", c.pos, T, c.maxLen)
	}
	outRows := c.rows
	if all {
		outRows = N
	}
	if len(logits) < outRows*V {
		return fmt.Errorf("forward: logits buffer holds %d floats, need %d", len(logits), outRows*V)
	}
	for _, t := range tokens {
		if t < 0 || t >= V {
			return fmt.Errorf("forward: token id %d outside the vocabulary [0, %d)", t, V)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.g == nil {
		return fmt.Errorf("forward: backend closed")
	}
	done := b.g.enter()
	defer done()
	b.reapLocked()
	if err := c.ensure(N, outRows); err != nil {
		return fmt.Errorf("forward: %w", err)
	}

	// 1. The step block: position, previous token of each row, new tokens.
	c.step = c.step[:0]
	c.step = append(c.step, int32(c.pos))
	for r := 0; r < c.rows; r++ {
		prev := int32(-1)
		if c.pos > 0 {
			prev = int32(c.toks[r*c.maxLen+c.pos-1])
		}
		c.step = append(c.step, prev)
	}
	for _, t := range tokens {
		c.step = append(c.step, int32(t))
	}
	if err := cu.MemcpyHtoD(c.ws.step, unsafe.Pointer(&c.step[0]), int64(4*len(c.step))); err != nil {
		return fmt.Errorf("forward: upload tokens: %w", err)
	}

	// 2. The layers: one replayed graph for a decode step, launches otherwise.
	var err error
	if T == 1 && b.graphs {
		err = c.decodeGraph()
	} else {
		err = c.enqueue(T, all)
	}
	if err == nil {
		err = b.g.stream.Synchronize()
	}
	if err != nil {
		return fmt.Errorf("forward on %s: %w", b.g.info, err)
	}

	// 3. Logits back to the host, cache bookkeeping.
	if err := cu.MemcpyDtoH(unsafe.Pointer(&logits[0]), c.ws.logits, int64(4*outRows*V)); err != nil {
		return fmt.Errorf("forward: download logits: %w", err)
	}
	for r := 0; r < c.rows; r++ {
		copy(c.toks[r*c.maxLen+c.pos:], tokens[r*T:(r+1)*T])
	}
	c.pos += T
	return nil
}

// decodeGraph replays the captured decode step, capturing it first (again
// after the workspace moved). If capture fails the backend falls back to
// plain launches for good.
func (c *Cache) decodeGraph() error {
	r, g := c.res, c.b.g
	if r.graph == nil || r.gen != c.ws.gen {
		r.graph.destroy()
		r.graph = nil
		if err := beginCapture(g.stream); err != nil {
			c.b.graphs = false
			return c.enqueue(1, false)
		}
		errRun := c.enqueue(1, false)
		gr, errEnd := endCapture(g.stream)
		if errRun != nil || errEnd != nil {
			gr.destroy()
			c.b.graphs = false
			return c.enqueue(1, false)
		}
		r.graph, r.gen = gr, c.ws.gen
	}
	return r.graph.launch(g.stream)
}
