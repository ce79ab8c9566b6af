package settings

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/theme"
)

func TestEditAndValidate(t *testing.T) {
	m := New(theme.Plain(), DefaultKeyMap(), llm.DefaultSettings(), "")
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlU}) // clear temperature
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("-1")})
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if cmd != nil || m.err == nil || !strings.Contains(m.View(), "temperature \"-1\"") {
		t.Fatalf("negative temperature accepted (err %v)", m.err)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	m.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("0")})
	for i := 0; i < 5; i++ {
		m.Update(tea.KeyMsg{Type: tea.KeyTab})
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("Be brief.")})
	_, cmd = m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	saved, ok := cmd().(SavedMsg)
	want := llm.DefaultSettings()
	want.Temperature = 0
	if !ok || saved.Settings != want || saved.System != "Be brief." {
		t.Errorf("saved %+v, want greedy defaults and the system prompt", saved)
	}
}
