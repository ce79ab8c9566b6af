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
	// HeadStride is the elements between KV heads at one position: 0 means
	// HeadDim (position-major [pos][NKV][HeadDim]); a head-major cache
	// ([NKV][positions][HeadDim], Stride = HeadDim) sets it to
	// positions·HeadDim, so each head's keys stream contiguously.
	HeadStride int
}

// headStride is HeadStride with its default.
func (p Attn) headStride() int {
	if p.HeadStride == 0 {
		return p.HeadDim
	}
	return p.HeadStride
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
	attention(attnTask{im: cur.Load(), out: out, q: q, k: k, v: v, p: p})
}

// AttentionBF16 is Attention over a cache that holds k and v as bf16 bits
// (half the bytes per cached token), widened exactly to fp32, so the result
// is that of Attention on the widened cache, within the same tolerance.
// Single queries read the cache in place, widening in registers (the AVX2
// kernels, on AVX2 and AVX-512 CPUs, and in pure Go), and so do the AVX2
// four-query prefill kernels (each key and value widened once for four
// queries: a 128-token chunk at context 1152 in 8.8 vs 14.8 ms one query at
// a time on Zen 3, BenchmarkAttentionBF16); the
// AVX-512 four-query kernels widen each block of 64 keys and values once
// into a per-worker buffer shared by the four queries.
func AttentionBF16(out, q []float32, k, v []uint16, p Attn) {
	if p.T == 0 || p.NHead == 0 {
		return
	}
	if err := p.check(len(out), len(q), len(k), len(v)); err != nil {
		panic(err)
	}
	attention(attnTask{im: cur.Load(), out: out, q: q, kb: k, vb: v, p: p})
}

func attention(t attnTask) {
	p := t.p
	a := attnPool.Get().(*attnTask)
	*a = t
	a.scale = float32(1 / math.Sqrt(float64(p.HeadDim)))
	if (a.im.attnScores4 != nil || a.kb != nil && a.im.attnScores4B != nil) && p.HeadDim%16 == 0 {
		a.nq4 = p.T / 4
	}
	n := (a.nq4 + p.T - 4*a.nq4) * p.NHead
	if p.T*p.NHead*(p.Pos0+p.T)*p.HeadDim < serialOps {
		a.run(0, n)
	} else {
		parallel(n, 1, a)
	}
	*a = attnTask{}
	attnPool.Put(a)
}

func (p Attn) check(nout, nq, nk, nv int) error {
	hs := p.headStride()
	dense := p.Stride >= p.NKV*p.HeadDim && hs == p.HeadDim
	headMajor := p.Stride >= p.HeadDim && hs >= p.HeadDim && (p.NKV == 1 || hs >= (p.Pos0+p.T)*p.Stride)
	if p.T < 0 || p.Pos0 < 0 || p.NHead < 1 || p.NKV < 1 || p.NHead%p.NKV != 0 || p.HeadDim < 1 || !(dense || headMajor) {
		return fmt.Errorf("kernels: Attention: bad shape %+v", p)
	}
	nqo := p.T * p.NHead * p.HeadDim
	nkv := (p.Pos0+p.T-1)*p.Stride + (p.NKV-1)*hs + p.HeadDim
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
	kb, vb       []uint16 // a bf16 cache (AttentionBF16); k and v are nil then
	p            Attn
	scale        float32
	nq4          int // blocks of four queries done by the four-query kernels; the rest go one by one
}

// attnScratch is one worker's scratch: a block of scores and the online
// softmax state of four queries.
type attnScratch struct {
	s              [4 * attnBlock]float32
	rows           [4][attnBlock]float32 // fourB: one query's scores of a block
	m, l, mx, sums [4]float32
	kw, vw         []float32 // a widened block of a bf16 cache: [attnBlock][HeadDim]
}

