//go:build cuda && cgo

package cuda

import (
	"math"

	"gorgonia.org/cu"
)

// enqueue issues one forward pass of B entries of T tokens on the stream,
// reading the step block already uploaded (rows, positions, tokens):
// nanochat's GPT.forward (spec §1.2), the same steps as model.Forward,
// every buffer on the device. decode marks single-token decode chunks
// (nanochat's decode-step quirks: bigram reset, no window); all asks for
// the logits of every position instead of each entry's last. It makes no
// host↔device copy and no allocation, so it can be captured.
func (c *Cache) enqueue(B, T int, decode, all bool) error {
	b, g := c.b, c.b.g
	cfg, a, w := b.cfg, b.arch, b.m.W
	ws := &c.res.ws
	N := B * T
	C, H, KV, hd := cfg.NEmbd, cfg.NHead, cfg.NKVHead, cfg.HeadDim()
	qd, kvd := H*hd, KV*hd
	rowBlocks := func(kernel string, n int) Launch {
		return Launch{Kernel: kernel, Grid: [3]int{n, 1, 1}, Block: 256}
	}

	// 1. x = x0 = norm(wte[idx]) (+ smear), bigram rows.
	g.args.reset().ptr(ws.step).i32(B).i32(T).ptr(b.wte).i32(C).
		ptr(b.smearGate).f32(w.SmearLambda).i32(b2i(a.Smear)).ptr(ws.x).ptr(ws.x0).
		ptr(b.bigram).ptr(ws.bg).i32(cfg.VocabSize).i32(b2i(decode && a.DecodeBigramReset))
	if err := g.launch(rowBlocks("nc_embed", N)); err != nil {
		return err
	}

	for i := range b.layers {
		l := &b.layers[i]
		// 2. x = resid_λ·x + x0_λ·x0 (+ bigram_λ·bg); h = norm(x).
		var r, z, bl float32 = 1, 0, 0
		if a.Lambdas {
			r, z = w.ResidLambdas[i], w.X0Lambdas[i]
		}
		if a.Bigram {
			bl = w.BigramLambdas[i]
		}
		g.args.reset().ptr(ws.x).ptr(ws.x0).ptr(ws.bg).f32(r).f32(z).f32(bl).i32(b2i(a.Lambdas)).
			ptr(ws.h).ptr(ws.inv).i32(C)
		if err := g.launch(rowBlocks("nc_mix_norm", N)); err != nil {
			return err
		}
		// 3. q, k, v = h·[Wq; Wk; Wv]ᵀ, then VE gate, RoPE, QK-norm, scale, cache append.
		if err := c.gemm(ws.h, l.qkv, ws.qkv, N, qd+2*kvd, C, qd+2*kvd, EpiStoreF32, 0, 0); err != nil {
			return err
		}
		veScale := a.VEGateScale
		g.args.reset().ptr(ws.qkv).ptr(ws.q).ptr(c.kvLayer(false, i)).ptr(c.kvLayer(true, i)).ptr(ws.step).
			i32(B).i32(T).i32(H).i32(KV).i32(hd).i32(c.maxLen).ptr(b.ropeCos).ptr(b.ropeSin).
			f32(a.QKScale).ptr(l.ve).ptr(l.veGate).i32(a.VEGateCh).f32(veScale).ptr(ws.x).ptr(ws.inv).i32(C)
		if err := g.launch(rowBlocks("nc_qkv_post", N)); err != nil {
			return err
		}
		// 4. attention over the cache, then x += c_proj(att).
		if err := c.attention(i, B, T, decode); err != nil {
			return err
		}
		if err := c.gemm(ws.att, l.proj, ws.x, N, C, qd, C, EpiAddF32, 0, 0); err != nil {
			return err
		}
		// 5. x += c_proj(relu(c_fc(norm(x)))²).
		g.args.reset().ptr(ws.x).ptr(0).ptr(0).f32(1).f32(0).f32(0).i32(0).ptr(ws.h).ptr(0).i32(C)
		if err := g.launch(rowBlocks("nc_mix_norm", N)); err != nil {
			return err
		}
		if err := c.gemm(ws.h, l.fc, ws.fc, N, 4*C, C, 4*C, EpiReLU2BF16, 0, 0); err != nil {
			return err
		}
		if err := c.gemm(ws.fc, l.mlpProj, ws.x, N, C, 4*C, C, EpiAddF32, 0, 0); err != nil {
			return err
		}
		// 6. A7: keep the residual after block n_layer/2 for the backout.
		if a.Smear && i == cfg.NLayer/2 {
			if err := copyDtoDAsync(ws.xb, ws.x, int64(4*N*C), g.stream); err != nil {
				return err
			}
		}
	}

	// 7. logits = softcap(crop(lm_head(norm(x − backout_λ·xb)))) for the positions asked.
	outRows, mul, add := B, T, T-1
	if all {
		outRows, mul, add = N, 1, 0
	}
	g.args.reset().ptr(ws.x).ptr(ws.xb).f32(w.BackoutLambda).i32(b2i(a.Smear)).ptr(ws.h).i32(C).i32(mul).i32(add)
	if err := g.launch(rowBlocks("nc_final_norm", outRows)); err != nil {
		return err
	}
	return c.gemm(ws.h, b.lmHead, ws.logits, outRows, a.PaddedVocab, C, cfg.VocabSize, EpiSoftcapF32,
		cfg.VocabSize, a.Softcap)
}

