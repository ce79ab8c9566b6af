package chat

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/tui/history"
)

// hostileReply is what a model (or a --remote server) might send: a
// terminal retitle, a screen wipe, colours, a vertical tab, a bell, a bare
// carriage return.
const hostileReply = "Retitle \x1b]2;pwned\x07 then wipe \x1b[2J\x1b[H and\vvertical, bell\x07, " +
	"red \x1b[31mRED\x1b[0m, CR\rover.\n\n- list \x1b[5mblink\n\nDone."

// controls reports the control characters (other than newline) in s.
func controls(s string) []rune {
	var out []rune
	for _, r := range s {
		if r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f {
			out = append(out, r)
		}
	}
	return out
}

// TestHostileTextInChat: a reply, the model's name, a calculator call and a
// stored user message full of escape sequences are shown with their
// control characters visible, while streaming and once finished; the
// database keeps the bytes as they came.
func TestHostileTextInChat(t *testing.T) {
	db := openDB(t)
	m, _ := newTest(t, 80, 30, db)
	m.LoadSession(history.Session{ID: "0123456789abcdef", Title: "t"}, []history.Message{
		{Role: "user", Content: "from a file: \x1b]0;title\x07\x1b[2J"},
		{Role: "assistant", Content: "ok"},
	})
	fake := &llmtest.Fake{
		ModelInfo: llm.Info{Name: "remote\x1b]2;x\x07/d1/1", Generation: "A7\x1b[2J", Chat: true},
		Tool:      &llm.ToolCall{Expr: "1+1\x1b[2J", Result: "2\a", OK: true},
		Reply:     func([]llm.Message, llm.Settings) string { return hostileReply },
	}
	m.SetModel(fixed{fake})
	typeText(m, "go")
	press(m, tea.KeyEnter)
	for m.stream != nil {
		msg := <-m.stream.out
		m.Update(msg)
		if c := controls(m.View()); len(c) > 0 {
			t.Fatalf("control characters %q reach the screen while streaming:\n%s", c, m.View())
		}
	}
	v := m.View()
	if c := controls(v); len(c) > 0 {
		t.Errorf("control characters %q reach the screen:\n%s", c, v)
	}
	for _, want := range []string{"^[]2;pwned^G", "^[[2J^[[H", "and^Kvertical", "^[[31mRED^[[0m", "CR^Mover", "^[]0;title^G", "remote^[]2;x^G/d1/1"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	golden(t, "hostile", v)
	stored, err := db.Messages(m.Session().ID)
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored %d messages (%v), want 2 (the loaded ones were never in this database)", len(stored), err)
	}
	if got := stored[1].Content; !strings.Contains(got, "\x1b]2;pwned\x07") {
		t.Errorf("stored reply = %q, want the bytes as they came", got)
	}
}
