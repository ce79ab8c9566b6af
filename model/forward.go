package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/nanochat-go/nanochat/kernels"
)

// Chunk is a run of new tokens for one cache row, fed at that row's own
// cached length.
type Chunk struct {
	Row    int
	Tokens []int
}

// Forward appends each chunk's tokens to its row of c (rows distinct, each
// continuing at its own cached length, chunks of any lengths ≥ 1) in one
// pass and writes fp32 logits (cropped to vocab_size, softcapped): for every
// position in chunk order ([ΣT][V]) when all is set, else for each chunk's
// last position ([len(chunks)][V]). Rows not listed are untouched; on error
// nothing has changed. It is nanochat's GPT.forward (spec §1.2) with a KV
// cache; unlike nanochat it also smears the first token of a chunk with the
// cached previous token, so any chunking of a sequence computes the same as
// one full forward.
func (m *Model) Forward(c *Cache, chunks []Chunk, logits []float32, all bool) error {
	if c.m != m {
		return fmt.Errorf("forward: cache belongs to another model")
	}
	if len(chunks) == 0 {
		return fmt.Errorf("forward: no chunks")
	}
	V := m.Config.VocabSize
	N := 0
	for j, ch := range chunks {
		r := ch.Row
		switch {
		case r < 0 || r >= c.Batch || slices.ContainsFunc(chunks[:j], func(o Chunk) bool { return o.Row == r }):
			return fmt.Errorf("forward: row %d invalid or repeated (cache has %d rows)", r, c.Batch)
		case len(ch.Tokens) == 0:
			return fmt.Errorf("forward: empty chunk for row %d", r)
		case c.pos[r]+len(ch.Tokens) > c.MaxLen:
			return fmt.Errorf("forward: row %d: %d cached + %d new tokens exceed the cache length %d", r, c.pos[r], len(ch.Tokens), c.MaxLen)
		}
		for _, t := range ch.Tokens {
			if t < 0 || t >= V {
				return fmt.Errorf("forward: token id %d outside the vocabulary [0, %d)", t, V)
			}
		}
		N += len(ch.Tokens)
	}
	outRows := len(chunks)
	if all {
		outRows = N
	}
	if len(logits) < outRows*V {
		return fmt.Errorf("forward: logits buffer holds %d floats, need %d", len(logits), outRows*V)
	}
	return m.forward(c, chunks, N, logits, all)
}

// step is the flattened view of one forward call: token n sits at
// position pos[n] of row row[n]; chunk j's tokens are n ∈ [off[j], off[j+1]).
type step struct {
	chunks []Chunk
	tokens []int // [N] every chunk's tokens, in order
	row    []int // [N]
	pos    []int // [N]
	off    []int // [len(chunks)+1]
}

func (s *step) fill(c *Cache, chunks []Chunk) {
	s.chunks = chunks
	s.tokens, s.row, s.pos, s.off = s.tokens[:0], s.row[:0], s.pos[:0], append(s.off[:0], 0)
	for _, ch := range chunks {
		for t, id := range ch.Tokens {
			s.tokens = append(s.tokens, id)
			s.row = append(s.row, ch.Row)
			s.pos = append(s.pos, c.pos[ch.Row]+t)
		}
		s.off = append(s.off, len(s.tokens))
	}
}

func (m *Model) forward(c *Cache, chunks []Chunk, N int, logits []float32, all bool) error {
	cfg, a, w := m.Config, m.Arch, m.W
	C := cfg.NEmbd
	ws := &c.ws
	ws.ensure(cfg, a.PaddedVocab, N)
	st := &c.step
	st.fill(c, chunks)
	for n, id := range st.tokens {
		c.toks[st.row[n]*c.MaxLen+st.pos[n]] = id
	}

	m.embed(c, st)  // ws.x = x0 = norm(wte[idx]) (+ smear)
	m.bigram(c, st) // ws.emb = bigram embeddings (A4b)
	copy(ws.x0[:N*C], ws.x[:N*C])
	for i := range w.Layers {
		m.mix(c, i, N)
		m.attention(c, i, st)
		m.mlp(c, i, N)
		if a.Smear && i == cfg.NLayer/2 {
			copy(ws.xb[:N*C], ws.x[:N*C])
		}
	}
	if a.Smear {
		kernels.Axpy(-w.BackoutLambda, ws.xb[:N*C], ws.x[:N*C])
	}
	m.logits(c, st, logits, all)
	for _, ch := range chunks {
		c.pos[ch.Row] += len(ch.Tokens)
	}
	return nil
}

