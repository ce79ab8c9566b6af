package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLoadHFRoundTrip reads back what HuggingFace writes, for the demo and
// golden tokenizers, and the tokenizer.json that transformers itself
// re-saved (testdata/hf/saved_a0), and checks each encodes as the pickle
// does (and, for transformers' file, as transformers did).
func TestLoadHFRoundTrip(t *testing.T) {
	texts := []string{"Hello world! 123", "<|user_start|>What is 2+2?<|user_end|><|assistant_start|>", "  indented\n\tcode()  ", "naïve café — 1234567 ok?!\r\n\r\n  x"}
	for _, pkl := range []string{
		filepath.Join("..", "..", "testdata", "demo", "home", "tokenizer", "tokenizer.pkl"),
		filepath.Join("..", "..", "testdata", "golden", "home", "tokenizer", "tokenizer.pkl"),
	} {
		want, err := Load(pkl)
		if err != nil {
			t.Fatal(err)
		}
		files, err := want.HuggingFace()
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseHF(files["tokenizer.json"])
		if err != nil {
			t.Fatalf("%s: %v", pkl, err)
		}
		for _, s := range texts {
			if a, b := got.EncodeWithSpecials(s), want.EncodeWithSpecials(s); !slices.Equal(a, b) {
				t.Errorf("%s: %q: tokenizer.json encodes %v, tokenizer.pkl %v", pkl, s, a, b)
			}
		}
		if got.VocabSize() != want.VocabSize() || got.ChatTokens() != want.ChatTokens() {
			t.Errorf("%s: vocab %d chat tokens %+v, want %d %+v", pkl, got.VocabSize(), got.ChatTokens(), want.VocabSize(), want.ChatTokens())
		}
	}

	saved := filepath.Join("..", "..", "testdata", "hf", "saved_a0", "tokenizer.json")
	tok, err := LoadHF(saved)
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Encodings map[string][]int `json:"encodings"`
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "hf", "transformers_a0_oct2025.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	for s, want := range golden.Encodings {
		if got := tok.EncodeWithSpecials(s); !slices.Equal(got, want) {
			t.Errorf("transformers' tokenizer.json: %q encodes to %v, transformers gave %v", s, got, want)
		}
	}
}

func TestLoadHFRejects(t *testing.T) {
	pkl := filepath.Join("..", "..", "testdata", "demo", "home", "tokenizer", "tokenizer.pkl")
	tok, err := Load(pkl)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tok.HuggingFace()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(files["tokenizer.json"], &doc); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(map[string]any){
		"rank order": func(d map[string]any) {
			m := d["model"].(map[string]any)["merges"].([]any)
			m[0], m[len(m)-1] = m[len(m)-1], m[0]
		},
		"not byte-level": func(d map[string]any) {
			d["model"].(map[string]any)["vocab"].(map[string]any)["\u4e2d"] = 99999
		},
		"normalizer": func(d map[string]any) { d["normalizer"] = map[string]any{"type": "NFC"} },
		"want byte-level BPE": func(d map[string]any) {
			d["model"].(map[string]any)["type"] = "WordPiece"
		},
	} {
		var d map[string]any
		json.Unmarshal(files["tokenizer.json"], &d)
		edit(d)
		data, _ := json.Marshal(d)
		if _, err := parseHF(data); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want an error naming %q", name, err, name)
		}
	}
}
