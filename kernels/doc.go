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
// Go assembly for AVX-512 (F, BW, VL, DQ), the same plus AVX512_BF16 for
// MatMulBF16Fast's GEMM ("avx512bf16"), AVX2+FMA on amd64, and pure Go
// everywhere (forced with the purego build tag). SetISA switches between them for tests and
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
//   - T > 1 runs a GEMM. With AVX-512: dot-product-form register tiles (6
//     rows of x × 4 weight rows, 24 zmm accumulators, reduced horizontally
//     once per k block) over weight blocks copied sequentially into L2;
//     single-core efficiency is 80-93% of the FMA peak; bf16 is widened in
//     registers. With AVX2 the same design (3×4 tiles) reached 55-60%, so
//     AVX2 packs each weight block, widened to fp32, into 16-wide panels
//     (an 8×8 register transpose per step) and runs an outer-product 6×16
//     tile, 12 FMAs to 8 loads (gemmPanels): 172-175 against 119-124
//     GFLOP/s at T = 512 on a 2-core Zen 3 (207 peak), 1.34× at T = 128,
//     1.14× at T = 16, all in one run.
//   - int8 weights (MatMulQ8, groups of QGroup = 64 with an fp32 scale,
//     1.0625 bytes per weight): the GEMM widens each block to fp32 in the
//     L2 copy and runs the fp32 tiles. The GEMV takes x quantized to int16
//     per group (VPMOVSXBW, VPMADDWD: exact int32 group sums, scaled once;
//     half the x bytes and about half the instructions of widening the
//     weights to fp32) and prefetches 1 KiB ahead: 27-32 GB/s against 23-26 for the fp32-x kernel in one run
//     on a 2-core Zen 3 (AVX2 only); the bf16 GEMV gained 3-12% from the
//     same prefetch.
//   - Attention over the bf16 cache: single queries (decode) read it in
//     place with the AVX2 kernels on AVX2 and AVX-512 CPUs, and in Go
//     (1.5-2.1× the widen-a-block path on Zen 3); prefill on AVX2 takes
//     four queries per key in place (1.1-1.7× one at a time); the AVX-512
//     four-query prefill kernels widen each block of 64 keys once for four
//     queries.
//   - Batched decode (T = 2..8): on Zen 4 the GEMM's block copy, which
//     streams the weights once, beat GEMV-shaped kernels for several rows
//     (too much work per byte to keep DRAM busy), so AVX-512 keeps it for
//     bf16; on Zen 3 (AVX2) four-row GEMVs do better (bf16 1.1-1.5×, int8
//     1.5-2.3× at batch 2-8; see gemvBF16Rows, gemvQ8Rows). int8 takes its
//     four-row GEMV on AVX-512 too (not measured there). An eight-row bf16
//     GEMV did no better than two passes of four (d20 batch 8: 71-75 tok/s
//     both): with x read by every FMA, the loads are the limit.
package kernels
