package kernels

import "sync"

// dpAlign is the k granularity of the tileDP kernels (32 bf16 per zmm).
const dpAlign = 32

// MatMulBF16Fast is MatMulBF16 with the activations rounded to bf16 as well:
//
//	for t := range T {
//		for o := range out {
//			var s float32
//			for i := range in {
//				s += BF16ToF32(F32ToBF16(x[t*in+i])) * BF16ToF32(w[o*in+i])
//			}
//			y[t*out+o] = s
//		}
//	}
//
// It is opt-in: rounding x costs up to 2⁻⁹ relative per term, so the result
// can differ from MatMulBF16 by ~2⁻⁹·Σ|x·w|; compare logits before using it.
// In exchange, on CPUs with AVX512_BF16 the GEMM (T > 1) runs on the bf16
// dot-product instruction, at about twice MatMulBF16's rate. Elsewhere, and
// for T == 1 (bandwidth-bound: nothing to gain), it rounds x and runs
// MatMulBF16's kernels. The products are exact and summed in float32, so
// each output is within 1e-5·Σ|x̃·w| + 1e-6 of the loop above, where x̃ is
// x rounded; on the fast path, |x| below 2⁻¹²⁶ (bf16 denormals) counts as 0.
func MatMulBF16Fast(y, x []float32, w []uint16, T, in, out int) {
	checkMatMul("MatMulBF16Fast", len(y), len(x), len(w), T, in, out)
	if T == 0 || out == 0 {
		return
	}
	if in == 0 {
		clear(y[:T*out])
		return
	}
	im := cur.Load()
	n := T * in
	b := fastPool.Get().(*fastBuf)
	b.xb, b.x = growU16(b.xb, n), x[:n]
	if n < 1<<15 {
		b.run(0, n)
	} else {
		parallel(n, 1024, b)
	}
	if T >= 2 && im.tileDP != nil {
		gemm(im, y, nil, b.xb, nil, w, T, in, out)
	} else {
		b.xr = grow(b.xr, n)
		im.widen(b.xr, b.xb)
		matMul(im, y, b.xr, nil, w, T, in, out)
	}
	b.x = nil
	fastPool.Put(b)
}

// fastBuf holds x rounded to bf16 (and widened back, for the fallback).
type fastBuf struct {
	x  []float32
	xb []uint16
	xr []float32
}

// run rounds x[lo:hi] into xb.
func (b *fastBuf) run(lo, hi int) { RoundBF16(b.xb[lo:hi], b.x[lo:hi]) }

var fastPool = sync.Pool{New: func() any { return new(fastBuf) }}
