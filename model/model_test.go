package model

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadGolden loads the checkpoint of the named golden variant of the
// testdata home (these tests depend on its particular checkpoints, so they
// ignore NANOCHAT_GOLDEN_DIR).
func loadGolden(t *testing.T, variant string, prec Precision) (*Model, goldenCase) {
	t.Helper()
	dir, goldens := goldensIn(t, testdataHome)
	for _, g := range goldens {
		if g.Variant == variant {
			m, err := Load(g.Path(dir), Options{Precision: prec, Overrides: overridesOf(t, g)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			return m, g
		}
	}
	t.Fatalf("golden %s not in %s", variant, dir)
	return nil, goldenCase{}
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// Feeding a sequence in chunks (prefill continuation, decode steps) must
// compute what one full forward computes, for every generation with state
// that crosses chunk boundaries (smear, bigram, windows).
func TestChunkedForwardEqualsFull(t *testing.T) {
	for _, tc := range []struct {
		variant string
		prec    Precision
	}{{"e_head", Exact}, {"a4b_engram", Exact}, {"d_mar9", Exact}, {"a0_oct2025", Exact}, {"e_head", BF16}} {
		variant := tc.variant
		t.Run(variant+"/"+tc.prec.String(), func(t *testing.T) {
			m, g := loadGolden(t, variant, tc.prec)
			toks := g.Tokens[:min(300, len(g.Tokens))]
			V := m.Config.VocabSize
			want := allLogits(t, m, toks)
			c, _ := m.NewCache(1, len(toks))
			got := make([]float32, V)
			// Exact: the same sums whatever the chunk. bf16 rounds every
			// linear's input, and chunks of 2..8 tokens may run the
			// four-row GEMV rather than the GEMM (another summation
			// order), so a rounding can flip and spread: its chunks are
			// held to the bf16 precision bound against exact numerics
			// instead (a chunking bug, such as a wrong position, is far
			// outside it).
			tol, worst := 1e-4, 0.0
			if tc.prec == BF16 {
				tol = precisionBound[BF16]
				ref, _ := loadGolden(t, variant, Exact)
				want = allLogits(t, ref, toks)
			}
			defer func() { t.Logf("worst |Δlogit| %.3g", worst) }()
			for pos, n := 0, 1; pos < len(toks); pos, n = pos+n, n%37+2 {
				n = min(n, len(toks)-pos)
				if n == 1 && (m.Arch.DecodeBigramReset || m.Arch.DecodeNoWindow) {
					n = min(2, len(toks)-pos) // T=1 reproduces an upstream decode quirk
				}
				if err := m.Forward(c, []Chunk{{0, toks[pos : pos+n]}}, got, false); err != nil {
					t.Fatal(err)
				}
				last := pos + n - 1
				if d := maxDiff(got, want[last*V:(last+1)*V]); d > tol {
					t.Fatalf("chunk ending at %d: logits differ by %.3g from the full forward (tolerance %g)", last, d, tol)
				} else {
					worst = max(worst, d)
				}
			}
		})
	}
}

// Rows of one forward are independent, whatever their positions and chunk
// lengths: each equals the same row fed alone.
func TestMixedChunksIndependent(t *testing.T) {
	for _, variant := range []string{"e_head", "a4b_engram", "d_mar9"} {
		t.Run(variant, func(t *testing.T) {
			m, g := loadGolden(t, variant, Exact)
			V := m.Config.VocabSize
			// Row r already holds pre[r] tokens, then gets a chunk of n[r].
			pre, n := []int{0, 37, 5, 80}, []int{50, 1, 13, 1}
			seq := func(r int) []int { return g.Tokens[r*60 : r*60+pre[r]+n[r]] }
			c, _ := m.NewCache(4, 200)
			scratch := make([]float32, V)
			var chunks []Chunk
			for r := range pre {
				if pre[r] > 0 {
					if err := m.Forward(c, []Chunk{{r, seq(r)[:pre[r]]}}, scratch, false); err != nil {
						t.Fatal(err)
					}
				}
				chunks = append(chunks, Chunk{r, seq(r)[pre[r]:]})
			}
			// Feed in a shuffled row order to catch row/chunk mix-ups.
			chunks[0], chunks[3] = chunks[3], chunks[0]
			got := make([]float32, len(chunks)*V)
			if err := m.Forward(c, chunks, got, false); err != nil {
				t.Fatal(err)
			}
			for j, ch := range chunks {
				r := ch.Row
				one, _ := m.NewCache(1, 200)
				want := make([]float32, V)
				if pre[r] > 0 {
					m.Forward(one, []Chunk{{0, seq(r)[:pre[r]]}}, want, false)
				}
				m.Forward(one, []Chunk{{0, seq(r)[pre[r]:]}}, want, false)
				if d := maxDiff(got[j*V:(j+1)*V], want); d > 1e-4 {
					t.Errorf("row %d (chunk %d) differs from its lone run by %.3g", r, j, d)
				}
				if c.RowLen(r) != pre[r]+n[r] {
					t.Errorf("row %d length %d, want %d", r, c.RowLen(r), pre[r]+n[r])
				}
			}
		})
	}
}

// bf16 weights change numbers slightly but must keep the argmax where the
// exact margin is clear.
func TestBF16PrecisionCloseToExact(t *testing.T) {
	ex, g := loadGolden(t, "e_head", Exact)
	bf, _ := loadGolden(t, "e_head", BF16)
	a, b := allLogits(t, ex, g.Tokens[:128]), allLogits(t, bf, g.Tokens[:128])
	if d := maxDiff(a, b); d > 0.1 || d == 0 {
		t.Fatalf("bf16 vs exact logits differ by %.3g, want (0, 0.1]", d)
	}
	if bf.WeightBytes()*2 > ex.WeightBytes()+16 {
		t.Fatalf("bf16 weights %d bytes, exact %d: want half", bf.WeightBytes(), ex.WeightBytes())
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	m, _ := loadGolden(t, "e_head", Exact)
	c, _ := m.NewCache(1, 4)
	logits := make([]float32, 4*m.Config.VocabSize)
	for name, f := range map[string]func() error{
		"token out of vocab": func() error { return m.Forward(c, []Chunk{{0, []int{1, 2000}}}, logits, false) },
		"negative token":     func() error { return m.Forward(c, []Chunk{{0, []int{-1}}}, logits, false) },
		"cache overflow":     func() error { return m.Forward(c, []Chunk{{0, []int{1, 2, 3, 4, 5}}}, logits, false) },
		"short logits":       func() error { return m.Forward(c, []Chunk{{0, []int{1, 2}}}, logits[:10], true) },
		"empty chunk":        func() error { return m.Forward(c, []Chunk{{0, nil}}, logits, false) },
		"no chunks":          func() error { return m.Forward(c, nil, logits, false) },
		"row out of range":   func() error { return m.Forward(c, []Chunk{{1, []int{1}}}, logits, false) },
		"repeated row":       func() error { return m.Forward(c, []Chunk{{0, []int{1}}, {0, []int{2}}}, logits, false) },
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if c.RowLen(0) != 0 {
		t.Fatalf("failed forwards moved the cache to %d", c.RowLen(0))
	}
	if _, err := m.NewCache(1, 10*m.Config.SequenceLen+1); err == nil {
		t.Error("cache longer than the RoPE table: no error")
	}
}

// copyHome copies one checkpoint of the golden home into a temp dir, with
// the meta rewritten by edit.
func copyCheckpoint(t *testing.T, variant string, edit func(meta string) string) string {
	t.Helper()
	dir, goldens := goldensIn(t, testdataHome)
	for _, g := range goldens {
		if g.Variant != variant {
			continue
		}
		src := g.Path(dir)
		dst := filepath.Join(t.TempDir(), filepath.Base(src))
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(dst, data, 0o644)
		srcMeta, _ := MetaPath(src)
		dstMeta, _ := MetaPath(dst)
		meta, _ := os.ReadFile(srcMeta)
		os.WriteFile(dstMeta, []byte(edit(string(meta))), 0o644)
		return dst
	}
	t.Fatalf("golden %s not in %s", variant, dir)
	return ""
}

func TestLoadErrorsNameTheProblem(t *testing.T) {
	cases := []struct {
		name, variant string
		edit          func(string) string
		want          string
	}{
		{"missing layer", "a0_oct2025", func(s string) string { return strings.Replace(s, `"n_layer": 3`, `"n_layer": 4`, 1) }, "n_layer = 4, but the checkpoint has 3 blocks"},
		{"extra layer", "a0_oct2025", func(s string) string { return strings.Replace(s, `"n_layer": 3`, `"n_layer": 2`, 1) }, "n_layer = 2, but the checkpoint has 3 blocks"},
		{"lambdas", "e_head", func(s string) string { return strings.Replace(s, `"n_layer": 6`, `"n_layer": 7`, 1) }, "n_layer = 7, but the checkpoint has 6 blocks"},
		{"shape", "a0_oct2025", func(s string) string { return strings.Replace(s, `"n_head": 4`, `"n_head": 2`, 1) }, ""},
		{"kv heads", "e_head", func(s string) string { return strings.Replace(s, `"n_kv_head": 2`, `"n_kv_head": 4`, 1) }, `tensor "transformer.h.0.attn.c_k.weight": want shape [64 64], got [32 64]`},
		{"vocab", "e_head", func(s string) string { return strings.Replace(s, `"vocab_size": 2000`, `"vocab_size": 1000`, 1) }, "transformer.wte.weight"},
		{"bad json", "e_head", func(s string) string { return s[:len(s)/2] }, "invalid JSON"},
		{"no config", "e_head", func(s string) string { return `{"step": 1}` }, `missing field "model_config"`},
		{"bad window", "e_head", func(s string) string { return strings.Replace(s, `"SSSL"`, `"SSXL"`, 1) }, "window_pattern"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := copyCheckpoint(t, tc.variant, tc.edit)
			_, err := Load(p, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestMetaLenientAndOverrides(t *testing.T) {
	m, err := ParseMeta([]byte(`{"val_bpb": NaN, "loop": {"x": -Infinity, "s": "NaN inside"}, "model_config": {"sequence_len": 64, "vocab_size": 10, "n_layer": 1, "n_head": 1, "n_kv_head": 1, "n_embd": 8}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Step != nil || m.ModelConfig.NEmbd != 8 {
		t.Fatalf("got %+v", m)
	}
	ov, err := ParseOverrides("softcap=20, window=sssl,rope-base=1e5,qk-scale=1.2,rope-bf16=false")
	if err != nil || *ov.Softcap != 20 || *ov.WindowPattern != "SSSL" || *ov.RoPEBase != 1e5 || *ov.QKScale != 1.2 || *ov.RoPEBF16 {
		t.Fatalf("overrides %+v, %v", ov, err)
	}
	for _, bad := range []string{"softcap", "softcap=-1", "colour=red", "rope-bf16=maybe"} {
		if _, err := ParseOverrides(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// An override file next to the checkpoint is applied and reported.
	p := copyCheckpoint(t, "c_feb2026", func(s string) string { return s })
	os.WriteFile(filepath.Join(filepath.Dir(p), "override.json"), []byte(`{"softcap": 20}`), 0o644)
	mm, err := Load(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mm.Close()
	if mm.Arch.Softcap != 20 || mm.Arch.Generation != "A5" || len(mm.Arch.Overridden) != 1 {
		t.Fatalf("override file: softcap %v generation %s overridden %v", mm.Arch.Softcap, mm.Arch.Generation, mm.Arch.Overridden)
	}
	os.WriteFile(filepath.Join(filepath.Dir(p), "override.json"), []byte(`{"softcapp": 20}`), 0o644)
	if _, err := Load(p, Options{}); err == nil || !strings.Contains(err.Error(), "override.json") {
		t.Fatalf("bad override file: %v", err)
	}
}

func TestWindows(t *testing.T) {
	for _, tc := range []struct {
		seq, L  int
		pattern string
		div     int
		want    []int
	}{
		{2048, 4, "SSSL", 4, []int{512, 512, 512, 2048}},
		{2048, 4, "SSSL", 3, []int{768, 768, 768, 2048}},
		{2048, 3, "SSSL", 2, []int{1024, 1024, 2048}},
		{256, 4, "SSSL", 4, []int{128, 128, 128, 256}},
		{64, 4, "SSSL", 4, []int{128, 128, 128, 64}},
		{1024, 5, "SL", 4, []int{256, 1024, 256, 1024, 1024}},
	} {
		got := Windows(tc.seq, tc.L, tc.pattern, tc.div)
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Windows(%d, %d, %s, %d) = %v, want %v", tc.seq, tc.L, tc.pattern, tc.div, got, tc.want)
				break
			}
		}
	}
}

func TestRandomShapes(t *testing.T) {
	cfg, gen, err := Shape("d20")
	if err != nil || gen != "A0" || cfg.NEmbd != 1280 || cfg.NHead != 10 || cfg.VocabSize != 65536 {
		t.Fatalf("d20: %+v %s %v", cfg, gen, err)
	}
	cfg, gen, err = Shape("d4-a7")
	if err != nil || gen != "A7" || cfg.NEmbd != 256 || cfg.NHead != 2 {
		t.Fatalf("d4-a7: %+v %s %v", cfg, gen, err)
	}
	cfg.VocabSize = 512
	m, err := NewRandom(cfg, gen, BF16, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := m.NewCache(1, 8)
	logits := make([]float32, cfg.VocabSize)
	if err := m.Forward(c, []Chunk{{0, []int{1, 2, 3}}}, logits, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Shape("x20"); err == nil {
		t.Error("bad shape: no error")
	}
}

// Rows copied from other caches advance together at different positions
// (continuous batching), idle rows untouched, each equal to its own decode.
func TestForwardRowsAtDifferentPositions(t *testing.T) {
	m, g := loadGolden(t, "e_head", Exact)
	V := m.Config.VocabSize
	big, _ := m.NewCache(3, 64)
	lens := []int{5, 17, 9}
	singles := make([]*Cache, 3)
	logits := make([]float32, 3*V)
	for r, n := range lens {
		one, _ := m.NewCache(1, 64)
		m.Forward(one, []Chunk{{0, g.Tokens[r*20 : r*20+n]}}, logits[:V], false)
		if err := big.CopyRow(r, one, 0); err != nil {
			t.Fatal(err)
		}
		singles[r] = one
	}
	rows := []int{2, 0} // row 1 idles
	toks := []int{g.Tokens[300], g.Tokens[301]}
	if err := m.Forward(big, []Chunk{{2, toks[:1]}, {0, toks[1:]}}, logits[:2*V], false); err != nil {
		t.Fatal(err)
	}
	for j, r := range rows {
		want := make([]float32, V)
		m.Forward(singles[r], []Chunk{{0, toks[j : j+1]}}, want, false)
		if d := maxDiff(logits[j*V:(j+1)*V], want); d > 1e-4 {
			t.Errorf("row %d differs from its own decode by %.3g", r, d)
		}
	}
	if big.RowLen(0) != 6 || big.RowLen(1) != 17 || big.RowLen(2) != 10 {
		t.Fatalf("row lengths %d %d %d, want 6 17 10", big.RowLen(0), big.RowLen(1), big.RowLen(2))
	}
}

// allLogits runs toks through a fresh cache and returns the logits of every
// position, [len(toks)][vocab].
func allLogits(t *testing.T, m *Model, toks []int) []float32 {
	t.Helper()
	c, err := m.NewCache(1, len(toks))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(toks)*m.Config.VocabSize)
	if err := m.Forward(c, []Chunk{{0, toks}}, out, true); err != nil {
		t.Fatal(err)
	}
	return out
}
