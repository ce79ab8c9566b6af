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

// Blocking parameters (see performance notes in gemm.go).
var (
	gemmMinT  = 4       // T at which the GEMM beats T passes of the GEMV
	gemvChunk = 1 << 17 // bytes of weights per GEMV row chunk (L2-resident for T > 1)
	serialOps = 1 << 15 // below this many multiply-adds, run on the calling goroutine
)

func matMul(im *impl, y, x, wf []float32, wb []uint16, T, in, out int) {
	if T == 0 || out == 0 {
		return
	}
	y = y[:T*out]
	if in == 0 {
		clear(y)
		return
	}
	if T >= gemmMinT && T >= im.mr {
		gemm(im, y, x, wf, wb, T, in, out)
		return
	}
	g := gemvPool.Get().(*gemvTask)
	*g = gemvTask{im: im, y: y, x: x, wf: wf, wb: wb, T: T, in: in, out: out}
	wbytes := 4
	if wb != nil {
		wbytes = 2
	}
	g.chunk = max(4, gemvChunk/(in*wbytes)&^3)
	if T*in*out < serialOps {
		g.run(0, out)
	} else {
		parallel(out, 4, g)
	}
	*g = gemvTask{}
	gemvPool.Put(g)
}

var gemvPool = sync.Pool{New: func() any { return new(gemvTask) }}

// gemvTask computes output columns [lo, hi) of y for all T rows, walking
// the weights in chunks of rows so that, for T > 1, each chunk is read from
// memory once and from cache T-1 times.
type gemvTask struct {
	im         *impl
	y, x, wf   []float32
	wb         []uint16
	T, in, out int
	chunk      int
}

func (g *gemvTask) run(lo, hi int) {
	in, out := g.in, g.out
	kMain := in - in%g.im.kAlign
	for r0 := lo; r0 < hi; r0 += g.chunk {
		r1 := min(r0+g.chunk, hi)
		for t := range g.T {
			yt := g.y[t*out+r0 : t*out+r1]
			xt := g.x[t*in : t*in+in]
			if kMain == 0 {
				clear(yt)
			} else if g.wb != nil {
				g.im.gemvBF16(yt, xt, g.wb[r0*in:r1*in], kMain, in)
			} else {
				g.im.gemvF32(yt, xt, g.wf[r0*in:r1*in], kMain, in)
			}
			if kMain == in {
				continue
			}
			for r := range yt {
				o := (r0 + r) * in
				var s float32
				if g.wb != nil {
					for i := kMain; i < in; i++ {
						s += xt[i] * BF16ToF32(g.wb[o+i])
					}
				} else {
					for i := kMain; i < in; i++ {
						s += xt[i] * g.wf[o+i]
					}
				}
				yt[r] += s
			}
		}
	}
}
