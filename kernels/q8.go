package kernels

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// QGroup is the number of consecutive weights of a row that share one
// scale in the int8 format of QuantizeQ8 and MatMulQ8. With fp32 scales a
// weight costs 1 + 4/QGroup = 1.0625 bytes (bf16: 2).
const QGroup = 64

// QuantizeQ8 quantizes w (rows×cols, row-major, cols a multiple of QGroup)
// to int8 with one symmetric scale per group of QGroup weights of a row:
//
//	for g := range len(w) / QGroup {
//		a := max_i |w[g*QGroup+i]|
//		s[g] = a / 127                       // 0 for an all-zero group
//		for i := range QGroup {
//			q[g*QGroup+i] = int8(clamp(RoundToEven(w[g*QGroup+i] / s[g]), ±127))   // 0 when s[g] = 0
//		}
//	}
//
// so each weight is s·q within s/2 = max|w|/254 of its group (the clamp
// only matters for a group of denormals, whose scale may round below
// max/127). Non-finite weights are an error. Work is split across the pool;
// the AVX2 loop (VDIVPD, VCVTPD2DQ) gives the same bits as the Go one.
func QuantizeQ8(q []int8, s []float32, w []float32) error {
	if len(w)%QGroup != 0 || len(q) < len(w) || len(s) < len(w)/QGroup {
		return fmt.Errorf("kernels: QuantizeQ8: %d weights (want a multiple of %d) into %d values and %d scales", len(w), QGroup, len(q), len(s))
	}
	ng := len(w) / QGroup
	im := cur.Load()
	var bad atomic.Bool
	parallel(ng, 256, funcRunner(func(lo, hi int) {
		if !im.quantQ8(q[lo*QGroup:hi*QGroup], s[lo:hi], w[lo*QGroup:hi*QGroup]) {
			bad.Store(true)
		}
	}))
	if bad.Load() {
		return fmt.Errorf("kernels: QuantizeQ8: weights not finite")
	}
	return nil
}

// maxAbs is max_i |v[i]| and whether every v[i] is finite (NaN makes the
// maximum NaN).
func maxAbs(v []float32) (float32, bool) {
	var a float32
	for _, x := range v {
		a = max(a, float32(math.Abs(float64(x))))
	}
	return a, a <= math.MaxFloat32
}

// quantizeQ8Groups is QuantizeQ8's loop over whole groups; it reports
// whether every weight was finite.
func quantizeQ8Groups(q []int8, s []float32, w []float32) bool {
	ok := true
	for g := range s {
		wg, qg := w[g*QGroup:(g+1)*QGroup], q[g*QGroup:(g+1)*QGroup]
		a, finite := maxAbs(wg)
		ok = ok && finite
		sc := a / 127
		s[g] = sc
		if sc == 0 {
			clear(qg)
			continue
		}
		for i, v := range wg {
			qg[i] = int8(max(-127, min(127, math.RoundToEven(float64(v)/float64(sc)))))
		}
	}
	return ok
}

