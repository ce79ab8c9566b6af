// Package kernels holds the CPU compute kernels of the forward pass: matrix
// products with fp32 or bf16 weights, attention over a KV cache, and the small
// fused vector ops (RMSNorm, ReLU², softcap, dot, axpy).
//
// Every kernel is a plain function on row-major slices whose doc comment is
// the reference loop it stands for. The reference loops are kept in the
// package (ref.go) and every fast path is tested against them, or against
// exact float64 sums, with the tolerance its doc comment states.
//
// Three implementations are chosen at run time by CPU feature detection:
// Go assembly for AVX-512 (F, BW, VL, DQ; plus AVX512_BF16 for
// MatMulBF16Fast) and for AVX2+FMA on amd64, and pure Go everywhere (forced
// with the purego build tag). SetISA switches between them for tests and
// benchmarks. Work is split across a persistent worker pool (Parallel,
// SetThreads). The package imports only the standard library and uses no cgo.
//
// Design notes, from measurements on a 2-core Zen 4 (see the benchmarks;
// MeasureBandwidth and MeasurePeakFLOPS give the limits in the same run):
//
//   - Decode (T = 1) is bandwidth-bound. The GEMV walks the weights as one
//     sequential stream, a row at a time: four interleaved row streams ran
//     at half the bandwidth. bf16 weights are widened with one shift or mask
//     per 16 values straight from memory against an x permuted once per
//     call, which beat zero-extend+shift by 20-30%.
//   - T > 1 runs a GEMM: dot-product-form register tiles (6 rows of x × 4
//     weight rows, 24 zmm accumulators, reduced horizontally once per k
//     block) over weight blocks copied sequentially into L2. Single-core
//     efficiency is 80-93% of the FMA peak; bf16 is widened in registers.
//   - int8 weights (MatMulQ8, groups of QGroup = 64 with an fp32 scale,
//     1.0625 bytes per weight): the GEMV widens each group in registers
//     (VPMOVSXBD from memory, VCVTDQ2PS, FMA against fp32 x) and scales
//     its sum once; the GEMM widens each block to fp32 in the L2 copy and
//     runs the fp32 tiles. Measured on a 2-core Zen 3 (AVX2 only): 21-23
//     GB/s of weights against 24-26 for the bf16 GEMV in the same run.
//   - Attention over the bf16 cache reads it in place on AVX2 and in Go
//     (1.5-2.1× the widen-a-block path on Zen 3); the AVX-512 kernels still
//     widen each block into a buffer.
//   - The copy also makes batched decode (T = 2..8) stream weights once;
//     GEMV-shaped kernels for several rows did worse (too much work per byte
//     to keep DRAM busy).
package kernels
