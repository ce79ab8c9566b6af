// Package sessions is the saved-conversations dialog: full-text search over
// titles and messages, open, rename and delete. It reads and writes the
// history database through commands.
package sessions

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/dustin/go-humanize"

	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/termsafe"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// OpenMsg asks the app to open a session.
type OpenMsg struct{ ID string }

// RenamedMsg and DeletedMsg report changes the app may need to reflect.
type (
	RenamedMsg struct{ ID, Title string }
	DeletedMsg struct{ ID string }
	// ClosedMsg is sent when the dialog is dismissed.
	ClosedMsg struct{}
)

type resultsMsg struct {
	query string
	hits  []history.Hit
	err   error
}

// KeyMap is the dialog's bindings.
type KeyMap struct {
	Up, Down, Open, Rename, Delete, Close key.Binding
}

// DefaultKeyMap is the built-in binding set.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:     key.NewBinding(key.WithKeys("up", "ctrl+p"), key.WithHelp("↑/↓", "move")),
		Down:   key.NewBinding(key.WithKeys("down", "ctrl+n")),
		Open:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Rename: key.NewBinding(key.WithKeys("ctrl+e"), key.WithHelp("ctrl+e", "rename")),
		Delete: key.NewBinding(key.WithKeys("ctrl+x"), key.WithHelp("ctrl+x", "delete")),
		Close:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
	}
}

// Named exposes the bindings for remapping.
func (k *KeyMap) Named() map[string]*key.Binding {
	return map[string]*key.Binding{"up": &k.Up, "down": &k.Down, "open": &k.Open, "rename": &k.Rename,
		"delete": &k.Delete, "close": &k.Close}
}

// Model is the sessions dialog.
type Model struct {
	db       *history.DB
	keys     KeyMap
	th       theme.Theme
	query    textinput.Model
	rename   textinput.Model
	renaming bool
	confirm  bool // ctrl+x pressed once
	hits     []history.Hit
	cursor   int
	current  string
	err      error
	width    int
	height   int
}

// New opens the dialog; Init runs the first (empty) search.
func New(db *history.DB, th theme.Theme, keys KeyMap, current string) *Model {
	q := textinput.New()
	q.Prompt = "search: "
	q.Placeholder = "words in titles or messages"
	q.Focus()
	r := textinput.New()
	r.Prompt = "new title: "
	return &Model{db: db, keys: keys, th: th, query: q, rename: r, current: current, width: 80, height: 20}
}

// SetSize bounds the dialog.
func (m *Model) SetSize(w, h int) { m.width, m.height = min(w, 96), h }

// Init loads the recent sessions.
func (m *Model) Init() tea.Cmd { return m.search() }

func (m *Model) search() tea.Cmd {
	db, q := m.db, m.query.Value()
	return func() tea.Msg {
		hits, err := db.Search(q, 100)
		return resultsMsg{query: q, hits: hits, err: err}
	}
}

