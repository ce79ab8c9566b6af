package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeGoldens makes a home whose golden/ holds files (name → content).
func writeGoldens(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "golden"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, "golden", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCases(t *testing.T) {
	good := `{"variant":"v","source":"base","model_tag":"d1","step":3,"tokens":[1,2,3],"argmax":[2,3,4]}`
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string // error substring; "" = ok
	}{
		{"model and tokenizer goldens", map[string]string{"a.json": good, "tok.json": `{"cases":[{"text":"x","ids":[1]}]}`}, ""},
		{"truncated file", map[string]string{"a.json": good, "b.json": good[:40]}, filepath.Join("golden", "b.json") + ": unexpected end"},
		{"an array (the tokenizer goldens)", map[string]string{"a.json": good, "b.json": `[{"text":"x","ids":[1]}]`}, ""},
		{"trailing comma", map[string]string{"a.json": good, "b.json": `[{"text":"x","ids":[1]},]`}, "b.json"},
		{"not JSON", map[string]string{"a.json": good, "b.json": `tokens: [1, 2]`}, "b.json"},
		{"mistyped field", map[string]string{"a.json": good, "b.json": `{"tokens":[1,2],"step":"three"}`}, "b.json"},
		{"empty tokens", map[string]string{"a.json": good, "b.json": `{"tokens":[]}`}, `"tokens" is empty`},
		{"null tokens", map[string]string{"b.json": `{"tokens":null}`}, `"tokens" is empty`},
		{"none", map[string]string{"tok.json": `{"cases":[]}`}, "no model goldens"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cases, err := Cases(writeGoldens(t, c.files))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Cases: %v", err)
			case c.want == "" && (len(cases) != 1 || cases[0].Step != 3 || len(cases[0].Tokens) != 3):
				t.Fatalf("Cases = %+v, want the one model golden", cases)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("Cases: err = %v, want one containing %q", err, c.want)
			}
		})
	}
}
