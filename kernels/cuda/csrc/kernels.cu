// kernels.cu: the one translation unit build.sh compiles into
// kernels.fatbin (cubins for sm_80…sm_121 plus compute_80 PTX). Every entry
// point is extern "C" so the Go side finds it by name (kernels/cuda/plan.go
// lists them). No CUDA header is included; see common.cuh.
#include "common.cuh"
#include "gemm.cuh"
#include "attention.cuh"
#include "fused.cuh"
