// gemm.cuh: y = x·Wᵀ with bf16 x [M][K], bf16 W [N][K] (nn.Linear layout,
// both K-contiguous: a "TN" GEMM), fp32 accumulation and a fused epilogue.
//
// Reference loop (kernels.MatMulBF16):
//   for m < M, n < N: acc = Σ_k x[m][k]·W[n][k]; epilogue(C, m, n, acc)
//
// Two kernels: a tensor-core tile kernel (mma.sync m16n8k16, ldmatrix,
// 3-stage cp.async pipeline) for prefill, and a bandwidth-bound GEMV for
// decode (M ≤ 8), where a 128-row tile would idle the tensor cores anyway.
#pragma once
#include "common.cuh"

struct EpiArgs {
  void* C;
  int ldc, epi, n_valid;
  float cap;
};

__device__ __forceinline__ void epilogue2(const EpiArgs& e, int m, int n, int N, float v0, float v1) {
  // Writes columns n and n+1 of row m (n is even; n+1 may be ≥ N).
  long off = (long)m * e.ldc + n;
  switch (e.epi) {
    case EPI_STORE_F32: {
      float* c = (float*)e.C + off;
      if (n < N) c[0] = v0;
      if (n + 1 < N) c[1] = v1;
    } break;
    case EPI_ADD_F32: {
      float* c = (float*)e.C + off;
      if (n < N) c[0] += v0;
      if (n + 1 < N) c[1] += v1;
    } break;
    case EPI_RELU2_BF16: {
      bf16_t* c = (bf16_t*)e.C + off;
      v0 = fmaxf(v0, 0.f);
      v1 = fmaxf(v1, 0.f);
      if (n < N) c[0] = f2bf(v0 * v0);
      if (n + 1 < N) c[1] = f2bf(v1 * v1);
    } break;
    case EPI_SOFTCAP_F32: {
      float* c = (float*)e.C + off;
      if (n < e.n_valid && n < N) c[0] = e.cap * tanhf(v0 / e.cap);
      if (n + 1 < e.n_valid && n + 1 < N) c[1] = e.cap * tanhf(v1 / e.cap);
    } break;
  }
}

#define GEMM_BK 32
#define GEMM_STAGES 3
#define GEMM_LDS (GEMM_BK + 8)  // padded smem row (80 B): ldmatrix rows hit distinct banks

