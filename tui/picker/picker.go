// Package picker is the checkpoint picker dialog: every checkpoint in the
// nanochat home with its source, tag, step, generation and size, narrowed by
// a fuzzy filter and a source filter cycled with tab.
package picker

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui/termsafe"
	"github.com/nanochat-go/nanochat/tui/theme"
	"github.com/nanochat-go/nanochat/tui/units"
)

// Item is one checkpoint row; Generation and Params fill in once described.
// Err says why the checkpoint cannot be used (it failed to load or to be
// described); the row is marked and the reason shown under the list.
type Item struct {
	Checkpoint home.Checkpoint
	Generation string
	Params     int64
	Err        string
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

// Describe fills in the generation, parameter count and any error of the
// checkpoint it names (a load failure already known is kept).
func (m *Model) Describe(it Item) {
	for i := range m.items {
		if m.items[i].Checkpoint.Name() == it.Checkpoint.Name() {
			m.items[i].Generation, m.items[i].Params = it.Generation, it.Params
			if m.items[i].Err == "" {
				m.items[i].Err = it.Err
			}
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

// apply recomputes the shown rows: source filter, then the words of the
// filter, best first (ties keep home order). Each word must match one
// field of a checkpoint (source, tag, step, generation): "sft d4" is
// sft/d4 (and d40), never sft/d6. A word no checkpoint has in any field
// (typed without spaces: "sftd20") is matched fuzzily against the name.
func (m *Model) apply() {
	m.shown = m.shown[:0]
	words := strings.FieldsFunc(strings.ToLower(m.filter.Value()), func(r rune) bool { return r == ' ' || r == '/' })
	var cands []int
	for i, it := range m.items {
		if m.source == 0 || it.Checkpoint.Source == home.Sources[m.source-1].Name {
			cands = append(cands, i)
		}
	}
	inField := map[string]bool{}
	for _, w := range words {
		for _, i := range cands {
			if fieldScore(w, m.items[i]) > 0 {
				inField[w] = true
				break
			}
		}
	}
	type scored struct{ idx, score int }
	var hits []scored
outer:
	for _, i := range cands {
		it, total := m.items[i], 0
		for _, w := range words {
			s, ok := fieldScore(w, it), true
			if !inField[w] {
				s, ok = Fuzzy(w, strings.ToLower(it.Checkpoint.Name()+it.Generation))
			}
			if !ok || inField[w] && s == 0 {
				continue outer
			}
			total += s
		}
		hits = append(hits, scored{i, total})
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].score > hits[b].score })
	for _, h := range hits {
		m.shown = append(m.shown, h.idx)
	}
	m.cursor = min(m.cursor, max(len(m.shown)-1, 0))
}

// fieldScore is how well word matches one of the item's fields: the whole
// field, its start, or inside it (0: none).
func fieldScore(word string, it Item) int {
	ck := it.Checkpoint
	best := 0
	for _, f := range []string{ck.Source, ck.Tag, strconv.Itoa(ck.Step), it.Generation} {
		f = strings.ToLower(f)
		switch {
		case f == word:
			best = max(best, 100)
		case strings.HasPrefix(f, word):
			best = max(best, 50)
		case strings.Contains(f, word):
			best = max(best, 20)
		}
	}
	return best
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
	var why string // the reason the checkpoint under the cursor cannot be used
	if m.cursor < len(m.shown) {
		if it := m.items[m.shown[m.cursor]]; it.Err != "" {
			// A load error may quote a file's contents: shown, never obeyed.
			why = st.Foreground(m.th.Error).Width(max(m.width-6, 10)).Render("✗ " + it.Checkpoint.Name() + " " + termsafe.String(it.Err))
		}
	}
	rows := max(m.height-8-lipgloss.Height(why)-1, 3)
	if why == "" {
		rows = max(m.height-8, 3)
	}
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
		if it.Params > 0 {
			params = units.Params(it.Params) // as nanochat models writes it
		}
		// A tag is a directory name (or a remote server's model name): shown, never obeyed.
		line := termsafe.String(fmt.Sprintf("%-5s %-6s %7d  %-3s %6s %9s", ck.Source, ck.Tag, ck.Step, gen, params, units.Bytes(ck.Size)))
		mark := "  "
		switch {
		case ck.Name() == m.current:
			mark = "● "
		case it.Err != "":
			mark = "✗ "
		}
		if i == m.cursor {
			line = accent.Bold(true).Render("› " + mark + line)
		} else {
			line = "  " + mark + line
		}
		b.WriteString(line + "\n")
	}
	if why != "" {
		b.WriteString("\n" + why + "\n")
	}
	b.WriteString("\n" + muted.Render("enter load · tab source · ↑/↓ move · esc close"))
	return st.Border(lipgloss.RoundedBorder()).BorderForeground(m.th.Subtle).Padding(0, 1).Width(m.width - 2).Render(b.String())
}
