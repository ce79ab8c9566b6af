// Package tokenizer is nanochat's BPE tokenizer: it loads the pickled
// tiktoken encoding (tokenizer.pkl), encodes text to token ids and back
// exactly as tiktoken does, and renders chat conversations into ids. It knows
// nothing about models or sampling.
package tokenizer

import (
	"fmt"
	"slices"
	"strings"
)

// Names of nanochat's special tokens, in id order.
const (
	BOSToken            = "<|bos|>"
	UserStartToken      = "<|user_start|>"
	UserEndToken        = "<|user_end|>"
	AssistantStartToken = "<|assistant_start|>"
	AssistantEndToken   = "<|assistant_end|>"
	PythonStartToken    = "<|python_start|>"
	PythonEndToken      = "<|python_end|>"
	OutputStartToken    = "<|output_start|>"
	OutputEndToken      = "<|output_end|>"
)

var chatTokenNames = [...]string{
	BOSToken, UserStartToken, UserEndToken, AssistantStartToken, AssistantEndToken,
	PythonStartToken, PythonEndToken, OutputStartToken, OutputEndToken,
}

// ChatTokens holds the ids of nanochat's nine special tokens.
type ChatTokens struct {
	BOS, UserStart, UserEnd, AssistantStart, AssistantEnd int
	PythonStart, PythonEnd, OutputStart, OutputEnd        int
}

// Tokenizer is a loaded BPE vocabulary. It is immutable and safe for
// concurrent use.
type Tokenizer struct {
	pattern  string
	split    splitSpec
	ranks    map[string]int // mergeable byte string → rank (= id)
	specials map[string]int
	merge    mergeTables
	tokens   []string // id → bytes; specials hold their literal text; "" for unused ids
	special  []bool   // id → is a special token
	chat     ChatTokens
	// specialNames is specials' names, longest first, for EncodeWithSpecials.
	specialNames []string
}

// maxUnusedIDs is how many ids beyond the number of tokens a vocabulary
// may leave unused (tiktoken allows gaps; its own encodings leave a few
// before their special tokens).
const maxUnusedIDs = 1024

// build checks a vocabulary and assembles a Tokenizer. ranks maps byte
// strings to ranks (ranks double as ids), as tiktoken's mergeable_ranks.
// Errors name the offending field.
func build(pattern string, ranks map[string]int, specials map[string]int) (*Tokenizer, error) {
	sp, err := parsePattern(pattern)
	if err != nil {
		return nil, fmt.Errorf("pat_str: %w", err)
	}
	t := &Tokenizer{pattern: pattern, split: sp, ranks: ranks, specials: specials}

	maxID, maxOf := -1, ""
	for b, r := range ranks {
		if b == "" {
			return nil, fmt.Errorf("mergeable_ranks: empty byte string (rank %d)", r)
		}
		if r < 0 || r >= noRank {
			return nil, fmt.Errorf("mergeable_ranks: rank %d of %q out of range", r, b)
		}
		if r > maxID {
			maxID, maxOf = r, fmt.Sprintf("mergeable_ranks: rank %d of %q", r, b)
		}
	}
	for name, id := range specials {
		if id < 0 || id >= noRank {
			return nil, fmt.Errorf("special_tokens: id %d of %s out of range", id, name)
		}
		if id > maxID {
			maxID, maxOf = id, fmt.Sprintf("special_tokens: id %d of %s", id, name)
		}
	}
	// Every id up to the largest takes a table entry, so the ids must be
	// nearly dense: a sparse id from a corrupt file would otherwise cost
	// gigabytes.
	if n := len(ranks) + len(specials); maxID >= 2*n+maxUnusedIDs {
		return nil, fmt.Errorf("%s: the vocabulary has %d tokens, so ids must be below %d (ids size the tables)", maxOf, n, 2*n+maxUnusedIDs)
	}
	t.tokens = make([]string, maxID+1)
	t.special = make([]bool, maxID+1)
	seen := make([]bool, maxID+1)
	for b, r := range ranks {
		if seen[r] {
			return nil, fmt.Errorf("mergeable_ranks: rank %d for 2 different byte strings (%q and %q)", r, t.tokens[r], b)
		}
		seen[r], t.tokens[r] = true, b
	}
	// tiktoken's BPE needs every single byte; without one, some text
	// has no encoding (tiktoken itself would panic).
	for c := 0; c < 256; c++ {
		if _, ok := ranks[string([]byte{byte(c)})]; !ok {
			return nil, fmt.Errorf("mergeable_ranks: single byte 0x%02x missing", c)
		}
	}
	for name, id := range specials {
		if seen[id] {
			return nil, fmt.Errorf("special_tokens: id %d of %s is also the id of %q", id, name, t.tokens[id])
		}
		if name == "" {
			return nil, fmt.Errorf("special_tokens: empty token name for id %d", id)
		}
		seen[id], t.tokens[id], t.special[id] = true, name, true
		t.specialNames = append(t.specialNames, name)
	}
	slices.SortFunc(t.specialNames, func(a, b string) int {
		// Longest first, so that a special token that is a prefix of
		// another cannot shadow it; then by name, for determinism.
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})

	ids := make([]int, len(chatTokenNames))
	for i, name := range chatTokenNames {
		id, ok := specials[name]
		if !ok {
			return nil, fmt.Errorf("special_tokens: special token %s missing", name)
		}
		ids[i] = id
	}
	t.chat = ChatTokens{ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8]}
	t.merge = newMergeTables(ranks)
	return t, nil
}

