package evalpane

import (
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui"
	"github.com/nanochat-go/nanochat/tui/theme"
)

const fixtures = "../../testdata/eval"

func newPane(t *testing.T, st *store.Store) *Model {
	t.Helper()
	m := New(Options{Theme: theme.Plain(), Store: st, Data: map[string]string{
		"arc-easy": filepath.Join(fixtures, "arc.jsonl"),
		"mmlu":     filepath.Join(fixtures, "mmlu.jsonl"),
	}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	return m
}

// drive runs cmd and feeds its messages back until the queue is empty.
func drive(m *Model, cmd tea.Cmd) {
	for cmd != nil {
		msg := cmd()
		if msg == nil {
			return
		}
		_, cmd = m.Update(msg)
	}
}

func press(m *Model, keys ...string) {
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case " ":
			msg = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		_, cmd := m.Update(msg)
		drive(m, cmd)
	}
}

func loadModel(m *Model, name string, choice func([]llm.Message, []string) int) {
	parts := strings.Split(name, "/")
	m.Update(tui.ModelMsg{Model: &llmtest.Fake{Choice: choice}, Checkpoint: home.Checkpoint{Source: parts[0], Tag: parts[1]}})
}

func TestRunAndBrowse(t *testing.T) {
	m := newPane(t, nil)
	if v := m.View(); !strings.Contains(v, "[x] ARC-Easy") || !strings.Contains(v, "[ ] GSM8K") || !strings.Contains(v, "no checkpoint loaded") {
		t.Fatalf("initial view:\n%s", v)
	}
	press(m, "enter")
	if !strings.Contains(m.View(), "no checkpoint loaded: pick one first") {
		t.Errorf("start without a model:\n%s", m.View())
	}
	loadModel(m, "sft/d1", nil) // always answers the first letter
	press(m, "enter")
	v := m.View()
	for _, want := range []string{"ARC-Easy", "3/3", "MMLU", "4/4", "Results", "ChatCORE", "finished"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	// ARC: gold letters B, 2, E → "A"/"1" never right; MMLU gold "B" "C" "A" "D" → 1 of 4.
	if m.report.Tasks[0].Passed != 0 || m.report.Tasks[1].Passed != 1 {
		t.Errorf("report = %+v", m.report.Tasks)
	}
	// Sample browser on MMLU, then failures only.
	press(m, "down", "down", "v")
	v = m.View()
	if !strings.Contains(v, "samples · MMLU · all items · 4 shown") || !strings.Contains(v, "output 1") ||
		!strings.Contains(v, "Multiple Choice question:") {
		t.Errorf("samples view:\n%s", v)
	}
	press(m, "f")
	if v = m.View(); !strings.Contains(v, "failures only · 3 shown") || strings.Contains(v, "✓") {
		t.Errorf("failures view:\n%s", v)
	}
	press(m, "esc")
	if m.mode != modeTasks {
		t.Error("esc should go back to the task list")
	}
}

func TestToggleAndStop(t *testing.T) {
	m := newPane(t, nil)
	press(m, " ") // unselect ARC-Easy
	if m.selected["arc-easy"] {
		t.Error("space should unselect the task under the cursor")
	}
	press(m, "a")
	for _, tk := range m.tasks {
		if !m.selected[tk.ID] {
			t.Errorf("a should select all; %s is not", tk.ID)
		}
	}
	press(m, "a")
	loadModel(m, "sft/d1", nil)
	press(m, "enter")
	if !strings.Contains(m.View(), "no task selected") {
		t.Errorf("view:\n%s", m.View())
	}
}

func TestCompare(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "evals.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := newPane(t, st)
	press(m, " ") // MMLU only
	gold := map[string]int{"2 + 3": 1, "France": 2, "red planet": 0, "«ü»": 3}
	right := func(msgs []llm.Message, _ []string) int {
		for k, v := range gold {
			if strings.Contains(msgs[0].Content, k) {
				return v
			}
		}
		return 0
	}
	loadModel(m, "sft/d1", right) // 4/4
	press(m, "enter")
	loadModel(m, "sft/d2", nil) // 1/4 (only "red planet" is A)
	press(m, "enter")
	press(m, "down", "down", "c")
	v := m.View()
	if !strings.Contains(v, "A = sft/d2/0") || !strings.Contains(v, "B = sft/d1/0") ||
		!strings.Contains(v, "both pass 1 · only A 0 · only B 3 · neither 0") || !strings.Contains(v, "-75.00 points") {
		t.Errorf("compare view:\n%s", v)
	}
	press(m, "esc")
	if m.mode != modeTasks {
		t.Error("esc should leave compare")
	}
}