// Update handles keys and search results.
func (m *Model) Update(msg tea.Msg) (*Model, tea.Cmd) {
	switch msg := msg.(type) {
	case resultsMsg:
		if msg.query == m.query.Value() {
			m.hits, m.err = msg.hits, msg.err
			m.cursor = min(m.cursor, max(len(m.hits)-1, 0))
		}
		return m, nil
	case RenamedMsg, DeletedMsg:
		return m, m.search()
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) selected() (history.Session, bool) {
	if m.cursor < len(m.hits) {
		return m.hits[m.cursor].Session, true
	}
	return history.Session{}, false
}

func (m *Model) key(k tea.KeyMsg) (*Model, tea.Cmd) {
	if m.renaming {
		switch k.Type {
		case tea.KeyEsc:
			m.renaming = false
			return m, nil
		case tea.KeyEnter:
			m.renaming = false
			s, ok := m.selected()
			if !ok {
				return m, nil
			}
			db, title := m.db, strings.TrimSpace(m.rename.Value())
			return m, func() tea.Msg {
				if err := db.Rename(s.ID, title); err != nil {
					return resultsMsg{err: err}
				}
				return RenamedMsg{ID: s.ID, Title: title}
			}
		}
		var cmd tea.Cmd
		m.rename, cmd = m.rename.Update(k)
		return m, cmd
	}
	confirm := m.confirm
	m.confirm = false
	switch {
	case key.Matches(k, m.keys.Close):
		return m, func() tea.Msg { return ClosedMsg{} }
	case key.Matches(k, m.keys.Up):
		m.cursor = max(m.cursor-1, 0)
	case key.Matches(k, m.keys.Down):
		m.cursor = min(m.cursor+1, max(len(m.hits)-1, 0))
	case key.Matches(k, m.keys.Open):
		if s, ok := m.selected(); ok {
			return m, func() tea.Msg { return OpenMsg{s.ID} }
		}
	case key.Matches(k, m.keys.Rename):
		if s, ok := m.selected(); ok {
			m.renaming = true
			m.rename.SetValue(s.Title)
			m.rename.CursorEnd()
			return m, m.rename.Focus()
		}
	case key.Matches(k, m.keys.Delete):
		s, ok := m.selected()
		if !ok {
			return m, nil
		}
		if !confirm {
			m.confirm = true
			return m, nil
		}
		db := m.db
		return m, func() tea.Msg {
			if err := db.Delete(s.ID); err != nil {
				return resultsMsg{err: err}
			}
			return DeletedMsg{ID: s.ID}
		}
	default:
		before := m.query.Value()
		var cmd tea.Cmd
		m.query, cmd = m.query.Update(k)
		if m.query.Value() != before {
			m.cursor = 0
			return m, tea.Batch(cmd, m.search())
		}
		return m, cmd
	}
	return m, nil
}

// View draws the dialog box.
func (m *Model) View() string {
	st := lipgloss.NewStyle()
	muted, accent, warn := st.Foreground(m.th.Muted), st.Foreground(m.th.Accent), st.Foreground(m.th.Warn)
	var b strings.Builder
	b.WriteString(accent.Bold(true).Render("Sessions") + "\n")
	if m.renaming {
		b.WriteString(m.rename.View())
	} else {
		b.WriteString(m.query.View())
	}
	b.WriteString("\n\n")
	inner := m.width - 4
	rows := max((m.height-8)/2, 2)
	first := max(0, min(m.cursor-rows/2, len(m.hits)-rows))
	if len(m.hits) == 0 {
		msg := "no saved conversations yet"
		if m.query.Value() != "" {
			msg = "nothing matches"
		}
		b.WriteString(muted.Render("  "+msg) + "\n")
	}
	for i := first; i < len(m.hits) && i < first+rows; i++ {
		h := m.hits[i]
		title := h.Session.Title
		if title == "" {
			title = "(untitled)"
		}
		mark := "  "
		if h.Session.ID == m.current {
			mark = "● "
		}
		meta := fmt.Sprintf("%s · %d msgs · %s", h.Session.ID[:min(8, len(h.Session.ID))], h.Session.Messages, ago(h.Session.Updated))
		line := truncate(mark+title, inner-lipgloss.Width(meta)-3)
		pad := max(inner-2-lipgloss.Width(line)-lipgloss.Width(meta), 1)
		row := line + strings.Repeat(" ", pad) + muted.Render(meta)
		if i == m.cursor {
			row = accent.Bold(true).Render("› ") + row
		} else {
			row = "  " + row
		}
		b.WriteString(row + "\n")
		snip := h.Snippet
		if snip == "" || snip == h.Session.Title {
			snip = h.Session.Checkpoint
		}
		b.WriteString("    " + muted.Render(truncate(snip, inner-4)) + "\n")
	}
	switch {
	case m.err != nil:
		b.WriteString("\n" + warn.Render(termsafe.String(m.err.Error())))
	case m.confirm:
		b.WriteString("\n" + warn.Render("press ctrl+x again to delete this conversation"))
	default:
		b.WriteString("\n" + muted.Render("enter open · ctrl+e rename · ctrl+x delete · esc close"))
	}
	return st.Border(lipgloss.RoundedBorder()).BorderForeground(m.th.Subtle).Padding(0, 1).Width(m.width - 2).Render(b.String())
}

// truncate fits untrusted text (a title, a snippet) on one line of w
// columns, its control characters made visible.
func truncate(s string, w int) string {
	if w <= 1 {
		return ""
	}
	r := []rune(termsafe.String(strings.ReplaceAll(s, "\n", " ")))
	for lipgloss.Width(string(r)) > w {
		r = r[:len(r)-1]
		if lipgloss.Width(string(r)) <= w-1 {
			return string(r) + "…"
		}
	}
	return string(r)
}

var now = time.Now

func ago(t time.Time) string {
	if now().Sub(t) < time.Minute {
		return "just now"
	}
	return humanize.RelTime(t, now(), "ago", "from now")
}
