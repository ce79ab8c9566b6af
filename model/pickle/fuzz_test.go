package pickle

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that no input makes Decode panic, and that values it
// returns can be walked.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "pickle", "*.pkl"))
	files = append(files, filepath.Join("..", "..", "testdata", "golden", "home", "tokenizer", "tokenizer.pkl"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= 32<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte("(I1\nI2\nimod\nCls\n."))
	f.Add([]byte("}(I1\nS'a'\n\x88S'b'\nF1.0\nS'c'\nu."))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data, Options{})
		if err != nil {
			return
		}
		_ = canon(v)
	})
}
