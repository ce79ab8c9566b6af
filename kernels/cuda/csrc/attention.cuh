// attention.cuh: causal sliding-window attention over the bf16 KV cache.
//
// Reference loop (kernels.Attention): for the query of launch entry b at
// offset t, head h (KV head kh = h / (H/KV)), with the entry's cache row
// r = step_row(b) and position p = step_pos(b) + t (common.cuh),
//   keys j ∈ [max(0, p − W), p] of row r (all j ≤ p when W < 0: W+1 keys),
//   s_j = q·k_j / sqrt(hd), out = Σ_j softmax(s)_j · v_j.
//
// Layouts: q and out are [B·T][H][hd] bf16 (entry-major); the layer's cache
// is [rows][MaxLen][KV][hd] bf16 and row r already holds positions
// 0..step_pos(b)+T-1 (the fused qkv kernel appended this step's keys and
// values). Rows and positions are read from the step block on the device,
// so a captured decode graph replays for any rows at any positions.
//
// Kernels:
//  * nc_attn_prefill_hd{16,32,64,96,128}: FlashAttention-2 style. A block
//    owns 64 queries of one head (4 warps × 16 rows); Q stays in registers,
//    K/V tiles of 64 keys are double-buffered with cp.async, S = QKᵀ and
//    O += PV run on mma.sync m16n8k16 (bf16 in, fp32 accumulate), P is
//    re-packed from the S accumulators without touching shared memory, and
//    the softmax is online (running max and sum in the log2 domain).
//  * nc_attn_splitkv: split-KV (flash-decoding) for decode and for head
//    dims without a tensor-core instantiation. Grid (splits, KV·qchunks,
//    B·T); each block handles the query heads of one KV head (GQA groups
//    share every K/V load), one slice of the keys, and writes an
//    unnormalized partial (o, lse). nc_attn_combine merges the slices.
#pragma once
#include "common.cuh"

#define FA_BR 64
#define FA_BC 64

