// common.cuh: types and PTX wrappers shared by every nanochat kernel.
//
// The kernels include no CUDA header at all, so the same source compiles
// with nvcc and with NVRTC (the pipeline build.sh uses when only the PyPI
// wheels are present). bf16 values travel as their raw 16-bit patterns and
// are converted with PTX cvt instructions (sm_80+), fp32 everywhere else.
#pragma once

typedef unsigned short bf16_t;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;

#define NC_INF __int_as_float(0x7f800000)
#define NC_LOG2E 1.4426950408889634f
#define NC_RMS_EPS 1.1920928955078125e-07f  // FLT_EPSILON = 2^-23, torch's rms_norm default

// Epilogues of the GEMM kernels (see plan.go: the same numbers).
#define EPI_STORE_F32 0   // C[m][n] = acc
#define EPI_ADD_F32 1     // C[m][n] += acc (residual stream)
#define EPI_RELU2_BF16 2  // C[m][n] = bf16(max(acc, 0)^2)
#define EPI_SOFTCAP_F32 3 // n < n_valid: C[m][n] = cap*tanh(acc/cap) (crop + softcap)

__device__ __forceinline__ float bf2f(bf16_t b) { return __uint_as_float(((u32)b) << 16); }

// f2bf rounds to nearest even, like torch and kernels.F32ToBF16.
__device__ __forceinline__ bf16_t f2bf(float f) {
  unsigned short r;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(f));
  return r;
}

// pack_bf16x2 puts lo in the low half (lower address) and hi in the high half.
__device__ __forceinline__ u32 pack_bf16x2(float lo, float hi) {
  u32 r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

__device__ __forceinline__ float bf_lo(u32 v) { return __uint_as_float(v << 16); }
__device__ __forceinline__ float bf_hi(u32 v) { return __uint_as_float(v & 0xffff0000u); }

struct u32x4 { u32 x, y, z, w; };

// ldg16 is a read-only 16-byte global load (weights, embeddings).
__device__ __forceinline__ u32x4 ldg16(const void* p) {
  u32x4 r;
  asm volatile("ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];"
               : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
  return r;
}

// ldg16_stream is ldg16 for data read exactly once (decode GEMV weights).
__device__ __forceinline__ u32x4 ldg16_stream(const void* p) {
  u32x4 r;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
               : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w) : "l"(p));
  return r;
}

__device__ __forceinline__ u32 smem_u32(const void* p) {
  return (u32)__cvta_generic_to_shared(p);
}

// cp_async16 copies 16 bytes global→shared, or zero-fills when !pred.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool pred) {
  int n = pred ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(smem)), "l"(gmem), "r"(n));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(u32& r0, u32& r1, u32& r2, u32& r3, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(u32& r0, u32& r1, u32& r2, u32& r3, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(smem_u32(p)));
}

// mma16816 is D = A·B + D for a 16×16 bf16 A (row), 16×8 bf16 B (col), fp32 D.
__device__ __forceinline__ void mma16816(float* d, const u32* a, u32 b0, u32 b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// block_sum reduces v over the block (blockDim.x a multiple of 32, ≤ 1024);
// every thread gets the total. red is 32 floats of shared memory.
__device__ __forceinline__ float block_sum(float v, float* red) {
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) red[w] = v;
  __syncthreads();
  float t = lane < nw ? red[lane] : 0.f;
  return warp_sum(t);
}

// inv_rms is torch's 1/sqrt(mean(x²) + FLT_EPSILON) for a sum of squares.
__device__ __forceinline__ float inv_rms(float sumsq, int n) {
  return 1.0f / sqrtf(sumsq / (float)n + NC_RMS_EPS);
}

__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

// The step block: the per-launch int32 array the host uploads before each
// forward (plan.go StepWords). A launch runs B entries of T new tokens each;
// entry b is one chunk of one cache row:
//   step[b]          the cache row it reads and appends to,
//   step[B + b]      its position: tokens already cached in that row,
//   step[2·B + b]    the token before the chunk (−1 at position 0),
//   step[3·B ..]     the B·T new token ids, entry-major.
// Kernels read rows and positions on the device, so a captured decode graph
// replays for any set of B rows at any positions.
__device__ __forceinline__ int step_row(const int* step, int b) { return step[b]; }
__device__ __forceinline__ int step_pos(const int* step, int B, int b) { return step[B + b]; }
__device__ __forceinline__ int step_prev(const int* step, int B, int b) { return step[2 * B + b]; }
__device__ __forceinline__ const int* step_tokens(const int* step, int B) { return step + 3 * B; }
