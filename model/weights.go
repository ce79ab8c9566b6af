package model

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/nanochat-go/nanochat/kernels"
	"github.com/nanochat-go/nanochat/model/checkpoint"
)

// Precision selects how linear weights are held in memory.
type Precision int

const (
	// Exact keeps every tensor in its checkpoint dtype (fp32 linears stay
	// fp32): bit-for-bit nanochat-on-CPU numerics.
	Exact Precision = iota
	// BF16 rounds fp32 linear weights to bf16 (round-to-nearest-even) and
	// every linear's input activations too (kernels.MatMulBF16Fast: bf16
	// products summed in fp32), as nanochat's bf16 autocast does on CUDA;
	// half the memory traffic per decoded token, and the bf16 dot-product
	// GEMM where the CPU has AVX512_BF16.
	BF16
	// Int8 quantizes the linear weights (lm_head included) at load to int8
	// with one symmetric fp32 scale per kernels.QGroup weights of a row
	// (1.06 bytes per weight; a matrix whose rows are not a multiple of
	// QGroup stays bf16); activations stay fp32 (a decode step's GEMV
	// quantizes them to int16 per QGroup values, error ≤ 2⁻¹⁶ of the
	// group's largest) and the KV cache bf16. CPU only.
	Int8
)

// NumericsVersion is the revision of the forward pass's arithmetic: it is
// bumped whenever the logits of some precision may change (2: the int8
// precision and attention reading the bf16 cache in place; 3: bf16
// activations at every linear's input under BF16, int16 activations in
// Int8's GEMV), so that results cached under it (eval scores) are not
// reused across the change.
const NumericsVersion = 3

func (p Precision) String() string {
	switch p {
	case BF16:
		return "bf16"
	case Int8:
		return "int8"
	}
	return "exact"
}

// ParsePrecision reads a precision name: bf16, int8, or exact (also fp32,
// f32).
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "bf16":
		return BF16, nil
	case "int8":
		return Int8, nil
	case "exact", "fp32", "f32":
		return Exact, nil
	}
	return Exact, fmt.Errorf("precision %q: want bf16, int8 or exact", s)
}

// Matrix is a [Rows][Cols] weight in fp32, bf16 or int8.
type Matrix struct {
	Rows, Cols int
	F32        []float32 // set when stored fp32
	BF16       []uint16  // set when stored bf16
	// Q8 and Scales are set when stored int8 (kernels.QuantizeQ8): weight
	// i is Scales[i/kernels.QGroup]·Q8[i].
	Q8     []int8
	Scales []float32
	// RoundX rounds the input activations to bf16 as well (BF16 weights
	// only): kernels.MatMulBF16Fast instead of kernels.MatMulBF16.
	RoundX bool
}

// Bytes is the memory the weight occupies.
func (m *Matrix) Bytes() int64 {
	if m.Q8 != nil {
		return int64(len(m.Q8)) + 4*int64(len(m.Scales))
	}
	if m.BF16 != nil {
		return int64(len(m.BF16)) * 2
	}
	return int64(len(m.F32)) * 4
}

// MatMul computes y[t][o] = Σ_i x[t][i]·W[o][i] for T rows of x.
func (m *Matrix) MatMul(y, x []float32, T int) {
	if m.Q8 != nil {
		kernels.MatMulQ8(y[:T*m.Rows], x[:T*m.Cols], m.Q8, m.Scales, T, m.Cols, m.Rows)
		return
	}
	if m.BF16 != nil && m.RoundX {
		kernels.MatMulBF16Fast(y[:T*m.Rows], x[:T*m.Cols], m.BF16, T, m.Cols, m.Rows)
		return
	}
	if m.BF16 != nil {
		kernels.MatMulBF16(y[:T*m.Rows], x[:T*m.Cols], m.BF16, T, m.Cols, m.Rows)
		return
	}
	kernels.MatMul(y[:T*m.Rows], x[:T*m.Cols], m.F32, T, m.Cols, m.Rows)
}

// Row widens row r into dst (exact for every dtype).
func (m *Matrix) Row(dst []float32, r int) {
	if m.Q8 != nil {
		g := m.Cols / kernels.QGroup
		kernels.DequantizeQ8(dst[:m.Cols], m.Q8[r*m.Cols:(r+1)*m.Cols], m.Scales[r*g:(r+1)*g])
		return
	}
	if m.BF16 != nil {
		kernels.WidenBF16(dst[:m.Cols], m.BF16[r*m.Cols:(r+1)*m.Cols])
		return
	}
	copy(dst[:m.Cols], m.F32[r*m.Cols:(r+1)*m.Cols])
}

// Layer holds one transformer block's weights.
type Layer struct {
	CQ, CK, CV, CProj Matrix // attention: [H·hd, C], [KV·hd, C], [KV·hd, C], [C, C]
	FC, MLPProj       Matrix // MLP: [4C, C], [C, 4C]
	VEGate            *Matrix
	VE                *Matrix // value embedding [Vp, KV·hd] for VE layers
}

