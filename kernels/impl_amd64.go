//go:build amd64 && !purego

package kernels

// The Go assembly kernels and their slice wrappers. The wrappers check
// bounds (one index expression each) so that a driver bug panics instead of
// corrupting memory, and do the tails the assembly leaves (lengths that are
// not a multiple of 16).

//go:noescape
func gemvF32_512(y, x, w *float32, k, ldw, rows int)

//go:noescape
func gemvBF16_512(y, xp *float32, w *uint16, k, ldw, rows int)

// gemvPairK is the row length from which the bf16 GEMV reads four (then
// two) rows at a time: below it x stays in L1 and one weight stream is
// fastest; above it re-reading x for every row costs bandwidth (Zen 4,
// k = 5120: one row 14.5 GB/s, two 16–20, four 20–22).
const gemvPairK = 3072

//go:noescape
func gemvBF16x4_512(y, xp *float32, w *uint16, k, ldw, rows int)

//go:noescape
func gemvBF16x2_512(y, xp *float32, w *uint16, k, ldw, rows int)

//go:noescape
func attnAccum128_512(o, v, e *float32, stride, n int)

//go:noescape
func gemvBF16x4AVX2(y *float32, ldy int, xp *float32, w *uint16, k, ldw, rows int)

//go:noescape
func packBF16x16AVX2(p *float32, w *uint16, ldw, steps int)

//go:noescape
func packF32x16AVX2(p *float32, w *float32, ldw, steps int)

//go:noescape
func gemmP6x16AVX2(k int, x *float32, ldx int, p *float32, y *float32, ldy int, acc int)

//go:noescape
func gemvF32AVX2(y, x, w *float32, k, ldw, rows int)

//go:noescape
func gemvBF16AVX2(y, xp *float32, w *uint16, k, ldw, rows int)

//go:noescape
func gemm6x4_512(k int, x *float32, ldx int, w *float32, ldw int, y *float32, ldy int, acc int)

//go:noescape
func gemmB6x4_512(k int, x *float32, ldx int, w *uint16, ldw int, y *float32, ldy int, acc int)

//go:noescape
func gemm2x4_512(k int, x *float32, ldx int, w *float32, ldw int, y *float32, ldy int, acc int)

//go:noescape
func gemmB2x4_512(k int, x *float32, ldx int, w *uint16, ldw int, y *float32, ldy int, acc int)

//go:noescape
func dot512(a, b *float32, n int) float32

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func sumAVX2(a *float32, n int) float32

// sumAVX2Go wraps sumAVX2 for both impls.
func sumAVX2Go(a []float32) float32 {
	n := len(a) &^ 31
	var s float32
	if n > 0 {
		s = sumAVX2(&a[0], n)
	}
	return s + sumGo(a[n:])
}

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

//go:noescape
func softcap512(x *float32, n int, c float32)

//go:noescape
func softcapAVX2(x *float32, n int, c float32)

func dpLoop512(iters int)

//go:noescape
func gemmDP6x4_512(k int, x *uint16, ldx int, w *uint16, ldw int, y *float32, ldy int, acc int)

//go:noescape
func gemmDP2x4_512(k int, x *uint16, ldx int, w *uint16, ldw int, y *float32, ldy int, acc int)

//go:noescape
func attnScoresAVX2(s, q, k *float32, hd, stride, n int, scale float32)

//go:noescape
func attnAccum512(o, v, e *float32, hd, stride, n int)

//go:noescape
func attnAccumAVX2(o, v, e *float32, hd, stride, n int)

//go:noescape
func attnScores4_512(s, q *float32, qstride int, k *float32, hd, kstride, n int, scale float32, mx *float32)

//go:noescape
func expSub4_512(s *float32, n int, m, sums *float32)

//go:noescape
func attnAccum4_512(o *float32, ostride int, v, e *float32, hd, vstride, n int)

//go:noescape
func expSub512(s *float32, n int, m float32) float32

//go:noescape
func expSubAVX2(s *float32, n int, m float32) float32

func fmaLoopAVX2(iters int)

//go:noescape
func gemvQ8AVX2(y, x *float32, q *int8, s *float32, k, rows int)

