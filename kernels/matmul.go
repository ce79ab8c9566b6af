package kernels

import (
	"fmt"
	"sync"
)

// MatMul is the linear layer y = x·wᵀ, with x T×in, w out×in (torch Linear
// layout) and y T×out, all row-major; y is overwritten:
//
//	for t := range T {
//		for o := range out {
//			var s float32
//			for i := range in {
//				s += x[t*in+i] * w[o*in+i]
//			}
//			y[t*out+o] = s
//		}
//	}
//
// The fast paths sum in float32 in another order (several SIMD lanes and
// accumulators); each output is within 1e-5·Σ|x·w| + 1e-6 of the exact sum.
// T == 1 is a bandwidth-bound matrix-vector product; larger T runs a
// cache-blocked GEMM. Work is split across the pool.
func MatMul(y, x, w []float32, T, in, out int) {
	checkMatMul("MatMul", len(y), len(x), len(w), T, in, out)
	matMul(cur.Load(), y, x, w, nil, T, in, out)
}

// MatMulBF16 is MatMul with bf16 weights (bit patterns, see BF16ToF32),
// widened exactly to float32; activations and sums stay float32:
//
//	for t := range T {
//		for o := range out {
//			var s float32
//			for i := range in {
//				s += x[t*in+i] * BF16ToF32(w[o*in+i])
//			}
//			y[t*out+o] = s
//		}
//	}
//
// Tolerance as for MatMul.
func MatMulBF16(y, x []float32, w []uint16, T, in, out int) {
	checkMatMul("MatMulBF16", len(y), len(x), len(w), T, in, out)
	matMul(cur.Load(), y, x, nil, w, T, in, out)
}

func checkMatMul(op string, ny, nx, nw, T, in, out int) {
	if T < 0 || in < 0 || out < 0 || ny < T*out || nx < T*in || nw < out*in {
		panic(fmt.Sprintf("kernels: %s: T=%d in=%d out=%d needs len(y)>=%d len(x)>=%d len(w)>=%d, got %d %d %d",
			op, T, in, out, T*out, T*in, out*in, ny, nx, nw))
	}
}

// serialOps is the size (multiply-adds) below which a kernel runs on the
// calling goroutine rather than the pool.
const serialOps = 1 << 16

func matMul(im *impl, y, x, wf []float32, wb []uint16, T, in, out int) {
	if T == 0 || out == 0 {
		return
	}
	y = y[:T*out]
	if in == 0 {
		clear(y)
		return
	}
	if T > 1 && T <= rowsMax && wb != nil && im.gemvBF16X4 != nil {
		gemvBF16Rows(im, y, x, wb, T, in, out)
		return
	}
	if T > 1 {
		// On Zen 4 (AVX-512) the GEMM, which copies each weight block with
		// one sequential read, beat T passes of the GEMV and a four-row
		// GEMV even at T = 2 (the GEMV kernels keep DRAM busy only while
		// they do little work per byte); on AVX2 the four-row GEMVs win
		// (see gemvBF16Rows).
		gemm(im, y, x, nil, wf, wb, T, in, out)
		return
	}
	g := gemvPool.Get().(*gemvTask)
	*g = gemvTask{im: im, y: y, x: x[:in], wf: wf, wb: wb, in: in}
	g.kMain = in - in%im.kAlign
	var buf *[]float32
	if wb != nil && im.bf16Perm > 0 {
		g.kMain = in - in%im.bf16Perm
		buf = xpadPool.Get().(*[]float32)
		*buf = grow(*buf, g.kMain)
		g.xp = *buf
		permuteX(g.xp, x[:g.kMain], im.bf16Perm)
	}
	if in*out < serialOps {
		g.run(0, out)
	} else {
		parallel(out, 4, g)
	}
	if buf != nil {
		xpadPool.Put(buf)
	}
	*g = gemvTask{}
	gemvPool.Put(g)
}

var gemvPool = sync.Pool{New: func() any { return new(gemvTask) }}

// gemvTask computes outputs [lo, hi) of the matrix-vector product y = w·x.
// The weights stream from memory once, in order.
type gemvTask struct {
	im    *impl
	y, x  []float32
	xp    []float32 // x permuted for the bf16 kernel (see impl.bf16Perm), or nil
	wf    []float32
	wb    []uint16
	wq    []int8 // int8 weights (MatMulQ8), with their scales ws
	ws    []float32
	xq    []int16 // x quantized to int16 for the int8 kernel (quantizeX16), or nil
	xs    []float32
	in    int
	kMain int // the kernels do k < kMain, Go the rest
}

