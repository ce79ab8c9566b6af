package tokenizer

import (
	"encoding/json"
	"fmt"

	"github.com/nanochat-go/nanochat/model/homefs"
)

// This file reads a Hugging Face tokenizer.json back (ours, or one that
// transformers re-saved): byte-level BPE whose split pattern our
// pre-tokenizer runs, the special tokens as added tokens. The vocabulary
// becomes the mergeable ranks (id = rank), as HuggingFace writes them.
// tiktoken encodes by rank while the tokenizers library applies the merge
// list in order, so the file is checked to be one where the two agree:
// every merge "a b" yields a token of the vocabulary, and the merges are in
// increasing rank of what they yield (the conversion transformers applies
// to tiktoken files, and what HuggingFace writes).

// maxTokenizerJSON caps tokenizer.json (nanochat's 65536 tokens take ~4 MB).
const maxTokenizerJSON = 256 << 20

type hfTokenizerJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer struct {
		Type          string `json:"type"`
		Pretokenizers []struct {
			Type    string `json:"type"`
			Pattern struct {
				Regex string `json:"Regex"`
			} `json:"pattern"`
			Behavior string `json:"behavior"`
			Invert   bool   `json:"invert"`
		} `json:"pretokenizers"`
	} `json:"pre_tokenizer"`
	Model struct {
		Type         string            `json:"type"`
		ByteFallback bool              `json:"byte_fallback"`
		Vocab        map[string]int    `json:"vocab"`
		Merges       []json.RawMessage `json:"merges"` // "a b" or ["a", "b"]
	} `json:"model"`
}

// LoadHF reads a Hugging Face tokenizer.json of nanochat's kind (see
// HuggingFace) and checks that it encodes as nanochat does. Errors name
// the file and what differs.
func LoadHF(path string) (*Tokenizer, error) {
	data, err := homefs.ReadFile(path, maxTokenizerJSON)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	t, err := parseHF(data)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %q: %w", path, err)
	}
	return t, nil
}

func parseHF(data []byte) (*Tokenizer, error) {
	var j hfTokenizerJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, err
	}
	if j.Model.Type != "BPE" || j.Model.ByteFallback {
		return nil, fmt.Errorf("model is %q (byte_fallback %t), want byte-level BPE", j.Model.Type, j.Model.ByteFallback)
	}
	if len(j.Normalizer) > 0 && string(j.Normalizer) != "null" {
		return nil, fmt.Errorf("has a normalizer; nanochat's tokenizer has none")
	}
	pre := j.PreTokenizer.Pretokenizers
	if j.PreTokenizer.Type != "Sequence" || len(pre) != 2 || pre[0].Type != "Split" || pre[0].Behavior != "Isolated" || pre[0].Invert || pre[1].Type != "ByteLevel" {
		return nil, fmt.Errorf("pre_tokenizer is not a Split on a pattern (Isolated) then ByteLevel")
	}
	pattern := pre[0].Pattern.Regex
	var inv [0x200]int
	for i := range inv {
		inv[i] = -1
	}
	for b, r := range byteChars() {
		inv[r] = b
	}
	decode := func(s string) (string, error) {
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r >= rune(len(inv)) || inv[r] < 0 {
				return "", fmt.Errorf("vocabulary entry %q is not byte-level (character %U)", s, r)
			}
			out = append(out, byte(inv[r]))
		}
		return string(out), nil
	}
	ranks := make(map[string]int, len(j.Model.Vocab))
	for s, id := range j.Model.Vocab {
		b, err := decode(s)
		if err != nil {
			return nil, err
		}
		ranks[b] = id
	}
	specials := map[string]int{}
	for _, a := range j.AddedTokens {
		if !a.Special {
			return nil, fmt.Errorf("added token %q is not special; nanochat adds only special tokens", a.Content)
		}
		if id, ok := j.Model.Vocab[a.Content]; ok && id != a.ID {
			return nil, fmt.Errorf("added token %q has id %d, the vocabulary says %d", a.Content, a.ID, id)
		}
		specials[a.Content] = a.ID
	}
	// The merges must apply in rank order, so BPE by merges is tiktoken's BPE by rank.
	prev := -1
	for i, raw := range j.Model.Merges {
		var l, r string
		var pair []string
		var s string
		switch {
		case json.Unmarshal(raw, &pair) == nil && len(pair) == 2:
			l, r = pair[0], pair[1]
		case json.Unmarshal(raw, &s) == nil:
			var ok bool
			if l, r, ok = cutSpace(s); !ok {
				return nil, fmt.Errorf("merge %d %q: want \"a b\"", i, s)
			}
		default:
			return nil, fmt.Errorf("merge %d: %s is neither \"a b\" nor [a, b]", i, raw)
		}
		id, ok := j.Model.Vocab[l+r]
		if !ok {
			return nil, fmt.Errorf("merge %d (%q + %q) yields no token of the vocabulary", i, l, r)
		}
		if id < prev {
			return nil, fmt.Errorf("merge %d (%q + %q) yields rank %d after a merge yielding %d: merges out of rank order encode differently from nanochat", i, l, r, id, prev)
		}
		prev = id
	}
	t, err := build(pattern, ranks, specials)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func cutSpace(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}