//go:noescape
func gemvQ8X16AVX2(y *float32, xq *int16, xs *float32, q *int8, s *float32, k, rows int)

//go:noescape
func gemvQ8X16x4AVX2(y *float32, ldy int, xq *int16, xs *float32, q *int8, s *float32, k, rows int)

//go:noescape
func quantX16AVX2(xq *int16, xs *float32, x *float32, groups int) int

//go:noescape
func quantQ8AVX2(q *int8, s *float32, w *float32, groups int) int

//go:noescape
func dequantQ8AVX2(dst *float32, q *int8, s *float32, n int)

// gemvQ8AVX2Go and dequantQ8AVX2Go wrap the int8 kernels for both impls
// (AVX2 instructions, which AVX-512 CPUs run too).
func gemvQ8AVX2Go(y, x []float32, q []int8, s []float32, k int) {
	if len(y) > 0 {
		_, _, _ = x[k-1], q[len(y)*k-1], s[len(y)*k/QGroup-1]
		gemvQ8AVX2(&y[0], &x[0], &q[0], &s[0], k, len(y))
	}
}

func gemvQ8X16AVX2Go(y []float32, xq []int16, xs []float32, q []int8, s []float32, k int) {
	if len(y) > 0 {
		_, _, _, _ = xq[k-1], xs[k/QGroup-1], q[len(y)*k-1], s[len(y)*k/QGroup-1]
		gemvQ8X16AVX2(&y[0], &xq[0], &xs[0], &q[0], &s[0], k, len(y))
	}
}

func gemvQ8X16x4AVX2Go(y []float32, ldy int, xq []int16, xs []float32, q []int8, s []float32, k int) {
	rows := len(q) / k
	if rows > 0 {
		_, _, _, _ = y[3*ldy+rows-1], xq[4*k-1], xs[4*k/QGroup-1], s[rows*k/QGroup-1]
		gemvQ8X16x4AVX2(&y[0], ldy, &xq[0], &xs[0], &q[0], &s[0], k, rows)
	}
}

func quantX16AVX2Go(xq []int16, xs []float32, x []float32) bool {
	if len(xs) == 0 {
		return true
	}
	_, _ = xq[len(xs)*QGroup-1], x[len(xs)*QGroup-1]
	return quantX16AVX2(&xq[0], &xs[0], &x[0], len(xs)) == 0
}

func quantQ8AVX2Go(q []int8, s []float32, w []float32) bool {
	if len(s) == 0 {
		return true
	}
	_, _ = q[len(s)*QGroup-1], w[len(s)*QGroup-1]
	return quantQ8AVX2(&q[0], &s[0], &w[0], len(s)) == 0
}

func dequantQ8AVX2Go(dst []float32, q []int8, s []float32) {
	if len(dst) > 0 {
		_, _ = q[len(dst)-1], s[len(dst)/QGroup-1]
		dequantQ8AVX2(&dst[0], &q[0], &s[0], len(dst))
	}
}

//go:noescape
func attnScoresBF16AVX2(s, q *float32, k *uint16, hd, stride, n int, scale float32)

//go:noescape
func attnAccumBF16AVX2(o *float32, v *uint16, e *float32, hd, stride, n int)

//go:noescape
func attnScores4BAVX2(s, q *float32, qstride int, k *uint16, hd, kstride, n int, scale float32)

//go:noescape
func attnAccum4BAVX2(o *float32, ostride int, v *uint16, e *float32, hd, vstride, n int)

// attnScoresBF16AVX2Go and attnAccumBF16AVX2Go wrap the in-place bf16
// attention kernels for both impls.
func attnScoresBF16AVX2Go(s, q []float32, k []uint16, hd, stride int, scale float32) {
	if len(s) == 0 {
		return
	}
	if hd%16 != 0 {
		attnScoresBF16Go(s, q, k, hd, stride, scale)
		return
	}
	_, _ = q[hd-1], k[(len(s)-1)*stride+hd-1]
	attnScoresBF16AVX2(&s[0], &q[0], &k[0], hd, stride, len(s), scale)
}

