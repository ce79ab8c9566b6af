package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// This file writes a Tokenizer out as a Hugging Face tokenizer
// (tokenizer.json for the tokenizers library, tokenizer_config.json for
// transformers), so that tools built on transformers' AutoTokenizer
// (lm-evaluation-harness, vLLM) count and split text as nanochat does:
//
//   - pre-tokenizer: a Split on nanochat's own pattern (Oniguruma reads its
//     possessive quantifiers), then GPT-2's byte-to-character mapping;
//   - model: byte-level BPE whose vocabulary is the mergeable ranks (id =
//     rank) and whose merges are, for every token, each way of writing it as
//     two tokens, ordered by the token's rank (the conversion transformers
//     applies to tiktoken files); ignore_merges takes a whole piece that is a
//     token at once, as tiktoken does;
//   - the special tokens as added tokens (found in text, as tiktoken's
//     allowed_special="all" and EncodeWithSpecials do), <|bos|> prepended by
//     the post-processor when special tokens are asked for;
//   - a chat template rendering nanochat's conversation format.
//
// The encoding equals EncodeWithSpecials; the tests check it against
// transformers itself when NANOCHAT_HF_PYTHON names a Python that has it.

// ChatTemplate is nanochat's chat format as a Jinja template for
// transformers' apply_chat_template: <|bos|>, a system message merged into
// the first user message, user turns in <|user_start|>…<|user_end|>,
// assistant turns in <|assistant_start|>…<|assistant_end|>, and
// <|assistant_start|> for the reply when add_generation_prompt is set.
// Assistant content is a string (tool calls written out literally).
const ChatTemplate = `{%- set ns = namespace(system='') -%}
{%- if messages and messages[0]['role'] == 'system' -%}
{%- set ns.system = messages[0]['content'] + '\n\n' -%}
{%- set messages = messages[1:] -%}
{%- endif -%}
{{- bos_token -}}
{%- for message in messages -%}
{%- if message['role'] == 'user' -%}
{{- '<|user_start|>' + (ns.system if loop.first else '') + message['content'] + '<|user_end|>' -}}
{%- elif message['role'] == 'assistant' -%}
{{- '<|assistant_start|>' + message['content'] + '<|assistant_end|>' -}}
{%- else -%}
{{- raise_exception('nanochat conversations have user and assistant turns after an optional first system message, not ' + message['role']) -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|assistant_start|>' -}}
{%- endif -%}`

// byteChars is GPT-2's bytes_to_unicode: printable Latin-1 bytes map to
// themselves, the others to U+0100 upwards, so every byte string is a
// string of visible characters.
func byteChars() [256]rune {
	var m [256]rune
	n := 0
	for b := range 256 {
		switch {
		case '!' <= b && b <= '~', 0xA1 <= b && b <= 0xAC, 0xAE <= b && b <= 0xFF:
			m[b] = rune(b)
		default:
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

// HuggingFace returns the Hugging Face tokenizer files equal to t, by name:
// "tokenizer.json" and "tokenizer_config.json".
func (t *Tokenizer) HuggingFace() (map[string][]byte, error) {
	chars := byteChars()
	enc := func(b string) string {
		r := make([]rune, len(b))
		for i := range len(b) {
			r[i] = chars[b[i]]
		}
		return string(r)
	}
	vocab := make(map[string]int, len(t.ranks))
	for b, id := range t.ranks {
		vocab[enc(b)] = id
	}
	type merge struct{ rank, left, right int }
	var merges []merge
	for b, id := range t.ranks {
		for i := 1; i < len(b); i++ {
			l, lok := t.ranks[b[:i]]
			r, rok := t.ranks[b[i:]]
			if lok && rok {
				merges = append(merges, merge{id, l, r})
			}
		}
	}
	slices.SortFunc(merges, func(a, b merge) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		if a.left != b.left {
			return a.left - b.left
		}
		return a.right - b.right
	})
	// "a b": byte-level characters never include a space.
	mergeList := make([]string, len(merges))
	for i, m := range merges {
		mergeList[i] = enc(t.tokens[m.left]) + " " + enc(t.tokens[m.right])
	}

	type addedToken struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	var added []addedToken
	decoder := map[string]any{}
	for name, id := range t.specials {
		added = append(added, addedToken{ID: id, Content: name, Special: true})
		decoder[fmt.Sprint(id)] = map[string]any{"content": name, "single_word": false, "lstrip": false, "rstrip": false,
			"normalized": false, "special": true}
	}
	slices.SortFunc(added, func(a, b addedToken) int { return a.ID - b.ID })
	bos := t.chat.BOS

	tokJSON := map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": added,
		"normalizer":   nil,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": t.pattern}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		}},
		"post_processor": map[string]any{
			"type":           "TemplateProcessing",
			"single":         []any{special(BOSToken), sequence("A")},
			"pair":           []any{special(BOSToken), sequence("A"), special(BOSToken), sequence("B")},
			"special_tokens": map[string]any{BOSToken: map[string]any{"id": BOSToken, "ids": []int{bos}, "tokens": []string{BOSToken}}},
		},
		"decoder": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil, "end_of_word_suffix": nil,
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
			"vocab": vocab, "merges": mergeList,
		},
	}
	config := map[string]any{
		"tokenizer_class":              "PreTrainedTokenizerFast",
		"bos_token":                    BOSToken,
		"eos_token":                    AssistantEndToken,
		"pad_token":                    BOSToken,
		"add_bos_token":                false,
		"clean_up_tokenization_spaces": false,
		"model_max_length":             1 << 30, // the model's sequence_len is not the tokenizer's to know
		"added_tokens_decoder":         decoder,
		"chat_template":                ChatTemplate,
	}
	out := map[string][]byte{}
	for name, v := range map[string]any{"tokenizer.json": tokJSON, "tokenizer_config.json": config} {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		e.SetIndent("", " ")
		if err := e.Encode(v); err != nil {
			return nil, fmt.Errorf("export %s: %w", name, err)
		}
		out[name] = buf.Bytes()
	}
	return out, nil
}

func special(name string) map[string]any {
	return map[string]any{"SpecialToken": map[string]any{"id": name, "type_id": 0}}
}

func sequence(id string) map[string]any {
	return map[string]any{"Sequence": map[string]any{"id": id, "type_id": 0}}
}
