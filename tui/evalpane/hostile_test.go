package evalpane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/tui/theme"
)

// TestHostileTextInSamples: a data file whose question carries escape
// sequences shows them visibly in the sample browser.
func TestHostileTextInSamples(t *testing.T) {
	data := filepath.Join(t.TempDir(), "mmlu.jsonl")
	line := `{"question": "Which? \u001b]2;pwned\u0007 \u001b[2J\u000bgone", "subject": "x", "choices": ["a\u001b[31m", "b", "c", "d"], "answer": 0}` + "\n"
	if err := os.WriteFile(data, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	m := New(Options{Theme: theme.Plain(), Data: map[string]string{"mmlu": data}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	loadModel(m, "sft/d1", nil)
	press(m, "enter", "down", "down", "v") // MMLU, the one task with data, runs; its samples

	v := m.View()
	for _, r := range v {
		if r < 0x20 && r != '\n' {
			t.Fatalf("control character %q reaches the screen:\n%s", r, v)
		}
	}
	if !strings.Contains(v, "^[]2;pwned^G ^[[2J^Kgone") || !strings.Contains(v, "a^[[31m") {
		t.Errorf("sample view does not show the escapes:\n%s", v)
	}
}
