// Package model turns a nanochat checkpoint into a runnable GPT: it reads the
// configuration and weights, detects the architecture generation (A0…A7) and
// computes the forward pass on the CPU in fp32. It knows token ids, not text.
package model

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Config is nanochat's GPTConfig as saved in meta_<step>.json "model_config".
type Config struct {
	SequenceLen int `json:"sequence_len"`
	VocabSize   int `json:"vocab_size"`
	NLayer      int `json:"n_layer"`
	NHead       int `json:"n_head"`
	NKVHead     int `json:"n_kv_head"`
	NEmbd       int `json:"n_embd"`
	// WindowPattern is "" when the meta predates sliding windows; nanochat
	// then patches it to "L".
	WindowPattern string `json:"window_pattern,omitempty"`
}

// HeadDim is n_embd / n_head.
func (c Config) HeadDim() int { return c.NEmbd / c.NHead }

// KVDim is n_kv_head · head_dim.
func (c Config) KVDim() int { return c.NKVHead * c.HeadDim() }

// Validate checks the invariants the forward pass relies on.
func (c Config) Validate() error {
	switch {
	case c.NLayer <= 0:
		return fmt.Errorf("model_config: n_layer = %d, want > 0", c.NLayer)
	case c.NEmbd <= 0 || c.NHead <= 0 || c.NEmbd%c.NHead != 0:
		return fmt.Errorf("model_config: n_embd %d is not a positive multiple of n_head %d", c.NEmbd, c.NHead)
	case c.HeadDim()%2 != 0:
		return fmt.Errorf("model_config: head_dim %d must be even for RoPE", c.HeadDim())
	case c.NKVHead <= 0 || c.NHead%c.NKVHead != 0:
		return fmt.Errorf("model_config: n_head %d is not a multiple of n_kv_head %d", c.NHead, c.NKVHead)
	case c.VocabSize <= 0:
		return fmt.Errorf("model_config: vocab_size = %d, want > 0", c.VocabSize)
	case c.SequenceLen <= 0:
		return fmt.Errorf("model_config: sequence_len = %d, want > 0", c.SequenceLen)
	}
	for _, ch := range strings.ToUpper(c.WindowPattern) {
		if ch != 'S' && ch != 'L' {
			return fmt.Errorf("model_config: window_pattern %q: characters must be S or L", c.WindowPattern)
		}
	}
	return nil
}

// Meta is the part of meta_<step>.json that inference uses.
type Meta struct {
	Step        *int                       `json:"step"`
	ModelConfig *Config                    `json:"model_config"`
	UserConfig  map[string]json.RawMessage `json:"user_config"`
}

// ReadMeta reads a meta_<step>.json file. Python's json writes NaN, Infinity
// and -Infinity, which are accepted here (as null).
func ReadMeta(path string) (*Meta, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	m, err := ParseMeta(data)
	if err != nil {
		return nil, fmt.Errorf("meta %q: %w", path, err)
	}
	return m, nil
}

// ParseMeta parses meta JSON leniently (see ReadMeta).
func ParseMeta(data []byte) (*Meta, error) {
	clean := LenientJSON(data)
	var m Meta
	if err := json.Unmarshal(clean, &m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if m.ModelConfig == nil {
		return nil, fmt.Errorf("missing field \"model_config\"")
	}
	if err := m.ModelConfig.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// LenientJSON rewrites the non-standard literals NaN, Infinity and -Infinity
// that Python's json module emits (outside strings) to null.
func LenientJSON(data []byte) []byte {
	out := make([]byte, 0, len(data))
	inStr, esc := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inStr {
			out = append(out, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		if c == '"' {
			inStr = true
			out = append(out, c)
			continue
		}
		matched := false
		for _, lit := range []string{"-Infinity", "Infinity", "NaN"} {
			if strings.HasPrefix(string(data[i:min(len(data), i+len(lit))]), lit) {
				out = append(out, "null"...)
				i += len(lit) - 1
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, c)
		}
	}
	return out
}
