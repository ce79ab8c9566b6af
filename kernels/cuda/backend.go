//go:build cuda && cgo

package cuda

import (
	"fmt"
	"math"
	"os"
	"sync"

	"gorgonia.org/cu"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/kernels"
	"github.com/nanochat-go/nanochat/model"
)

// Backend runs one model on one GPU. The weights live on the device as
// bf16 (fp32 for the tiny gates); every Cache it makes shares them. All
// device work goes through one stream under mu, so a Backend and its
// caches are safe for concurrent use (calls serialize).
type Backend struct {
	mu   sync.Mutex
	g    *gpu
	m    *model.Model
	cfg  model.Config
	arch model.Arch

	wte, lmHead, smearGate, bigram cu.DevicePtr
	ropeCos, ropeSin               cu.DevicePtr // [10·seq][hd/2] fp32, as model.buildRoPE
	ropeLen                        int
	layers                         []layerWeights
	owned                          []cu.DevicePtr

	graphs      bool // capture decode steps as CUDA graphs (NANOCHAT_CUDA_GRAPHS=0 turns it off)
	forceSplitK bool // prefill through the split-KV kernel too (tests)

	deadMu sync.Mutex
	dead   []*cacheRes // caches collected by the GC, freed at the next call
}

type layerWeights struct {
	qkv, proj, fc, mlpProj cu.DevicePtr // bf16 [H·hd+2·KV·hd][C], [C][C], [4C][C], [C][4C]
	ve, veGate             cu.DevicePtr // bf16 [Vp][KV·hd], fp32 [KV][ch]; 0 without a value embedding
}

var _ engine.Backend = (*Backend)(nil)

// NewBackend uploads m to GPU device and returns it as an engine backend.
func NewBackend(m *model.Model, device int) (engine.Backend, error) {
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
	b := &Backend{g: g, m: m, cfg: cfg, arch: m.Arch, graphs: os.Getenv("NANOCHAT_CUDA_GRAPHS") != "0"}
	done := g.enter()
	err = b.upload()
	done()
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("cuda backend: upload weights: %w", err)
	}
	return b, nil
}

func (b *Backend) VocabSize() int  { return b.cfg.VocabSize }
func (b *Backend) ContextLen() int { return b.cfg.SequenceLen }

// Describe names the device for status lines.
func (b *Backend) Describe() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.g == nil {
		return "cuda (closed)"
	}
	return fmt.Sprintf("%s, %s", b.g.info, b.g.image)
}

// Close frees the device memory and releases the GPU. Caches of b must not
// be used after.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.g == nil {
		return nil
	}
	done := b.g.enter()
	b.reapLocked()
	for _, p := range b.owned {
		cu.MemFree(p)
	}
	b.owned = nil
	done()
	b.g.close()
	b.g = nil
	return nil
}

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

func (b *Backend) upload() error {
	w, cfg, a := b.m.W, b.cfg, b.arch
	var err error
	if b.wte, err = b.own(upload(b.g, bf16Of(&w.WTE))); err != nil {
		return err
	}
	if b.lmHead, err = b.own(upload(b.g, bf16Of(&w.LMHead))); err != nil {
		return err
	}
	gate := make([]float32, 24)
	copy(gate, w.SmearGate)
	if b.smearGate, err = b.own(upload(b.g, gate)); err != nil {
		return err
	}
	if a.Bigram && w.Bigram != nil {
		if b.bigram, err = b.own(upload(b.g, bf16Of(w.Bigram))); err != nil {
			return err
		}
	}
	cos, sin := ropeTables(cfg, a)
	b.ropeLen = 10 * cfg.SequenceLen
	if b.ropeCos, err = b.own(upload(b.g, cos)); err != nil {
		return err
	}
	if b.ropeSin, err = b.own(upload(b.g, sin)); err != nil {
		return err
	}
	b.layers = make([]layerWeights, len(w.Layers))
	for i := range w.Layers {
		l, dl := &w.Layers[i], &b.layers[i]
		qkv := append(append(append([]uint16{}, bf16Of(&l.CQ)...), bf16Of(&l.CK)...), bf16Of(&l.CV)...)
		if dl.qkv, err = b.own(upload(b.g, qkv)); err != nil {
			return err
		}
		if dl.proj, err = b.own(upload(b.g, bf16Of(&l.CProj))); err != nil {
			return err
		}
		if dl.fc, err = b.own(upload(b.g, bf16Of(&l.FC))); err != nil {
			return err
		}
		if dl.mlpProj, err = b.own(upload(b.g, bf16Of(&l.MLPProj))); err != nil {
			return err
		}
		if l.VE != nil && l.VEGate != nil {
			if dl.ve, err = b.own(upload(b.g, bf16Of(l.VE))); err != nil {
				return err
			}
			if dl.veGate, err = b.own(upload(b.g, f32Of(l.VEGate))); err != nil {
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

// release queues a collected cache's device memory for freeing.
func (b *Backend) release(r *cacheRes) {
	b.deadMu.Lock()
	b.dead = append(b.dead, r)
	b.deadMu.Unlock()
}

// reapLocked frees the queued caches; call with mu held and the context current.
func (b *Backend) reapLocked() {
	b.deadMu.Lock()
	dead := b.dead
	b.dead = nil
	b.deadMu.Unlock()
	for _, r := range dead {
		r.free()
	}
}