func (g *gemvTask) run(lo, hi int) {
	in, kMain := g.in, g.kMain
	y := g.y[lo:hi]
	switch {
	case kMain == 0:
		clear(y)
	case g.wq != nil && g.xq != nil:
		ng := in / QGroup
		g.im.gemvQ8X16(y, g.xq, g.xs, g.wq[lo*in:hi*in], g.ws[lo*ng:hi*ng], in)
		return
	case g.wq != nil:
		ng := in / QGroup
		g.im.gemvQ8(y, g.x, g.wq[lo*in:hi*in], g.ws[lo*ng:hi*ng], in)
		return
	case g.wb != nil && g.xp != nil:
		g.im.gemvBF16(y, g.xp, g.wb[lo*in:hi*in], kMain, in)
	case g.wb != nil:
		g.im.gemvBF16(y, g.x, g.wb[lo*in:hi*in], kMain, in)
	default:
		g.im.gemvF32(y, g.x, g.wf[lo*in:hi*in], kMain, in)
	}
	if kMain == in {
		return
	}
	for r := range y {
		o := (lo + r) * in
		var s float32
		if g.wb != nil {
			for i := kMain; i < in; i++ {
				s += g.x[i] * BF16ToF32(g.wb[o+i])
			}
		} else {
			for i := kMain; i < in; i++ {
				s += g.x[i] * g.wf[o+i]
			}
		}
		y[r] += s
	}
}

// permuteX reorders each block of n elements of x (n even, len(x) a
// multiple of n) as its even-indexed elements followed by its odd ones,
// the order in which the bf16 GEMV kernels widen weights.
func permuteX(dst, x []float32, n int) {
	dst = dst[:len(x)]
	for c := 0; c+n <= len(x); c += n {
		b, d := x[c:c+n], dst[c:c+n]
		for i := range n / 2 {
			d[i], d[n/2+i] = b[2*i], b[2*i+1]
		}
	}
}

// rowsMax is the largest T for which batched decode runs the four-row
// GEMVs (ceil(T/4) passes over the weights) where the ISA has them.
const rowsMax = 8

// gemvBF16Rows is MatMulBF16 for 1 < T ≤ rowsMax through the four-row bf16
// GEMV: the weights stream once per block of four rows of x. On a 2-core
// Zen 3 (AVX2; nanochat bench --shape d20, back-to-back runs against the
// GEMM) decode at batch 2, 4, 8 went from 30.5, 41.8, 60.4 to 40.2, 63.7,
// 65.9 tok/s.
func gemvBF16Rows(im *impl, y, x []float32, w []uint16, T, in, out int) {
	kMain := in - in%im.bf16Perm
	b := rowsPool.Get().(*rowsBuf)
	defer rowsPool.Put(b)
	b.y = grow(b.y, 4*out)
	xp := grow(b.xp, 4*kMain)
	b.xp = xp
	for blk := 0; blk < T; blk += 4 {
		nt := min(4, T-blk)
		clear(xp)
		for r := range nt {
			permuteX(xp[r*kMain:(r+1)*kMain], x[(blk+r)*in:(blk+r)*in+kMain], im.bf16Perm)
		}
		yb := y[blk*out:]
		if nt < 4 {
			yb = b.y
		}
		run := funcRunner(func(lo, hi int) {
			if kMain > 0 {
				im.gemvBF16X4(yb[lo:], out, xp, w[lo*in:(hi-1)*in+kMain], kMain, in)
			} else {
				for r := range 4 {
					clear(yb[r*out+lo : r*out+hi])
				}
			}
			for r := range nt { // the in%bf16Perm tail terms
				xt := x[(blk+r)*in : (blk+r+1)*in]
				for o := lo; o < hi; o++ {
					var s float32
					for i := kMain; i < in; i++ {
						s += xt[i] * BF16ToF32(w[o*in+i])
					}
					yb[r*out+o] += s
				}
			}
		})
		if 4*in*out < serialOps {
			run(0, out)
		} else {
			parallel(out, 4, run)
		}
		if nt < 4 {
			copy(y[blk*out:(blk+nt)*out], b.y)
		}
	}
}