// gemm launches C = epilogue(A[M][K]·W[N][K]ᵀ) with row stride ldc.
func (c *Cache) gemm(A, W, out cu.DevicePtr, M, N, K, ldc, epi, nValid int, softcap float32) error {
	g := c.b.g
	l, err := PlanGEMM(M, N, K, g.info.SMs)
	if err != nil {
		return err
	}
	g.args.reset().ptr(A).ptr(W).ptr(out).i32(M).i32(N).i32(K).i32(ldc).i32(epi).i32(nValid).f32(softcap)
	return g.launch(l)
}

// attention runs layer i's attention for B entries of T new tokens: ws.q
// against each entry's cache row into ws.att.
func (c *Cache) attention(i, B, T int, decode bool) error {
	b, g, ws := c.b, c.b.g, &c.res.ws
	cfg := b.cfg
	H, KV, hd := cfg.NHead, cfg.NKVHead, cfg.HeadDim()
	window := b.window(i, decode)
	var p AttnPlan
	if T == 1 {
		p = c.dec[B][i] // planned by launch; valid for any window (splits only spread the keys)
	} else {
		var err error
		if p, err = PlanAttention(Attn{B: B, T: T, H: H, KV: KV, HD: hd,
			MaxKeys: MaxKeys(c.maxLen, window), SMs: g.info.SMs, ForceSplitK: b.forceSplitK}); err != nil {
			return err
		}
	}
	scaleLog2 := float32(1/math.Sqrt(float64(hd))) * math.Log2E
	kc, vc := c.kvLayer(false, i), c.kvLayer(true, i)
	if p.Combine == nil {
		g.args.reset().ptr(ws.q).ptr(kc).ptr(vc).ptr(ws.att).ptr(ws.step).
			i32(B).i32(T).i32(H).i32(KV).i32(c.maxLen).i32(window).f32(scaleLog2)
		return g.launch(p.Main)
	}
	g.args.reset().ptr(ws.q).ptr(kc).ptr(vc).ptr(ws.opart).ptr(ws.lse).ptr(ws.step).
		i32(B).i32(T).i32(H).i32(KV).i32(hd).i32(c.maxLen).i32(window).f32(scaleLog2).i32(p.Splits).i32(p.QPB)
	if err := g.launch(p.Main); err != nil {
		return err
	}
	g.args.reset().ptr(ws.opart).ptr(ws.lse).ptr(ws.att).i32(hd).i32(p.Splits)
	return g.launch(*p.Combine)
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}
