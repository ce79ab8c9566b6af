package sessions

import (
	"path/filepath"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// do runs cmd and feeds its message back, as the program would.
func do(m *Model, cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			if c != nil {
				if r, ok := c().(resultsMsg); ok {
					m.Update(r)
				}
			}
		}
		return nil
	}
	m.Update(msg)
	return msg
}

func TestSearchRenameDelete(t *testing.T) {
	db, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, text := range []string{"penguins of Antarctica", "capital of France"} {
		s := history.Session{}
		if err := db.SaveSession(&s); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendMessage(&history.Message{SessionID: s.ID, Role: "user", Content: text}); err != nil {
			t.Fatal(err)
		}
	}
	m := New(db, theme.Plain(), DefaultKeyMap(), "")
	do(m, m.Init())
	if len(m.hits) != 2 {
		t.Fatalf("listed %d sessions, want 2", len(m.hits))
	}
	for _, r := range "pengu" {
		do(m, func() tea.Cmd { _, c := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}); return c }())
	}
	if len(m.hits) != 1 || m.hits[0].Session.Title != "penguins of Antarctica" {
		t.Fatalf("search pengu: %+v", m.hits)
	}
	id := m.hits[0].Session.ID
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlE})
	m.rename.SetValue("Birds")
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if got, ok := do(m, cmd).(RenamedMsg); !ok || got.Title != "Birds" {
		t.Fatalf("rename reported %+v", got)
	}
	if s, _ := db.Session(id); s.Title != "Birds" {
		t.Errorf("stored title %q, want Birds", s.Title)
	}
	if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlX}); cmd != nil || !m.confirm {
		t.Fatal("first ctrl+x should only ask for confirmation")
	}
	_, cmd = m.Update(tea.KeyMsg{Type: tea.KeyCtrlX})
	if _, ok := cmd().(DeletedMsg); !ok {
		t.Fatal("second ctrl+x did not delete")
	}
	if ss, _ := db.Sessions(0); len(ss) != 1 {
		t.Errorf("%d sessions left, want 1", len(ss))
	}
	_, cmd = m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if _, ok := cmd().(ClosedMsg); !ok {
		t.Error("esc did not close")
	}
}
