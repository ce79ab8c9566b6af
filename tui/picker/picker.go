// Package picker is the checkpoint picker dialog: every checkpoint in the
// nanochat home with its source, tag, step, generation and size, narrowed by
// a fuzzy filter and a source filter cycled with tab.
package picker

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/dustin/go-humanize"

	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui/termsafe"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// Item is one checkpoint row; Generation and Params fill in once described.
type Item struct {
	Checkpoint home.Checkpoint
	Generation string
	Params     int64
}

// ChosenMsg is sent when the user picks a checkpoint.
type ChosenMsg struct{ Checkpoint home.Checkpoint }

// ClosedMsg is sent when the dialog is dismissed.
type ClosedMsg struct{}

// KeyMap is the picker's bindings.
type KeyMap struct {
	Up, Down, Choose, Close, NextSource, PrevSource key.Binding
}

// DefaultKeyMap is the built-in binding set.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:         key.NewBinding(key.WithKeys("up", "ctrl+p"), key.WithHelp("↑/↓", "move")),
		Down:       key.NewBinding(key.WithKeys("down", "ctrl+n")),
		Choose:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "load")),
		Close:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
		NextSource: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "source")),
		PrevSource: key.NewBinding(key.WithKeys("shift+tab")),
	}
}

// Named exposes the bindings for remapping.
func (k *KeyMap) Named() map[string]*key.Binding {
	return map[string]*key.Binding{"up": &k.Up, "down": &k.Down, "choose": &k.Choose, "close": &k.Close,
		"next_source": &k.NextSource, "prev_source": &k.PrevSource}
}

// Model is the picker dialog.
type Model struct {
	keys    KeyMap
	th      theme.Theme
	items   []Item
	shown   []int // indexes into items after filtering
	filter  textinput.Model
	source  int // 0: all, else home.Sources[source-1]
	cursor  int
	current string // name of the loaded checkpoint
	width   int
	height  int
}

// New opens the picker on items with the loaded checkpoint (current)
// selected.
func New(th theme.Theme, keys KeyMap, items []Item, current string) *Model {
	ti := textinput.New()
	ti.Prompt = "filter: "
	ti.Placeholder = "e.g. sft d20"
	ti.Focus()
	m := &Model{keys: keys, th: th, items: items, filter: ti, current: current, width: 70, height: 16}
	m.apply()
	for i, idx := range m.shown {
		if items[idx].Checkpoint.Name() == current {
			m.cursor = i
		}
	}
	return m
}

// SetSize bounds the dialog.
func (m *Model) SetSize(w, h int) { m.width, m.height = min(w, 84), h }

// Describe fills in generation and parameter count of a checkpoint.
func (m *Model) Describe(name, generation string, params int64) {
	for i := range m.items {
		if m.items[i].Checkpoint.Name() == name {
			m.items[i].Generation, m.items[i].Params = generation, params
		}
	}
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
	case key.Matches(k, m.keys.Choose):
		if m.cursor < len(m.shown) {
			ck := m.items[m.shown[m.cursor]].Checkpoint
			return m, func() tea.Msg { return ChosenMsg{ck} }
		}
		return m, nil
	case key.Matches(k, m.keys.Up):
		m.cursor = max(m.cursor-1, 0)
		return m, nil
	case key.Matches(k, m.keys.Down):
		m.cursor = min(m.cursor+1, max(len(m.shown)-1, 0))
		return m, nil
	case key.Matches(k, m.keys.NextSource):
		m.source = (m.source + 1) % (len(home.Sources) + 1)
		m.apply()
		return m, nil
	case key.Matches(k, m.keys.PrevSource):
		m.source = (m.source + len(home.Sources)) % (len(home.Sources) + 1)
		m.apply()
		return m, nil
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.apply()
	return m, cmd
}

// apply recomputes the shown rows: source filter, then fuzzy match, best
// first (ties keep home order).
func (m *Model) apply() {
	m.shown = m.shown[:0]
	type scored struct{ idx, score int }
	var hits []scored
	q := strings.ToLower(strings.ReplaceAll(m.filter.Value(), " ", ""))
	for i, it := range m.items {
		if m.source > 0 && it.Checkpoint.Source != home.Sources[m.source-1].Name {
			continue
		}
		if s, ok := Fuzzy(q, strings.ToLower(it.Checkpoint.Name()+it.Generation)); ok {
			hits = append(hits, scored{i, s})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].score > hits[b].score })
	for _, h := range hits {
		m.shown = append(m.shown, h.idx)
	}
	m.cursor = min(m.cursor, max(len(m.shown)-1, 0))
}

// Fuzzy matches q as a subsequence of s; the score favours consecutive
// runs and early matches.
func Fuzzy(q, s string) (int, bool) {
	score, si, run := 0, 0, 0
	for _, c := range q {
		found := false
		for si < len(s) {
			r := rune(s[si])
			si++
			if r == c {
				run++
				score += 1 + 2*run
				found = true
				break
			}
			run = 0
		}
		if !found {
			return 0, false
		}
	}
	return score - si/8, true
}

// View draws the dialog box.
func (m *Model) View() string {
	st := lipgloss.NewStyle()
	muted, accent := st.Foreground(m.th.Muted), st.Foreground(m.th.Accent)
	var b strings.Builder
	b.WriteString(accent.Bold(true).Render("Checkpoints") + "  ")
	for i := 0; i <= len(home.Sources); i++ {
		name := "all"
		if i > 0 {
			name = home.Sources[i-1].Name
		}
		if i == m.source {
			b.WriteString(accent.Render("[" + name + "]"))
		} else {
			b.WriteString(muted.Render(" " + name + " "))
		}
	}
	b.WriteString("\n" + m.filter.View() + "\n\n")
	rows := max(m.height-8, 3)
	first := max(0, min(m.cursor-rows/2, len(m.shown)-rows))
	if len(m.shown) == 0 {
		b.WriteString(muted.Render("  no checkpoint matches") + "\n")
	}
	for i := first; i < len(m.shown) && i < first+rows; i++ {
		it := m.items[m.shown[i]]
		ck := it.Checkpoint
		gen, params := it.Generation, ""
		if gen == "" {
			gen = "…"
		}
		switch {
		case it.Params >= 1e9:
			params = fmt.Sprintf("%.1fB", float64(it.Params)/1e9)
		case it.Params >= 1e6:
			params = fmt.Sprintf("%.0fM", float64(it.Params)/1e6)
		case it.Params > 0:
			params = fmt.Sprintf("%.0fK", float64(it.Params)/1e3)
		}
		// A tag is a directory name (or a remote server's model name): shown, never obeyed.
		line := termsafe.String(fmt.Sprintf("%-5s %-6s %7d  %-3s %6s %9s", ck.Source, ck.Tag, ck.Step, gen, params, humanize.Bytes(uint64(ck.Size))))
		mark := "  "
		if ck.Name() == m.current {
			mark = "● "
		}
		if i == m.cursor {
			line = accent.Bold(true).Render("› " + mark + line)
		} else {
			line = "  " + mark + line
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n" + muted.Render("enter load · tab source · ↑/↓ move · esc close"))
	return st.Border(lipgloss.RoundedBorder()).BorderForeground(m.th.Subtle).Padding(0, 1).Width(m.width - 2).Render(b.String())
}
