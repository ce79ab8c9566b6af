package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// goldenHome is the nanochat home directory whose goldens the tests check:
// $NANOCHAT_GOLDEN_DIR when set, else the copy under testdata/.
func goldenHome() string {
	if d := os.Getenv("NANOCHAT_GOLDEN_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "testdata", "golden", "home")
}

// goldenPath returns a file of the golden home and fails the test if it is
// missing (never skips: a missing golden is a broken checkout or a bad
// NANOCHAT_GOLDEN_DIR).
func goldenPath(t testing.TB, rel ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{goldenHome()}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("golden file: %v (NANOCHAT_GOLDEN_DIR=%q)", err, os.Getenv("NANOCHAT_GOLDEN_DIR"))
	}
	return p
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

var (
	fixtureOnce sync.Once
	fixtureTok  *Tokenizer
	fixtureErr  error
)

// fixtureTokenizer is the vocab-2000 tokenizer committed under testdata,
// which the fixtures of testdata/tokenizer were generated with. It is
// loaded once per test binary.
func fixtureTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureTok, fixtureErr = Load(filepath.Join("..", "..", "testdata", "golden", "home", "tokenizer", "tokenizer.pkl"))
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureTok
}

// vectors is testdata/tokenizer/vectors.json (see gen_vectors.py there).
type vectors struct {
	Patterns map[string]string `json:"patterns"`
	Splits   []struct {
		Pattern string   `json:"pattern"`
		Text    string   `json:"text"`
		Pieces  []string `json:"pieces"`
		IDs     []int    `json:"ids"`
	} `json:"splits"`
	DecodeReplace []struct {
		Hex  string `json:"hex"`
		Text string `json:"text"`
	} `json:"decode_replace"`
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	var v vectors
	readJSON(t, filepath.Join("..", "..", "testdata", "tokenizer", "vectors.json"), &v)
	if len(v.Splits) == 0 || len(v.DecodeReplace) == 0 {
		t.Fatal("vectors.json: no vectors")
	}
	return &v
}