// MatMulQ8 is MatMul with int8 weights q and per-group scales s as
// QuantizeQ8 writes them (in a multiple of QGroup); activations and sums
// stay float32:
//
//	for t := range T {
//		for o := range out {
//			var a float32
//			for i := range in {
//				a += x[t*in+i] * (s[(o*in+i)/QGroup] * float32(q[o*in+i]))
//			}
//			y[t*out+o] = a
//		}
//	}
//
// The fast paths widen blocks of weights to fp32 and run MatMul's GEMM
// (T > rowsMax, or where the ISA has no four-row GEMV), each output within
// 1e-5·Σ|x·w| + 1e-6 of the loop above; or, for T ≤ rowsMax, stream the
// 1.06 bytes per weight once per four rows of x in a GEMV that quantizes x
// to int16 with a scale per group of QGroup (quantizeX16) and sums each
// group's products exactly in int32 before scaling it once, which adds at
// most Σ_g max|x_g|/65534·Σ_{i∈g}|w_i| (x not finite: the fp32 GEMV or the
// GEMM instead, so a NaN or Inf still reaches y).
func MatMulQ8(y, x []float32, q []int8, s []float32, T, in, out int) {
	checkMatMul("MatMulQ8", len(y), len(x), len(q), T, in, out)
	if in%QGroup != 0 || len(s) < out*in/QGroup {
		panic(fmt.Sprintf("kernels: MatMulQ8: in=%d out=%d needs in a multiple of %d and %d scales, got %d", in, out, QGroup, out*in/QGroup, len(s)))
	}
	if T == 0 || out == 0 {
		return
	}
	im := cur.Load()
	y = y[:T*out]
	if in == 0 {
		clear(y)
		return
	}
	if T > 1 {
		if T > rowsMax || im.gemvQ8X4 == nil || !gemvQ8Rows(im, y, x, q, s, T, in, out) {
			gemmQ8(im, y, x, q, s, T, in, out)
		}
		return
	}
	g := gemvPool.Get().(*gemvTask)
	*g = gemvTask{im: im, y: y, x: x[:in], wq: q, ws: s, in: in, kMain: in}
	xb := rowsPool.Get().(*rowsBuf)
	if xb.q, xb.s = growI16(xb.q, in), grow(xb.s, in/QGroup); im.quantX16(xb.q, xb.s, x[:in]) {
		g.xq, g.xs = xb.q, xb.s
	}
	if in*out < serialOps {
		g.run(0, out)
	} else {
		parallel(out, 4, g)
	}
	*g = gemvTask{}
	gemvPool.Put(g)
	rowsPool.Put(xb)
}

// rowsBuf is the scratch of the GEMVs' input preparation: x quantized to
// int16 (q, s; for the four-row int8 GEMV one row at a time in rq, rs),
// permuted bf16-GEMV rows (xp), and a scratch y for a partial block of rows.
type rowsBuf struct {
	q, rq []int16
	s, rs []float32
	y, xp []float32 // xp: permuted rows of x for the four-row bf16 GEMV
}

var rowsPool = sync.Pool{New: func() any { return new(rowsBuf) }}

func growI16(b []int16, n int) []int16 {
	if cap(b) < n {
		return make([]int16, n)
	}
	return b[:n]
}

// DequantizeQ8 is:
//
//	for i := range dst { dst[i] = s[i/QGroup] * float32(q[i]) }
//
// for len(dst) a multiple of QGroup (one row of a quantized matrix).
func DequantizeQ8(dst []float32, q []int8, s []float32) {
	if len(dst)%QGroup != 0 || len(q) < len(dst) || len(s) < len(dst)/QGroup {
		panic(fmt.Sprintf("kernels: DequantizeQ8: %d values from %d and %d scales", len(dst), len(q), len(s)))
	}
	if len(dst) > 0 {
		cur.Load().dequantQ8(dst, q[:len(dst)], s[:len(dst)/QGroup])
	}
}

func gemvQ8Go(y, x []float32, q []int8, s []float32, k int) {
	x = x[:k]
	ng := k / QGroup
	for r := range y {
		qr, sr := q[r*k:(r+1)*k], s[r*ng:(r+1)*ng]
		var acc float32
		for g, sc := range sr {
			xg, qg := x[g*QGroup:(g+1)*QGroup], qr[g*QGroup:(g+1)*QGroup]
			var a0, a1, a2, a3 float32
			for i := 0; i < QGroup; i += 4 {
				a0 += xg[i] * float32(qg[i])
				a1 += xg[i+1] * float32(qg[i+1])
				a2 += xg[i+2] * float32(qg[i+2])
				a3 += xg[i+3] * float32(qg[i+3])
			}
			acc += sc * ((a0 + a1) + (a2 + a3))
		}
		y[r] = acc
	}
}

func dequantQ8Go(dst []float32, q []int8, s []float32) {
	for g, sc := range s {
		d, qg := dst[g*QGroup:(g+1)*QGroup], q[g*QGroup:(g+1)*QGroup]
		for i, v := range qg {
			d[i] = sc * float32(v)
		}
	}
}

