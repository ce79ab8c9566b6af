package demo

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/nanochat-go/nanochat/model/home"
)

// TestUnpackBundledDemo unpacks the real bundle into an empty cache, finds
// its checkpoint and tokenizer, and reuses the copy on the next call.
func TestUnpackBundledDemo(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	h, err := Home()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := CacheDir()
	sum, _ := digest()
	if want := filepath.Join(root, sum, "home"); h != want {
		t.Fatalf("Home() = %s, want %s", h, want)
	}
	ck, err := home.Resolve(h, "sft", "", -1)
	if err != nil || ck.Name() != "sft/d4/1514" || ck.OwnTokenizer {
		t.Fatalf("demo checkpoint %s (own tokenizer %t), %v; want sft/d4/1514 with the home's tokenizer", ck.Name(), ck.OwnTokenizer, err)
	}
	for _, f := range []string{ck.Tokenizer, filepath.Join(h, "..", "data", "gsm8k_toy.jsonl")} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	before, _ := os.Stat(ck.ModelPath)
	if h2, err := Home(); err != nil || h2 != h {
		t.Fatalf("second Home() = %s, %v; want %s", h2, err, h)
	}
	if after, _ := os.Stat(ck.ModelPath); !after.ModTime().Equal(before.ModTime()) {
		t.Error("second Home() rewrote the unpacked demo")
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("cache holds %d entries, want only %s (no temporary directories left)", len(entries), sum)
	}
}

func TestDigestNamesContents(t *testing.T) {
	a := fstest.MapFS{"home/x": {Data: []byte("1")}}
	b := fstest.MapFS{"home/x": {Data: []byte("2")}}
	c := fstest.MapFS{"home/y": {Data: []byte("1")}}
	da, _ := Digest(a)
	db, _ := Digest(b)
	dc, _ := Digest(c)
	if da == db || da == dc || len(da) != 16 {
		t.Fatalf("digests %s %s %s: want three different 16-digit names", da, db, dc)
	}
}
