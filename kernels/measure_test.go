package kernels

import "testing"

// TestMeasure is a smoke test of the machine-limit probes on every ISA.
func TestMeasure(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		if bw := MeasureBandwidth(1 << 20); !(bw > 1e8) {
			t.Errorf("MeasureBandwidth = %g B/s", bw)
		}
		if f := MeasurePeakFLOPS(); !(f > 1e8) {
			t.Errorf("MeasurePeakFLOPS = %g FLOP/s", f)
		}
	})
}