// Weights is every parameter of a nanochat GPT.
type Weights struct {
	WTE    Matrix // [Vp, C]
	LMHead Matrix // [Vp, C]
	Layers []Layer

	ResidLambdas, X0Lambdas []float32 // [L]
	SmearGate               []float32 // [24]
	SmearLambda             float32
	BackoutLambda           float32
	BigramLambdas           []float32 // [L]
	Bigram                  *Matrix   // [5V, C]
}

// tensorSet wraps a checkpoint's tensors with _orig_mod. stripped and tracks
// which were used so unexpected keys are reported (load_state_dict strict=True).
type tensorSet struct {
	path string
	m    map[string]*checkpoint.Tensor
	used map[string]bool
	// copy makes every weight kept a copy, never a view of the mapped file.
	copy bool
}

func newTensorSet(f *checkpoint.File) (*tensorSet, error) {
	ts := &tensorSet{path: f.Path, m: map[string]*checkpoint.Tensor{}, used: map[string]bool{}}
	for _, t := range f.Tensors {
		name := strings.TrimPrefix(t.Name, "_orig_mod.")
		if _, dup := ts.m[name]; dup {
			return nil, fmt.Errorf("tensor %q appears twice (with and without _orig_mod. prefix)", name)
		}
		ts.m[name] = t
	}
	return ts, nil
}

func (ts *tensorSet) shapes() Shapes {
	s := Shapes{}
	for k, t := range ts.m {
		s[k] = t.Shape
	}
	return s
}

func (ts *tensorSet) get(name string, shape ...int) (*checkpoint.Tensor, error) {
	t, ok := ts.m[name]
	if !ok {
		return nil, fmt.Errorf("tensor %q: missing", name)
	}
	ts.used[name] = true
	if !equalShape(t.Shape, shape) {
		return nil, fmt.Errorf("tensor %q: want shape %v, got %v", name, shape, t.Shape)
	}
	return t, nil
}