// block returns n rows of the cache starting at element offset off, and
// their stride: the cache itself for fp32, a widened copy for bf16.
func (a *attnTask) block(sc *attnScratch, value bool, off, n int) ([]float32, int) {
	if a.kb == nil {
		if value {
			return a.v[off:], a.p.Stride
		}
		return a.k[off:], a.p.Stride
	}
	hd, src, dst := a.p.HeadDim, a.kb, &sc.kw
	if value {
		src, dst = a.vb, &sc.vw
	}
	if len(*dst) < attnBlock*hd {
		*dst = make([]float32, attnBlock*hd)
	}
	for j := 0; j < n; j++ {
		a.im.widen((*dst)[j*hd:(j+1)*hd], src[off+j*a.p.Stride:off+j*a.p.Stride+hd])
	}
	return *dst, hd
}

var attnScratchPool = sync.Pool{New: func() any { return new(attnScratch) }}

// window returns the first key position visible from position pos.
func (p *Attn) window(pos int) int {
	if p.Window < 0 {
		return 0
	}
	return max(0, pos-p.Window)
}

// run does work items [lo, hi): first the nq4·NHead four-query blocks
// (item = block·NHead + head), then single queries (t·NHead + head).
func (a *attnTask) run(lo, hi int) {
	sc := attnScratchPool.Get().(*attnScratch)
	defer attnScratchPool.Put(sc)
	nh := a.p.NHead
	for it := lo; it < hi; it++ {
		if b := it / nh; b < a.nq4 && a.kb != nil && a.im.attnScores4B != nil {
			a.fourB(4*b, it%nh, sc)
		} else if b < a.nq4 {
			a.four(4*b, it%nh, sc)
		} else {
			a.one(4*a.nq4+(it-a.nq4*nh)/nh, it%nh, sc)
		}
	}
}