template <int HD>
__device__ __forceinline__ void attn_prefill_body(const bf16_t* __restrict__ q, const bf16_t* __restrict__ kc,
                                                  const bf16_t* __restrict__ vc, bf16_t* __restrict__ out,
                                                  const int* __restrict__ step, int B, int T, int H, int KV,
                                                  int max_len, int window, float scale_log2) {
  constexpr int LDS = HD + 8;  // padded rows: ldmatrix addresses fall in distinct banks
  constexpr int KSTEPS = HD / 16, DT = HD / 8;
  extern __shared__ __align__(16) unsigned char fa_smem[];
  bf16_t* Qs = (bf16_t*)fa_smem;     // [64][LDS]
  bf16_t* Ks = Qs + FA_BR * LDS;      // [2][64][LDS]
  bf16_t* Vs = Ks + 2 * FA_BC * LDS;  // [2][64][LDS]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int qtile = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int kh = h / (H / KV);
  const int row = step_row(step, b);
  const int pos0 = step_pos(step, B, b);
  const int t0 = qtile * FA_BR;
  const int tend = min(T, t0 + FA_BR);  // exclusive
  const int kmax = pos0 + tend - 1;
  const int kmin = window < 0 ? 0 : max(0, pos0 + t0 - window);
  const int kt_first = kmin / FA_BC, kt_last = kmax / FA_BC;
  const long row_stride = (long)KV * HD;  // between cache positions
  const bf16_t* kbase = kc + (long)row * max_len * row_stride + kh * HD;
  const bf16_t* vbase = vc + (long)row * max_len * row_stride + kh * HD;

  // Q tile: rows t0..t0+63 of head h (rows ≥ T zero-filled).
  for (int c = tid; c < FA_BR * (HD / 8); c += 128) {
    int r = c / (HD / 8), d = (c % (HD / 8)) * 8;
    int t = t0 + r;
    bool ok = t < T;
    const bf16_t* src = q + ((long)(b * T + (ok ? t : 0)) * H + h) * HD + d;
    cp_async16(Qs + r * LDS + d, src, ok);
  }
  auto load_kv = [&](int buf, int kt) {
    int j0 = kt * FA_BC;
    bf16_t* ks = Ks + buf * FA_BC * LDS;
    bf16_t* vs = Vs + buf * FA_BC * LDS;
    for (int c = tid; c < FA_BC * (HD / 8); c += 128) {
      int r = c / (HD / 8), d = (c % (HD / 8)) * 8;
      int j = j0 + r;
      bool ok = j <= kmax;
      long off = (long)(ok ? j : 0) * row_stride + d;
      cp_async16(ks + r * LDS + d, kbase + off, ok);
      cp_async16(vs + r * LDS + d, vbase + off, ok);
    }
  };
  load_kv(0, kt_first);
  cp_async_commit();

  u32 qf[KSTEPS][4];
  float o[DT][4];
#pragma unroll
  for (int i = 0; i < DT; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m_i[2] = {-NC_INF, -NC_INF}, l_i[2] = {0.f, 0.f};
  // This thread's two query rows (fragment rows lane/4 and lane/4 + 8).
  const int tr0 = t0 + warp * 16 + (lane >> 2);
  const int p_row[2] = {pos0 + tr0, pos0 + tr0 + 8};

  for (int kt = kt_first; kt <= kt_last; kt++) {
    const int buf = (kt - kt_first) & 1;
    if (kt < kt_last) {
      load_kv(buf ^ 1, kt + 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (kt == kt_first) {
#pragma unroll
      for (int ks = 0; ks < KSTEPS; ks++) {
        int r = warp * 16 + (lane & 15), c = ks * 16 + (lane >> 4) * 8;
        ldmatrix_x4(qf[ks][0], qf[ks][1], qf[ks][2], qf[ks][3], Qs + r * LDS + c);
      }
    }
    const bf16_t* ks_ = Ks + buf * FA_BC * LDS;
    const bf16_t* vs_ = Vs + buf * FA_BC * LDS;

    // S = Q·Kᵀ for 16 rows × 64 keys: 8 n-tiles of 8 keys.
    float s[8][4];
#pragma unroll
    for (int j = 0; j < 8; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
    for (int ks = 0; ks < KSTEPS; ks++) {
#pragma unroll
      for (int j = 0; j < 8; j += 2) {
        u32 b0, b1, b2, b3;
        int r = j * 8 + (lane & 7) + (lane >> 4) * 8;
        int c = ks * 16 + ((lane >> 3) & 1) * 8;
        ldmatrix_x4(b0, b1, b2, b3, ks_ + r * LDS + c);
        mma16816(s[j], qf[ks], b0, b1);
        mma16816(s[j + 1], qf[ks], b2, b3);
      }
    }
    // Mask (causal, window, tail rows) and scale into the log2 domain.
    const int j0 = kt * FA_BC;
    float mx[2] = {-NC_INF, -NC_INF};
#pragma unroll
    for (int j = 0; j < 8; j++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        int key = j0 + j * 8 + (lane & 3) * 2 + (e & 1);
        int rr = e >> 1;
        int p = p_row[rr];
        bool ok = key <= p && (window < 0 || key >= p - window) && p - pos0 < T;
        float v = ok ? s[j][e] * scale_log2 : -NC_INF;
        s[j][e] = v;
        mx[rr] = fmaxf(mx[rr], v);
      }
    }
    float corr[2];
#pragma unroll
    for (int rr = 0; rr < 2; rr++) {
      mx[rr] = fmaxf(mx[rr], __shfl_xor_sync(0xffffffffu, mx[rr], 1));
      mx[rr] = fmaxf(mx[rr], __shfl_xor_sync(0xffffffffu, mx[rr], 2));
      float m_new = fmaxf(m_i[rr], mx[rr]);
      float base = m_new == -NC_INF ? 0.f : m_new;  // a row fully masked so far
      corr[rr] = exp2f(m_i[rr] - base);
      m_i[rr] = m_new;
      mx[rr] = base;
    }
    float rs[2] = {0.f, 0.f};
#pragma unroll
    for (int j = 0; j < 8; j++) {
      s[j][0] = exp2f(s[j][0] - mx[0]);
      s[j][1] = exp2f(s[j][1] - mx[0]);
      s[j][2] = exp2f(s[j][2] - mx[1]);
      s[j][3] = exp2f(s[j][3] - mx[1]);
      rs[0] += s[j][0] + s[j][1];
      rs[1] += s[j][2] + s[j][3];
    }
    l_i[0] = l_i[0] * corr[0] + rs[0];
    l_i[1] = l_i[1] * corr[1] + rs[1];
#pragma unroll
    for (int d = 0; d < DT; d++) {
      o[d][0] *= corr[0];
      o[d][1] *= corr[0];
      o[d][2] *= corr[1];
      o[d][3] *= corr[1];
    }
    // O += P·V: P (16×64) re-packed from the S fragments, V via ldmatrix.trans.
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
      u32 pa[4];
      pa[0] = pack_bf16x2(s[2 * kk][0], s[2 * kk][1]);
      pa[1] = pack_bf16x2(s[2 * kk][2], s[2 * kk][3]);
      pa[2] = pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      pa[3] = pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int d = 0; d < DT; d += 2) {
        u32 b0, b1, b2, b3;
        int r = kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
        int c = d * 8 + (lane >> 4) * 8;
        ldmatrix_x4_trans(b0, b1, b2, b3, vs_ + r * LDS + c);
        mma16816(o[d], pa, b0, b1);
        mma16816(o[d + 1], pa, b2, b3);
      }
    }
    __syncthreads();  // the next iteration's prefetch overwrites this buffer's twin
  }

  // Normalize and store (rows ≥ T are dropped).
#pragma unroll
  for (int rr = 0; rr < 2; rr++) {
    l_i[rr] += __shfl_xor_sync(0xffffffffu, l_i[rr], 1);
    l_i[rr] += __shfl_xor_sync(0xffffffffu, l_i[rr], 2);
  }
#pragma unroll
  for (int rr = 0; rr < 2; rr++) {
    int t = tr0 + rr * 8;
    if (t >= T) continue;
    float inv = l_i[rr] > 0.f ? 1.f / l_i[rr] : 0.f;
    u32* dst = (u32*)(out + ((long)(b * T + t) * H + h) * HD);
#pragma unroll
    for (int d = 0; d < DT; d++) {
      int col = d * 8 + (lane & 3) * 2;
      dst[col / 2] = pack_bf16x2(o[d][rr * 2] * inv, o[d][rr * 2 + 1] * inv);
    }
  }
}

#define NC_ATTN_PREFILL(HD)                                                                              \
  extern "C" __global__ void __launch_bounds__(128)                                                     \
      nc_attn_prefill_hd##HD(const bf16_t* q, const bf16_t* kc, const bf16_t* vc, bf16_t* out,           \
                             const int* step, int B, int T, int H, int KV, int max_len, int window,      \
                             float scale_log2) {                                                        \
    attn_prefill_body<HD>(q, kc, vc, out, step, B, T, H, KV, max_len, window, scale_log2);              \
  }
