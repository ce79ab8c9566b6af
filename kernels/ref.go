package kernels

import "math"

// The reference loops: the plain code every fast kernel is tested against.
// They are slow on purpose and not used on any production path.

// matMulRef is the reference for MatMul.
func matMulRef(y, x, w []float32, T, in, out int) {
	for t := range T {
		for o := range out {
			var s float32
			for i := range in {
				s += x[t*in+i] * w[o*in+i]
			}
			y[t*out+o] = s
		}
	}
}

// matMulBF16Ref is the reference for MatMulBF16.
func matMulBF16Ref(y, x []float32, w []uint16, T, in, out int) {
	for t := range T {
		for o := range out {
			var s float32
			for i := range in {
				s += x[t*in+i] * BF16ToF32(w[o*in+i])
			}
			y[t*out+o] = s
		}
	}
}

// rmsNormRef is the reference for RMSNorm.
func rmsNormRef(y, x []float32, rows, n int) {
	for r := range rows {
		var ss float64
		for _, v := range x[r*n : r*n+n] {
			ss += float64(v) * float64(v)
		}
		inv := float32(1 / math.Sqrt(float64(float32(ss/float64(n))+rmsEps)))
		for i := range n {
			y[r*n+i] = x[r*n+i] * inv
		}
	}
}

// softcapRef is the reference for Softcap.
func softcapRef(x []float32, c float32) {
	for i, v := range x {
		x[i] = c * float32(math.Tanh(float64(v/c)))
	}
}

// attentionRef is the reference for Attention: a full softmax over each
// query's visible keys, in float64.
func attentionRef(out, q, k, v []float32, p Attn) {
	hd := p.HeadDim
	scale := 1 / math.Sqrt(float64(hd))
	group := p.NHead / p.NKV
	for t := range p.T {
		pos := p.Pos0 + t
		lo := 0
		if p.Window >= 0 && pos-p.Window > 0 {
			lo = pos - p.Window
		}
		for h := range p.NHead {
			kh := h / group
			qv := q[(t*p.NHead+h)*hd:][:hd]
			s := make([]float64, pos+1-lo)
			m := math.Inf(-1)
			for j := lo; j <= pos; j++ {
				kv := k[j*p.Stride+kh*hd:][:hd]
				var d float64
				for i := range hd {
					d += float64(qv[i]) * float64(kv[i])
				}
				s[j-lo] = d * scale
				m = max(m, s[j-lo])
			}
			var sum float64
			for i := range s {
				s[i] = math.Exp(s[i] - m)
				sum += s[i]
			}
			o := out[(t*p.NHead+h)*hd:][:hd]
			for i := range hd {
				var a float64
				for j := lo; j <= pos; j++ {
					a += s[j-lo] * float64(v[j*p.Stride+kh*hd+i])
				}
				o[i] = float32(a / sum)
			}
		}
	}
}

// quantizeQ8Ref is the reference for QuantizeQ8.
func quantizeQ8Ref(q []int8, s []float32, w []float32) {
	for g := range len(w) / QGroup {
		var a float32
		for i := range QGroup {
			a = max(a, float32(math.Abs(float64(w[g*QGroup+i]))))
		}
		s[g] = a / 127
		for i := range QGroup {
			q[g*QGroup+i] = 0
			if s[g] != 0 {
				q[g*QGroup+i] = int8(max(-127, min(127, math.RoundToEven(float64(w[g*QGroup+i])/float64(s[g])))))
			}
		}
	}
}

// matMulQ8Ref is the reference for MatMulQ8.
func matMulQ8Ref(y, x []float32, q []int8, s []float32, T, in, out int) {
	for t := range T {
		for o := range out {
			var a float32
			for i := range in {
				a += x[t*in+i] * (s[(o*in+i)/QGroup] * float32(q[o*in+i]))
			}
			y[t*out+o] = a
		}
	}
}
