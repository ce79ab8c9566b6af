// Package hf writes nanochat checkpoints as Hugging Face transformers
// NanoChat directories (config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json, generation_config.json), which transformers'
// NanoChatForCausalLM, vLLM and nanochat itself (model.Load) read. Only the
// generations transformers' NanoChat can run (A0, A1) are exported.
package hf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/checkpoint"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// Provenance names the checkpoint an export came from (recorded in
// config.json under "nanochat").
type Provenance struct {
	Source, Tag string
}

// rmsEps is torch's RMSNorm epsilon for float32 (2⁻²³), which nanochat's
// parameter-free F.rms_norm uses.
const rmsEps = 1.0 / (1 << 23)

// Unsupported explains why a generation cannot be exported: what
// transformers' NanoChat lacks.
func Unsupported(a model.Arch) string {
	var lacks []string
	if a.Lambdas {
		lacks = append(lacks, "per-layer resid/x0 lambdas")
	}
	if a.VEGateCh > 0 {
		lacks = append(lacks, "value embeddings")
	}
	if a.Bigram {
		lacks = append(lacks, "the bigram (engram) embedding")
	}
	if slices.ContainsFunc(a.Windows, func(w int) bool { return w > 0 && w < math.MaxInt32 }) && strings.ContainsAny(a.Pattern, "S") {
		lacks = append(lacks, "sliding-window attention ("+a.Pattern+")")
	}
	if a.QKScale != 1 {
		lacks = append(lacks, fmt.Sprintf("the q/k scale %g after QK-norm", a.QKScale))
	}
	if a.Smear {
		lacks = append(lacks, "smear and backout")
	}
	if len(lacks) == 0 {
		return ""
	}
	return fmt.Sprintf("generation %s uses %s, which transformers' NanoChat (the Oct-2025 architecture, A0/A1) lacks", a.Generation, strings.Join(lacks, ", "))
}

