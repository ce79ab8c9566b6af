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
	// gemv and gemmTile handle a positive multiple of kAlign, and the caller
	// adds the remaining k%kAlign terms in Go.
	kAlign int

	// gemvF32 is: for r := range y { y[r] = Σ_{i<k} x[i]·w[r*ldw+i] }.
	gemvF32 func(y, x, w []float32, k, ldw int)
	// gemvBF16 is gemvF32 with bf16 weights widened exactly to fp32.
	gemvBF16 func(y, x []float32, w []uint16, k, ldw int)

	// gemmTile computes one full mr×nr output tile:
	// y[r*ldy+c] = Σ_{i<k} x[r*ldx+i]·w[c*ldw+i] for r < mr, c < nr,
	// adding to y instead of overwriting it when acc is set.
	mr, nr   int
	gemmTile func(k int, x []float32, ldx int, w []float32, ldw int, y []float32, ldy int, acc bool)

	// The vector ops take any length (tails included).
	dot   func(a, b []float32) float32            // Σ a[i]·b[i], len(a) terms
	axpy  func(alpha float32, x, y []float32)     // y[i] += alpha·x[i]
	scale func(alpha float32, dst, src []float32) // dst[i] = alpha·src[i]
	relu2 func(x []float32)                       // x[i] = max(x[i],0)²
	widen func(dst []float32, src []uint16)       // dst[i] = BF16ToF32(src[i])

	// fmaLoop runs iters iterations of an unrolled FMA loop and returns the
	// number of floating-point operations done (for MeasurePeakFLOPS).
	fmaLoop func(iters int) float64
}

// impls lists the implementations this build and CPU support, best first.
// The pure-Go one is always last. It is filled by init functions.
var impls []*impl

var cur atomic.Pointer[impl]

func init() {
	impls = append(archImpls(), goImpl)
	cur.Store(impls[0])
}

// ISA reports the instruction set the kernels currently use: "avx512",
// "avx2" or "go".
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

// SetISA forces the kernels onto one instruction set ("avx512", "avx2" or
// "go"), for tests and benchmarks. It returns an error, and changes nothing,
// if this machine or build cannot run it. It is safe to call concurrently with
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
