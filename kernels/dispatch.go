package kernels

import (
	"fmt"
	"sync/atomic"
)

// impl is one instruction-set implementation of the inner kernels. The public
// functions (MatMul, Dot, ...) do argument checks, tails, blocking and
// threading, and call through the current impl.
type impl struct {
	name string

	// kAlign is the granularity of the vector kernels' length argument k:
	// the gemv kernels and GEMM tiles handle a positive multiple of kAlign (but
	// see bf16Perm and dpAlign), and the caller
	// adds the remaining k%kAlign terms in Go.
	kAlign int

	// gemvF32 is: for r := range y { y[r] = Σ_{i<k} x[i]·w[r*ldw+i] }.
	gemvF32 func(y, x, w []float32, k, ldw int)
	// gemvBF16 is gemvF32 with bf16 weights widened exactly to fp32. When
	// bf16Perm > 0 it takes x permuted by permuteX(·, ·, bf16Perm) and k a
	// positive multiple of bf16Perm instead of kAlign.
	gemvBF16 func(y, x []float32, w []uint16, k, ldw int)
	bf16Perm int
	// gemvBF16X4 is gemvBF16 for four rows of x at once (x: four permuted
	// rows k apart; output row t at y[t*ldy:]), streaming the weights once;
	// the rows of w are those len(w) holds. nil: the GEMM does T > 1.
	gemvBF16X4 func(y []float32, ldy int, x []float32, w []uint16, k, ldw int)
	// gemvQ8 is: for r := range y { y[r] = Σ_g s[r*k/QGroup+g]·Σ_{i∈g}
	// x[i]·q[r*k+i] } with k a positive multiple of QGroup and rows k
	// apart (MatMulQ8).
	gemvQ8 func(y, x []float32, q []int8, s []float32, k int)
	// gemvQ8X16 is gemvQ8 against x quantized by quantizeX16 (xq, with a
	// scale xs per QGroup values): for r := range y { y[r] = Σ_g
	// float32(s[r*k/QGroup+g]·xs[g])·float32(Σ_{i∈g} xq[i]·q[r*k+i]) },
	// each group's sum exact in int32.
	gemvQ8X16 func(y []float32, xq []int16, xs []float32, q []int8, s []float32, k int)
	// gemvQ8X4 is gemvQ8X16 for four rows of x at once (len(q)/k weight
	// rows, streamed once), bit for bit: y[t*ldy+r] for x row t, with x
	// interleaved per group (see gemvQ8Rows). nil: the GEMM does T > 1.
	gemvQ8X4 func(y []float32, ldy int, xq []int16, xs []float32, q []int8, s []float32, k int)
	// quantQ8 is quantizeQ8Groups (QuantizeQ8's loop over len(s) groups),
	// bit for bit.
	quantQ8 func(q []int8, s []float32, w []float32) bool
	// quantX16 is quantizeX16 over len(xs) groups, bit for bit.
	quantX16 func(xq []int16, xs []float32, x []float32) bool
	// dequantQ8 is DequantizeQ8's loop (len(dst) a multiple of QGroup).
	dequantQ8 func(dst []float32, q []int8, s []float32)

	// The GEMM tiles (see tileFn): mr rows of x × 4 rows of w with fp32
	// or bf16 weights, and optionally a narrower mr2-row tile for the rows
	// left over (mr2 = 0: none; leftovers are padded to mr). Unused, and
	// unset, where panel is set.
	mr, mr2       int
	tile, tile2   tileFn
	tileB, tile2B tileBFn
	// bf16 × bf16 tiles for MatMulBF16Fast (k a multiple of dpAlign), nil
	// without AVX512_BF16.
	tileDP, tile2DP tileDPFn
	// panel is the outer-product tile of gemmPanels, which then does every
	// T > 1 product but MatMulBF16Fast's bf16 × bf16 one; nil: gemm.
	panel panelFn
	// packB16 writes p[i*16+c] = BF16ToF32(w[c*ldw+i]) for c < 16, i < k:
	// a full panel of bf16 weights; nil: Go.
	packB16 func(p []float32, w []uint16, ldw, k int)
	// packF16 is packB16 for fp32 weights; nil: Go.
	packF16 func(p []float32, w []float32, ldw, k int)

	// The vector ops take any length (tails included).
	dot   func(a, b []float32) float32            // Σ a[i]·b[i], len(a) terms
	sum   func(a []float32) float32               // Σ a[i], a plain read stream (MeasureBandwidth)
	axpy  func(alpha float32, x, y []float32)     // y[i] += alpha·x[i]
	scale func(alpha float32, dst, src []float32) // dst[i] = alpha·src[i]
	relu2 func(x []float32)                       // x[i] = max(x[i],0)²
	widen func(dst []float32, src []uint16)       // dst[i] = BF16ToF32(src[i])
	// softcap is Softcap's loop on one range.
	softcap func(x []float32, c float32)

	// Attention over a block of n = len(s) keys, rows stride apart:
	// attnScores: s[j] = scale·Σ_{i<hd} q[i]·k[j*stride+i];
	// expSub: s[j] = exp(s[j]-m), returning Σ s[j];
	// attnAccum: o[i] += Σ_j e[j]·v[j*stride+i] for i < hd, j < len(e).
	attnScores func(s, q, k []float32, hd, stride int, scale float32)
	expSub     func(s []float32, m float32) float32
	attnAccum  func(o, v, e []float32, hd, stride int)
	// attnScoresB and attnAccumB are attnScores and attnAccum over a bf16
	// cache read in place (keys and values widened exactly in registers);
	// nil where the ISA widens each block into a buffer instead.
	attnScoresB func(s, q []float32, k []uint16, hd, stride int, scale float32)
	attnAccumB  func(o []float32, v []uint16, e []float32, hd, stride int)

	// Four-query variants for prefill, nil where the ISA has none; scores
	// and weights are key-major (s[j*4+r] for key j, query r), queries and
	// outputs are four rows qstride (ostride) apart, hd%16 == 0:
	// attnScores4: s[j*4+r] = scale·q_r·k_j for j < len(s)/4, mx[r] = max_j;
	// expSub4: s[i] = exp(s[i]-m[i%4]) for len(s)%16 == 0, sums[r] = Σ_j;
	// attnAccum4: o_r[i] += Σ_j e[j*4+r]·v_j[i] for j < len(e)/4.
	attnScores4 func(s, q []float32, qstride int, k []float32, hd, kstride int, scale float32, mx *[4]float32)
	expSub4     func(s []float32, m, sums *[4]float32)
	attnAccum4  func(o []float32, ostride int, v, e []float32, hd, vstride int)
	// attnScores4B and attnAccum4B are attnScores4 (without the maxima) and
	// attnAccum4 over a bf16 cache read in place, for hd%16 == 0; nil
	// where the ISA has none (then a bf16 cache goes through the widening
	// four-query kernels, or one query at a time).
	attnScores4B func(s, q []float32, qstride int, k []uint16, hd, kstride int, scale float32)
	attnAccum4B  func(o []float32, ostride int, v []uint16, e []float32, hd, vstride int)

	// fmaLoop runs iters iterations of an unrolled FMA loop and returns the
	// number of floating-point operations done (for MeasurePeakFLOPS).
	fmaLoop func(iters int) float64
	// dpLoop is fmaLoop on the bf16 dot-product instruction (for
	// MeasurePeakBF16FLOPS); nil without one.
	dpLoop func(iters int) float64
}

