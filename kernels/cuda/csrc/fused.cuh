// fused.cuh: the element-wise parts of the forward pass, fused so that each
// touches the residual stream once. Spec references are to
// shared/spec/nanochat.md §1; the CPU reference is model/forward.go.
//
// step is the per-launch int32 block of B entries (cache row, position,
// previous token, T new tokens each) described in common.cuh; token n of a
// launch is entry b = n / T at offset t = n % T, position step_pos(b) + t.
#pragma once
#include "common.cuh"

// nc_embed (§1.2 steps 1–4, A4b bigram): one block per token n = b·T + t.
//   e = norm(wte[tok]); x = x0 = e + smear_λ·sigmoid(gate·e[:24])·norm(wte[prev])
// where prev is the previous token of the sequence (t > 0: in this chunk,
// else the entry's step_prev); no smear at position 0. With bigram, bg[n] is
// the engram embedding row (36313·tok XOR 27191·prev) mod (5V−1), row 5V−1
// at position 0 and, when decode_reset is set (the host sets it for a
// launch of single-token decode chunks of an A4b checkpoint), at every
// position.
extern "C" __global__ void __launch_bounds__(256)
    nc_embed(const int* __restrict__ step, int B, int T, const bf16_t* __restrict__ wte, int C,
             const float* __restrict__ smear_gate, float smear_lambda, int smear, float* __restrict__ x,
             float* __restrict__ x0, const bf16_t* __restrict__ bigram, float* __restrict__ bg, int vocab,
             int decode_reset) {
  __shared__ float red[32];
  const int n = blockIdx.x, b = n / T, t = n % T;
  const int* toks = step_tokens(step, B);
  const int tok = toks[n];
  const int prev = t > 0 ? toks[n - 1] : step_prev(step, B, b);
  const bf16_t* er = wte + (long)tok * C;
  const bf16_t* pr = prev >= 0 ? wte + (long)prev * C : er;
  const bool do_smear = smear && prev >= 0;
  float ss = 0.f, sp = 0.f, gd = 0.f;
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    float v = bf2f(er[i]);
    ss += v * v;
    if (do_smear) {
      float w = bf2f(pr[i]);
      sp += w * w;
      if (i < 24) gd += smear_gate[i] * v;
    }
  }
  ss = block_sum(ss, red);
  const float inv = inv_rms(ss, C);
  float g = 0.f, invp = 0.f;
  if (do_smear) {
    sp = block_sum(sp, red);
    gd = block_sum(gd, red);
    invp = inv_rms(sp, C);
    g = smear_lambda * sigmoidf_(gd * inv);
  }
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    float v = bf2f(er[i]) * inv;
    if (do_smear) v += g * (bf2f(pr[i]) * invp);
    x[(long)n * C + i] = v;
    x0[(long)n * C + i] = v;
  }
  if (bigram != nullptr) {
    const i64 mod = 5 * (i64)vocab - 1;
    const int pos = step_pos(step, B, b) + t;
    i64 idx = mod;
    if (pos > 0 && !decode_reset && prev >= 0) idx = ((36313LL * tok) ^ (27191LL * prev)) % mod;
    const bf16_t* br = bigram + idx * C;
    for (int i = threadIdx.x; i < C; i += blockDim.x) bg[(long)n * C + i] = bf2f(br[i]);
  }
}

// nc_mix_norm: one block per row. With mix (A2+), x = r·x + z·x0 (+ bl·bg)
// is written back first (§1.2 step 5). Then h = bf16(norm(x)) for the next
// GEMM, and inv[n] = 1/rms(x) so later kernels can rebuild fp32 norm(x)
// values (the value-embedding gate reads norm(x)[:ch] in fp32).
extern "C" __global__ void __launch_bounds__(256)
    nc_mix_norm(float* __restrict__ x, const float* __restrict__ x0, const float* __restrict__ bg, float r, float z,
                float bl, int mix, bf16_t* __restrict__ h, float* __restrict__ inv_out, int C) {
  __shared__ float red[32];
  const long base = (long)blockIdx.x * C;
  float ss = 0.f;
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    float v = x[base + i];
    if (mix) {
      v = r * v + z * x0[base + i];
      if (bg != nullptr) v += bl * bg[base + i];
      x[base + i] = v;
    }
    ss += v * v;
  }
  ss = block_sum(ss, red);
  const float inv = inv_rms(ss, C);
  if (inv_out != nullptr && threadIdx.x == 0) inv_out[blockIdx.x] = inv;
  for (int i = threadIdx.x; i < C; i += blockDim.x) h[base + i] = f2bf(x[base + i] * inv);
}

