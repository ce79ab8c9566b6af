// Package settings is the sampling settings dialog: temperature, top-k,
// top-p, max tokens, seed and system prompt for the next message of a
// session.
package settings

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// SavedMsg carries the accepted settings.
type SavedMsg struct {
	Settings llm.Settings
	System   string
}

// ClosedMsg is sent when the dialog is dismissed without saving.
type ClosedMsg struct{}

// KeyMap is the dialog's bindings.
type KeyMap struct {
	Next, Prev, Save, Close key.Binding
}

// DefaultKeyMap is the built-in binding set.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Next:  key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field")),
		Prev:  key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
		Save:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")),
		Close: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// Named exposes the bindings for remapping.
func (k *KeyMap) Named() map[string]*key.Binding {
	return map[string]*key.Binding{"next": &k.Next, "prev": &k.Prev, "save": &k.Save, "close": &k.Close}
}

type field struct {
	label, help string
	input       textinput.Model
}

// Model is the settings dialog.
type Model struct {
	keys   KeyMap
	th     theme.Theme
	fields []field
	focus  int
	err    error
	width  int
}

// New opens the dialog on the current settings.
func New(th theme.Theme, keys KeyMap, s llm.Settings, system string) *Model {
	mk := func(label, help, value string) field {
		ti := textinput.New()
		ti.Prompt = ""
		ti.SetValue(value)
		return field{label: label, help: help, input: ti}
	}
	m := &Model{keys: keys, th: th, width: 64, fields: []field{
		mk("temperature", "0 = greedy", strconv.FormatFloat(s.Temperature, 'g', -1, 64)),
		mk("top-k", "0 = off", strconv.Itoa(s.TopK)),
		mk("top-p", "1 = off", strconv.FormatFloat(s.TopP, 'g', -1, 64)),
		mk("max tokens", "per reply", strconv.Itoa(s.MaxTokens)),
		mk("seed", "same seed, same answer", strconv.FormatUint(s.Seed, 10)),
		mk("system prompt", "merged into the first user turn", system),
	}}
	m.fields[0].input.Focus()
	return m
}

// SetSize bounds the dialog.
func (m *Model) SetSize(w, h int) { m.width = min(w, 72) }

// Parse validates the fields.
func (m *Model) Parse() (llm.Settings, string, error) {
	var s llm.Settings
	var err error
	v := func(i int) string { return strings.TrimSpace(m.fields[i].input.Value()) }
	if s.Temperature, err = strconv.ParseFloat(v(0), 64); err != nil || s.Temperature < 0 {
		return s, "", fmt.Errorf("temperature %q: want a number ≥ 0", v(0))
	}
	if s.TopK, err = strconv.Atoi(v(1)); err != nil || s.TopK < 0 {
		return s, "", fmt.Errorf("top-k %q: want an integer ≥ 0", v(1))
	}
	if s.TopP, err = strconv.ParseFloat(v(2), 64); err != nil || s.TopP <= 0 || s.TopP > 1 {
		return s, "", fmt.Errorf("top-p %q: want 0 < p ≤ 1", v(2))
	}
	if s.MaxTokens, err = strconv.Atoi(v(3)); err != nil || s.MaxTokens <= 0 {
		return s, "", fmt.Errorf("max tokens %q: want an integer > 0", v(3))
	}
	if s.Seed, err = strconv.ParseUint(v(4), 10, 64); err != nil {
		return s, "", fmt.Errorf("seed %q: want an integer ≥ 0", v(4))
	}
	return s, m.fields[5].input.Value(), nil
}

func (m *Model) move(d int) tea.Cmd {
	m.fields[m.focus].input.Blur()
	m.focus = (m.focus + d + len(m.fields)) % len(m.fields)
	return m.fields[m.focus].input.Focus()
}

// Update handles keys.
func (m *Model) Update(msg tea.Msg) (*Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(k, m.keys.Close):
		return m, func() tea.Msg { return ClosedMsg{} }
	case key.Matches(k, m.keys.Next):
		return m, m.move(1)
	case key.Matches(k, m.keys.Prev):
		return m, m.move(-1)
	case key.Matches(k, m.keys.Save):
		s, sys, err := m.Parse()
		if m.err = err; err != nil {
			return m, nil
		}
		return m, func() tea.Msg { return SavedMsg{Settings: s, System: sys} }
	}
	var cmd tea.Cmd
	m.fields[m.focus].input, cmd = m.fields[m.focus].input.Update(msg)
	return m, cmd
}

// View draws the dialog box.
func (m *Model) View() string {
	st := lipgloss.NewStyle()
	muted, accent := st.Foreground(m.th.Muted), st.Foreground(m.th.Accent)
	var b strings.Builder
	b.WriteString(accent.Bold(true).Render("Settings") + muted.Render(" · for the next message of this chat") + "\n\n")
	for i, f := range m.fields {
		label := fmt.Sprintf("%-14s", f.label)
		if i == m.focus {
			label = accent.Render("› " + label)
		} else {
			label = "  " + label
		}
		f.input.Width = max(m.width-24, 8)
		b.WriteString(label + " " + f.input.View() + "\n")
		if i == m.focus {
			b.WriteString(muted.Render("                 "+f.help) + "\n")
		}
	}
	if m.err != nil {
		b.WriteString("\n" + st.Foreground(m.th.Error).Render(m.err.Error()))
	} else {
		b.WriteString("\n" + muted.Render("enter save · tab/↑/↓ move · esc cancel"))
	}
	return st.Border(lipgloss.RoundedBorder()).BorderForeground(m.th.Subtle).Padding(0, 1).Width(m.width - 2).Render(b.String())
}
