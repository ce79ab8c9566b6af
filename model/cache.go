package model

import "fmt"

// Cache is the per-conversation state of Forward: the KV cache of every
// layer for Batch rows, each at its own position, plus the smear and bigram
// state. It also owns the scratch buffers, so a Cache must be used by one
// goroutine at a time.
type Cache struct {
	m      *Model
	Batch  int
	MaxLen int
	pos    []int // [Batch] tokens already cached per row

	// Per layer: [Batch][NKV][MaxLen][HeadDim], head-major so attention
	// streams each head. fp32 (k, v) for Exact models; bf16 bits (kb, vb)
	// for BF16 and Int8 models, as nanochat keeps its cache on a GPU.
	k, v   [][]float32
	kb, vb [][]uint16
	toks   []int // [Batch][MaxLen] the cached token ids (smear and bigram read the previous one)

	ws   workspace
	step step // the current Forward's flattened chunks
}

// NewCache allocates a cache for batch rows of up to maxLen tokens.
func (m *Model) NewCache(batch, maxLen int) (*Cache, error) {
	if batch <= 0 || maxLen <= 0 {
		return nil, fmt.Errorf("new cache: batch %d and length %d must be positive", batch, maxLen)
	}
	if maxLen > m.ropeLen {
		return nil, fmt.Errorf("new cache: length %d exceeds the model's %d positions (10·sequence_len)", maxLen, m.ropeLen)
	}
	kv := m.Config.KVDim()
	c := &Cache{m: m, Batch: batch, MaxLen: maxLen,
		k: make([][]float32, m.Config.NLayer), v: make([][]float32, m.Config.NLayer),
		toks: make([]int, batch*maxLen), pos: make([]int, batch)}
	for i := range c.k {
		if m.Prec != Exact {
			if i == 0 {
				c.kb, c.vb = make([][]uint16, len(c.k)), make([][]uint16, len(c.k))
			}
			c.kb[i] = make([]uint16, batch*maxLen*kv)
			c.vb[i] = make([]uint16, batch*maxLen*kv)
			continue
		}
		c.k[i] = make([]float32, batch*maxLen*kv)
		c.v[i] = make([]float32, batch*maxLen*kv)
	}
	return c, nil
}

// RowLen is the number of positions cached in row r.
func (c *Cache) RowLen(r int) int { return c.pos[r] }

// TruncateRow drops positions ≥ n of row r (0 frees the row).
func (c *Cache) TruncateRow(r, n int) error {
	if r < 0 || r >= c.Batch || n < 0 || n > c.pos[r] {
		return fmt.Errorf("truncate cache row %d to %d: have %d rows", r, n, c.Batch)
	}
	c.pos[r] = n
	return nil
}

// Tokens returns the cached token ids of row b (valid until the next Forward).
func (c *Cache) Tokens(b int) []int { return c.toks[b*c.MaxLen : b*c.MaxLen+c.pos[b]] }

// CopyRow replaces row dst of c with row src of o (o may be c), including
// the smear and bigram state (the cached token ids): a prefill shared by
// num_samples rows, as nanochat's KVCache.prefill does.
func (c *Cache) CopyRow(dst int, o *Cache, src int) error {
	if o.m != c.m || src < 0 || src >= o.Batch || dst < 0 || dst >= c.Batch || o.pos[src] > c.MaxLen {
		return fmt.Errorf("copy cache row %d to row %d: incompatible caches", src, dst)
	}
	kv, hd, n := c.m.Config.KVDim(), c.m.Config.HeadDim(), o.pos[src]
	for l := range c.k {
		for g := 0; g < c.m.Config.NKVHead; g++ {
			d, s := dst*c.MaxLen*kv+g*c.MaxLen*hd, src*o.MaxLen*kv+g*o.MaxLen*hd
			if c.kb != nil {
				copy(c.kb[l][d:d+n*hd], o.kb[l][s:s+n*hd])
				copy(c.vb[l][d:d+n*hd], o.vb[l][s:s+n*hd])
				continue
			}
			copy(c.k[l][d:d+n*hd], o.k[l][s:s+n*hd])
			copy(c.v[l][d:d+n*hd], o.v[l][s:s+n*hd])
		}
	}
	copy(c.toks[dst*c.MaxLen:], o.toks[src*o.MaxLen:src*o.MaxLen+n])
	c.pos[dst] = n
	return nil
}

// workspace holds the activations of one Forward over N = Batch·T rows. It
// grows only when a larger N arrives, so the decode loop never allocates.
type workspace struct {
	n                 int
	x, x0, xb, h, emb []float32 // [N][C]
	q, att            []float32 // [N][H·hd]
	k, v              []float32 // [N][KV·hd]
	fc                []float32 // [N][4C]
	ve, gate, row     []float32 // [N][KV·hd], [N][KV], [C]
	logits            []float32 // [rows][Vp], rows = N or Batch (grown on demand)
	last              []float32 // [Batch][C]
}

func (ws *workspace) ensure(cfg Config, vp, n int) {
	if n <= ws.n {
		return
	}
	C, qd, kv := cfg.NEmbd, cfg.NHead*cfg.HeadDim(), cfg.KVDim()
	ws.n = n
	ws.x, ws.x0, ws.xb = make([]float32, n*C), make([]float32, n*C), make([]float32, n*C)
	ws.h, ws.emb = make([]float32, n*C), make([]float32, n*C)
	ws.q, ws.att = make([]float32, n*qd), make([]float32, n*qd)
	ws.k, ws.v, ws.ve = make([]float32, n*kv), make([]float32, n*kv), make([]float32, n*kv)
	ws.gate = make([]float32, n*cfg.NKVHead)
	ws.fc = make([]float32, n*4*C)
	ws.row = make([]float32, 4*C)
	ws.last = make([]float32, n*C)
}

// Bytes is the memory the cache's KV arrays and token ids take.
func (c *Cache) Bytes() int64 {
	elem := int64(4)
	if c.kb != nil {
		elem = 2
	}
	kv := 2 * int64(len(c.pos)) * int64(c.MaxLen) * int64(c.m.Config.KVDim()) * int64(c.m.Config.NLayer) * elem
	return kv + 8*int64(len(c.toks))
}
