package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/nanochat-go/nanochat/kernels"
)

// Shape names a synthetic model for benchmarks: "d20", "d32" (the published
// Oct-2025 architecture, vocab 65536) or "d24-a7" style (HEAD architecture,
// vocab 32768, SSSL windows, value embeddings, smear).
func Shape(name string) (Config, string, error) {
	base, gen, _ := strings.Cut(strings.ToLower(name), "-")
	if !strings.HasPrefix(base, "d") {
		return Config{}, "", fmt.Errorf("shape %q: want d<depth>[-a0|-a7], e.g. d20", name)
	}
	depth, err := strconv.Atoi(base[1:])
	if err != nil || depth <= 0 || depth > 64 {
		return Config{}, "", fmt.Errorf("shape %q: depth must be 1…64", name)
	}
	c := Config{SequenceLen: 2048, NLayer: depth, NEmbd: depth * 64}
	switch gen {
	case "", "a0":
		gen = "A0"
		c.VocabSize = 65536
		c.NHead = (c.NEmbd + 127) / 128
	case "a7":
		gen = "A7"
		c.VocabSize = 32768
		c.NEmbd = (c.NEmbd + 127) / 128 * 128
		c.NHead = c.NEmbd / 128
		c.WindowPattern = "SSSL"
	default:
		return Config{}, "", fmt.Errorf("shape %q: generation %q, want a0 or a7", name, gen)
	}
	for c.NEmbd%c.NHead != 0 {
		c.NHead++
	}
	c.NKVHead = c.NHead
	return c, gen, c.Validate()
}

// NewRandom builds a model of the given config and generation ("A0" or
// "A7") with random weights (for benchmarks; no checkpoint needed).
func NewRandom(cfg Config, gen string, prec Precision, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	C, kv, L := cfg.NEmbd, cfg.KVDim(), cfg.NLayer
	Vp := (cfg.VocabSize + 63) / 64 * 64
	shapes := Shapes{"transformer.wte.weight": {Vp, C}}
	for i := range L {
		shapes[fmt.Sprintf("transformer.h.%d.attn.c_q.weight", i)] = []int{cfg.NHead * cfg.HeadDim(), C}
	}
	if gen == "A7" {
		shapes["resid_lambdas"] = []int{L}
		shapes["smear_gate.weight"] = []int{1, 24}
		shapes["transformer.h.0.attn.ve_gate.weight"] = []int{cfg.NKVHead, 12}
		if !HasVE(0, L) {
			delete(shapes, "transformer.h.0.attn.ve_gate.weight")
			shapes[fmt.Sprintf("transformer.h.%d.attn.ve_gate.weight", L-1)] = []int{cfg.NKVHead, 12}
		}
	} else if gen != "A0" {
		return nil, fmt.Errorf("random model: generation %q, want A0 or A7", gen)
	}
	arch, err := Detect(cfg, shapes, nil, Overrides{})
	if err != nil {
		return nil, err
	}
	mat := func(rows, cols int, p Precision) Matrix {
		m := Matrix{Rows: rows, Cols: cols}
		std := float32(1 / math.Sqrt(float64(cols)))
		f := make([]float32, rows*cols)
		for i := range f {
			f[i] = (rng.Float32()*2 - 1) * std * 1.7
		}
		switch p {
		case BF16:
			m.BF16 = make([]uint16, len(f))
			kernels.RoundBF16(m.BF16, f)
			m.RoundX = true
		case Int8:
			m.F32 = f
			if err := m.quantize(); err != nil {
				panic(err) // finite by construction
			}
		default:
			m.F32 = f
		}
		return m
	}
	w := &Weights{WTE: mat(Vp, C, BF16), LMHead: mat(Vp, C, prec), Layers: make([]Layer, L),
		ResidLambdas: make([]float32, L), X0Lambdas: make([]float32, L)}
	for i := range w.ResidLambdas {
		w.ResidLambdas[i], w.X0Lambdas[i] = 1, 0.1
	}
	if arch.Smear {
		w.SmearGate = make([]float32, 24)
		w.SmearLambda, w.BackoutLambda = 0.1, 0.1
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		l.CQ, l.CK, l.CV = mat(cfg.NHead*cfg.HeadDim(), C, prec), mat(kv, C, prec), mat(kv, C, prec)
		l.CProj, l.FC, l.MLPProj = mat(C, C, prec), mat(4*C, C, prec), mat(C, 4*C, prec)
		if arch.VEGateCh > 0 && HasVE(i, L) {
			g, ve := mat(cfg.NKVHead, arch.VEGateCh, Exact), mat(Vp, kv, BF16)
			l.VEGate, l.VE = &g, &ve
		}
	}
	m := &Model{Path: "random:" + gen, Config: cfg, Arch: arch, W: w, Prec: prec}
	m.Params = int64(2*Vp*C) + m.MatmulParams() - int64(Vp*C)
	for _, l := range w.Layers {
		if l.VE != nil {
			m.Params += int64(l.VE.Rows * l.VE.Cols)
		}
	}
	m.buildRoPE()
	return m, nil
}
