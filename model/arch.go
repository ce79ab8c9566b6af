package model

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Arch is the math of one checkpoint that is not in its Config: everything
// that changed between nanochat's architecture generations (spec §0, §1.5).
type Arch struct {
	// Generation is the spec's label: A0, A1, A2, A3, A4, A4b, A5, A6 or A7.
	Generation string
	// Why explains how the generation was inferred (shown by inspect).
	Why string

	PaddedVocab  int     // rows of wte / lm_head (≥ VocabSize)
	Softcap      float32 // logits = s·tanh(logits/s)
	RoPEBase     float64 // 10000 before A6, 100000 after
	QKScale      float32 // extra factor on q and k after QK-norm (1, 1.15, 1.2)
	RoPEBF16     bool    // cos/sin rounded to bf16 (nanochat before 2026-03-04, also on CPU)
	ShortDivisor int     // short window: 2 → seq//2; 3/4 → ceil(ceil(seq/k)/128)·128
	Pattern      string  // window pattern actually used ("L" when the meta has none)

	Lambdas     bool    // resid_lambdas / x0_lambdas present
	VEGateCh    int     // value-embedding gate input channels (0: no value embeddings)
	VEGateScale float32 // gate = scale·sigmoid(...)
	Smear       bool    // A7 smear + backout
	Bigram      bool    // A4b engram bigram embeddings
	Windows     []int   // per-layer window W (query sees W+1 keys)
	// DecodeNoWindow reproduces nanochat's SDPA fallback before 2026-01-30
	// (3ba42e8): a single-token forward through the KV cache ignored the
	// sliding window and attended to every cached key.
	DecodeNoWindow bool
	// DecodeBigramReset reproduces the engram code hashing bigrams within
	// each forward call: a single-token decode step had no previous token.
	DecodeBigramReset bool
	Overridden        []string
	SoftcapGuess      string // non-empty when the softcap was inferred from user_config
}

// Overrides replace math that cannot be read from a checkpoint. Nil fields
// keep the detected value.
type Overrides struct {
	Softcap       *float64 `json:"softcap,omitempty"`
	WindowPattern *string  `json:"window_pattern,omitempty"`
	RoPEBase      *float64 `json:"rope_base,omitempty"`
	QKScale       *float64 `json:"qk_scale,omitempty"`
	RoPEBF16      *bool    `json:"rope_bf16,omitempty"`
}

// Empty reports whether no override is set.
func (o Overrides) Empty() bool {
	return o.Softcap == nil && o.WindowPattern == nil && o.RoPEBase == nil && o.QKScale == nil && o.RoPEBF16 == nil
}

// Merge returns o with the fields set in p replacing its own.
func (o Overrides) Merge(p Overrides) Overrides {
	if p.Softcap != nil {
		o.Softcap = p.Softcap
	}
	if p.WindowPattern != nil {
		o.WindowPattern = p.WindowPattern
	}
	if p.RoPEBase != nil {
		o.RoPEBase = p.RoPEBase
	}
	if p.QKScale != nil {
		o.QKScale = p.QKScale
	}
	if p.RoPEBF16 != nil {
		o.RoPEBF16 = p.RoPEBF16
	}
	return o
}

