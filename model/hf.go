package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nanochat-go/nanochat/model/checkpoint"
	"github.com/nanochat-go/nanochat/model/homefs"
)

// This file reads Hugging Face NanoChat directories, as transformers'
// save_pretrained writes them for NanoChatForCausalLM (the Oct-2025
// architecture, generations A0/A1): config.json and model.safetensors, the
// tensors under transformers' names. Load and Describe accept such a
// directory wherever they accept a model_<step>.pt.

// HFConfigFile and HFWeightsFile are the files of a Hugging Face directory.
const (
	HFConfigFile  = "config.json"
	HFWeightsFile = "model.safetensors"
)

// HFConfig is what nanochat reads and writes of a transformers NanoChat
// config.json.
type HFConfig struct {
	Architectures         []string      `json:"architectures"`
	ModelType             string        `json:"model_type"`
	VocabSize             int           `json:"vocab_size"`
	HiddenSize            int           `json:"hidden_size"`
	IntermediateSize      int           `json:"intermediate_size"`
	NumHiddenLayers       int           `json:"num_hidden_layers"`
	NumAttentionHeads     int           `json:"num_attention_heads"`
	NumKeyValueHeads      int           `json:"num_key_value_heads"`
	MaxPositionEmbeddings int           `json:"max_position_embeddings"`
	HiddenAct             string        `json:"hidden_act"`
	RMSNormEps            Float         `json:"rms_norm_eps"`
	FinalLogitSoftcapping *Float        `json:"final_logit_softcapping"`
	RopeTheta             *Float        `json:"rope_theta,omitempty"`
	RopeParameters        *HFRope       `json:"rope_parameters,omitempty"`
	AttentionBias         bool          `json:"attention_bias"`
	TieWordEmbeddings     bool          `json:"tie_word_embeddings"`
	BOSTokenID            int           `json:"bos_token_id"`
	EOSTokenID            int           `json:"eos_token_id"`
	PadTokenID            int           `json:"pad_token_id"`
	DType                 string        `json:"dtype,omitempty"`
	TransformersVersion   string        `json:"transformers_version,omitempty"`
	Nanochat              *HFProvenance `json:"nanochat,omitempty"`
}

// HFRope is config.json's rope_parameters.
type HFRope struct {
	RopeType  string `json:"rope_type"`
	RopeTheta Float  `json:"rope_theta"`
}

// Float is a float64 that JSON always writes with a decimal point or an
// exponent (15.0, not 15): transformers' configs are strictly typed, and
// reject an int where a float belongs.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	s := strconv.FormatFloat(float64(f), 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") { // n: NaN, Inf
		s += ".0"
	}
	return []byte(s), nil
}

// HFProvenance records, in an exported config.json, the nanochat
// checkpoint it came from (transformers keeps unknown keys as attributes).
type HFProvenance struct {
	Source     string `json:"source,omitempty"`
	Tag        string `json:"tag,omitempty"`
	Step       *int   `json:"step,omitempty"`
	Generation string `json:"generation,omitempty"`
}

// HFNames maps nanochat's tensor names of an A0/A1 model with n layers to
// transformers' NanoChat names.
func HFNames(n int) map[string]string {
	m := map[string]string{"transformer.wte.weight": "model.embed_tokens.weight", "lm_head.weight": "lm_head.weight"}
	for i := range n {
		o, h := fmt.Sprintf("transformer.h.%d.", i), fmt.Sprintf("model.layers.%d.", i)
		m[o+"attn.c_q.weight"] = h + "self_attn.q_proj.weight"
		m[o+"attn.c_k.weight"] = h + "self_attn.k_proj.weight"
		m[o+"attn.c_v.weight"] = h + "self_attn.v_proj.weight"
		m[o+"attn.c_proj.weight"] = h + "self_attn.o_proj.weight"
		m[o+"mlp.c_fc.weight"] = h + "mlp.fc1.weight"
		m[o+"mlp.c_proj.weight"] = h + "mlp.fc2.weight"
	}
	return m
}

// IsHFDir reports whether path is a directory holding config.json.
func IsHFDir(path string) bool {
	info, err := os.Stat(path)
	if err != nil || !info.IsDir() {
		return false
	}
	_, err = os.Stat(filepath.Join(path, HFConfigFile))
	return err == nil
}

