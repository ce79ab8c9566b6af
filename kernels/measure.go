package kernels

import (
	"sync/atomic"
	"time"
)

// MeasureBandwidth returns the memory read bandwidth in bytes per second:
// the best of a few timed passes in which all Threads() threads read
// disjoint parts of a freshly allocated buffer of the given size (use one
// well beyond the L3 cache, e.g. 256 MiB) with SIMD loads and nothing else. It is what the
// bandwidth-bound kernels should be compared with (MBU), measured in the
// same process because this figure drifts from run to run.
func MeasureBandwidth(bytes int) float64 {
	n := max(bytes/4, 1<<16) &^ 4095
	buf := make([]float32, n)
	for i := range buf {
		buf[i] = 1
	}
	im := cur.Load()
	var sink atomic.Uint32
	read := func(lo, hi int) {
		s := im.sum(buf[lo:hi])
		sink.Add(uint32(s))
	}
	best := 0.0
	for rep := 0; rep < 5; rep++ {
		start := time.Now()
		parallel(n, 4096, funcRunner(read))
		if bw := float64(n*4) / time.Since(start).Seconds(); bw > best {
			best = bw
		}
	}
	return best
}

// MeasurePeakFLOPS returns the float32 multiply-add peak of this machine in
// FLOP/s, with the current ISA, on all Threads() threads: a loop of
// independent vector FMA chains, the upper bound for the GEMM (MFU).
func MeasurePeakFLOPS() float64 { return measurePeak(cur.Load().fmaLoop) }

// MeasurePeakBF16FLOPS is MeasurePeakFLOPS for the bf16 dot-product
// instruction that MatMulBF16Fast's GEMM runs on (VDPBF16PS: each fp32 lane
// adds two bf16 products, 4 FLOPs), the upper bound of bf16 prefill. It
// returns 0 when the current ISA has no such instruction.
func MeasurePeakBF16FLOPS() float64 {
	loop := cur.Load().dpLoop
	if loop == nil {
		return 0
	}
	return measurePeak(loop)
}

// measurePeak runs loop on all Threads() threads, pieces of ~0.2 ms, and
// returns the best rate of five passes.
func measurePeak(loop func(iters int) float64) float64 {
	const iters = 1 << 16 // ~0.2 ms per piece on one core
	pieces := 16 * Threads()
	best := 0.0
	for rep := 0; rep < 5; rep++ {
		var flops atomic.Uint64
		start := time.Now()
		parallel(pieces, 1, funcRunner(func(lo, hi int) {
			for range hi - lo {
				flops.Add(uint64(loop(iters)))
			}
		}))
		if f := float64(flops.Load()) / time.Since(start).Seconds(); f > best {
			best = f
		}
	}
	return best
}
