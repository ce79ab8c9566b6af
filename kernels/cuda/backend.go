//go:build cuda && cgo

package cuda

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gorgonia.org/cu"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/kernels"
	"github.com/nanochat-go/nanochat/model"
)

// Backend runs one model on one GPU. The weights live on the device as
// bf16 (fp32 for the tiny gates); every Cache it makes shares them. All
// device work goes through one stream under mu, so a Backend and its
// caches are safe for concurrent use (device calls serialize; each Cache
// by one goroutine at a time, as engine.Backend says).
//
// The backend owns the model it was given: Close frees the device memory
// (weights and every open cache) and closes the model. ReleaseDevice frees
// the GPU but leaves the model open, for a caller that hands it on to
// another backend.
type Backend struct {
	mu     sync.Mutex
	g      *gpu // nil once closed
	m      *model.Model
	cfg    model.Config
	arch   model.Arch
	closed bool

	wte, lmHead, smearGate, bigram cu.DevicePtr
	ropeCos, ropeSin               cu.DevicePtr // [10·seq][hd/2] fp32, as model.buildRoPE
	ropeLen                        int
	layers                         []layerWeights
	owned                          []cu.DevicePtr

	graphs      bool // capture decode steps as CUDA graphs (NANOCHAT_CUDA_GRAPHS=0 turns it off)
	forceSplitK bool // prefill through the split-KV kernel too (tests)

	open      map[*cacheRes]struct{} // caches not yet freed
	allocated atomic.Int64           // device bytes held by the open caches

	deadMu sync.Mutex
	dead   []*cacheRes // caches collected by the GC without Close, freed at the next call
}

type layerWeights struct {
	qkv, proj, fc, mlpProj cu.DevicePtr // bf16 [H·hd+2·KV·hd][C], [C][C], [4C][C], [C][4C]
	ve, veGate             cu.DevicePtr // bf16 [Vp][KV·hd], fp32 [KV][ch]; 0 without a value embedding
}

var _ engine.Backend = (*Backend)(nil)

// NewBackend uploads m to GPU device and returns it as an engine backend
// that owns m from then on (its Close closes m). On error nothing is held
// on the device and m stays the caller's, still open, so the caller can
// put it on another backend.
func NewBackend(m *model.Model, device int) (engine.Backend, error) {
	if err := CheckPrecision(m.Prec); err != nil {
		return nil, err
	}
	cfg := m.Config
	hd := cfg.HeadDim()
	if err := CheckHeadDim(hd); err != nil {
		return nil, fmt.Errorf("cuda backend: %w", err)
	}
	if cfg.NEmbd%8 != 0 {
		return nil, fmt.Errorf("cuda backend: n_embd %d is not a multiple of 8", cfg.NEmbd)
	}
	g, err := openGPU(device)
	if err != nil {
		return nil, fmt.Errorf("cuda backend: %w", err)
	}
	b := &Backend{g: g, m: m, cfg: cfg, arch: m.Arch, graphs: os.Getenv("NANOCHAT_CUDA_GRAPHS") != "0",
		open: map[*cacheRes]struct{}{}}
	done := g.enter()
	err = b.upload()
	done()
	if err != nil {
		b.ReleaseDevice()
		return nil, fmt.Errorf("cuda backend: upload weights: %w", err)
	}
	return b, nil
}

// VocabSize is the number of logits per position.
func (b *Backend) VocabSize() int { return b.cfg.VocabSize }

// ContextLen is the model's sequence_len.
func (b *Backend) ContextLen() int { return b.cfg.SequenceLen }

// MaxPositions is the RoPE table's length, 10·sequence_len: the longest a
// cache row can be.
func (b *Backend) MaxPositions() int { return 10 * b.cfg.SequenceLen }

// Allocated is the device memory held by the open caches (KV cache and
// activations), in bytes; the weights are not counted.
func (b *Backend) Allocated() int64 { return b.allocated.Load() }

// Describe names the device for status lines.
func (b *Backend) Describe() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.g == nil {
		return "cuda (closed)"
	}
	return fmt.Sprintf("%s, %s", b.g.info, b.g.image)
}

// Close frees every open cache, the weights and the GPU context, then
// closes the model. It waits for calls in flight; later calls on b or its
// caches return an error wrapping engine.ErrClosed. Closing twice is a
// no-op.
func (b *Backend) Close() error {
	if !b.closeDevice() {
		return nil
	}
	return b.m.Close()
}

