package chat

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
)

// scripted answers Chat with a fixed reply and error, streaming the text.
type scripted struct {
	llm.Model
	rep llm.Reply
	err error
}

func (s scripted) Chat(_ context.Context, _ []llm.Message, _ llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	if len(s.rep.Rows) > 0 && s.rep.Rows[0].Text != "" {
		on(llm.Event{Text: s.rep.Rows[0].Text})
	}
	return s.rep, s.err
}

func ask(t *testing.T, m *Model, prompt string) string {
	t.Helper()
	typeText(m, prompt)
	press(m, tea.KeyEnter)
	drive(t, m, 0)
	return m.View()
}

// TestPromptTooLong: a message that does not fit the context fails before
// its first token; the reply says why, in full, without the zero stats of
// a generation that never ran and without calling itself partial.
func TestPromptTooLong(t *testing.T) {
	m, _ := newTest(t, 80, 24, nil)
	err := fmt.Errorf("chat: 600 prompt tokens + 64 to generate exceed the context of 512: %w", llm.ErrTooLong)
	m.SetModel(scripted{Model: &llmtest.Fake{}, err: err})
	v := ask(t, m, strings.Repeat("long ", 100))
	flat := strings.Join(strings.Fields(v), " ")
	for _, want := range []string{"failed: chat: 600 prompt tokens + 64 to generate exceed the context of 512",
		"conversation does not fit the model's context (↑ edits the message, ctrl+n starts a new chat)"} {
		if !strings.Contains(flat, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	for _, bad := range []string{"╰ 0 prompt", "(partial)", "0.0 tok/s"} {
		if strings.Contains(v, bad) {
			t.Errorf("view shows %q for a generation that never ran:\n%s", bad, v)
		}
	}
}

// TestFilledContext: a reply cut by the end of the context is not said to
// have hit max tokens.
func TestFilledContext(t *testing.T) {
	m, _ := newTest(t, 80, 24, nil)
	info := llm.Info{Name: "sft/d4/1514", Generation: "A7", ContextLen: 512, Chat: true}
	rep := llm.Reply{Rows: []llm.Row{{Text: "and so on and so on", Finish: "length"}},
		Stats: llm.Stats{PromptTokens: 400, Generated: 112, TokensPerSec: 50}}
	m.SetModel(scripted{Model: &llmtest.Fake{ModelInfo: info}, rep: rep})
	if v := ask(t, m, "go on"); !strings.Contains(v, "filled the context of 512 tokens") || strings.Contains(v, "max tokens") {
		t.Errorf("a reply that filled the context:\n%s", v)
	}
	rep.Stats = llm.Stats{PromptTokens: 10, Generated: 512, TokensPerSec: 50}
	m.SetModel(scripted{Model: &llmtest.Fake{ModelInfo: info}, rep: rep})
	if v := ask(t, m, "go on"); !strings.Contains(v, "hit max tokens") {
		t.Errorf("a reply that used max tokens:\n%s", v)
	}
}

// TestLineBreaksAndReadingWidth: a reply's single newlines stay line
// breaks, and on a wide terminal messages are laid out about 100 columns
// wide.
func TestLineBreaksAndReadingWidth(t *testing.T) {
	m, _ := newTest(t, 200, 40, nil)
	m.SetModel(fixed{&llmtest.Fake{Reply: func([]llm.Message, llm.Settings) string {
		return "Ruby bakes 8*5 = 40 buttons.\nThere are 40-8 = 32 buttons left.\n" + strings.Repeat("word ", 60)
	}}})
	v := ask(t, m, strings.Repeat("question ", 30))
	if !strings.Contains(trimLines(v), "Ruby bakes 8*5 = 40 buttons.\n") {
		t.Errorf("the reply's line break was merged:\n%s", v)
	}
	widest := 0
	for _, l := range strings.Split(v, "\n") {
		if strings.HasPrefix(l, "─") || strings.HasPrefix(l, "›") {
			continue // the rule and the input span the pane
		}
		widest = max(widest, lipgloss.Width(strings.TrimRight(l, " ")))
	}
	if widest > readingWidth || widest < readingWidth-12 {
		t.Errorf("widest transcript line at 200 columns: %d, want ≤ %d (and near it)\n%s", widest, readingWidth, v)
	}
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