func (ts *tensorSet) unused() []string {
	var extra []string
	for k := range ts.m {
		if !ts.used[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return extra
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// matrix loads a 2-D weight. Floating tensors that are contiguous and of the
// wanted dtype are viewed in place (zero copy over the mapped file) unless
// ts.copy is set; conversions always make new slices.
func (ts *tensorSet) matrix(name string, rows, cols int, prec Precision) (Matrix, error) {
	t, err := ts.get(name, rows, cols)
	if err != nil {
		return Matrix{}, err
	}
	m := Matrix{Rows: rows, Cols: cols}
	switch t.DType {
	case checkpoint.BF16:
		var view bool
		if m.BF16, view, err = bf16View(t); view && ts.copy && prec != Int8 {
			m.BF16 = slices.Clone(m.BF16)
		}
	case checkpoint.F32:
		var f []float32
		var view bool
		f, view, err = f32View(t)
		switch {
		case err != nil:
		case prec == Int8:
			m.F32 = f // quantized below
		case prec == BF16:
			m.BF16 = make([]uint16, len(f))
			kernels.RoundBF16(m.BF16, f)
		case view && ts.copy:
			m.F32 = slices.Clone(f)
		default:
			m.F32 = f
		}
	case checkpoint.F16, checkpoint.F64:
		m.F32, err = t.Float32()
		if err == nil && prec == BF16 {
			m.BF16 = make([]uint16, len(m.F32))
			kernels.RoundBF16(m.BF16, m.F32)
			m.F32 = nil
		}
	default:
		return m, fmt.Errorf("tensor %q: dtype %s, want a floating type", name, t.DType)
	}
	if err == nil && prec == Int8 {
		err = m.quantize()
	}
	m.RoundX = prec == BF16 && m.BF16 != nil
	if err != nil {
		return m, fmt.Errorf("tensor %q: %w", name, err)
	}
	return m, nil
}

// quantize converts an fp32 or bf16 matrix to int8 (kernels.QuantizeQ8),
// or to bf16 when its rows are not a multiple of kernels.QGroup. The
// result never shares memory with the matrix it came from.
func (m *Matrix) quantize() error {
	if m.Cols%kernels.QGroup != 0 {
		if m.F32 != nil {
			m.BF16 = make([]uint16, len(m.F32))
			kernels.RoundBF16(m.BF16, m.F32)
			m.F32 = nil
		} else {
			m.BF16 = slices.Clone(m.BF16)
		}
		return nil
	}
	f := m.F32
	if f == nil {
		f = make([]float32, len(m.BF16))
		kernels.WidenBF16(f, m.BF16)
	}
	m.Q8, m.Scales = make([]int8, len(f)), make([]float32, len(f)/kernels.QGroup)
	m.F32, m.BF16 = nil, nil
	if err := kernels.QuantizeQ8(m.Q8, m.Scales, f); err != nil {
		return fmt.Errorf("quantize to int8: %w", err)
	}
	return nil
}

func (ts *tensorSet) vector(name string, n int) ([]float32, error) {
	return ts.vectorOf(name, []int{n})
}

// f32View returns the elements of an f32 tensor: a view of the file's
// bytes (view is true) when the tensor is contiguous and aligned, else a
// new slice.
func f32View(t *checkpoint.Tensor) (f []float32, view bool, err error) {
	if !t.Contiguous() {
		f, err = t.Float32()
		return f, false, err
	}
	b, err := t.Bytes()
	if err != nil || len(b) == 0 {
		return nil, false, err
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		f, err = t.Float32()
		return f, false, err
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), true, nil
}

// bf16View is f32View for bf16 tensors.
func bf16View(t *checkpoint.Tensor) (u []uint16, view bool, err error) {
	if !t.Contiguous() {
		u, err = t.BF16Bits()
		return u, false, err
	}
	b, err := t.Bytes()
	if err != nil || len(b) == 0 {
		return nil, false, err
	}
	if uintptr(unsafe.Pointer(&b[0]))%2 != 0 {
		u, err = t.BF16Bits()
		return u, false, err
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2), true, nil
}

// loadWeights reads every tensor the architecture needs and rejects extras.
func loadWeights(ts *tensorSet, cfg Config, a Arch, prec Precision) (*Weights, error) {
	C, L, kv, hd := cfg.NEmbd, cfg.NLayer, cfg.KVDim(), cfg.HeadDim()
	Vp := a.PaddedVocab
	w := &Weights{Layers: make([]Layer, L)}
	var err error
	if w.WTE, err = ts.matrix("transformer.wte.weight", Vp, C, Exact); err != nil {
		return nil, err
	}
	if w.LMHead, err = ts.matrix("lm_head.weight", Vp, C, prec); err != nil {
		return nil, err
	}
	if a.Lambdas {
		if w.ResidLambdas, err = ts.vector("resid_lambdas", L); err != nil {
			return nil, err
		}
		if w.X0Lambdas, err = ts.vector("x0_lambdas", L); err != nil {
			return nil, err
		}
	} else {
		w.ResidLambdas, w.X0Lambdas = make([]float32, L), make([]float32, L)
		for i := range w.ResidLambdas {
			w.ResidLambdas[i] = 1
		}
	}
	if a.Smear {
		if w.SmearGate, err = ts.vectorOf("smear_gate.weight", []int{1, 24}); err != nil {
			return nil, err
		}
		s, err := ts.vector("smear_lambda", 1)
		if err != nil {
			return nil, err
		}
		b, err := ts.vector("backout_lambda", 1)
		if err != nil {
			return nil, err
		}
		w.SmearLambda, w.BackoutLambda = s[0], b[0]
	}
	if a.Bigram {
		if w.BigramLambdas, err = ts.vector("bigram_lambdas", L); err != nil {
			return nil, err
		}
		m, err := ts.matrix("bigram_embed.embed.weight", 5*cfg.VocabSize, C, Exact)
		if err != nil {
			return nil, err
		}
		w.Bigram = &m
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		p := fmt.Sprintf("transformer.h.%d.", i)
		for _, spec := range []struct {
			dst        *Matrix
			name       string
			rows, cols int
		}{
			{&l.CQ, "attn.c_q.weight", cfg.NHead * hd, C},
			{&l.CK, "attn.c_k.weight", kv, C},
			{&l.CV, "attn.c_v.weight", kv, C},
			{&l.CProj, "attn.c_proj.weight", C, C},
			{&l.FC, "mlp.c_fc.weight", 4 * C, C},
			{&l.MLPProj, "mlp.c_proj.weight", C, 4 * C},
		} {
			if *spec.dst, err = ts.matrix(p+spec.name, spec.rows, spec.cols, prec); err != nil {
				return nil, err
			}
		}
		if a.VEGateCh > 0 && HasVE(i, L) {
			g, err := ts.matrix(p+"attn.ve_gate.weight", cfg.NKVHead, a.VEGateCh, Exact)
			if err != nil {
				return nil, err
			}
			ve, err := ts.matrix(fmt.Sprintf("value_embeds.%d.weight", i), Vp, kv, Exact)
			if err != nil {
				return nil, err
			}
			l.VEGate, l.VE = &g, &ve
		}
	}
	if extra := ts.unused(); len(extra) > 0 {
		if len(extra) > 5 {
			extra = append(extra[:5], fmt.Sprintf("… (%d more)", len(extra)-5))
		}
		return nil, fmt.Errorf("unexpected tensors for generation %s: %s", a.Generation, strings.Join(extra, ", "))
	}
	return w, nil
}

func (ts *tensorSet) vectorOf(name string, shape []int) ([]float32, error) {
	t, err := ts.get(name, shape...)
	if err != nil {
		return nil, err
	}
	v, err := t.Float32()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return v, nil
}

// HasVE reports whether layer i of an L-layer model has a value embedding
// (nanochat: i % 2 == (L-1) % 2, so the last layer always has one).
func HasVE(i, L int) bool { return i%2 == (L-1)%2 }