// ReadHFConfig reads and checks a NanoChat config.json: the architecture
// must be the one transformers' NanoChat implements (ReLU², no biases,
// untied head, 4× MLP, plain RoPE, a softcap).
func ReadHFConfig(path string) (*HFConfig, error) {
	data, err := homefs.ReadFile(path, MaxJSONBytes)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var c HFConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("config %q: %w", path, err)
	}
	bad := func(format string, a ...any) (*HFConfig, error) {
		return nil, fmt.Errorf("config %q: %s", path, fmt.Sprintf(format, a...))
	}
	switch {
	case c.ModelType != "nanochat":
		return bad("model_type %q, want nanochat", c.ModelType)
	case c.HiddenAct != "" && c.HiddenAct != "relu2":
		return bad("hidden_act %q, want relu2 (nanochat's ReLU²)", c.HiddenAct)
	case c.AttentionBias:
		return bad("attention_bias is set; nanochat's projections have no bias")
	case c.TieWordEmbeddings:
		return bad("tie_word_embeddings is set; nanochat's lm_head is its own")
	case c.IntermediateSize != 0 && c.IntermediateSize != 4*c.HiddenSize:
		return bad("intermediate_size %d, want 4×hidden_size = %d", c.IntermediateSize, 4*c.HiddenSize)
	case c.FinalLogitSoftcapping == nil || *c.FinalLogitSoftcapping <= 0:
		return bad("final_logit_softcapping is unset; nanochat always caps its logits")
	case c.RopeParameters != nil && c.RopeParameters.RopeType != "" && c.RopeParameters.RopeType != "default":
		return bad("rope_parameters.rope_type %q, want default", c.RopeParameters.RopeType)
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	return &c, nil
}

// RopeBase is the config's RoPE theta (default 10000).
func (c *HFConfig) RopeBase() float64 {
	switch {
	case c.RopeParameters != nil && c.RopeParameters.RopeTheta > 0:
		return float64(c.RopeParameters.RopeTheta)
	case c.RopeTheta != nil:
		return float64(*c.RopeTheta)
	}
	return 10000
}

// openHF is open for a Hugging Face directory: the tensors renamed to
// nanochat's, a meta made from config.json, and the math config.json
// states (softcap, RoPE theta, fp32 cos/sin as transformers computes them)
// as overrides under ov.
func openHF(dir string, ov Overrides) (f *checkpoint.File, meta *Meta, merged Overrides, used []string, err error) {
	cfgPath := filepath.Join(dir, HFConfigFile)
	c, err := ReadHFConfig(cfgPath)
	if err != nil {
		return nil, nil, ov, nil, err
	}
	weights := filepath.Join(dir, HFWeightsFile)
	if _, err := os.Stat(weights); errors.Is(err, fs.ErrNotExist) {
		if _, ierr := os.Stat(weights + ".index.json"); ierr == nil {
			return nil, nil, ov, nil, fmt.Errorf("checkpoint %q: sharded safetensors (%s.index.json) are not supported yet", dir, HFWeightsFile)
		}
		return nil, nil, ov, nil, fmt.Errorf("checkpoint %q: no %s", dir, HFWeightsFile)
	}
	meta = &Meta{Path: cfgPath, ModelConfig: &Config{SequenceLen: c.MaxPositionEmbeddings, VocabSize: c.VocabSize,
		NLayer: c.NumHiddenLayers, NHead: c.NumAttentionHeads, NKVHead: c.NumKeyValueHeads, NEmbd: c.HiddenSize}}
	if c.Nanochat != nil {
		meta.Step = c.Nanochat.Step
	}
	softcap, base, fp32 := float64(*c.FinalLogitSoftcapping), c.RopeBase(), false
	fileOv := Overrides{Softcap: &softcap, RoPEBase: &base, RoPEBF16: &fp32}
	if f, err = checkpoint.OpenSafetensors(weights); err != nil {
		return nil, nil, ov, nil, err
	}
	back := map[string]string{}
	for nano, hf := range HFNames(c.NumHiddenLayers) {
		back[hf] = nano
	}
	for _, t := range f.Tensors {
		if _, ok := back[t.Name]; !ok {
			f.Close()
			return nil, nil, ov, nil, fmt.Errorf("checkpoint %q: tensor %q is not one of transformers' NanoChat (A0/A1) tensors", weights, t.Name)
		}
	}
	if err := f.Rename(back); err != nil {
		f.Close()
		return nil, nil, ov, nil, err
	}
	return f, meta, fileOv.Merge(ov), []string{cfgPath}, nil
}