// ReleaseDevice is Close without closing the model: it frees the caches,
// the weights and the GPU, and leaves the model open and the caller's. It
// is for handing the model on to another backend, as `--device auto` does
// when the GPU fails (cmd/nanochat openBackend). b is closed afterwards.
func (b *Backend) ReleaseDevice() error {
	b.closeDevice()
	return nil
}

// closeDevice frees everything on the device; it reports whether b was
// open.
func (b *Backend) closeDevice() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.closed = true
	if b.g == nil {
		return true
	}
	done := b.g.enter()
	b.reapLocked()
	for r := range b.open {
		b.freeLocked(r)
	}
	for _, p := range b.owned {
		cu.MemFree(p)
	}
	b.owned = nil
	done()
	b.g.close()
	b.g = nil
	return true
}

// acquire takes mu with the context current on a locked thread, after
// checking that neither b nor the cache r (nil: none) is closed; call the
// returned function when done. It also frees the caches the GC collected.
func (b *Backend) acquire(op string, r *cacheRes) (func(), error) {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return nil, fmt.Errorf("%s: cuda backend: %w", op, engine.ErrClosed)
	case r != nil && r.closed:
		b.mu.Unlock()
		return nil, fmt.Errorf("%s: cuda cache: %w", op, engine.ErrClosed)
	}
	done := b.g.enter()
	b.reapLocked()
	return func() { done(); b.mu.Unlock() }, nil
}

// own records a weight buffer for Close.
func (b *Backend) own(p cu.DevicePtr, err error) (cu.DevicePtr, error) {
	if err == nil {
		b.owned = append(b.owned, p)
	}
	return p, err
}

// bf16Of returns a matrix's values as bf16 bits (rounding fp32 to nearest even).
func bf16Of(m *model.Matrix) []uint16 {
	if m.BF16 != nil {
		return m.BF16
	}
	out := make([]uint16, len(m.F32))
	kernels.RoundBF16(out, m.F32)
	return out
}

// f32Of returns a matrix's values widened to fp32.
func f32Of(m *model.Matrix) []float32 {
	if m.BF16 == nil {
		return m.F32
	}
	out := make([]float32, len(m.BF16))
	kernels.WidenBF16(out, m.BF16)
	return out
}

