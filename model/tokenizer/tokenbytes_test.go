package tokenizer

import (
	"path/filepath"
	"testing"
)

// TestLoadTokenBytes checks token_bytes.pt against the vocabulary: raw byte
// lengths (HEAD) or lengths of the decoded text (before July 2026, where a
// partial character counted as the 3 bytes of U+FFFD), 0 for specials.
func TestLoadTokenBytes(t *testing.T) {
	goldenPath(t, "tokenizer", "token_bytes.pt") // fail early, naming a missing golden
	for _, home := range []string{goldenHome(), filepath.Join("..", "..", "testdata", "demo", "home")} {
		tok, err := Load(filepath.Join(home, "tokenizer", "tokenizer.pkl"))
		if err != nil {
			t.Fatal(err)
		}
		lens, err := LoadTokenBytes(filepath.Join(home, "tokenizer", "token_bytes.pt"))
		if err != nil {
			t.Fatal(err)
		}
		if len(lens) != tok.VocabSize() {
			t.Fatalf("%s: %d lengths, want %d", home, len(lens), tok.VocabSize())
		}
		rawOnly, decodedOnly := 0, 0
		for id, n := range lens {
			if tok.IsSpecial(id) {
				if n != 0 {
					t.Errorf("%s: special %d has length %d, want 0", home, id, n)
				}
				continue
			}
			raw, decoded := len(tok.TokenBytes(id)), len(tok.Decode([]int{id}))
			switch {
			case int(n) == raw && int(n) == decoded:
			case int(n) == raw:
				rawOnly++
			case int(n) == decoded:
				decodedOnly++
			default:
				t.Errorf("%s: token %d %q has length %d, want %d (or %d)", home, id, tok.TokenBytes(id), n, raw, decoded)
			}
		}
		if rawOnly > 0 && decodedOnly > 0 {
			t.Errorf("%s: %d lengths count raw bytes, %d decoded text", home, rawOnly, decodedOnly)
		}
		t.Logf("%s: %d lengths of partial tokens count raw bytes, %d decoded text", home, rawOnly, decodedOnly)
	}
	if _, err := LoadTokenBytes(filepath.Join(t.TempDir(), "missing.pt")); err == nil {
		t.Error("LoadTokenBytes(missing): no error")
	}
}