func attnAccumBF16AVX2Go(o []float32, v []uint16, e []float32, hd, stride int) {
	if len(e) == 0 {
		return
	}
	if hd%16 != 0 {
		attnAccumBF16Go(o, v, e, hd, stride)
		return
	}
	_, _ = o[hd-1], v[(len(e)-1)*stride+hd-1]
	attnAccumBF16AVX2(&o[0], &v[0], &e[0], hd, stride, len(e))
}

var cpu = detectCPU()

// archImpls lists the assembly implementations this CPU runs, best first:
// avx512bf16 (avx512 plus the bf16 dot-product GEMM tiles of
// MatMulBF16Fast), avx512, avx2. Each is a complete implementation, so
// SetISA can force any fallback on a CPU that has the better one.
func archImpls() []*impl {
	var s []*impl
	if cpu.avx512 {
		if cpu.avx512bf16 {
			dp := *avx512Impl
			dp.name = "avx512bf16"
			dp.tileDP = func(k int, x []uint16, ldx int, w []uint16, ldw int, y []float32, ldy int, acc bool) {
				_, _, _ = x[5*ldx+k-1], w[3*ldw+k-1], y[5*ldy+3]
				gemmDP6x4_512(k, &x[0], ldx, &w[0], ldw, &y[0], ldy, b2i(acc))
			}
			dp.tile2DP = func(k int, x []uint16, ldx int, w []uint16, ldw int, y []float32, ldy int, acc bool) {
				_, _, _ = x[ldx+k-1], w[3*ldw+k-1], y[ldy+3]
				gemmDP2x4_512(k, &x[0], ldx, &w[0], ldw, &y[0], ldy, b2i(acc))
			}
			dp.dpLoop = func(iters int) float64 {
				dpLoop512(iters)
				return float64(iters) * 12 * 16 * 4
			}
			s = append(s, &dp)
		}
		s = append(s, avx512Impl)
	}
	if cpu.avx2 && cpu.fma {
		s = append(s, avx2Impl)
	}
	return s
}