// Encode returns the token ids of text, as tiktoken's encode_ordinary:
// special-token strings such as "<|bos|>" inside text are ordinary bytes.
// Invalid UTF-8 bytes are kept and encoded as bytes, so Decode(Encode(s)) == s
// for every valid UTF-8 s.
func (t *Tokenizer) Encode(text string) []int {
	return t.AppendEncode(make([]int, 0, len(text)/4+1), text)
}

// AppendEncode appends the ids of text (as Encode) to ids.
func (t *Tokenizer) AppendEncode(ids []int, text string) []int {
	var scratch []part
	for i := 0; i < len(text); {
		j := t.split.nextPiece(text, i)
		ids = t.appendPiece(ids, text[i:j], &scratch)
		i = j
	}
	return ids
}

// EncodeWithSpecials encodes text in which every occurrence of a special
// token's literal text ("<|bos|>", …) is that special token, as tiktoken's
// encode(text, allowed_special="all"). Use it only for prompts that are
// allowed to contain special tokens; user text goes through Encode.
func (t *Tokenizer) EncodeWithSpecials(text string) []int {
	var ids []int
	for len(text) > 0 {
		// Find the earliest special token; at equal positions the longest.
		at, name := -1, ""
		for _, s := range t.specialNames {
			if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at) {
				at, name = i, s
			}
		}
		if at < 0 {
			break
		}
		ids = t.AppendEncode(ids, text[:at])
		ids = append(ids, t.specials[name])
		text = text[at+len(name):]
	}
	return t.AppendEncode(ids, text)
}

// EncodeSpecial returns the id of the special token name, e.g. "<|bos|>".
func (t *Tokenizer) EncodeSpecial(name string) (int, error) {
	id, ok := t.specials[name]
	if !ok {
		return 0, fmt.Errorf("encode special token %q: not in the vocabulary", name)
	}
	return id, nil
}

// TokenBytes returns a copy of the raw bytes of token id (for special tokens,
// their literal text), or nil if id is not in the vocabulary.
func (t *Tokenizer) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.tokens) {
		return nil
	}
	return []byte(t.tokens[id])
}

// VocabSize is tiktoken's n_vocab: the largest id plus one.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS returns the id of <|bos|>, which starts every document.
func (t *Tokenizer) BOS() int { return t.chat.BOS }

// ChatTokens returns the ids of nanochat's nine special tokens.
func (t *Tokenizer) ChatTokens() ChatTokens { return t.chat }

// Specials returns a new map from every special token's text to its id.
func (t *Tokenizer) Specials() map[string]int {
	m := make(map[string]int, len(t.specials))
	for k, v := range t.specials {
		m[k] = v
	}
	return m
}

// IsSpecial reports whether id is a special token.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.special) && t.special[id]
}

// Pattern returns the split pattern (tiktoken's pat_str).
func (t *Tokenizer) Pattern() string { return t.pattern }

// Split returns the pre-tokenizer's pieces of text, whose concatenation is
// text; each piece is then encoded on its own.
func (t *Tokenizer) Split(text string) []string {
	var pieces []string
	t.split.split(text, func(p string) { pieces = append(pieces, p) })
	return pieces
}