// ParseOverrides parses "softcap=20,window=SSSL,rope-base=100000,qk-scale=1.2,rope-bf16=true".
func ParseOverrides(s string) (Overrides, error) {
	var o Overrides
	if strings.TrimSpace(s) == "" {
		return o, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return o, fmt.Errorf("override %q: want key=value", kv)
		}
		k = strings.ReplaceAll(strings.ToLower(k), "_", "-")
		var err error
		switch k {
		case "softcap":
			o.Softcap, err = parseFloatPtr(k, v)
		case "rope-base":
			o.RoPEBase, err = parseFloatPtr(k, v)
		case "qk-scale":
			o.QKScale, err = parseFloatPtr(k, v)
		case "window", "window-pattern":
			p := strings.ToUpper(v)
			o.WindowPattern = &p
		case "rope-bf16":
			b := v == "true" || v == "1" || v == "yes"
			if !b && v != "false" && v != "0" && v != "no" {
				return o, fmt.Errorf("override rope-bf16=%q: want true or false", v)
			}
			o.RoPEBF16 = &b
		default:
			return o, fmt.Errorf("override %q: unknown key (want softcap, window, rope-base, qk-scale, rope-bf16)", k)
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

func parseFloatPtr(k, v string) (*float64, error) {
	var f float64
	if _, err := fmt.Sscan(v, &f); err != nil || f <= 0 {
		return nil, fmt.Errorf("override %s=%q: want a positive number", k, v)
	}
	return &f, nil
}

// Shapes maps state-dict key (without any _orig_mod. prefix) to tensor shape.
type Shapes map[string][]int

// Detect infers the architecture generation from the state-dict keys and
// shapes, the model config and (for the softcap-20 window) the user config,
// then applies overrides. It follows the table in spec §1.7. The config is
// checked against the shapes first (CheckShapes), so nothing is sized from
// a number the tensors contradict.
func Detect(cfg Config, shapes Shapes, user map[string]json.RawMessage, ov Overrides) (Arch, error) {
	a := Arch{Softcap: 15, RoPEBase: 10000, QKScale: 1, RoPEBF16: true, ShortDivisor: 2}
	if err := CheckShapes(cfg, shapes); err != nil {
		return a, err
	}
	a.PaddedVocab = shapes["transformer.wte.weight"][0]
	_, a.Lambdas = shapes["resid_lambdas"]
	_, a.Smear = shapes["smear_gate.weight"]
	_, a.Bigram = shapes["bigram_embed.embed.weight"]
	for i := 0; i < cfg.NLayer; i++ {
		if s, ok := shapes[fmt.Sprintf("transformer.h.%d.attn.ve_gate.weight", i)]; ok && len(s) == 2 {
			a.VEGateCh = s[1]
			break
		}
	}
	a.Pattern = strings.ToUpper(cfg.WindowPattern)
	if a.Pattern == "" {
		a.Pattern = "L"
	}
	switch {
	case a.Smear:
		a.Generation, a.Why = "A7", "smear_gate/backout_lambda present"
		a.RoPEBase, a.QKScale, a.RoPEBF16, a.ShortDivisor = 100000, 1.2, false, 4
		a.VEGateScale = 3
	case a.VEGateCh == 12:
		a.Generation, a.Why = "A6", "ve_gate has 12 input channels, no smear"
		a.RoPEBase, a.QKScale, a.RoPEBF16, a.ShortDivisor = 100000, 1.15, false, 3
		a.VEGateScale = 3
	case a.Bigram:
		a.Generation, a.Why = "A4b", "bigram_embed present (engram, 2026-01-27)"
		a.VEGateScale = 2
		a.DecodeNoWindow, a.DecodeBigramReset = true, true
	case a.VEGateCh > 0:
		a.Generation, a.Why = "A4", fmt.Sprintf("ve_gate has %d input channels", a.VEGateCh)
		a.VEGateScale = 2
		if isClimbMixSoftcap20(user) {
			a.Generation, a.Softcap = "A5", 20
			a.SoftcapGuess = "user_config has eval_tokens=41943040 and adam_beta1 (base run of 2026-03-04..03-09): softcap 20"
			a.Why += "; " + a.SoftcapGuess
		}
	case a.Lambdas && cfg.WindowPattern != "":
		a.Generation, a.Why = "A3", "resid/x0 lambdas and window_pattern, no value embeddings"
	case a.Lambdas:
		a.Generation, a.Why = "A2", "resid/x0 lambdas, no window_pattern in meta"
	case a.PaddedVocab != cfg.VocabSize:
		a.Generation, a.Why = "A1", "vocab padded to a multiple of 64, no lambdas"
	default:
		a.Generation, a.Why = "A0", "unpadded vocab, no lambdas"
		if cfg.VocabSize%64 == 0 {
			a.Why = "no lambdas; vocab already a multiple of 64 (A0 and A1 compute the same)"
		}
	}
	if a.VEGateCh > 0 && a.VEGateCh != 12 && a.VEGateCh != 32 {
		return a, fmt.Errorf("ve_gate: %d input channels, want 12 or 32", a.VEGateCh)
	}
	if err := a.apply(ov); err != nil {
		return a, err
	}
	a.Windows = Windows(cfg.SequenceLen, cfg.NLayer, a.Pattern, a.ShortDivisor)
	return a, nil
}

func (a *Arch) apply(ov Overrides) error {
	if ov.Softcap != nil {
		a.Softcap = float32(*ov.Softcap)
		a.Overridden = append(a.Overridden, fmt.Sprintf("softcap=%g", *ov.Softcap))
		if a.Generation == "A4" && *ov.Softcap == 20 {
			a.Generation = "A5"
		}
	}
	if ov.WindowPattern != nil {
		p := strings.ToUpper(*ov.WindowPattern)
		if p == "" || strings.Trim(p, "SL") != "" {
			return fmt.Errorf("override window=%q: characters must be S or L", *ov.WindowPattern)
		}
		a.Pattern = p
		a.Overridden = append(a.Overridden, "window="+p)
	}
	if ov.RoPEBase != nil {
		a.RoPEBase = *ov.RoPEBase
		a.Overridden = append(a.Overridden, fmt.Sprintf("rope-base=%g", *ov.RoPEBase))
	}
	if ov.QKScale != nil {
		a.QKScale = float32(*ov.QKScale)
		a.Overridden = append(a.Overridden, fmt.Sprintf("qk-scale=%g", *ov.QKScale))
	}
	if ov.RoPEBF16 != nil {
		a.RoPEBF16 = *ov.RoPEBF16
		a.Overridden = append(a.Overridden, fmt.Sprintf("rope-bf16=%t", *ov.RoPEBF16))
	}
	return nil
}

// isClimbMixSoftcap20 is the spec's fingerprint for base runs of
// 2026-03-04..03-09, which trained with softcap 20.
func isClimbMixSoftcap20(user map[string]json.RawMessage) bool {
	if user == nil {
		return false
	}
	_, beta := user["adam_beta1"]
	return beta && strings.TrimSpace(string(user["eval_tokens"])) == "41943040"
}

// Windows returns the per-layer attention window W (a query sees W+1 keys):
// the pattern tiled over layers, the last layer forced long, long = seq.
func Windows(seq, nLayer int, pattern string, shortDiv int) []int {
	short := seq / 2
	if shortDiv > 2 {
		short = ceilDiv(ceilDiv(seq, shortDiv), 128) * 128
	}
	w := make([]int, nLayer)
	for i := range w {
		w[i] = seq
		if pattern[i%len(pattern)] == 'S' {
			w[i] = short
		}
	}
	w[nLayer-1] = seq
	return w
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
