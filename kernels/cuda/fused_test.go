//go:build cuda && cgo

package cuda

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nanochat-go/nanochat/kernels"
)

func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func closeTo(t *testing.T, what string, got, want []float32, abs, rel float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > abs+rel*math.Abs(float64(want[i])) || math.IsNaN(d) {
			t.Errorf("%s[%d] = %g, want %g", what, i, got[i], want[i])
			return
		}
	}
}

// TestEmbedMixNorm checks nc_embed (norm, smear, bigram rows), nc_mix_norm
// and nc_final_norm against the CPU formulas of model/forward.go, with a
// row tail (C not a multiple of the block), one entry continuing a cached
// row (position 4) and one starting an empty row (position 0: no smear,
// bigram row 5V−1), then the decode reset of the bigram rows.
// Tolerance 1e-5 + 1e-5·|x| in fp32, 1/128 relative after bf16 rounding.
func TestEmbedMixNorm(t *testing.T) {
	g := needGPU(t)
	r := rand.New(rand.NewPCG(5, 6))
	const B, T, C, V = 2, 3, 200, 50
	N := B * T
	rows, pos := []int32{1, 0}, []int32{4, 0}
	wte := randBF16(r, V*C, 1)
	big := randBF16(r, (5*V)*C, 1)
	gate := make([]float32, 24)
	for i := range gate {
		gate[i] = float32(r.NormFloat64())
	}
	const lam = float32(0.7)
	toks := make([]int, N)
	prev := []int{7, -1}
	for i := range toks {
		toks[i] = r.IntN(V)
	}
	step := append(append(append([]int32{}, rows...), pos...), int32(prev[0]), int32(prev[1]))
	for _, tk := range toks {
		step = append(step, int32(tk))
	}
	// CPU reference.
	wf := widen(wte)
	norm := func(tok int) []float32 {
		v := append([]float32(nil), wf[tok*C:(tok+1)*C]...)
		kernels.RMSNorm(v, v, 1, C)
		return v
	}
	wantX := make([]float32, N*C)
	wantBG := make([]float32, N*C)
	bigf := widen(big)
	for n := 0; n < N; n++ {
		b, ti := n/T, n%T
		p := prev[b]
		if ti > 0 {
			p = toks[n-1]
		}
		cur := norm(toks[n])
		mod := int64(5*V - 1)
		idx := mod
		copy(wantX[n*C:], cur)
		if p >= 0 {
			pv := norm(p)
			gd := float64(kernels.Dot(gate, cur[:24]))
			gv := float32(float64(lam) * sigmoid64(gd))
			for i := 0; i < C; i++ {
				wantX[n*C+i] = cur[i] + gv*pv[i]
			}
			idx = ((36313 * int64(toks[n])) ^ (27191 * int64(p))) % mod
		}
		copy(wantBG[n*C:], bigf[idx*int64(C):(idx+1)*int64(C)])
	}
	dStep, dWTE, dGate, dBig := mustUpload(t, g, step), mustUpload(t, g, wte), mustUpload(t, g, gate), mustUpload(t, g, big)
	x, x0, bg := mustAlloc(t, g, 4*N*C), mustAlloc(t, g, 4*N*C), mustAlloc(t, g, 4*N*C)
	g.args.reset().ptr(dStep).i32(B).i32(T).ptr(dWTE).i32(C).ptr(dGate).f32(lam).i32(1).ptr(x).ptr(x0).
		ptr(dBig).ptr(bg).i32(V).i32(0)
	mustLaunch(t, g, Launch{Kernel: "nc_embed", Grid: [3]int{N, 1, 1}, Block: 256})
	closeTo(t, "embed x", download[float32](t, g, x, N*C), wantX, 1e-5, 1e-5)
	closeTo(t, "embed x0", download[float32](t, g, x0, N*C), wantX, 1e-5, 1e-5)
	closeTo(t, "bigram", download[float32](t, g, bg, N*C), wantBG, 0, 0)

	// decode_reset: every bigram row is 5V−1 (x, x0 as before).
	bgReset := mustAlloc(t, g, 4*N*C)
	g.args.reset().ptr(dStep).i32(B).i32(T).ptr(dWTE).i32(C).ptr(dGate).f32(lam).i32(1).ptr(x).ptr(x0).
		ptr(dBig).ptr(bgReset).i32(V).i32(1)
	mustLaunch(t, g, Launch{Kernel: "nc_embed", Grid: [3]int{N, 1, 1}, Block: 256})
	wantReset := make([]float32, N*C)
	for n := 0; n < N; n++ {
		copy(wantReset[n*C:], bigf[(5*V-1)*C:5*V*C])
	}
	closeTo(t, "bigram with decode_reset", download[float32](t, g, bgReset, N*C), wantReset, 0, 0)

	// mix + norm: x = r·x + z·x0 + bl·bg; h = bf16(norm(x)); inv = 1/rms.
	const rl, zl, bl = float32(0.9), float32(0.3), float32(0.1)
	mixed := make([]float32, N*C)
	for i := range mixed {
		mixed[i] = rl*wantX[i] + zl*wantX[i] + bl*wantBG[i]
	}
	wantH := append([]float32(nil), mixed...)
	kernels.RMSNorm(wantH, wantH, N, C)
	h, inv := mustAlloc(t, g, 2*N*C), mustAlloc(t, g, 4*N)
	g.args.reset().ptr(x).ptr(x0).ptr(bg).f32(rl).f32(zl).f32(bl).i32(1).ptr(h).ptr(inv).i32(C)
	mustLaunch(t, g, Launch{Kernel: "nc_mix_norm", Grid: [3]int{N, 1, 1}, Block: 256})
	closeTo(t, "mixed x", download[float32](t, g, x, N*C), mixed, 1e-5, 1e-5)
	closeTo(t, "h", widen(download[uint16](t, g, h, N*C)), wantH, 1e-6, 1.0/128)
	invs := download[float32](t, g, inv, N)
	for n := 0; n < N; n++ {
		if d := math.Abs(float64(invs[n]*mixed[n*C] - wantH[n*C])); d > 1e-5 {
			t.Errorf("inv[%d]: x·inv = %g, want %g", n, invs[n]*mixed[n*C], wantH[n*C])
		}
	}

	// final norm of each row's last position with backout: norm(x − λ·xb).
	const back = float32(0.25)
	wantF := make([]float32, B*C)
	for b := 0; b < B; b++ {
		s := (b*T + T - 1) * C
		for i := 0; i < C; i++ {
			wantF[b*C+i] = mixed[s+i] - back*wantX[s+i]
		}
	}
	kernels.RMSNorm(wantF, wantF, B, C)
	hf := mustAlloc(t, g, 2*B*C)
	g.args.reset().ptr(x).ptr(x0).f32(back).i32(1).ptr(hf).i32(C).i32(T).i32(T - 1)
	mustLaunch(t, g, Launch{Kernel: "nc_final_norm", Grid: [3]int{B, 1, 1}, Block: 256})
	closeTo(t, "final norm", widen(download[uint16](t, g, hf, B*C)), wantF, 1e-6, 1.0/128)
}

