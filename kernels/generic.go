package kernels

import "math"

// goImpl is the pure-Go implementation: always built, always tested, and
// the only one on non-amd64 or purego builds.
var goImpl = &impl{
	name:      "go",
	kAlign:    1,
	gemvF32:   gemvF32Go,
	gemvBF16:  gemvBF16Go,
	gemvQ8:    gemvQ8Go,
	gemvQ8X16: gemvQ8X16Go,
	quantQ8:   quantizeQ8Groups,
	quantX16:  quantizeX16,
	sum:       sumGo,
	dequantQ8: dequantQ8Go,
	mr:        2,
	tile:      gemmTileGo,
	tileB:     gemmTileBF16Go,
	dot:       dotGo,
	axpy:      axpyGo,
	scale:     scaleGo,
	relu2:     relu2Go,
	widen:     widenGo,
	softcap:   softcapGo,
	fmaLoop:   fmaLoopGo,

	attnScores:  attnScoresGo,
	expSub:      expSubGo,
	attnAccum:   attnAccumGo,
	attnScoresB: attnScoresBF16Go,
	attnAccumB:  attnAccumBF16Go,
}

func attnScoresBF16Go(s, q []float32, k []uint16, hd, stride int, scale float32) {
	q = q[:hd]
	for j := range s {
		kj := k[j*stride : j*stride+hd]
		var a0, a1 float32
		i := 0
		for ; i+2 <= hd; i += 2 {
			a0 += q[i] * BF16ToF32(kj[i])
			a1 += q[i+1] * BF16ToF32(kj[i+1])
		}
		if i < hd {
			a0 += q[i] * BF16ToF32(kj[i])
		}
		s[j] = (a0 + a1) * scale
	}
}

func attnAccumBF16Go(o []float32, v []uint16, e []float32, hd, stride int) {
	o = o[:hd]
	for j, w := range e {
		vj := v[j*stride : j*stride+hd]
		for i := range o {
			o[i] += w * BF16ToF32(vj[i])
		}
	}
}

func attnScoresGo(s, q, k []float32, hd, stride int, scale float32) {
	q = q[:hd]
	for j := range s {
		s[j] = dotGo(q, k[j*stride:j*stride+hd]) * scale
	}
}

func expSubGo(s []float32, m float32) float32 {
	var sum float32
	for j, v := range s {
		e := float32(math.Exp(float64(v - m)))
		s[j] = e
		sum += e
	}
	return sum
}

func attnAccumGo(o, v, e []float32, hd, stride int) {
	o = o[:hd]
	for j, w := range e {
		axpyGo(w, v[j*stride:j*stride+hd], o)
	}
}

func gemvF32Go(y, x, w []float32, k, ldw int) {
	x = x[:k]
	for r := range y {
		y[r] = dotGo(x, w[r*ldw:r*ldw+k])
	}
}

func gemvBF16Go(y, x []float32, w []uint16, k, ldw int) {
	x = x[:k]
	for r := range y {
		wr := w[r*ldw : r*ldw+k]
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= k; i += 4 {
			s0 += x[i] * BF16ToF32(wr[i])
			s1 += x[i+1] * BF16ToF32(wr[i+1])
			s2 += x[i+2] * BF16ToF32(wr[i+2])
			s3 += x[i+3] * BF16ToF32(wr[i+3])
		}
		for ; i < k; i++ {
			s0 += x[i] * BF16ToF32(wr[i])
		}
		y[r] = (s0 + s1) + (s2 + s3)
	}
}

// gemmTileGo is the 2×4 register-blocked tile of the pure-Go GEMM.
func gemmTileGo(k int, x []float32, ldx int, w []float32, ldw int, y []float32, ldy int, acc bool) {
	x0, x1 := x[:k], x[ldx:ldx+k]
	w0, w1, w2, w3 := w[:k], w[ldw:ldw+k], w[2*ldw:2*ldw+k], w[3*ldw:3*ldw+k]
	var s00, s01, s02, s03, s10, s11, s12, s13 float32
	for i := range x0 {
		a, b := x0[i], x1[i]
		c0, c1, c2, c3 := w0[i], w1[i], w2[i], w3[i]
		s00 += a * c0
		s01 += a * c1
		s02 += a * c2
		s03 += a * c3
		s10 += b * c0
		s11 += b * c1
		s12 += b * c2
		s13 += b * c3
	}
	y0, y1 := y[:4], y[ldy:ldy+4]
	if acc {
		s00 += y0[0]
		s01 += y0[1]
		s02 += y0[2]
		s03 += y0[3]
		s10 += y1[0]
		s11 += y1[1]
		s12 += y1[2]
		s13 += y1[3]
	}
	y0[0], y0[1], y0[2], y0[3] = s00, s01, s02, s03
	y1[0], y1[1], y1[2], y1[3] = s10, s11, s12, s13
}

// gemmTileBF16Go is gemmTileGo with bf16 weights.
func gemmTileBF16Go(k int, x []float32, ldx int, w []uint16, ldw int, y []float32, ldy int, acc bool) {
	x0, x1 := x[:k], x[ldx:ldx+k]
	w0, w1, w2, w3 := w[:k], w[ldw:ldw+k], w[2*ldw:2*ldw+k], w[3*ldw:3*ldw+k]
	var s00, s01, s02, s03, s10, s11, s12, s13 float32
	for i := range x0 {
		a, b := x0[i], x1[i]
		c0, c1, c2, c3 := BF16ToF32(w0[i]), BF16ToF32(w1[i]), BF16ToF32(w2[i]), BF16ToF32(w3[i])
		s00 += a * c0
		s01 += a * c1
		s02 += a * c2
		s03 += a * c3
		s10 += b * c0
		s11 += b * c1
		s12 += b * c2
		s13 += b * c3
	}
	y0, y1 := y[:4], y[ldy:ldy+4]
	if acc {
		s00 += y0[0]
		s01 += y0[1]
		s02 += y0[2]
		s03 += y0[3]
		s10 += y1[0]
		s11 += y1[1]
		s12 += y1[2]
		s13 += y1[3]
	}
	y0[0], y0[1], y0[2], y0[3] = s00, s01, s02, s03
	y1[0], y1[1], y1[2], y1[3] = s10, s11, s12, s13
}

func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scaleGo(alpha float32, dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = alpha * v
	}
}

func relu2Go(x []float32) {
	for i, v := range x {
		v = max(v, 0)
		x[i] = v * v
	}
}

func fmaLoopGo(iters int) float64 {
	var a0, a1, a2, a3, a4, a5, a6, a7 float32 = 0, 1, 2, 3, 4, 5, 6, 7
	const m, c = 0.999, 0.001
	for range iters {
		a0 = a0*m + c
		a1 = a1*m + c
		a2 = a2*m + c
		a3 = a3*m + c
		a4 = a4*m + c
		a5 = a5*m + c
		a6 = a6*m + c
		a7 = a7*m + c
	}
	if math.IsNaN(float64(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7)) {
		return 0
	}
	return float64(iters) * 16
}

func sumGo(a []float32) float32 {
	var s float32
	for _, v := range a {
		s += v
	}
	return s
}