// embed writes ws.x[n] = norm(wte[tok]) and, for A7, smears each token with
// the previous token's pre-smear embedding (ws.emb keeps the pre-smear rows).
func (m *Model) embed(c *Cache, st *step) {
	ws, C := &c.ws, m.Config.NEmbd
	N := len(st.tokens)
	for n, tok := range st.tokens {
		m.W.WTE.Row(ws.emb[n*C:(n+1)*C], tok)
	}
	kernels.RMSNorm(ws.emb[:N*C], ws.emb[:N*C], N, C)
	copy(ws.x[:N*C], ws.emb[:N*C])
	if !m.Arch.Smear {
		return
	}
	gate := m.W.SmearGate
	for j := range st.chunks {
		for n := st.off[j]; n < st.off[j+1]; n++ {
			r, pos := st.row[n], st.pos[n]
			var prev []float32
			switch {
			case n > st.off[j]:
				prev = ws.emb[(n-1)*C : n*C]
			case pos > 0:
				prev = ws.row[:C]
				m.W.WTE.Row(prev, c.toks[r*c.MaxLen+pos-1])
				kernels.RMSNorm(prev, prev, 1, C)
			default:
				continue
			}
			cur := ws.emb[n*C : (n+1)*C]
			g := m.W.SmearLambda * sigmoid(kernels.Dot(gate, cur[:len(gate)]))
			kernels.Axpy(g, prev, ws.x[n*C:(n+1)*C])
		}
	}
}

// bigram fills ws.emb with the engram bigram embeddings (A4b): index
// (36313·t_i XOR 27191·t_{i-1}) mod (5V−1) for i ≥ 1, 5V−1 at position 0.
// Upstream hashed within each forward call, so a single-token decode step
// always used 5V−1 (DecodeBigramReset); prefill chunks here still see the
// cached previous token, so chunking a prompt changes nothing.
func (m *Model) bigram(c *Cache, st *step) {
	if !m.Arch.Bigram {
		return
	}
	ws, C := &c.ws, m.Config.NEmbd
	mod := int64(5*m.Config.VocabSize - 1)
	for j := range st.chunks {
		single := st.off[j+1]-st.off[j] == 1
		for n := st.off[j]; n < st.off[j+1]; n++ {
			r, pos := st.row[n], st.pos[n]
			idx := mod
			if pos > 0 && !(single && m.Arch.DecodeBigramReset) {
				cur, prev := int64(st.tokens[n]), int64(c.toks[r*c.MaxLen+pos-1])
				idx = ((36313 * cur) ^ (27191 * prev)) % mod
			}
			m.W.Bigram.Row(ws.emb[n*C:(n+1)*C], int(idx))
		}
	}
}

// mix applies x = resid_λ[i]·x + x0_λ[i]·x0 (+ bigram_λ[i]·bigram).
func (m *Model) mix(c *Cache, i, N int) {
	if !m.Arch.Lambdas {
		return
	}
	ws, C := &c.ws, m.Config.NEmbd
	r, z := m.W.ResidLambdas[i], m.W.X0Lambdas[i]
	x, x0 := ws.x[:N*C], ws.x0[:N*C]
	for j := range x {
		x[j] = r*x[j] + z*x0[j]
	}
	if m.Arch.Bigram {
		kernels.Axpy(m.W.BigramLambdas[i], ws.emb[:N*C], x)
	}
}