// quantizeX16 quantizes x (len a multiple of QGroup) to int16 with one
// symmetric scale per group: xs[g] = max_i |x_g[i]| / 32767 (in float32)
// and xq[i] = RoundToEven(float64(x[i])·(1/float64(xs[g]))) clamped to
// ±32767 (0 for an all-zero group), so each value is within about xs[g]/2 =
// max|x_g|/65534 of x. It reports false, leaving the output
// unspecified, when some x is not finite.
func quantizeX16(xq []int16, xs []float32, x []float32) bool {
	for g := range len(x) / QGroup {
		xg, qg := x[g*QGroup:(g+1)*QGroup], xq[g*QGroup:(g+1)*QGroup]
		a, finite := maxAbs(xg)
		if !finite {
			return false
		}
		sc := a / 32767
		xs[g] = sc
		if sc == 0 {
			clear(qg)
			continue
		}
		inv := 1 / float64(sc)
		for i, v := range xg {
			qg[i] = int16(max(-32767, min(32767, math.RoundToEven(float64(v)*inv))))
		}
	}
	return true
}

func gemvQ8X16Go(y []float32, xq []int16, xs []float32, q []int8, s []float32, k int) {
	ng := k / QGroup
	for r := range y {
		qr, sr := q[r*k:(r+1)*k], s[r*ng:(r+1)*ng]
		var acc float32
		for g, sc := range sr {
			xg, qg := xq[g*QGroup:(g+1)*QGroup], qr[g*QGroup:(g+1)*QGroup]
			var d int32
			for i, v := range qg {
				d += int32(xg[i]) * int32(v)
			}
			acc += sc * xs[g] * float32(d)
		}
		y[r] = acc
	}
}

// gemvQ8Rows is MatMulQ8 for 1 < T ≤ rowsMax through the four-row int8
// GEMV: each block of four rows of x is quantized to int16 and interleaved
// per group (xq[(4g+t)·QGroup+i], xs[4g+t] for row t of the block), and the
// weights stream once per block, so batched decode costs about what one row
// does (d20 on a 2-core Zen 3, against the GEMM: batch 4 95.8 vs 41.6
// tok/s, batch 8 86.6 vs 56.2). Every row's outputs equal those of a T = 1 call on that row. It
// reports false, having written nothing, when some x is not finite.
func gemvQ8Rows(im *impl, y, x []float32, q []int8, s []float32, T, in, out int) bool {
	ng := in / QGroup
	nb := (T + 3) / 4
	b := rowsPool.Get().(*rowsBuf)
	defer rowsPool.Put(b)
	b.q, b.s = growI16(b.q, nb*4*in), grow(b.s, nb*4*ng)
	b.rq, b.rs = growI16(b.rq, in), grow(b.rs, ng)
	clear(b.q)
	clear(b.s)
	for t := range T {
		if !im.quantX16(b.rq, b.rs, x[t*in:(t+1)*in]) {
			return false
		}
		xq, xs, r := b.q[t/4*4*in:], b.s[t/4*4*ng:], t%4
		for g := range ng {
			copy(xq[(4*g+r)*QGroup:(4*g+r+1)*QGroup], b.rq[g*QGroup:(g+1)*QGroup])
			xs[4*g+r] = b.rs[g]
		}
	}
	for blk := range nb {
		yb := y[4*blk*out:]
		partial := 4*blk+4 > T // its missing rows of y go to scratch
		if partial {
			b.y = grow(b.y, 4*out)
			yb = b.y
		}
		xq, xs := b.q[blk*4*in:(blk+1)*4*in], b.s[blk*4*ng:(blk+1)*4*ng]
		run := funcRunner(func(lo, hi int) {
			im.gemvQ8X4(yb[lo:], out, xq, xs, q[lo*in:hi*in], s[lo*ng:hi*ng], in)
		})
		if 4*in*out < serialOps {
			run(0, out)
		} else {
			parallel(out, 4, run)
		}
		if partial {
			copy(y[4*blk*out:T*out], b.y)
		}
	}
	return true
}
