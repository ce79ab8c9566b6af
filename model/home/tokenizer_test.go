package home

import (
	"path/filepath"
	"testing"
)

// TestTokenizerFor checks that a checkpoint's own tokenizer (in a tokenizer/
// folder or beside model_<step>.pt) wins over the home's, and that Scan,
// Resolve and Parse report which one each checkpoint uses.
func TestTokenizerFor(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"tokenizer/tokenizer.pkl",
		"chatsft_checkpoints/d20/model_000650.pt",
		"chatsft_checkpoints/d12/model_000100.pt",
		"chatsft_checkpoints/d12/tokenizer/tokenizer.pkl",
		"chatsft_checkpoints/d8/model_000010.pt",
		"chatsft_checkpoints/d8/tokenizer.pkl",
	} {
		touch(t, filepath.Join(dir, p))
	}
	want := map[string]struct {
		path string
		own  bool
	}{
		"sft/d20/650": {filepath.Join(dir, "tokenizer", "tokenizer.pkl"), false},
		"sft/d12/100": {filepath.Join(dir, "chatsft_checkpoints", "d12", "tokenizer", "tokenizer.pkl"), true},
		"sft/d8/10":   {filepath.Join(dir, "chatsft_checkpoints", "d8", "tokenizer.pkl"), true},
	}
	cks, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cks) != len(want) {
		t.Fatalf("Scan found %d checkpoints, want %d", len(cks), len(want))
	}
	for _, c := range cks {
		w := want[c.Name()]
		if c.Tokenizer != w.path || c.OwnTokenizer != w.own {
			t.Errorf("Scan %s: tokenizer %q own=%t, want %q own=%t", c.Name(), c.Tokenizer, c.OwnTokenizer, w.path, w.own)
		}
		r, err := Parse(dir, c.Name())
		if err != nil || r.Tokenizer != w.path || r.OwnTokenizer != w.own {
			t.Errorf("Parse %s: tokenizer %q own=%t (%v), want %q own=%t", c.Name(), r.Tokenizer, r.OwnTokenizer, err, w.path, w.own)
		}
		p, err := Parse("elsewhere", c.ModelPath)
		if err != nil || p.Tokenizer != w.path || p.OwnTokenizer != w.own {
			t.Errorf("Parse %s: tokenizer %q own=%t (%v), want %q own=%t", c.ModelPath, p.Tokenizer, p.OwnTokenizer, err, w.path, w.own)
		}
	}
}
