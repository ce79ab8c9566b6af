package model

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/nanochat-go/nanochat/kernels"
	"github.com/nanochat-go/nanochat/model/checkpoint"
	"github.com/nanochat-go/nanochat/model/homefs"
)

// Model is a loaded nanochat GPT ready for Forward. It is safe for
// concurrent use by several Caches.
type Model struct {
	Path   string
	Config Config
	Arch   Arch
	Meta   *Meta
	W      *Weights
	Prec   Precision
	Params int64 // parameter count (nanochat's numel sum)

	file     *checkpoint.File
	cos, sin []float32 // [ropeLen][hd/2]
	ropeLen  int
}

// Options control Load.
type Options struct {
	// Precision of linear weights in memory (Exact keeps checkpoint dtypes).
	Precision Precision
	// Overrides replace math the file cannot tell (applied after any
	// override file next to the checkpoint).
	Overrides Overrides
	// Mmap keeps the weights that need no conversion in the memory-mapped
	// checkpoint instead of copying them into memory the model owns: Load
	// is faster and the pages are shared with the page cache and other
	// processes, but the file must not change in place while the model is
	// in use. Truncating it then kills the process with SIGBUS (the
	// kernels read the weights on a worker pool, where no fault can be
	// caught) and overwriting it silently changes the weights. Replacing
	// the file (rename, delete, re-save under the same name) is safe either
	// way.
	Mmap bool
}

var stepRe = regexp.MustCompile(`model_(\d+)\.pt$`)

// MetaPath returns meta_<step>.json beside model_<step>.pt.
func MetaPath(modelPath string) (string, error) {
	m := stepRe.FindStringSubmatch(filepath.Base(modelPath))
	if m == nil {
		return "", fmt.Errorf("checkpoint %q: file name is not model_<step>.pt", modelPath)
	}
	return filepath.Join(filepath.Dir(modelPath), "meta_"+m[1]+".json"), nil
}

// OverrideFiles lists the override files Load consults for a checkpoint, in
// increasing priority: <dir>/override.json then <dir>/override_<step>.json.
func OverrideFiles(modelPath string) []string {
	dir := filepath.Dir(modelPath)
	files := []string{filepath.Join(dir, "override.json")}
	if m := stepRe.FindStringSubmatch(filepath.Base(modelPath)); m != nil {
		files = append(files, filepath.Join(dir, "override_"+m[1]+".json"))
	}
	return files
}

// ReadOverrideFiles merges the override files that exist for a checkpoint.
func ReadOverrideFiles(modelPath string) (Overrides, []string, error) {
	var ov Overrides
	var used []string
	for _, p := range OverrideFiles(modelPath) {
		data, err := homefs.ReadFile(p, MaxJSONBytes)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return ov, nil, fmt.Errorf("read override file: %w", err)
		}
		var o Overrides
		if err := jsonStrict(LenientJSON(data), &o); err != nil {
			return ov, nil, fmt.Errorf("override file %q: %w (keys: softcap, window_pattern, rope_base, qk_scale, rope_bf16)", p, err)
		}
		ov = ov.Merge(o)
		used = append(used, p)
	}
	return ov, used, nil
}

// Load reads model_<step>.pt with its meta_<step>.json (or a Hugging Face
// NanoChat directory: see hf.go) and builds the model. Override precedence: file < opts.Overrides.
//
// The file is memory-mapped while it is read. Unless opts.Mmap is set,
// every weight is copied (or converted) into memory the model owns and the
// file is unmapped before Load returns, so that editing the checkpoint on
// disk afterwards, even in place, cannot affect the model; a file that
// changes while Load reads it is an error wrapping checkpoint.ErrChanged.
// The cost is resident memory for the weights that needed no conversion
// (with the default bf16 precision: the bf16 tensors and the embeddings;
// with Exact: the whole file) instead of shared, evictable page cache.
func Load(modelPath string, opts Options) (*Model, error) {
	f, meta, ov, _, err := open(modelPath, opts.Overrides)
	if err != nil {
		return nil, err
	}
	var m *Model
	err = f.Guard(func() (err error) {
		m, err = build(f, meta, ov, opts)
		return err
	})
	if err == nil && !opts.Mmap {
		// Nothing points into the mapping any more.
		m.file = nil
		err = f.Close()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("load checkpoint %q: %w", modelPath, err)
	}
	m.Path = modelPath
	return m, nil
}

// open reads a checkpoint's meta and override files and maps its file. The
// overrides returned are the files' merged with ov (ov wins); used lists
// the override files found.
func open(modelPath string, ov Overrides) (f *checkpoint.File, meta *Meta, merged Overrides, used []string, err error) {
	if IsHFDir(modelPath) {
		return openHF(modelPath, ov)
	}
	metaPath, err := MetaPath(modelPath)
	if err != nil {
		return nil, nil, ov, nil, err
	}
	if meta, err = ReadMeta(metaPath); err != nil {
		return nil, nil, ov, nil, err
	}
	fileOv, used, err := ReadOverrideFiles(modelPath)
	if err != nil {
		return nil, nil, ov, nil, err
	}
	if f, err = checkpoint.Open(modelPath); err != nil {
		return nil, nil, ov, nil, err
	}
	return f, meta, fileOv.Merge(ov), used, nil
}

