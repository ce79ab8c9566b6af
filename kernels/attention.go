package kernels

import (
	"fmt"
	"math"
	"sync"
)

// Attn describes one call of Attention: T query positions Pos0..Pos0+T-1 of
// one sequence, NHead query heads sharing NKV key/value heads (GQA), each
// HeadDim wide, and a sliding window.
type Attn struct {
	T, Pos0    int
	NHead, NKV int
	HeadDim    int
	Window     int // a query at position p sees keys max(0, p-Window)..p; < 0 means unbounded
	Stride     int // elements between consecutive positions of k and v; NKV*HeadDim for a dense cache
}

// Attention is causal scaled dot-product attention over a KV cache, as
// nanochat computes it (SDPA / flash-attention with window_size=(W, 0)):
//
//	for t := range T {
//		p := Pos0 + t
//		for h := range NHead {
//			kh := h / (NHead/NKV)
//			for j := max(0, p-W); j <= p; j++ {   // all j ≤ p when W < 0
//				s[j] = Σ_i q[t][h][i]·k[j][kh][i] / sqrt(HeadDim)
//			}
//			out[t][h][:] = Σ_j softmax(s)[j]·v[j][kh][:]
//		}
//	}
//
// q and out are [T][NHead][HeadDim]; k and v are the layer's cache,
// [positions][NKV][HeadDim] with rows Stride elements apart, already holding
// positions 0..Pos0+T-1. It runs an online softmax (running max and sum)
// over blocks of keys, in float32, parallel over (t, head); the result is
// within 2e-6·max|v| + 1e-6 of the exact softmax. It does not allocate.
func Attention(out, q, k, v []float32, p Attn) {
	if p.T == 0 || p.NHead == 0 {
		return
	}
	if err := p.check(len(out), len(q), len(k), len(v)); err != nil {
		panic(err)
	}
	a := attnPool.Get().(*attnTask)
	*a = attnTask{im: cur.Load(), out: out, q: q, k: k, v: v, p: p,
		scale: float32(1 / math.Sqrt(float64(p.HeadDim)))}
	n := p.T * p.NHead
	if n*(p.Pos0+p.T)*p.HeadDim < serialOps {
		a.run(0, n)
	} else {
		parallel(n, 1, a)
	}
	*a = attnTask{}
	attnPool.Put(a)
}

func (p Attn) check(nout, nq, nk, nv int) error {
	if p.T < 0 || p.Pos0 < 0 || p.NHead < 1 || p.NKV < 1 || p.NHead%p.NKV != 0 || p.HeadDim < 1 || p.Stride < p.NKV*p.HeadDim {
		return fmt.Errorf("kernels: Attention: bad shape %+v", p)
	}
	nqo := p.T * p.NHead * p.HeadDim
	nkv := (p.Pos0+p.T-1)*p.Stride + p.NKV*p.HeadDim
	if nout < nqo || nq < nqo || nk < nkv || nv < nkv {
		return fmt.Errorf("kernels: Attention: %+v needs len(out), len(q) >= %d and len(k), len(v) >= %d; got %d %d %d %d",
			p, nqo, nkv, nout, nq, nk, nv)
	}
	return nil
}

const attnBlock = 64 // keys per online-softmax block

var attnPool = sync.Pool{New: func() any { return new(attnTask) }}

type attnTask struct {
	im           *impl
	out, q, k, v []float32
	p            Attn
	scale        float32
}

func (a *attnTask) run(lo, hi int) {
	p, im := &a.p, a.im
	hd := p.HeadDim
	group := p.NHead / p.NKV
	var s [attnBlock]float32
	for it := lo; it < hi; it++ {
		t, h := it/p.NHead, it%p.NHead
		pos := p.Pos0 + t
		j0 := 0
		if p.Window >= 0 {
			j0 = max(0, pos-p.Window)
		}
		koff := h / group * hd
		qv := a.q[it*hd : it*hd+hd]
		o := a.out[it*hd : it*hd+hd]
		clear(o)
		m := float32(math.Inf(-1))
		var l float32
		for b0 := j0; b0 <= pos; b0 += attnBlock {
			b1 := min(b0+attnBlock, pos+1)
			bm := float32(math.Inf(-1))
			for j := b0; j < b1; j++ {
				kj := j*p.Stride + koff
				x := im.dot(qv, a.k[kj:kj+hd]) * a.scale
				s[j-b0] = x
				bm = max(bm, x)
			}
			if bm > m {
				if l != 0 {
					c := float32(math.Exp(float64(m - bm)))
					l *= c
					im.scale(c, o, o)
				}
				m = bm
			}
			for j := b0; j < b1; j++ {
				e := float32(math.Exp(float64(s[j-b0] - m)))
				l += e
				vj := j*p.Stride + koff
				im.axpy(e, a.v[vj:vj+hd], o)
			}
		}
		im.scale(1/l, o, o)
	}
}
