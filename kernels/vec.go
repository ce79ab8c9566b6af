package kernels

import (
	"fmt"
	"math"
	"sync"
)

// rmsEps is torch's default RMSNorm epsilon for float32, FLT_EPSILON = 2⁻²³.
const rmsEps = float32(1.0 / (1 << 23))

// Dot is:
//
//	var s float32
//	for i := range a { s += a[i] * b[i] }
//	return s
//
// b must be at least as long as a. The fast paths sum in 32 or 64 float32
// lanes and combine them at the end, within 1e-6·Σ|a·b| of the exact sum
// for the lengths used here (≤ 8192).
func Dot(a, b []float32) float32 {
	if len(b) < len(a) {
		panic(fmt.Sprintf("kernels: Dot: len(b)=%d < len(a)=%d", len(b), len(a)))
	}
	return cur.Load().dot(a, b[:len(a)])
}

// Axpy is:
//
//	for i := range x { y[i] += alpha * x[i] }
func Axpy(alpha float32, x, y []float32) {
	if len(y) < len(x) {
		panic(fmt.Sprintf("kernels: Axpy: len(y)=%d < len(x)=%d", len(y), len(x)))
	}
	cur.Load().axpy(alpha, x, y[:len(x)])
}

// Scale is:
//
//	for i := range x { x[i] *= alpha }
func Scale(alpha float32, x []float32) {
	cur.Load().scale(alpha, x, x)
}

// ReLUSquared is nanochat's MLP activation:
//
//	for i, v := range x { v = max(v, 0); x[i] = v * v }
func ReLUSquared(x []float32) {
	im := cur.Load()
	if len(x) < 1<<16 {
		im.relu2(x)
		return
	}
	runVec(&vecTask{op: opReLU2, im: im, x: x}, len(x), 256)
}

// RMSNorm normalizes each of rows rows of n values, as torch's
// F.rms_norm(x, (n,)) in float32 with its default eps = FLT_EPSILON:
//
//	for r := range rows {
//		var ss float64
//		for _, v := range x[r*n : r*n+n] { ss += float64(v) * float64(v) }
//		inv := float32(1 / math.Sqrt(float64(float32(ss/float64(n)) + eps)))
//		for i := range n { y[r*n+i] = x[r*n+i] * inv }
//	}
//
// y may be x. The sum of squares is accumulated in float64 in pure Go and
// in 32 or 64 float32 SIMD lanes on amd64; both give inv within 1e-6
// relative of the loop above (and of torch).
func RMSNorm(y, x []float32, rows, n int) {
	if rows < 0 || n < 0 || len(x) < rows*n || len(y) < rows*n {
		panic(fmt.Sprintf("kernels: RMSNorm: rows=%d n=%d needs len %d, got len(y)=%d len(x)=%d",
			rows, n, rows*n, len(y), len(x)))
	}
	if n == 0 {
		return
	}
	im := cur.Load()
	if rows*n < 1<<16 {
		rmsNorm(im, y, x, n, 0, rows)
		return
	}
	runVec(&vecTask{op: opRMSNorm, im: im, x: x, y: y, n: n}, rows, 1)
}

// rmsNorm normalizes rows [lo, hi).
func rmsNorm(im *impl, y, x []float32, n, lo, hi int) {
	for r := lo; r < hi; r++ {
		xr, yr := x[r*n:r*n+n], y[r*n:r*n+n]
		var ss float64
		if im.name == "go" {
			for _, v := range xr {
				ss += float64(v) * float64(v)
			}
		} else {
			ss = float64(im.dot(xr, xr))
		}
		inv := float32(1 / math.Sqrt(float64(float32(ss/float64(n))+rmsEps)))
		im.scale(inv, yr, xr)
	}
}

// Softcap squashes logits smoothly into (-c, c), in float32 as torch does:
//
//	for i, v := range x { x[i] = c * tanh(v / c) }
//
// with tanh correctly rounded to float32 (evaluated in float64), which is
// within 1 ulp of torch's float32 tanh.
func Softcap(x []float32, c float32) {
	im := cur.Load()
	if len(x) < 1<<13 {
		im.softcap(x, c)
		return
	}
	runVec(&vecTask{op: opSoftcap, im: im, x: x, c: c}, len(x), 256)
}

type vecOp int

const (
	opReLU2 vecOp = iota
	opRMSNorm
	opSoftcap
)

// vecTask is an elementwise or row-wise op split over the pool.
type vecTask struct {
	op   vecOp
	im   *impl
	x, y []float32
	n    int     // row length, RMSNorm
	c    float32 // cap, Softcap
}

func (v *vecTask) run(lo, hi int) {
	switch v.op {
	case opReLU2:
		v.im.relu2(v.x[lo:hi])
	case opRMSNorm:
		rmsNorm(v.im, v.y, v.x, v.n, lo, hi)
	case opSoftcap:
		v.im.softcap(v.x[lo:hi], v.c)
	}
}

var vecPool = sync.Pool{New: func() any { return new(vecTask) }}

// runVec runs a copy of t over [0, n) on the pool without allocating.
func runVec(t *vecTask, n, grain int) {
	v := vecPool.Get().(*vecTask)
	*v = *t
	parallel(n, grain, v)
	*v = vecTask{}
	vecPool.Put(v)
}

func softcapGo(x []float32, c float32) {
	for i, v := range x {
		x[i] = c * float32(tanh64(float64(v/c)))
	}
}

// tanh64 is tanh for float64 arguments with enough accuracy (≲1e-15
// relative) to round correctly to float32 in nearly all cases, and faster
// than math.Tanh.
func tanh64(z float64) float64 {
	a := math.Abs(z)
	switch {
	case a < 1e-9:
		return z
	case a > 20:
		return math.Copysign(1, z)
	}
	e := math.Exp(2 * a)
	return math.Copysign((e-1)/(e+1), z)
}