// upload puts the weights on the device. An allocation failure names the
// tensor and its size.
func (b *Backend) upload() error {
	w, cfg, a := b.m.W, b.cfg, b.arch
	put16 := func(dst *cu.DevicePtr, name string, host []uint16) error {
		p, err := b.own(upload(b.g, host))
		if err != nil {
			return fmt.Errorf("%s (%s): %w", name, sizeString(2*int64(len(host))), err)
		}
		*dst = p
		return nil
	}
	put32 := func(dst *cu.DevicePtr, name string, host []float32) error {
		p, err := b.own(upload(b.g, host))
		if err != nil {
			return fmt.Errorf("%s (%s): %w", name, sizeString(4*int64(len(host))), err)
		}
		*dst = p
		return nil
	}
	if err := put16(&b.wte, "wte", bf16Of(&w.WTE)); err != nil {
		return err
	}
	if err := put16(&b.lmHead, "lm_head", bf16Of(&w.LMHead)); err != nil {
		return err
	}
	gate := make([]float32, 24)
	copy(gate, w.SmearGate)
	if err := put32(&b.smearGate, "smear_gate", gate); err != nil {
		return err
	}
	if a.Bigram && w.Bigram != nil {
		if err := put16(&b.bigram, "bigram_embed", bf16Of(w.Bigram)); err != nil {
			return err
		}
	}
	cos, sin := ropeTables(cfg, a)
	b.ropeLen = 10 * cfg.SequenceLen
	if err := put32(&b.ropeCos, "rope cos", cos); err != nil {
		return err
	}
	if err := put32(&b.ropeSin, "rope sin", sin); err != nil {
		return err
	}
	b.layers = make([]layerWeights, len(w.Layers))
	for i := range w.Layers {
		l, dl := &w.Layers[i], &b.layers[i]
		name := func(s string) string { return fmt.Sprintf("layer %d %s", i, s) }
		qkv := append(append(append([]uint16{}, bf16Of(&l.CQ)...), bf16Of(&l.CK)...), bf16Of(&l.CV)...)
		if err := put16(&dl.qkv, name("c_q|c_k|c_v"), qkv); err != nil {
			return err
		}
		if err := put16(&dl.proj, name("attn c_proj"), bf16Of(&l.CProj)); err != nil {
			return err
		}
		if err := put16(&dl.fc, name("c_fc"), bf16Of(&l.FC)); err != nil {
			return err
		}
		if err := put16(&dl.mlpProj, name("mlp c_proj"), bf16Of(&l.MLPProj)); err != nil {
			return err
		}
		if l.VE != nil && l.VEGate != nil {
			if err := put16(&dl.ve, name("value_embed"), bf16Of(l.VE)); err != nil {
				return err
			}
			if err := put32(&dl.veGate, name("ve_gate"), f32Of(l.VEGate)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ropeTables is model.buildRoPE: inv_freq and the outer product in fp32,
// cos/sin rounded to bf16 for the architectures that did so (spec §1.4).
func ropeTables(cfg model.Config, a model.Arch) (cos, sin []float32) {
	hd := cfg.HeadDim()
	half := hd / 2
	n := 10 * cfg.SequenceLen
	invFreq := make([]float32, half)
	for j := range invFreq {
		e := float32(2*j) / float32(hd)
		invFreq[j] = 1 / float32(math.Pow(a.RoPEBase, float64(e)))
	}
	cos, sin = make([]float32, n*half), make([]float32, n*half)
	for t := 0; t < n; t++ {
		for j := 0; j < half; j++ {
			f := float32(t) * invFreq[j]
			c, s := float32(math.Cos(float64(f))), float32(math.Sin(float64(f)))
			if a.RoPEBF16 {
				c, s = kernels.BF16ToF32(kernels.F32ToBF16(c)), kernels.BF16ToF32(kernels.F32ToBF16(s))
			}
			cos[t*half+j], sin[t*half+j] = c, s
		}
	}
	return cos, sin
}

// release queues a collected cache's device memory for freeing (the GC
// cleanup of a Cache nobody closed; it runs on the runtime's cleanup
// goroutine, so it only queues).
func (b *Backend) release(r *cacheRes) {
	b.deadMu.Lock()
	b.dead = append(b.dead, r)
	b.deadMu.Unlock()
}

// reapLocked frees the queued caches and returns the bytes freed; call
// with mu held and the context current.
func (b *Backend) reapLocked() int64 {
	b.deadMu.Lock()
	dead := b.dead
	b.dead = nil
	b.deadMu.Unlock()
	var n int64
	for _, r := range dead {
		n += b.freeLocked(r)
	}
	return n
}

// freeLocked frees a cache's device memory (once) and returns the bytes
// freed.
func (b *Backend) freeLocked(r *cacheRes) int64 {
	if r.closed {
		return 0
	}
	n := r.free()
	delete(b.open, r)
	b.allocated.Add(-n)
	return n
}

// collectLocked frees the caches that are no longer referenced but were
// never closed: those the GC already collected and, after one more
// collection, those it finds now. Cleanups run on their own goroutine
// after a GC, so it waits (briefly) for a sentinel's cleanup to have run.
func (b *Backend) collectLocked() int64 {
	runtime.GC()
	ran := make(chan struct{})
	sentinel := new([4]*int)
	runtime.AddCleanup(sentinel, func(ch chan struct{}) { close(ch) }, ran)
	sentinel = nil
	runtime.GC()
	select {
	case <-ran:
	case <-time.After(200 * time.Millisecond):
	}
	return b.reapLocked()
}

// allocLocked allocates bytes of device memory for what (named in the
// error). On CUDA_ERROR_OUT_OF_MEMORY it first frees the caches nobody
// references any more (collectLocked) and retries once.
func (b *Backend) allocLocked(what string, bytes int64) (cu.DevicePtr, error) {
	p, err := b.g.alloc(bytes)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, cu.OutOfMemory) {
		return 0, fmt.Errorf("allocate %s (%s): %w", what, sizeString(bytes), err)
	}
	freed := b.collectLocked()
	if p, err = b.g.alloc(bytes); err == nil {
		return p, nil
	}
	free, total, _ := cu.MemInfo()
	return 0, fmt.Errorf("allocate %s (%s) on %s: out of device memory (%s of %s free, %s held by open caches, %s freed from unclosed ones): %w",
		what, sizeString(bytes), b.g.info, sizeString(free), sizeString(total), sizeString(b.allocated.Load()),
		sizeString(freed), err)
}

// sizeString is a byte count for error messages: "1.5 GiB", "12 MiB", "512 B".
func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
