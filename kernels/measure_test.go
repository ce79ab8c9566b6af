package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMeasure is a smoke test of the machine-limit probes on every ISA.
func TestMeasure(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		if bw := MeasureBandwidth(1 << 20); !(bw > 1e8) {
			t.Errorf("MeasureBandwidth = %g B/s", bw)
		}
		if f := MeasurePeakFLOPS(); !(f > 1e8) {
			t.Errorf("MeasurePeakFLOPS = %g FLOP/s", f)
		}
		// Only the avx512bf16 ISA has the bf16 dot-product instruction.
		switch f := MeasurePeakBF16FLOPS(); {
		case ISA() == "avx512bf16" && !(f > 1e8):
			t.Errorf("MeasurePeakBF16FLOPS = %g FLOP/s", f)
		case ISA() != "avx512bf16" && f != 0:
			t.Errorf("MeasurePeakBF16FLOPS = %g FLOP/s on %s, want 0", f, ISA())
		}
	})
}

// TestSum checks the bandwidth probe's read loop on every ISA: Σ a[i] for
// lengths around its 32-value blocks.
func TestSum(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(4, 4))
		for _, n := range []int{0, 1, 31, 32, 33, 64, 1000, 4096 + 7} {
			a := randSlice(r, n)
			var want, mag float64
			for _, v := range a {
				want += float64(v)
				mag += math.Abs(float64(v))
			}
			if got := cur.Load().sum(a); math.Abs(float64(got)-want) > 1e-6*mag+1e-6 {
				t.Errorf("n=%d: sum = %v, want %v", n, got, want)
			}
		}
	})
}