// Export writes the checkpoint at modelPath (a model_<step>.pt) and its
// tokenizer as a transformers NanoChat directory in out (created if
// missing) and returns the names of the files written. A padded vocabulary
// (A1) is cropped to vocab_size rows, as nanochat crops its logits, so the
// directory's vocab_size is the tokenizer's.
func Export(modelPath string, ov model.Overrides, tok *tokenizer.Tokenizer, out string, p Provenance) ([]string, error) {
	fail := func(err error) ([]string, error) { return nil, fmt.Errorf("export %q: %w", modelPath, err) }
	s, err := model.Describe(modelPath, ov)
	if err != nil {
		return nil, err
	}
	if why := Unsupported(s.Arch); why != "" {
		return fail(fmt.Errorf("%s", why))
	}
	cfg := s.Config
	if tok.VocabSize() != cfg.VocabSize {
		return fail(fmt.Errorf("the tokenizer has %d tokens, the checkpoint's vocab_size is %d", tok.VocabSize(), cfg.VocabSize))
	}
	f, err := checkpoint.Open(modelPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := model.HFNames(cfg.NLayer)
	var tensors []checkpoint.SafetensorsTensor
	dtype := ""
	err = f.Guard(func() error {
		for _, t := range f.Tensors {
			if _, ok := names[t.Name]; !ok {
				return fmt.Errorf("tensor %q has no place in transformers' NanoChat", t.Name)
			}
		}
		order := []string{"transformer.wte.weight"}
		for i := range cfg.NLayer {
			for _, n := range []string{"attn.c_q", "attn.c_k", "attn.c_v", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"} {
				order = append(order, fmt.Sprintf("transformer.h.%d.%s.weight", i, n))
			}
		}
		order = append(order, "lm_head.weight")
		for _, name := range order {
			t, ok := f.Tensor(name)
			if !ok {
				return fmt.Errorf("tensor %q missing", name)
			}
			st, err := tensorData(t)
			if err != nil {
				return err
			}
			if name == "transformer.wte.weight" || name == "lm_head.weight" {
				st = cropRows(st, cfg.VocabSize)
			}
			st.Name = names[name]
			tensors = append(tensors, st)
			if d := torchDType(st.DType); dtype == "" || d == "float32" {
				dtype = d
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}

	var weights bytes.Buffer
	if err := checkpoint.WriteSafetensors(&weights, tensors, map[string]string{"format": "pt"}); err != nil {
		return fail(err)
	}
	ct := tok.ChatTokens()
	step := s.Meta.Step
	softcap, base := model.Float(s.Arch.Softcap), model.Float(s.Arch.RoPEBase)
	hc := model.HFConfig{
		Architectures: []string{"NanoChatForCausalLM"}, ModelType: "nanochat",
		VocabSize: cfg.VocabSize, HiddenSize: cfg.NEmbd, IntermediateSize: 4 * cfg.NEmbd,
		NumHiddenLayers: cfg.NLayer, NumAttentionHeads: cfg.NHead, NumKeyValueHeads: cfg.NKVHead,
		MaxPositionEmbeddings: cfg.SequenceLen, HiddenAct: "relu2", RMSNormEps: rmsEps,
		FinalLogitSoftcapping: &softcap, RopeTheta: &base, RopeParameters: &model.HFRope{RopeType: "default", RopeTheta: base},
		BOSTokenID: ct.BOS, EOSTokenID: ct.AssistantEnd, PadTokenID: ct.BOS, DType: dtype,
		Nanochat: &model.HFProvenance{Source: p.Source, Tag: p.Tag, Step: step, Generation: s.Arch.Generation},
	}
	files, err := tok.HuggingFace()
	if err != nil {
		return fail(err)
	}
	files[model.HFWeightsFile] = weights.Bytes()
	if files[model.HFConfigFile], err = jsonFile(hc); err != nil {
		return fail(err)
	}
	gen := map[string]any{"bos_token_id": ct.BOS, "eos_token_id": []int{ct.AssistantEnd, ct.BOS}, "pad_token_id": ct.BOS}
	if files["generation_config.json"], err = jsonFile(gen); err != nil {
		return fail(err)
	}
	return writeFiles(out, files)
}

// ExportTokenizer writes only the tokenizer files (tokenizer.json,
// tokenizer_config.json) into out.
func ExportTokenizer(tok *tokenizer.Tokenizer, out string) ([]string, error) {
	files, err := tok.HuggingFace()
	if err != nil {
		return nil, err
	}
	return writeFiles(out, files)
}

func writeFiles(out string, files map[string][]byte) ([]string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(out, name), files[name], 0o644); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	return names, nil
}

func jsonFile(v any) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	err := e.Encode(v)
	return buf.Bytes(), err
}

// tensorData is t's bytes for safetensors: little-endian, row-major (a
// big-endian or strided tensor is converted to f32).
func tensorData(t *checkpoint.Tensor) (checkpoint.SafetensorsTensor, error) {
	st := checkpoint.SafetensorsTensor{DType: t.DType, Shape: slices.Clone(t.Shape)}
	if b, err := t.Bytes(); err == nil && (t.DType == checkpoint.BF16 || t.DType == checkpoint.F32 || t.DType == checkpoint.F16) {
		st.Data = bytes.Clone(b)
		return st, nil
	}
	v, err := t.Float32()
	if err != nil {
		return st, err
	}
	st.DType, st.Data = checkpoint.F32, make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(st.Data[4*i:], math.Float32bits(x))
	}
	return st, nil
}

// cropRows keeps the first n rows of a matrix.
func cropRows(t checkpoint.SafetensorsTensor, n int) checkpoint.SafetensorsTensor {
	if len(t.Shape) != 2 || t.Shape[0] <= n {
		return t
	}
	t.Data = t.Data[:n*t.Shape[1]*t.DType.Size()]
	t.Shape = []int{n, t.Shape[1]}
	return t
}

func torchDType(d checkpoint.DType) string {
	switch d {
	case checkpoint.BF16:
		return "bfloat16"
	case checkpoint.F16:
		return "float16"
	}
	return "float32"
}