NC_ATTN_PREFILL(16)
NC_ATTN_PREFILL(32)
NC_ATTN_PREFILL(64)
NC_ATTN_PREFILL(96)
NC_ATTN_PREFILL(128)

#define SK_TILE 64     // keys per shared-memory tile
#define SK_THREADS 128
#define SK_MAXU 16     // accumulators per thread: qpb·hd ≤ 128·16

// nc_attn_splitkv: see the file comment. Dynamic shared memory (plan.go
// splitKVSmem): Ks, Vs [SK_TILE][hd+8] bf16, qs [qpb][hd] f32,
// ps [qpb][SK_TILE] f32, then m, l, corr [qpb] f32.
extern "C" __global__ void __launch_bounds__(SK_THREADS)
    nc_attn_splitkv(const bf16_t* __restrict__ q, const bf16_t* __restrict__ kc, const bf16_t* __restrict__ vc,
                    float* __restrict__ o_part, float* __restrict__ lse_part, const int* __restrict__ step, int B,
                    int T, int H, int KV, int hd, int max_len, int window, float scale_log2, int nsplit, int qpb) {
  extern __shared__ __align__(16) unsigned char sk_smem[];
  const int lds = hd + 8;
  bf16_t* Ks = (bf16_t*)sk_smem;
  bf16_t* Vs = Ks + SK_TILE * lds;
  float* qs = (float*)(Vs + SK_TILE * lds);
  float* ps = qs + qpb * hd;
  float* m_s = ps + qpb * SK_TILE;
  float* l_s = m_s + qpb;
  float* c_s = l_s + qpb;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int split = blockIdx.x;
  const int g = H / KV, qchunks = (g + qpb - 1) / qpb;
  const int kh = blockIdx.y / qchunks, qc = blockIdx.y % qchunks;
  const int n = blockIdx.z, b = n / T, t = n % T;
  const int h0 = kh * g + qc * qpb;
  const int nq = min(qpb, g - qc * qpb);
  const int row = step_row(step, b);
  const int p = step_pos(step, B, b) + t;
  const int lo = window < 0 ? 0 : max(0, p - window);
  const int nkeys = p - lo + 1;
  int chunk = (nkeys + nsplit - 1) / nsplit;
  chunk = (chunk + SK_TILE - 1) / SK_TILE * SK_TILE;
  const int s_lo = lo + split * chunk, s_hi = min(p, s_lo + chunk - 1);

  // Partial outputs: [n][h][split][hd] and [n][h][split].
  if (s_lo > s_hi) {
    for (int i = tid; i < nq; i += SK_THREADS) lse_part[((long)n * H + h0 + i) * nsplit + split] = -NC_INF;
    return;
  }
  for (int i = tid; i < nq * hd; i += SK_THREADS) {
    int qi = i / hd, d = i % hd;
    qs[i] = bf2f(q[((long)n * H + h0 + qi) * hd + d]) * scale_log2;
  }
  for (int i = tid; i < nq; i += SK_THREADS) {
    m_s[i] = -NC_INF;
    l_s[i] = 0.f;
  }
  float acc[SK_MAXU];
#pragma unroll
  for (int u = 0; u < SK_MAXU; u++) acc[u] = 0.f;

  const long row_stride = (long)KV * hd;
  const bf16_t* kbase = kc + (long)row * max_len * row_stride + kh * hd;
  const bf16_t* vbase = vc + (long)row * max_len * row_stride + kh * hd;
  const int vec = hd / 8;

  for (int j0 = s_lo; j0 <= s_hi; j0 += SK_TILE) {
    const int nk = min(SK_TILE, s_hi - j0 + 1);
    __syncthreads();  // previous tile fully consumed
    for (int c = tid; c < nk * vec; c += SK_THREADS) {
      int r = c / vec, d = (c % vec) * 8;
      long off = (long)(j0 + r) * row_stride + d;
      *(u32x4*)(Ks + r * lds + d) = ldg16(kbase + off);
      *(u32x4*)(Vs + r * lds + d) = ldg16(vbase + off);
    }
    __syncthreads();
    // Scores (log2 domain, q pre-scaled): thread per (query, key).
    for (int i = tid; i < nq * SK_TILE; i += SK_THREADS) {
      int qi = i / SK_TILE, jj = i % SK_TILE;
      float sc = -NC_INF;
      if (jj < nk) {
        const float* qv = qs + qi * hd;
        const bf16_t* kr = Ks + jj * lds;
        float a = 0.f;
        for (int d = 0; d < hd; d += 8) {
          u32x4 kv = *(const u32x4*)(kr + d);
          a = fmaf(qv[d + 0], bf_lo(kv.x), a);
          a = fmaf(qv[d + 1], bf_hi(kv.x), a);
          a = fmaf(qv[d + 2], bf_lo(kv.y), a);
          a = fmaf(qv[d + 3], bf_hi(kv.y), a);
          a = fmaf(qv[d + 4], bf_lo(kv.z), a);
          a = fmaf(qv[d + 5], bf_hi(kv.z), a);
          a = fmaf(qv[d + 6], bf_lo(kv.w), a);
          a = fmaf(qv[d + 7], bf_hi(kv.w), a);
        }
        sc = a;
      }
      ps[i] = sc;
    }
    __syncthreads();
    // Online softmax, one warp per query.
    for (int qi = warp; qi < nq; qi += SK_THREADS / 32) {
      float* pr = ps + qi * SK_TILE;
      float mx = fmaxf(pr[lane], pr[lane + 32]);
      mx = warp_max(mx);
      float m_old = m_s[qi];
      float m_new = fmaxf(m_old, mx);  // finite: every tile has ≥ 1 key
      float e0 = exp2f(pr[lane] - m_new), e1 = exp2f(pr[lane + 32] - m_new);
      pr[lane] = e0;
      pr[lane + 32] = e1;
      float sum = warp_sum(e0 + e1);
      if (lane == 0) {
        float c = exp2f(m_old - m_new);
        c_s[qi] = c;
        l_s[qi] = l_s[qi] * c + sum;
        m_s[qi] = m_new;
      }
    }
    __syncthreads();
    // O = O·corr + P·V; thread owns outputs e = tid + 128·u of the nq×hd block.
#pragma unroll
    for (int u = 0; u < SK_MAXU; u++) {
      int e = tid + u * SK_THREADS;
      if (e < nq * hd) {
        int qi = e / hd, d = e % hd;
        const float* pr = ps + qi * SK_TILE;
        float a = acc[u] * c_s[qi];
        for (int jj = 0; jj < nk; jj++) a = fmaf(pr[jj], bf2f(Vs[jj * lds + d]), a);
        acc[u] = a;
      }
    }
  }
  __syncthreads();
#pragma unroll
  for (int u = 0; u < SK_MAXU; u++) {
    int e = tid + u * SK_THREADS;
    if (e < nq * hd) {
      int qi = e / hd, d = e % hd;
      o_part[(((long)n * H + h0 + qi) * nsplit + split) * hd + d] = acc[u] / l_s[qi];
    }
  }
  for (int i = tid; i < nq; i += SK_THREADS)
    lse_part[((long)n * H + h0 + i) * nsplit + split] = m_s[i] + log2f(l_s[i]);
}

// nc_attn_combine merges the split partials of one (row, head):
// out = Σ_s 2^(lse_s − M)·o_s / Σ_s 2^(lse_s − M). Block of ≥ hd threads.
extern "C" __global__ void __launch_bounds__(256)
    nc_attn_combine(const float* __restrict__ o_part, const float* __restrict__ lse_part, bf16_t* __restrict__ out,
                    int hd, int nsplit) {
  const long nh = blockIdx.x;  // n·H + h
  const float* lse = lse_part + nh * nsplit;
  float M = -NC_INF;
  for (int s = 0; s < nsplit; s++) M = fmaxf(M, lse[s]);
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float num = 0.f, den = 0.f;
    for (int s = 0; s < nsplit; s++) {
      float l = lse[s];
      if (l == -NC_INF) continue;
      float w = exp2f(l - M);
      num = fmaf(w, o_part[(nh * nsplit + s) * hd + d], num);
      den += w;
    }
    out[nh * hd + d] = f2bf(num / den);
  }
}
