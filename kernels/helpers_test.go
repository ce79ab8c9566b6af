package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// forEachISA runs f as a subtest once per instruction set available here.
func forEachISA(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	old := ISA()
	defer SetISA(old)
	for _, name := range ISAs() {
		if err := SetISA(name); err != nil {
			t.Fatal(err)
		}
		t.Run(name, f)
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

func randBF16(r *rand.Rand, n int) []uint16 {
	s := make([]uint16, n)
	for i := range s {
		s[i] = F32ToBF16(float32(r.Float64()*2 - 1))
	}
	return s
}

// matMulExact computes y = x·wᵀ in float64, and the sums of |x·w| the
// tolerance scales with.
func matMulExact(x []float32, w func(i int) float32, T, in, out int) (y, mag []float64) {
	y, mag = make([]float64, T*out), make([]float64, T*out)
	for t := range T {
		for o := range out {
			var s, m float64
			for i := range in {
				p := float64(x[t*in+i]) * float64(w(o*in+i))
				s += p
				m += math.Abs(p)
			}
			y[t*out+o], mag[t*out+o] = s, m
		}
	}
	return y, mag
}