var avx512Impl = &impl{
	name:      "avx512",
	kAlign:    16,
	bf16Perm:  32,
	gemvQ8:    gemvQ8AVX2Go,
	gemvQ8X16: gemvQ8X16AVX2Go,
	gemvQ8X4:  gemvQ8X16x4AVX2Go,
	quantQ8:   quantQ8AVX2Go,
	quantX16:  quantX16AVX2Go,
	sum:       sumAVX2Go,
	dequantQ8: dequantQ8AVX2Go,
	gemvF32: func(y, x, w []float32, k, ldw int) {
		if len(y) > 0 {
			_, _ = x[k-1], w[(len(y)-1)*ldw+k-1]
			gemvF32_512(&y[0], &x[0], &w[0], k, ldw, len(y))
		}
	},
	gemvBF16: func(y, x []float32, w []uint16, k, ldw int) {
		if len(y) == 0 {
			return
		}
		_, _ = x[k-1], w[(len(y)-1)*ldw+k-1]
		if k < gemvPairK || len(y) < 2 {
			gemvBF16_512(&y[0], &x[0], &w[0], k, ldw, len(y))
			return
		}
		quads := len(y) &^ 3
		if quads > 0 {
			gemvBF16x4_512(&y[0], &x[0], &w[0], k, ldw, quads)
		}
		pairs := quads + (len(y)-quads)&^1
		if pairs > quads {
			gemvBF16x2_512(&y[quads], &x[0], &w[quads*ldw], k, ldw, pairs-quads)
		}
		if pairs < len(y) {
			gemvBF16_512(&y[pairs], &x[0], &w[pairs*ldw], k, ldw, 1)
		}
	},
	mr:  6,
	mr2: 2,
	tile: func(k int, x []float32, ldx int, w []float32, ldw int, y []float32, ldy int, acc bool) {
		_, _, _ = x[5*ldx+k-1], w[3*ldw+k-1], y[5*ldy+3]
		gemm6x4_512(k, &x[0], ldx, &w[0], ldw, &y[0], ldy, b2i(acc))
	},
	tileB: func(k int, x []float32, ldx int, w []uint16, ldw int, y []float32, ldy int, acc bool) {
		_, _, _ = x[5*ldx+k-1], w[3*ldw+k-1], y[5*ldy+3]
		gemmB6x4_512(k, &x[0], ldx, &w[0], ldw, &y[0], ldy, b2i(acc))
	},
	tile2: func(k int, x []float32, ldx int, w []float32, ldw int, y []float32, ldy int, acc bool) {
		_, _, _ = x[ldx+k-1], w[3*ldw+k-1], y[ldy+3]
		gemm2x4_512(k, &x[0], ldx, &w[0], ldw, &y[0], ldy, b2i(acc))
	},
	tile2B: func(k int, x []float32, ldx int, w []uint16, ldw int, y []float32, ldy int, acc bool) {
		_, _, _ = x[ldx+k-1], w[3*ldw+k-1], y[ldy+3]
		gemmB2x4_512(k, &x[0], ldx, &w[0], ldw, &y[0], ldy, b2i(acc))
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
	attnScores: func(s, q, k []float32, hd, stride int, scale float32) {
		if len(s) == 0 {
			return
		}
		if hd%16 != 0 {
			attnScoresGo(s, q, k, hd, stride, scale)
			return
		}
		_, _ = q[hd-1], k[(len(s)-1)*stride+hd-1]
		// One key row after another (the GEMV kernel), a single memory
		// stream: 2.6× the bandwidth of four interleaved rows on Zen 4.
		gemvF32_512(&s[0], &q[0], &k[0], hd, stride, len(s))
		n := len(s) &^ 15
		if n > 0 {
			scale512(scale, &s[0], &s[0], n)
		}
		scaleGo(scale, s[n:], s[n:])
	},
	expSub: func(s []float32, m float32) float32 {
		n := len(s) &^ 15
		var sum float32
		if n > 0 {
			sum = expSub512(&s[0], n, m)
		}
		return sum + expSubGo(s[n:], m)
	},
	attnAccum: func(o, v, e []float32, hd, stride int) {
		if len(e) == 0 {
			return
		}
		if hd%16 != 0 {
			attnAccumGo(o, v, e, hd, stride)
			return
		}
		_, _ = o[hd-1], v[(len(e)-1)*stride+hd-1]
		if hd == 128 {
			attnAccum128_512(&o[0], &v[0], &e[0], stride, len(e))
			return
		}
		attnAccum512(&o[0], &v[0], &e[0], hd, stride, len(e))
	},
	softcap: func(x []float32, c float32) {
		n := len(x) &^ 7
		if n > 0 {
			softcap512(&x[0], n, c)
		}
		softcapGo(x[n:], c)
	},
	// Single queries read a bf16 cache in place with the AVX2 kernels
	// (an AVX-512 CPU runs them too): no widened copy of the cache.
	attnScoresB: attnScoresBF16AVX2Go,
	attnAccumB:  attnAccumBF16AVX2Go,
	attnScores4: func(s, q []float32, qstride int, k []float32, hd, kstride int, scale float32, mx *[4]float32) {
		n := len(s) / 4
		_, _ = q[3*qstride+hd-1], k[(n-1)*kstride+hd-1]
		attnScores4_512(&s[0], &q[0], qstride, &k[0], hd, kstride, n, scale, &mx[0])
	},
	expSub4: func(s []float32, m, sums *[4]float32) {
		_ = s[len(s)-1]
		expSub4_512(&s[0], len(s)&^15, &m[0], &sums[0])
	},
	attnAccum4: func(o []float32, ostride int, v, e []float32, hd, vstride int) {
		n := len(e) / 4
		_, _ = o[3*ostride+hd-1], v[(n-1)*vstride+hd-1]
		attnAccum4_512(&o[0], ostride, &v[0], &e[0], hd, vstride, n)
	},
}

var avx2Impl = &impl{
	name:      "avx2",
	kAlign:    16,
	bf16Perm:  16,
	gemvQ8:    gemvQ8AVX2Go,
	gemvQ8X16: gemvQ8X16AVX2Go,
	gemvQ8X4:  gemvQ8X16x4AVX2Go,
	quantQ8:   quantQ8AVX2Go,
	quantX16:  quantX16AVX2Go,
	sum:       sumAVX2Go,
	dequantQ8: dequantQ8AVX2Go,
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
	gemvBF16X4: func(y []float32, ldy int, x []float32, w []uint16, k, ldw int) {
		if rows := ldwRows(len(w), k, ldw); rows > 0 {
			_, _ = y[3*ldy+rows-1], x[4*k-1]
			gemvBF16x4AVX2(&y[0], ldy, &x[0], &w[0], k, ldw, rows)
		}
	},
	// packB16 packs 16 bf16 rows (ldw apart) for the panel GEMM, k%8
	// columns in Go.
	packB16: func(p []float32, w []uint16, ldw, k int) {
		if steps := k / 8; steps > 0 {
			_, _ = p[16*k-1], w[15*ldw+k-1]
			packBF16x16AVX2(&p[0], &w[0], ldw, steps)
		}
		for i := k &^ 7; i < k; i++ {
			for c := range panelNR {
				p[i*panelNR+c] = BF16ToF32(w[c*ldw+i])
			}
		}
	},
	packF16: func(p []float32, w []float32, ldw, k int) {
		if steps := k / 8; steps > 0 {
			_, _ = p[16*k-1], w[15*ldw+k-1]
			packF32x16AVX2(&p[0], &w[0], ldw, steps)
		}
		for i := k &^ 7; i < k; i++ {
			for c := range panelNR {
				p[i*panelNR+c] = w[c*ldw+i]
			}
		}
	},
	panel: func(k int, x []float32, ldx int, p []float32, y []float32, ldy int, acc bool) {
		_, _, _ = x[(panelMR-1)*ldx+k-1], p[k*panelNR-1], y[(panelMR-1)*ldy+panelNR-1]
		gemmP6x16AVX2(k, &x[0], ldx, &p[0], &y[0], ldy, b2i(acc))
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
	attnScores: func(s, q, k []float32, hd, stride int, scale float32) {
		if len(s) == 0 {
			return
		}
		if hd%16 != 0 {
			attnScoresGo(s, q, k, hd, stride, scale)
			return
		}
		_, _ = q[hd-1], k[(len(s)-1)*stride+hd-1]
		attnScoresAVX2(&s[0], &q[0], &k[0], hd, stride, len(s), scale)
	},
	expSub: func(s []float32, m float32) float32 {
		n := len(s) &^ 15
		var sum float32
		if n > 0 {
			sum = expSubAVX2(&s[0], n, m)
		}
		return sum + expSubGo(s[n:], m)
	},
	attnAccum: func(o, v, e []float32, hd, stride int) {
		if len(e) == 0 {
			return
		}
		if hd%16 != 0 {
			attnAccumGo(o, v, e, hd, stride)
			return
		}
		_, _ = o[hd-1], v[(len(e)-1)*stride+hd-1]
		attnAccumAVX2(&o[0], &v[0], &e[0], hd, stride, len(e))
	},
	attnScoresB: attnScoresBF16AVX2Go,
	attnAccumB:  attnAccumBF16AVX2Go,
	attnScores4B: func(s, q []float32, qstride int, k []uint16, hd, kstride int, scale float32) {
		if n := len(s) / 4; n > 0 {
			_, _ = q[3*qstride+hd-1], k[(n-1)*kstride+hd-1]
			attnScores4BAVX2(&s[0], &q[0], qstride, &k[0], hd, kstride, n, scale)
		}
	},
	attnAccum4B: func(o []float32, ostride int, v []uint16, e []float32, hd, vstride int) {
		if n := len(e) / 4; n > 0 {
			_, _ = o[3*ostride+hd-1], v[(n-1)*vstride+hd-1]
			attnAccum4BAVX2(&o[0], ostride, &v[0], &e[0], hd, vstride, n)
		}
	},
	softcap: func(x []float32, c float32) {
		n := len(x) &^ 3
		if n > 0 {
			softcapAVX2(&x[0], n, c)
		}
		softcapGo(x[n:], c)
	},
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ldwRows is the number of rows of length k, ldw apart, in n values.
func ldwRows(n, k, ldw int) int {
	if n < k {
		return 0
	}
	return (n-k)/ldw + 1
}
