// Package model turns a nanochat checkpoint into a runnable GPT: it reads the
// configuration and weights, detects the architecture generation (A0…A7) and
// computes the forward pass on the CPU in fp32. It knows token ids, not text.
package model

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nanochat-go/nanochat/model/homefs"
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

// Caps on sizes that no tensor of a checkpoint pins down, so that a meta
// file cannot make Load allocate without bound.
const (
	// MaxSequenceLen is the longest sequence_len accepted: 32× nanochat's
	// 2048 (the RoPE table and the KV caches grow with it).
	MaxSequenceLen = 1 << 16
	// MaxRoPEBytes caps the RoPE table, 10·sequence_len positions of
	// head_dim float32s (cos and sin halves): 512 MiB, room for a
	// 128-dimension head at MaxSequenceLen (320 MiB). A meta claiming one
	// huge head and a long context on a tiny checkpoint is refused.
	MaxRoPEBytes = 512 << 20
	// MaxJSONBytes caps the size of meta and override files (nanochat's
	// are a few kilobytes).
	MaxJSONBytes = 16 << 20
)

// Validate checks the invariants the forward pass relies on and the caps
// on sizes that the tensors cannot confirm (CheckShapes checks the rest).
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
	case c.SequenceLen <= 0 || c.SequenceLen > MaxSequenceLen:
		return fmt.Errorf("model_config: sequence_len = %d, want 1 to at most %d", c.SequenceLen, MaxSequenceLen)
	case ropeMiB(c) > MaxRoPEBytes>>20:
		return fmt.Errorf("model_config: sequence_len %d with head_dim %d (n_embd %d / n_head %d): the RoPE table of 10·sequence_len positions would take %.0f MiB, want at most %d MiB",
			c.SequenceLen, c.HeadDim(), c.NEmbd, c.NHead, ropeMiB(c), MaxRoPEBytes>>20)
	}
	for _, ch := range strings.ToUpper(c.WindowPattern) {
		if ch != 'S' && ch != 'L' {
			return fmt.Errorf("model_config: window_pattern %q: characters must be S or L", c.WindowPattern)
		}
	}
	return nil
}

// ropeMiB is the size of the RoPE table in MiB: 10·sequence_len positions
// of head_dim/2 cos and head_dim/2 sin float32s (in float64, which cannot
// overflow for any ints).
func ropeMiB(c Config) float64 {
	return 10 * float64(c.SequenceLen) * float64(c.HeadDim()) * 4 / (1 << 20)
}

// CheckShapes checks the config against the checkpoint's tensors before
// anything is sized from it: vocab_size and n_embd against the token
// embedding, n_layer against the transformer blocks present (n_head and
// n_kv_head are checked against the attention weights by Load).
func CheckShapes(c Config, shapes Shapes) error {
	wte, ok := shapes["transformer.wte.weight"]
	if !ok || len(wte) != 2 {
		return fmt.Errorf("tensor \"transformer.wte.weight\": missing or not 2-D")
	}
	if padded := (c.VocabSize + 63) / 64 * 64; wte[0] != c.VocabSize && wte[0] != padded {
		return fmt.Errorf("model_config: vocab_size = %d, but tensor \"transformer.wte.weight\" has %d rows (want vocab_size or its padding to 64, %d)", c.VocabSize, wte[0], padded)
	}
	if wte[1] != c.NEmbd {
		return fmt.Errorf("model_config: n_embd = %d, but tensor \"transformer.wte.weight\" is %v", c.NEmbd, wte)
	}
	blocks := map[int]bool{}
	for name := range shapes {
		if i, ok := blockIndex(name); ok {
			blocks[i] = true
		}
	}
	for i := range len(blocks) {
		if !blocks[i] {
			return fmt.Errorf("model_config: n_layer = %d, but the checkpoint's %d blocks are not numbered 0…%d (transformer.h.%d.* missing)", c.NLayer, len(blocks), len(blocks)-1, i)
		}
	}
	if c.NLayer != len(blocks) {
		return fmt.Errorf("model_config: n_layer = %d, but the checkpoint has %d blocks (transformer.h.<i>.*)", c.NLayer, len(blocks))
	}
	return nil
}

// blockIndex returns i for a tensor named transformer.h.<i>.….
func blockIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "transformer.h.")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, ".")
	if !ok || num == "" || len(num) > 9 || (len(num) > 1 && num[0] == '0') {
		return 0, false
	}
	i := 0
	for _, ch := range num {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		i = 10*i + int(ch-'0')
	}
	return i, true
}

// Meta is the part of meta_<step>.json that inference uses.
type Meta struct {
	// Path is the file the meta was read from ("" for ParseMeta).
	Path string `json:"-"`

	Step        *int                       `json:"step"`
	ModelConfig *Config                    `json:"model_config"`
	UserConfig  map[string]json.RawMessage `json:"user_config"`
}

// ReadMeta reads a meta_<step>.json file. Python's json writes NaN, Infinity
// and -Infinity, which are accepted here (as null).
func ReadMeta(path string) (*Meta, error) {
	data, err := homefs.ReadFile(path, MaxJSONBytes)
	if err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	m, err := ParseMeta(data)
	if err != nil {
		return nil, fmt.Errorf("meta %q: %w", path, err)
	}
	m.Path = path
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