// nc_final_norm (§1.2 steps 6–7): for output row r, source row
// s = r·row_mul + row_add (all positions: 1, 0; last of each entry: T, T−1):
// h[r] = bf16(norm(x[s] − backout_λ·xb[s])) (backout only for A7).
extern "C" __global__ void __launch_bounds__(256)
    nc_final_norm(const float* __restrict__ x, const float* __restrict__ xb, float backout, int do_backout,
                  bf16_t* __restrict__ h, int C, int row_mul, int row_add) {
  __shared__ float red[32];
  const long src = ((long)blockIdx.x * row_mul + row_add) * C, dst = (long)blockIdx.x * C;
  float ss = 0.f;
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    float v = x[src + i];
    if (do_backout) v -= backout * xb[src + i];
    ss += v * v;
  }
  ss = block_sum(ss, red);
  const float inv = inv_rms(ss, C);
  for (int i = threadIdx.x; i < C; i += blockDim.x) {
    float v = x[src + i];
    if (do_backout) v -= backout * xb[src + i];
    h[dst + i] = f2bf(v * inv);
  }
}

#define QKV_WARPS 8
#define QKV_MAXHD 256

// nc_qkv_post (§1.3 steps 2–4 and the cache append): one block per token,
// one warp per head of the fused [q | k | v] GEMM output (fp32
// [N][(H+2·KV)·hd]).
//   q, k: split-halves RoPE with nanochat's −θ sign at the token's position
//         p = step_pos(b) + t (y1 = x1·cos + x2·sin, y2 = −x1·sin + x2·cos),
//         then per-head RMSNorm, then ×qk_scale; q → q_out bf16 [N][H][hd],
//         k → cache row step_row(b), slot p.
//   v:    with a value embedding, v += ve_scale·sigmoid(ve_gate[g]·norm(x)[:ch])·ve[tok][g];
//         → the same cache slot. (norm(x)[:ch] = x[n][:ch]·inv[n], the fp32 block input.)
// The caches are this layer's [rows][max_len][KV][hd] bf16 tensors.
extern "C" __global__ void __launch_bounds__(QKV_WARPS * 32)
    nc_qkv_post(const float* __restrict__ qkv, bf16_t* __restrict__ q_out, bf16_t* __restrict__ kc,
                bf16_t* __restrict__ vc, const int* __restrict__ step, int B, int T, int H, int KV, int hd,
                int max_len, const float* __restrict__ rope_cos, const float* __restrict__ rope_sin,
                float qk_scale, const bf16_t* __restrict__ ve, const float* __restrict__ ve_gate, int ve_ch,
                float ve_scale, const float* __restrict__ x, const float* __restrict__ inv, int C) {
  __shared__ float buf[QKV_WARPS][QKV_MAXHD];
  const int n = blockIdx.x, b = n / T, t = n % T;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int row = step_row(step, b);
  const int pos = step_pos(step, B, b) + t;
  const int tok = step_tokens(step, B)[n];
  const int half = hd / 2;
  const int width = (H + 2 * KV) * hd;
  float* s = buf[warp];
  for (int head = warp; head < H + 2 * KV; head += QKV_WARPS) {
    const float* src = qkv + (long)n * width + (long)head * hd;
    for (int i = lane; i < hd; i += 32) s[i] = src[i];
    __syncwarp();
    if (head < H + KV) {
      // RoPE then RMSNorm over the head, then the QK scale.
      float ss = 0.f;
      const float* cs = rope_cos + (long)pos * half;
      const float* sn = rope_sin + (long)pos * half;
      for (int j = lane; j < half; j += 32) {
        float a = s[j], c2 = s[j + half], c = cs[j], si = sn[j];
        float y1 = a * c + c2 * si;
        float y2 = a * (-si) + c2 * c;
        s[j] = y1;
        s[j + half] = y2;
        ss += y1 * y1 + y2 * y2;
      }
      ss = warp_sum(ss);
      __syncwarp();
      bf16_t* dst;
      if (head < H) {
        dst = q_out + ((long)n * H + head) * hd;
      } else {
        dst = kc + (((long)row * max_len + pos) * KV + (head - H)) * hd;
      }
      // The reference rounds norm(y) and scales it in two float32 steps.
      const float r = inv_rms(ss, hd);
      for (int i = lane; i < hd; i += 32) dst[i] = f2bf((s[i] * r) * qk_scale);
    } else {
      const int g = head - H - KV;
      float gate = 0.f;
      if (ve != nullptr) {
        float d = 0.f;
        for (int c = lane; c < ve_ch; c += 32) d += ve_gate[g * ve_ch + c] * (x[(long)n * C + c] * inv[n]);
        d = warp_sum(d);
        gate = ve_scale * sigmoidf_(d);
      }
      bf16_t* dst = vc + (((long)row * max_len + pos) * KV + g) * hd;
      const bf16_t* ver = ve != nullptr ? ve + (long)tok * KV * hd + (long)g * hd : nullptr;
      for (int i = lane; i < hd; i += 32) {
        float v = s[i];
        if (ver != nullptr) v += gate * bf2f(ver[i]);
        dst[i] = f2bf(v);
      }
    }
    __syncwarp();
  }
}