// one attends query t, head h.
func (a *attnTask) one(t, h int, sc *attnScratch) {
	p, im := &a.p, a.im
	hd := p.HeadDim
	it := t*p.NHead + h
	pos := p.Pos0 + t
	koff := h / (p.NHead / p.NKV) * p.headStride()
	qv := a.q[it*hd : it*hd+hd]
	o := a.out[it*hd : it*hd+hd]
	clear(o)
	m := float32(math.Inf(-1))
	var l float32
	for b0 := p.window(pos); b0 <= pos; b0 += attnBlock {
		s := sc.s[:min(attnBlock, pos+1-b0)]
		kv := b0*p.Stride + koff
		direct := a.kb != nil && im.attnScoresB != nil
		if direct {
			im.attnScoresB(s, qv, a.kb[kv:], hd, p.Stride, a.scale)
		} else {
			kb, ks := a.block(sc, false, kv, len(s))
			im.attnScores(s, qv, kb, hd, ks, a.scale)
		}
		bm := m
		for _, x := range s {
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
		l += im.expSub(s, m)
		if direct {
			im.attnAccumB(o, a.vb[kv:], s, hd, p.Stride)
			continue
		}
		vb, vs := a.block(sc, true, kv, len(s))
		im.attnAccum(o, vb, s, hd, vs)
	}
	im.scale(1/l, o, o)
}

// four attends queries t0..t0+3 of head h together. Key blocks go from the
// newest back, so that the first block holds every query's own position
// and each running max is finite from then on; keys a query may not see
// get score -Inf (weight ≈ 0).
func (a *attnTask) four(t0, h int, sc *attnScratch) {
	p, im := &a.p, a.im
	hd, qs := p.HeadDim, p.NHead*p.HeadDim
	p0 := p.Pos0 + t0
	koff := h / (p.NHead / p.NKV) * p.headStride()
	q := a.q[(t0*p.NHead+h)*hd:]
	o := a.out[(t0*p.NHead+h)*hd:]
	sc.start4(o, qs, hd)
	inf := float32(math.Inf(-1))
	first, lastLo := p.window(p0), p.window(p0+3)
	for b1 := p0 + 4; b1 > first; b1 -= attnBlock {
		b0 := max(first, b1-attnBlock)
		n := b1 - b0
		kv := b0*p.Stride + koff
		s := sc.s[:roundUp(n, 4)*4]
		kb, ks := a.block(sc, false, kv, n)
		im.attnScores4(s[:n*4], q, qs, kb, hd, ks, a.scale, &sc.mx)
		if b1-1 > p0 || b0 < lastLo {
			// Mask the future (keys after a query) and the keys before its window.
			sc.mx = [4]float32{inf, inf, inf, inf}
			for j := b0; j < b1; j++ {
				for r := range 4 {
					if j > p0+r || j < p.window(p0+r) {
						s[(j-b0)*4+r] = inf
					}
					sc.mx[r] = max(sc.mx[r], s[(j-b0)*4+r])
				}
			}
		}
		for i := n * 4; i < len(s); i++ {
			s[i] = inf
		}
		for r := range 4 {
			sc.raise(im, r, sc.mx[r], o[r*qs:r*qs+hd])
		}
		im.expSub4(s, &sc.m, &sc.sums)
		for r := range 4 {
			sc.l[r] += sc.sums[r]
		}
		vb, vs := a.block(sc, true, kv, n)
		im.attnAccum4(o, qs, vb, s[:n*4], hd, vs)
	}
	sc.finish4(im, o, qs, hd)
}

// fourB is four for a bf16 cache on an ISA whose four-query kernels read it
// in place (attnScores4B, attnAccum4B). Their scores and weights are
// key-major; each query's row is masked and goes through expSub on its own
// (im.expSub, the single-query softmax step) and back.
func (a *attnTask) fourB(t0, h int, sc *attnScratch) {
	p, im := &a.p, a.im
	hd, qs := p.HeadDim, p.NHead*p.HeadDim
	p0 := p.Pos0 + t0
	koff := h / (p.NHead / p.NKV) * p.headStride()
	q := a.q[(t0*p.NHead+h)*hd:]
	o := a.out[(t0*p.NHead+h)*hd:]
	sc.start4(o, qs, hd)
	inf := float32(math.Inf(-1))
	first := p.window(p0)
	for b1 := p0 + 4; b1 > first; b1 -= attnBlock {
		b0 := max(first, b1-attnBlock)
		n := b1 - b0
		kv := b0*p.Stride + koff
		s := sc.s[:n*4]
		im.attnScores4B(s, q, qs, a.kb[kv:], hd, p.Stride, a.scale)
		for r := range 4 {
			row, lo, hi := sc.rows[r][:n], p.window(p0+r), p0+r
			bm := inf
			for j := range row {
				x := s[j*4+r]
				if pos := b0 + j; pos > hi || pos < lo {
					x = inf // the future, or before the window
				}
				row[j] = x
				bm = max(bm, x)
			}
			sc.raise(im, r, bm, o[r*qs:r*qs+hd])
			sc.l[r] += im.expSub(row, sc.m[r])
			for j, e := range row {
				s[j*4+r] = e
			}
		}
		im.attnAccum4B(o, qs, a.vb[kv:], s, hd, p.Stride)
	}
	sc.finish4(im, o, qs, hd)
}

// start4 clears the four outputs (rows qs apart, hd wide) and the online
// softmax state of four queries.
func (sc *attnScratch) start4(o []float32, qs, hd int) {
	for r := range 4 {
		clear(o[r*qs : r*qs+hd])
		sc.m[r], sc.l[r] = float32(math.Inf(-1)), 0
	}
}

// raise moves query r's running max up to bm when bm is larger, rescaling
// its sum and its output o by exp(old max − bm).
func (sc *attnScratch) raise(im *impl, r int, bm float32, o []float32) {
	if bm <= sc.m[r] {
		return
	}
	if sc.l[r] != 0 {
		c := float32(math.Exp(float64(sc.m[r] - bm)))
		sc.l[r] *= c
		im.scale(c, o, o)
	}
	sc.m[r] = bm
}

// finish4 divides each of the four outputs by its softmax sum.
func (sc *attnScratch) finish4(im *impl, o []float32, qs, hd int) {
	for r := range 4 {
		im.scale(1/sc.l[r], o[r*qs:r*qs+hd], o[r*qs:r*qs+hd])
	}
}
