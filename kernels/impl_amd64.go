//go:build amd64 && !purego

package kernels

// The Go assembly kernels and their slice wrappers. The wrappers check
// bounds (one index expression each) so that a driver bug panics instead of
// corrupting memory, and do the tails the assembly leaves (lengths that are
// not a multiple of 16).

//go:noescape
func gemvF32_512(y, x, w *float32, k, ldw, rows int)

//go:noescape
func gemvBF16_512(y, x *float32, w *uint16, k, ldw, rows int)

//go:noescape
func gemvF32AVX2(y, x, w *float32, k, ldw, rows int)

//go:noescape
func gemvBF16AVX2(y, x *float32, w *uint16, k, ldw, rows int)

//go:noescape
func gemm6x4_512(k int, x *float32, ldx int, w *float32, ldw int, y *float32, ldy int, acc int)

//go:noescape
func gemm3x4AVX2(k int, x *float32, ldx int, w *float32, ldw int, y *float32, ldy int, acc int)

//go:noescape
func dot512(a, b *float32, n int) float32

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func axpy512(alpha float32, x, y *float32, n int)

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func scale512(alpha float32, dst, src *float32, n int)

//go:noescape
func scaleAVX2(alpha float32, dst, src *float32, n int)

//go:noescape
func relu2_512(x *float32, n int)

//go:noescape
func relu2AVX2(x *float32, n int)

//go:noescape
func widen512(dst *float32, src *uint16, n int)

//go:noescape
func widenAVX2(dst *float32, src *uint16, n int)

func fmaLoop512(iters int)

func fmaLoopAVX2(iters int)

var cpu = detectCPU()

func archImpls() []*impl {
	var s []*impl
	if cpu.avx512 {
		s = append(s, avx512Impl)
	}
	if cpu.avx2 && cpu.fma {
		s = append(s, avx2Impl)
	}
	return s
}

var avx512Impl = &impl{
	name:   "avx512",
	kAlign: 16,
	gemvF32: func(y, x, w []float32, k, ldw int) {
		if len(y) > 0 {
			_, _ = x[k-1], w[(len(y)-1)*ldw+k-1]
			gemvF32_512(&y[0], &x[0], &w[0], k, ldw, len(y))
		}
	},
	gemvBF16: func(y, x []float32, w []uint16, k, ldw int) {
		if len(y) > 0 {
			_, _ = x[k-1], w[(len(y)-1)*ldw+k-1]
			gemvBF16_512(&y[0], &x[0], &w[0], k, ldw, len(y))
		}
	},
	mr: 6,
	nr: 4,
	gemmTile: func(k int, x []float32, ldx int, w []float32, ldw int, y []float32, ldy int, acc bool) {
		_, _, _ = x[5*ldx+k-1], w[3*ldw+k-1], y[5*ldy+3]
		gemm6x4_512(k, &x[0], ldx, &w[0], ldw, &y[0], ldy, b2i(acc))
	},
	dot: func(a, b []float32) float32 {
		b = b[:len(a)]
		n := len(a) &^ 15
		var s float32
		if n > 0 {
			s = dot512(&a[0], &b[0], n)
		}
		for i := n; i < len(a); i++ {
			s += a[i] * b[i]
		}
		return s
	},
	axpy: func(alpha float32, x, y []float32) {
		y = y[:len(x)]
		n := len(x) &^ 15
		if n > 0 {
			axpy512(alpha, &x[0], &y[0], n)
		}
		axpyGo(alpha, x[n:], y[n:])
	},
	scale: func(alpha float32, dst, src []float32) {
		dst = dst[:len(src)]
		n := len(src) &^ 15
		if n > 0 {
			scale512(alpha, &dst[0], &src[0], n)
		}
		scaleGo(alpha, dst[n:], src[n:])
	},
	relu2: func(x []float32) {
		n := len(x) &^ 15
		if n > 0 {
			relu2_512(&x[0], n)
		}
		relu2Go(x[n:])
	},
	widen: func(dst []float32, src []uint16) {
		dst = dst[:len(src)]
		n := len(src) &^ 15
		if n > 0 {
			widen512(&dst[0], &src[0], n)
		}
		widenGo(dst[n:], src[n:])
	},
	fmaLoop: func(iters int) float64 {
		fmaLoop512(iters)
		return float64(iters) * 12 * 16 * 2
	},
}

var avx2Impl = &impl{
	name:   "avx2",
	kAlign: 16,
	gemvF32: func(y, x, w []float32, k, ldw int) {
		if len(y) > 0 {
			_, _ = x[k-1], w[(len(y)-1)*ldw+k-1]
			gemvF32AVX2(&y[0], &x[0], &w[0], k, ldw, len(y))
		}
	},
	gemvBF16: func(y, x []float32, w []uint16, k, ldw int) {
		if len(y) > 0 {
			_, _ = x[k-1], w[(len(y)-1)*ldw+k-1]
			gemvBF16AVX2(&y[0], &x[0], &w[0], k, ldw, len(y))
		}
	},
	mr: 3,
	nr: 4,
	gemmTile: func(k int, x []float32, ldx int, w []float32, ldw int, y []float32, ldy int, acc bool) {
		_, _, _ = x[2*ldx+k-1], w[3*ldw+k-1], y[2*ldy+3]
		gemm3x4AVX2(k, &x[0], ldx, &w[0], ldw, &y[0], ldy, b2i(acc))
	},
	dot: func(a, b []float32) float32 {
		b = b[:len(a)]
		n := len(a) &^ 15
		var s float32
		if n > 0 {
			s = dotAVX2(&a[0], &b[0], n)
		}
		for i := n; i < len(a); i++ {
			s += a[i] * b[i]
		}
		return s
	},
	axpy: func(alpha float32, x, y []float32) {
		y = y[:len(x)]
		n := len(x) &^ 15
		if n > 0 {
			axpyAVX2(alpha, &x[0], &y[0], n)
		}
		axpyGo(alpha, x[n:], y[n:])
	},
	scale: func(alpha float32, dst, src []float32) {
		dst = dst[:len(src)]
		n := len(src) &^ 15
		if n > 0 {
			scaleAVX2(alpha, &dst[0], &src[0], n)
		}
		scaleGo(alpha, dst[n:], src[n:])
	},
	relu2: func(x []float32) {
		n := len(x) &^ 15
		if n > 0 {
			relu2AVX2(&x[0], n)
		}
		relu2Go(x[n:])
	},
	widen: func(dst []float32, src []uint16) {
		dst = dst[:len(src)]
		n := len(src) &^ 15
		if n > 0 {
			widenAVX2(&dst[0], &src[0], n)
		}
		widenGo(dst[n:], src[n:])
	},
	fmaLoop: func(iters int) float64 {
		fmaLoopAVX2(iters)
		return float64(iters) * 12 * 8 * 2
	},
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
