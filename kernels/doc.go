// Package kernels holds the CPU compute kernels of the forward pass: matrix
// products with fp32 or bf16 weights, attention over a KV cache, and the small
// fused vector ops (RMSNorm, ReLU², softcap, dot, axpy).
//
// Every kernel is a plain function on row-major slices whose doc comment is
// the reference loop it stands for. The reference loops are kept in the
// package (the *Ref functions) and every fast path is tested against them.
//
// Three implementations are chosen at run time by CPU feature detection:
// Go assembly for AVX-512 and for AVX2+FMA on amd64, and pure Go everywhere
// (forced with the purego build tag). SetISA switches between them for tests
// and benchmarks.
//
// Work is split across a persistent worker pool (Parallel, SetThreads). The
// package imports only the standard library and uses no cgo.
package kernels