// TestQKVPost checks nc_qkv_post: split-halves RoPE with the −θ sign,
// per-head RMSNorm, the QK scale, the value-embedding gate, and the K/V
// append at the right cache slots, for GQA heads, with the entries on
// cache rows 2 and 0 of 3 at positions 5 and 1.
func TestQKVPost(t *testing.T) {
	g := needGPU(t)
	r := rand.New(rand.NewPCG(7, 8))
	const B, T, H, KV, hd, C, ch, maxLen, R, V = 2, 3, 4, 2, 64, 96, 12, 10, 3, 30
	N, half, width := B*T, hd/2, (H+2*KV)*hd
	rows, pos0 := []int{2, 0}, []int{5, 1}
	qkv := make([]float32, N*width)
	x := make([]float32, N*C)
	for i := range qkv {
		qkv[i] = float32(r.NormFloat64())
	}
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	cos, sin := make([]float32, maxLen*half), make([]float32, maxLen*half)
	for i := range cos {
		a := r.Float64() * 6
		cos[i], sin[i] = float32(math.Cos(a)), float32(math.Sin(a))
	}
	ve := randBF16(r, V*KV*hd, 1)
	vgate := make([]float32, KV*ch)
	for i := range vgate {
		vgate[i] = float32(r.NormFloat64())
	}
	inv := make([]float32, N)
	for n := range inv {
		var ss float64
		for _, v := range x[n*C : (n+1)*C] {
			ss += float64(v) * float64(v)
		}
		inv[n] = float32(1 / math.Sqrt(ss/C+1.1920928955078125e-07))
	}
	toks := make([]int32, N)
	step := []int32{int32(rows[0]), int32(rows[1]), int32(pos0[0]), int32(pos0[1]), 0, 0}
	for i := range toks {
		toks[i] = int32(r.IntN(V))
		step = append(step, toks[i])
	}
	const scale = float32(1.2)
	// CPU reference.
	wantQ := make([]float32, N*H*hd)
	wantK := make([]float32, R*maxLen*KV*hd)
	wantV := make([]float32, R*maxLen*KV*hd)
	vef := widen(ve)
	for n := 0; n < N; n++ {
		b, ti := n/T, n%T
		row, pos := rows[b], pos0[b]+ti
		for head := 0; head < H+2*KV; head++ {
			v := append([]float32(nil), qkv[n*width+head*hd:n*width+(head+1)*hd]...)
			if head < H+KV {
				c, s := cos[pos*half:(pos+1)*half], sin[pos*half:(pos+1)*half]
				for j := 0; j < half; j++ {
					a, bb := v[j], v[j+half]
					v[j], v[j+half] = a*c[j]+bb*s[j], a*(-s[j])+bb*c[j]
				}
				kernels.RMSNorm(v, v, 1, hd)
				kernels.Scale(scale, v)
				if head < H {
					copy(wantQ[(n*H+head)*hd:], v)
				} else {
					copy(wantK[((row*maxLen+pos)*KV+head-H)*hd:], v)
				}
				continue
			}
			gi := head - H - KV
			var d float64
			for c := 0; c < ch; c++ {
				d += float64(vgate[gi*ch+c]) * float64(x[n*C+c]*inv[n])
			}
			gt := float32(3 * sigmoid64(d))
			for i := range v {
				v[i] += gt * vef[int(toks[n])*KV*hd+gi*hd+i]
			}
			copy(wantV[((row*maxLen+pos)*KV+gi)*hd:], v)
		}
	}
	dQKV, dStep, dCos, dSin := mustUpload(t, g, qkv), mustUpload(t, g, step), mustUpload(t, g, cos), mustUpload(t, g, sin)
	dVE, dGate, dX, dInv := mustUpload(t, g, ve), mustUpload(t, g, vgate), mustUpload(t, g, x), mustUpload(t, g, inv)
	q := mustAlloc(t, g, 2*N*H*hd)
	kc, vc := mustAlloc(t, g, 2*len(wantK)), mustAlloc(t, g, 2*len(wantV))
	g.args.reset().ptr(dQKV).ptr(q).ptr(kc).ptr(vc).ptr(dStep).i32(B).i32(T).i32(H).i32(KV).i32(hd).i32(maxLen).
		ptr(dCos).ptr(dSin).f32(scale).ptr(dVE).ptr(dGate).i32(ch).f32(3).ptr(dX).ptr(dInv).i32(C)
	mustLaunch(t, g, Launch{Kernel: "nc_qkv_post", Grid: [3]int{N, 1, 1}, Block: 256})
	closeTo(t, "q", widen(download[uint16](t, g, q, N*H*hd)), wantQ, 1e-6, 1.0/128)
	closeTo(t, "k cache", widen(download[uint16](t, g, kc, len(wantK))), wantK, 1e-6, 1.0/128)
	closeTo(t, "v cache", widen(download[uint16](t, g, vc, len(wantV))), wantV, 1e-5, 1.0/128)
}