// build reads the weights of f; with opts.Mmap unset every weight is a
// copy, so f may be closed afterwards. It reads the mapping on the calling
// goroutine only (see checkpoint.File.Guard).
func build(f *checkpoint.File, meta *Meta, ov Overrides, opts Options) (*Model, error) {
	cfg, prec := *meta.ModelConfig, opts.Precision
	ts, err := newTensorSet(f)
	if err != nil {
		return nil, err
	}
	ts.copy = !opts.Mmap
	shapes := ts.shapes()
	if err := CheckShapes(cfg, shapes); err != nil {
		return nil, fmt.Errorf("meta %q: %w", meta.Path, err)
	}
	arch, err := Detect(cfg, shapes, meta.UserConfig, ov)
	if err != nil {
		return nil, err
	}
	w, err := loadWeights(ts, cfg, arch, prec)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Arch: arch, Meta: meta, W: w, Prec: prec, file: f}
	for _, t := range f.Tensors {
		m.Params += int64(t.NumEl())
	}
	if !arch.Lambdas {
		m.Params += 2 * int64(cfg.NLayer) // nanochat patches them in
	}
	m.buildRoPE()
	return m, nil
}

// Close releases the mapped checkpoint file of a model loaded with
// Options.Mmap (other models hold no file). The model must not be used
// after.
func (m *Model) Close() error {
	if m.file == nil {
		return nil
	}
	err := m.file.Close()
	m.file = nil
	return err
}

// Step is the checkpoint's training step (from the meta, else the file name).
func (m *Model) Step() int {
	if m.Meta != nil && m.Meta.Step != nil {
		return *m.Meta.Step
	}
	if s := stepRe.FindStringSubmatch(filepath.Base(m.Path)); s != nil {
		n, _ := strconv.Atoi(s[1])
		return n
	}
	return 0
}

// MaxPositions is the length of the RoPE table (nanochat: 10·sequence_len);
// a cache may not grow beyond it.
func (m *Model) MaxPositions() int { return m.ropeLen }

// WeightBytes is the memory the weights read per decoded token occupy
// (all matrices; embeddings read one row per token and are excluded).
func (m *Model) WeightBytes() int64 {
	var n int64
	n += m.W.LMHead.Bytes()
	for _, l := range m.W.Layers {
		n += l.CQ.Bytes() + l.CK.Bytes() + l.CV.Bytes() + l.CProj.Bytes() + l.FC.Bytes() + l.MLPProj.Bytes()
	}
	return n
}

// MatmulParams counts the weights of every Linear (nanochat's
// num_matmul_params: includes the padded lm_head and the gates).
func (m *Model) MatmulParams() int64 {
	C := int64(m.Config.NEmbd)
	n := int64(m.Arch.PaddedVocab) * C
	for _, l := range m.W.Layers {
		n += int64(l.CQ.Rows*l.CQ.Cols + l.CK.Rows*l.CK.Cols + l.CV.Rows*l.CV.Cols + l.CProj.Rows*l.CProj.Cols)
		n += int64(l.FC.Rows*l.FC.Cols + l.MLPProj.Rows*l.MLPProj.Cols)
		if l.VEGate != nil {
			n += int64(l.VEGate.Rows * l.VEGate.Cols)
		}
	}
	if m.Arch.Smear {
		n += 24
	}
	return n
}

// buildRoPE precomputes cos/sin like nanochat: inv_freq and the outer
// product in fp32, then (before March 2026) rounded to bf16.
func (m *Model) buildRoPE() {
	hd := m.Config.HeadDim()
	half := hd / 2
	m.ropeLen = 10 * m.Config.SequenceLen
	invFreq := make([]float32, half)
	for j := range invFreq {
		e := float32(2*j) / float32(hd)
		invFreq[j] = 1 / float32(math.Pow(m.Arch.RoPEBase, float64(e)))
	}
	m.cos = make([]float32, m.ropeLen*half)
	m.sin = make([]float32, m.ropeLen*half)
	for t := 0; t < m.ropeLen; t++ {
		for j := 0; j < half; j++ {
			f := float32(t) * invFreq[j]
			c, s := float32(math.Cos(float64(f))), float32(math.Sin(float64(f)))
			if m.Arch.RoPEBF16 {
				c, s = kernels.BF16ToF32(kernels.F32ToBF16(c)), kernels.BF16ToF32(kernels.F32ToBF16(s))
			}
			m.cos[t*half+j], m.sin[t*half+j] = c, s
		}
	}
}