// impls lists the implementations this build and CPU support, best first.
// The pure-Go one is always last. It is filled by init functions.
var impls []*impl

var cur atomic.Pointer[impl]

func init() {
	impls = append(archImpls(), goImpl)
	cur.Store(impls[0])
}

// ISA reports the instruction set the kernels currently use: "avx512bf16"
// (AVX-512 with the bf16 dot-product instruction, used by MatMulBF16Fast's
// GEMM), "avx512", "avx2" or "go".
func ISA() string { return cur.Load().name }

// ISAs lists the instruction sets available on this machine and build, best
// first; the last is always "go".
func ISAs() []string {
	s := make([]string, len(impls))
	for i, im := range impls {
		s[i] = im.name
	}
	return s
}

// SetISA forces the kernels onto one instruction set (a name ISAs lists):
// tests and benchmarks use it to run every fallback on a CPU that has a
// better one, and users through NANOCHAT_ISA / --isa. It returns an error,
// and changes nothing, if this machine or build cannot run it. It is safe to call concurrently with
// kernels, but a kernel already running keeps the implementation it started
// with.
func SetISA(name string) error {
	for _, im := range impls {
		if im.name == name {
			cur.Store(im)
			return nil
		}
	}
	return fmt.Errorf("kernels: set ISA %q: not supported on this CPU or build (have %v)", name, ISAs())
}
