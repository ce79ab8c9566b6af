package engine

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nanochat-go/nanochat/model"
)

// CPU puts a loaded model behind Backend on the CPU; device names it for
// status lines. The backend owns m: Close closes it.
func CPU(m *model.Model, device string) Backend {
	return &cpuBackend{m: m, device: device, open: map[*cpuCache]bool{}}
}

// cpuBackend runs model.Forward. Calls hold mu for reading, Close for
// writing, so Close waits for forwards in flight and the model's mapped
// weights are never read after they are unmapped.
type cpuBackend struct {
	m      *model.Model
	device string

	mu     sync.RWMutex
	closed bool
	open   map[*cpuCache]bool // caches not yet closed (under mu)
	bytes  atomic.Int64       // Allocated
}

func (b *cpuBackend) VocabSize() int    { return b.m.Config.VocabSize }
func (b *cpuBackend) ContextLen() int   { return b.m.Config.SequenceLen }
func (b *cpuBackend) MaxPositions() int { return b.m.MaxPositions() }
func (b *cpuBackend) Describe() string  { return b.device }
func (b *cpuBackend) Allocated() int64  { return b.bytes.Load() }

func (b *cpuBackend) NewCache(rows, maxLen int) (Cache, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("new cache: backend %w", ErrClosed)
	}
	mc, err := b.m.NewCache(rows, maxLen)
	if err != nil {
		return nil, err
	}
	c := &cpuCache{b: b, c: mc}
	b.open[c] = true
	b.bytes.Add(mc.Bytes())
	return c, nil
}

// Close waits for calls in flight, drops every cache and unmaps the model.
func (b *cpuBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for c := range b.open {
		c.release()
	}
	return b.m.Close()
}

// cpuCache is a model.Cache; c is nil once closed.
type cpuCache struct {
	b  *cpuBackend
	c  *model.Cache
	mc []model.Chunk // Forward's chunks, reused
}

// use runs f with the backend held open and the cache alive.
func (c *cpuCache) use(op string, f func() error) error {
	c.b.mu.RLock()
	defer c.b.mu.RUnlock()
	switch {
	case c.b.closed:
		return fmt.Errorf("%s: backend %w", op, ErrClosed)
	case c.c == nil:
		return fmt.Errorf("%s: cache %w", op, ErrClosed)
	}
	return f()
}

// shape reads the cache's dimensions under the backend's lock (nil once
// closed).
func (c *cpuCache) shape() *model.Cache {
	c.b.mu.RLock()
	defer c.b.mu.RUnlock()
	return c.c
}

func (c *cpuCache) Rows() int {
	if mc := c.shape(); mc != nil {
		return mc.Batch
	}
	return 0
}

func (c *cpuCache) Cap() int {
	if mc := c.shape(); mc != nil {
		return mc.MaxLen
	}
	return 0
}

func (c *cpuCache) RowLen(r int) int {
	if mc := c.shape(); mc != nil && r >= 0 && r < mc.Batch {
		return mc.RowLen(r)
	}
	return 0
}

func (c *cpuCache) Tokens(r int) []int {
	if mc := c.shape(); mc != nil && r >= 0 && r < mc.Batch {
		return mc.Tokens(r)
	}
	return nil
}

func (c *cpuCache) Forward(chunks []Chunk, logits []float32) error {
	return c.use("forward", func() error {
		c.mc = c.mc[:0]
		for _, ch := range chunks {
			c.mc = append(c.mc, model.Chunk(ch))
		}
		return c.b.m.Forward(c.c, c.mc, logits, false)
	})
}

func (c *cpuCache) Score(ch Chunk, gather [][]int, topN int) ([]Scored, error) {
	var out []Scored
	err := c.use("score", func() error {
		var err error
		out, err = scoreChunked(ch, gather, topN, c.b.m.Config.VocabSize, func(part Chunk, logits []float32, all bool) error {
			return c.b.m.Forward(c.c, []model.Chunk{model.Chunk(part)}, logits, all)
		})
		return err
	})
	return out, err
}

func (c *cpuCache) CopyRow(dst int, src Cache, srcRow int) error {
	s, ok := src.(*cpuCache)
	if !ok {
		return fmt.Errorf("copy cache row: source is %T, want a CPU cache", src)
	}
	if s.b != c.b {
		return fmt.Errorf("copy cache row: source belongs to another backend")
	}
	return c.use("copy cache row", func() error {
		if s.c == nil {
			return fmt.Errorf("copy cache row: source cache %w", ErrClosed)
		}
		return c.c.CopyRow(dst, s.c, srcRow)
	})
}

func (c *cpuCache) TruncateRow(r, n int) error {
	return c.use("truncate cache row", func() error { return c.c.TruncateRow(r, n) })
}

func (c *cpuCache) Close() error {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	c.release()
	return nil
}

// release drops the cache's memory; call with the backend's lock held.
func (c *cpuCache) release() {
	if c.c != nil {
		c.b.bytes.Add(-c.c.Bytes())
		c.c = nil
		delete(c.b.open, c)
	}
}
