package pickle

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDecodeTokenizer decodes the pickled tiktoken Encodings that nanochat
// writes (spec §4.1): protocol 4, FRAME, MEMOIZE, NEWOBJ, BUILD.
func TestDecodeTokenizer(t *testing.T) {
	tests := []struct {
		path      string
		ranks     int
		firstSpec int64
	}{
		{"golden/home/tokenizer/tokenizer.pkl", 1991, 1991},
		{"demo/home/tokenizer/tokenizer.pkl", 3500, 3500},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "testdata", tt.path))
			if err != nil {
				t.Fatal(err)
			}
			v, err := Decode(data, Options{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			obj, ok := v.(*Object)
			if !ok || obj.Class != (Global{"tiktoken.core", "Encoding"}) || len(obj.Args) != 0 {
				t.Fatalf("top = %s, want a tiktoken.core.Encoding object without args", TypeName(v))
			}
			state, ok := obj.State.(*Dict)
			if !ok {
				t.Fatalf("state = %s, want dict", TypeName(obj.State))
			}
			if name, _ := state.Get("name"); name != "rustbpe" {
				t.Errorf("name = %v, want rustbpe", name)
			}
			if pat, _ := state.Get("pat_str"); pat != nanochatPattern {
				t.Errorf("pat_str = %q, want %q", pat, nanochatPattern)
			}
			rv, _ := state.Get("mergeable_ranks")
			ranks, ok := rv.(*Dict)
			if !ok || ranks.Len() != tt.ranks {
				t.Fatalf("mergeable_ranks = %s of %d entries, want dict of %d", TypeName(rv), lenOf(rv), tt.ranks)
			}
			for i, k := range ranks.Keys {
				b, ok := k.([]byte)
				if !ok || ranks.Values[i] != int64(i) || i < 256 && (len(b) != 1 || b[0] != byte(i)) {
					t.Fatalf("rank entry %d = %s: %v, want bytes with rank %d", i, canon(k), ranks.Values[i], i)
				}
			}
			sv, _ := state.Get("special_tokens")
			specials, ok := sv.(*Dict)
			if !ok || specials.Len() != 9 {
				t.Fatalf("special_tokens = %s of %d entries, want dict of 9", TypeName(sv), lenOf(sv))
			}
			if got, _ := specials.Get("<|bos|>"); got != tt.firstSpec {
				t.Errorf("<|bos|> = %v, want %d", got, tt.firstSpec)
			}
			if got, _ := specials.Get("<|output_end|>"); got != tt.firstSpec+8 {
				t.Errorf("<|output_end|> = %v, want %d", got, tt.firstSpec+8)
			}
		})
	}
}

// nanochatPattern is the split pattern every nanochat tokenizer uses (spec §4.1).
const nanochatPattern = `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`

func lenOf(v Value) int {
	if d, ok := v.(*Dict); ok {
		return d.Len()
	}
	return -1
}