// gemm_tile_body: block tile BM×BN, warp tile WM×WN, K step 32.
// Requires K % 8 == 0 (16-byte rows chunks); M and N tails are guarded.
template <int BM, int BN, int WM, int WN>
__device__ __forceinline__ void gemm_tile_body(const bf16_t* __restrict__ A, const bf16_t* __restrict__ W, int M,
                                               int N, int K, EpiArgs e) {
  constexpr int WARPS_N = BN / WN;
  constexpr int NT = (BM / WM) * WARPS_N * 32;
  constexpr int MI = WM / 16, NI = WN / 8;
  extern __shared__ __align__(16) unsigned char gemm_smem[];
  bf16_t* As = (bf16_t*)gemm_smem;                         // [STAGES][BM][LDS]
  bf16_t* Bs = As + GEMM_STAGES * BM * GEMM_LDS;          // [STAGES][BN][LDS]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp / WARPS_N, wn = warp % WARPS_N;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int KT = (K + GEMM_BK - 1) / GEMM_BK;

  auto load_stage = [&](int stage, int kt) {
    const int k0 = kt * GEMM_BK;
    bf16_t* as = As + stage * BM * GEMM_LDS;
    bf16_t* bs = Bs + stage * BN * GEMM_LDS;
    // 4 chunks of 8 bf16 per row.
    for (int c = tid; c < BM * 4; c += NT) {
      int r = c >> 2, kc = (c & 3) * 8;
      int gm = m0 + r, gk = k0 + kc;
      bool ok = gm < M && gk < K;
      cp_async16(as + r * GEMM_LDS + kc, ok ? (const void*)(A + (long)gm * K + gk) : (const void*)A, ok);
    }
    for (int c = tid; c < BN * 4; c += NT) {
      int r = c >> 2, kc = (c & 3) * 8;
      int gn = n0 + r, gk = k0 + kc;
      bool ok = gn < N && gk < K;
      cp_async16(bs + r * GEMM_LDS + kc, ok ? (const void*)(W + (long)gn * K + gk) : (const void*)W, ok);
    }
  };

  float acc[MI][NI][4];
#pragma unroll
  for (int i = 0; i < MI; i++)
#pragma unroll
    for (int j = 0; j < NI; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.f;

#pragma unroll
  for (int s = 0; s < GEMM_STAGES - 1; s++) {
    if (s < KT) load_stage(s, s);
    cp_async_commit();
  }

  for (int kt = 0; kt < KT; kt++) {
    cp_async_wait<GEMM_STAGES - 2>();
    __syncthreads();
    {
      int nk = kt + GEMM_STAGES - 1;
      if (nk < KT) load_stage(nk % GEMM_STAGES, nk);
      cp_async_commit();
    }
    const bf16_t* as = As + (kt % GEMM_STAGES) * BM * GEMM_LDS;
    const bf16_t* bs = Bs + (kt % GEMM_STAGES) * BN * GEMM_LDS;
#pragma unroll
    for (int kk = 0; kk < GEMM_BK; kk += 16) {
      u32 af[MI][4];
#pragma unroll
      for (int i = 0; i < MI; i++) {
        int r = wm * WM + i * 16 + (lane & 15);
        int c = kk + (lane >> 4) * 8;
        ldmatrix_x4(af[i][0], af[i][1], af[i][2], af[i][3], as + r * GEMM_LDS + c);
      }
#pragma unroll
      for (int j = 0; j < NI; j += 2) {
        u32 b0, b1, b2, b3;
        int r = wn * WN + j * 8 + (lane & 7) + (lane >> 4) * 8;
        int c = kk + ((lane >> 3) & 1) * 8;
        ldmatrix_x4(b0, b1, b2, b3, bs + r * GEMM_LDS + c);
#pragma unroll
        for (int i = 0; i < MI; i++) {
          mma16816(acc[i][j], af[i], b0, b1);
          mma16816(acc[i][j + 1], af[i], b2, b3);
        }
      }
    }
  }
  cp_async_wait<0>();

#pragma unroll
  for (int i = 0; i < MI; i++) {
#pragma unroll
    for (int j = 0; j < NI; j++) {
      int r = m0 + wm * WM + i * 16 + (lane >> 2);
      int c = n0 + wn * WN + j * 8 + (lane & 3) * 2;
      if (r < M) epilogue2(e, r, c, N, acc[i][j][0], acc[i][j][1]);
      if (r + 8 < M) epilogue2(e, r + 8, c, N, acc[i][j][2], acc[i][j][3]);
    }
  }
}

// Large tiles (prefill of hundreds of tokens): 128×128, 8 warps of 64×32,
// 3 stages × (128+128)×40×2 B = 61,440 B of dynamic shared memory (opt-in).
extern "C" __global__ void __launch_bounds__(256) nc_gemm_bf16_128x128(const bf16_t* A, const bf16_t* W, void* C, int M,
                                                                       int N, int K, int ldc, int epi, int n_valid,
                                                                       float cap) {
  gemm_tile_body<128, 128, 64, 32>(A, W, M, N, K, EpiArgs{C, ldc, epi, n_valid, cap});
}

// Small tiles (short prompts, few SMs' worth of 128×128 tiles): 64×64,
// 4 warps of 32×32, 30,720 B of shared memory.
extern "C" __global__ void __launch_bounds__(128) nc_gemm_bf16_64x64(const bf16_t* A, const bf16_t* W, void* C, int M,
                                                                     int N, int K, int ldc, int epi, int n_valid,
                                                                     float cap) {
  gemm_tile_body<64, 64, 32, 32>(A, W, M, N, K, EpiArgs{C, ldc, epi, n_valid, cap});
}

// gemv_body: MR ≤ 8 rows of x against W; one warp per output column n,
// 4 warps per block, 16-byte streaming loads of W, fp32 FMAs.
template <int MR>
__device__ __forceinline__ void gemv_body(const bf16_t* __restrict__ A, const bf16_t* __restrict__ W, int M, int N,
                                          int K, EpiArgs e) {
  const int lane = threadIdx.x & 31;
  const int n = blockIdx.x * 4 + (threadIdx.x >> 5);
  if (n >= N) return;
  float acc[MR];
#pragma unroll
  for (int m = 0; m < MR; m++) acc[m] = 0.f;
  const bf16_t* w = W + (long)n * K;
#pragma unroll(MR >= 8 ? 2 : 4)
  for (int k = lane * 8; k < K; k += 256) {
    u32x4 wv = ldg16_stream(w + k);
    float wf[8] = {bf_lo(wv.x), bf_hi(wv.x), bf_lo(wv.y), bf_hi(wv.y),
                   bf_lo(wv.z), bf_hi(wv.z), bf_lo(wv.w), bf_hi(wv.w)};
#pragma unroll
    for (int m = 0; m < MR; m++) {
      if (m < M) {
        u32x4 xv = ldg16(A + (long)m * K + k);
        float s = acc[m];
        s = fmaf(bf_lo(xv.x), wf[0], s);
        s = fmaf(bf_hi(xv.x), wf[1], s);
        s = fmaf(bf_lo(xv.y), wf[2], s);
        s = fmaf(bf_hi(xv.y), wf[3], s);
        s = fmaf(bf_lo(xv.z), wf[4], s);
        s = fmaf(bf_hi(xv.z), wf[5], s);
        s = fmaf(bf_lo(xv.w), wf[6], s);
        s = fmaf(bf_hi(xv.w), wf[7], s);
        acc[m] = s;
      }
    }
  }
#pragma unroll
  for (int m = 0; m < MR; m++) acc[m] = warp_sum(acc[m]);
  if (lane == 0) {
    // epilogue2 writes a column pair; bounding it at n+1 writes column n alone.
#pragma unroll
    for (int m = 0; m < MR; m++)
      if (m < M) epilogue2(e, m, n, n + 1, acc[m], 0.f);
  }
}

#define NC_GEMV(MR)                                                                                      \
  extern "C" __global__ void __launch_bounds__(128)                                                     \
      nc_gemv_bf16_m##MR(const bf16_t* A, const bf16_t* W, void* C, int M, int N, int K, int ldc, int epi, \
                         int n_valid, float cap) {                                                        \
    gemv_body<MR>(A, W, M, N, K, EpiArgs{C, ldc, epi, n_valid, cap});                                    \
  }
NC_GEMV(1)
NC_GEMV(2)
NC_GEMV(4)
NC_GEMV(8)