// attention is x += c_proj(attn(norm(x))) for layer i (spec §1.3).
func (m *Model) attention(c *Cache, i int, st *step) {
	cfg, a, l := m.Config, m.Arch, &m.W.Layers[i]
	ws, N, C := &c.ws, len(st.tokens), cfg.NEmbd
	H, KV, hd := cfg.NHead, cfg.NKVHead, cfg.HeadDim()
	qd, kvd := H*hd, KV*hd
	h := ws.h[:N*C]
	kernels.RMSNorm(h, ws.x[:N*C], N, C)
	l.CQ.MatMul(ws.q, h, N)
	l.CK.MatMul(ws.k, h, N)
	l.CV.MatMul(ws.v, h, N)
	if l.VE != nil {
		// v += scale·sigmoid(ve_gate(h[:ch])) · ve[tok], one gate per KV head.
		ch := a.VEGateCh
		for n, tok := range st.tokens {
			ve := ws.ve[n*kvd : (n+1)*kvd]
			l.VE.Row(ve, tok)
			for g := 0; g < KV; g++ {
				gw := l.VEGate.F32[g*ch : (g+1)*ch]
				if l.VEGate.BF16 != nil {
					gw = ws.row[:ch]
					l.VEGate.Row(gw, g)
				}
				gate := a.VEGateScale * sigmoid(kernels.Dot(gw, h[n*C:n*C+ch]))
				kernels.Axpy(gate, ve[g*hd:(g+1)*hd], ws.v[n*kvd+g*hd:n*kvd+(g+1)*hd])
			}
		}
	}
	for n := 0; n < N; n++ {
		m.rope(ws.q[n*qd:(n+1)*qd], st.pos[n])
		m.rope(ws.k[n*kvd:(n+1)*kvd], st.pos[n])
	}
	kernels.RMSNorm(ws.q[:N*qd], ws.q[:N*qd], N*H, hd)
	kernels.RMSNorm(ws.k[:N*kvd], ws.k[:N*kvd], N*KV, hd)
	if a.QKScale != 1 {
		kernels.Scale(a.QKScale, ws.q[:N*qd])
		kernels.Scale(a.QKScale, ws.k[:N*kvd])
	}
	for j, ch := range st.chunks {
		r, n0, T := ch.Row, st.off[j], len(ch.Tokens)
		window := a.Windows[i]
		if T == 1 && a.DecodeNoWindow {
			window = -1
		}
		base, p0 := r*c.MaxLen*kvd, st.pos[n0]
		for t := 0; t < T; t++ {
			src := (n0 + t) * kvd
			for g := 0; g < KV; g++ {
				dst := base + (g*c.MaxLen+p0+t)*hd
				if c.kb != nil {
					kernels.RoundBF16(c.kb[i][dst:dst+hd], ws.k[src+g*hd:src+(g+1)*hd])
					kernels.RoundBF16(c.vb[i][dst:dst+hd], ws.v[src+g*hd:src+(g+1)*hd])
					continue
				}
				copy(c.k[i][dst:dst+hd], ws.k[src+g*hd:src+(g+1)*hd])
				copy(c.v[i][dst:dst+hd], ws.v[src+g*hd:src+(g+1)*hd])
			}
		}
		out, q := ws.att[n0*qd:(n0+T)*qd], ws.q[n0*qd:(n0+T)*qd]
		p := kernels.Attn{T: T, Pos0: p0, NHead: H, NKV: KV, HeadDim: hd, Window: window, Stride: hd, HeadStride: c.MaxLen * hd}
		if c.kb != nil {
			kernels.AttentionBF16(out, q, c.kb[i][base:base+c.MaxLen*kvd], c.vb[i][base:base+c.MaxLen*kvd], p)
		} else {
			kernels.Attention(out, q, c.k[i][base:base+c.MaxLen*kvd], c.v[i][base:base+c.MaxLen*kvd], p)
		}
	}
	l.CProj.MatMul(h, ws.att, N)
	kernels.Axpy(1, h, ws.x[:N*C])
}

// rope rotates every head of v (split halves, nanochat's −θ convention):
// y1 = x1·cos + x2·sin, y2 = −x1·sin + x2·cos.
func (m *Model) rope(v []float32, pos int) {
	half := m.Config.HeadDim() / 2
	cos, sin := m.cos[pos*half:(pos+1)*half], m.sin[pos*half:(pos+1)*half]
	for h := 0; h+2*half <= len(v); h += 2 * half {
		x1, x2 := v[h:h+half], v[h+half:h+2*half]
		for j := range x1 {
			a, b := x1[j], x2[j]
			x1[j] = a*cos[j] + b*sin[j]
			x2[j] = a*(-sin[j]) + b*cos[j]
		}
	}
}

// mlp is x += c_proj(relu(c_fc(norm(x)))²).
func (m *Model) mlp(c *Cache, i, N int) {
	l, ws, C := &m.W.Layers[i], &c.ws, m.Config.NEmbd
	h := ws.h[:N*C]
	kernels.RMSNorm(h, ws.x[:N*C], N, C)
	l.FC.MatMul(ws.fc, h, N)
	kernels.ReLUSquared(ws.fc[:N*4*C])
	l.MLPProj.MatMul(h, ws.fc, N)
	kernels.Axpy(1, h, ws.x[:N*C])
}

// logits computes softcap(crop(lm_head(norm(x)))) for every position or for
// each chunk's last one.
func (m *Model) logits(c *Cache, st *step, out []float32, all bool) {
	ws, C, V, Vp := &c.ws, m.Config.NEmbd, m.Config.VocabSize, m.Arch.PaddedVocab
	rows := len(st.tokens)
	src := ws.x[:rows*C]
	if !all {
		rows = len(st.chunks)
		for j := range st.chunks {
			last := st.off[j+1] - 1
			copy(ws.last[j*C:(j+1)*C], ws.x[last*C:(last+1)*C])
		}
		src = ws.last[:rows*C]
	}
	kernels.RMSNorm(ws.h[:rows*C], src, rows, C)
	if len(ws.logits) < rows*Vp {
		ws.logits = make([]float32, rows*Vp) // only a larger request allocates
	}
	m.W.LMHead.MatMul(ws.logits, ws.h, rows)
	for r := 0; r < rows; r++ {
		dst := out[r*V : (r+1)*V]
		copy(dst, ws.logits[r*Vp:r*Vp+V])
		kernels.Softcap(dst, m.Arch.Softcap)
	}
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
