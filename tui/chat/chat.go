// Package chat is the TUI's conversation pane: a transcript that renders
// replies as markdown while they stream, a growing multi-line input, and
// the actions on a conversation (send, stop, regenerate, compare, edit,
// copy). Every turn is written to the history database as it happens.
package chat

import (
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textarea"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/clipboard"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/markdown"
	"github.com/nanochat-go/nanochat/tui/termsafe"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// Options configure New.
type Options struct {
	Theme    theme.Theme
	Markdown *markdown.Renderer // default: one for Theme
	DB       *history.DB        // nil: nothing is saved
	Keys     *KeyMap            // default: DefaultKeyMap()
	// Copy puts text on the clipboard (default: OSC 52 on stderr plus the
	// native clipboard) and says how.
	Copy func(text string) (string, error)
	// Editor is the command for composing in an editor (default $VISUAL,
	// $EDITOR, vi).
	Editor string
}

// Model is the chat pane.
type Model struct {
	keys   KeyMap
	styles Styles
	md     *markdown.Renderer
	db     *history.DB
	copyFn func(string) (string, error)
	editor string

	width, height int
	vp            viewport.Model
	input         textarea.Model
	spin          spinner.Model

	model    llm.Model
	info     llm.Info
	session  history.Session
	settings llm.Settings
	system   string

	msgs      []*Message
	offsets   []int // first transcript line of each message
	stream    *stream
	streamIdx int // index in msgs of the streaming reply
	seq       int
	focus     int // index into focusables(), -1: none
	lastStats *llm.Stats

	hint      string
	notice    string
	noticeSeq int
	draftVer  int
	lastDraft string
}

// New returns an empty chat pane with default settings.
func New(o Options) *Model {
	keys := DefaultKeyMap()
	if o.Keys != nil {
		keys = *o.Keys
	}
	md := o.Markdown
	if md == nil {
		md = markdown.New(o.Theme.Glamour, o.Theme.Profile)
	}
	copyFn := o.Copy
	if copyFn == nil {
		copyFn = func(s string) (string, error) { return clipboard.Copy(os.Stderr, s) }
	}
	editor := o.Editor
	for _, env := range []string{"VISUAL", "EDITOR"} {
		if editor == "" {
			editor = os.Getenv(env)
		}
	}
	if editor == "" {
		editor = "vi"
	}
	ta := textarea.New()
	ta.Prompt = "› "
	ta.Placeholder = "Ask anything…"
	ta.ShowLineNumbers = false
	ta.CharLimit = 0
	ta.MaxHeight = 0
	ta.FocusedStyle.CursorLine = lipgloss.NewStyle()
	ta.FocusedStyle.Placeholder = lipgloss.NewStyle().Foreground(o.Theme.Muted)
	ta.FocusedStyle.Prompt = lipgloss.NewStyle().Foreground(o.Theme.Accent)
	// enter sends and ctrl+t/ctrl+home/ctrl+end belong to the app.
	ta.KeyMap.InsertNewline.SetEnabled(false)
	ta.KeyMap.TransposeCharacterBackward.SetEnabled(false)
	ta.KeyMap.InputBegin.SetKeys("alt+<")
	ta.KeyMap.InputEnd.SetKeys("alt+>")
	ta.Focus()
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(lipgloss.NewStyle().Foreground(o.Theme.Accent)))
	m := &Model{keys: keys, styles: DefaultStyles(o.Theme), md: md, db: o.DB, copyFn: copyFn, editor: editor,
		vp: viewport.New(80, 20), input: ta, spin: sp, settings: llm.DefaultSettings(), focus: -1}
	m.vp.KeyMap = viewport.KeyMap{} // the pane maps scrolling keys itself
	m.session.Settings = m.settings
	m.SetSize(80, 24)
	return m
}

// Title names the pane in the tab bar.
func (m *Model) Title() string { return "Chat" }

// Init starts the cursor blinking.
func (m *Model) Init() tea.Cmd { return textarea.Blink }

// SetSize gives the pane its area.
func (m *Model) SetSize(w, h int) {
	if w == m.width && h == m.height {
		return
	}
	follow := m.vp.AtBottom() || m.vp.TotalLineCount() <= m.vp.Height
	m.width, m.height = w, h
	m.input.SetWidth(w)
	m.layout()
	m.refresh()
	if follow {
		m.vp.GotoBottom()
	}
}

// layout sizes the input to its text (1 to 10 rows, at most a third of the
// pane) and gives the rest to the transcript.
func (m *Model) layout() {
	rows := visualLines(m.input.Value(), max(m.input.Width(), 1))
	rows = min(max(rows, 1), max(min(10, m.height/3), 1))
	m.input.SetHeight(rows)
	m.vp.Width = m.width
	m.vp.Height = max(m.height-rows-1, 1)
}

// visualLines counts the rows text takes when soft-wrapped at width.
func visualLines(text string, width int) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		n += max(1, (lipgloss.Width(line)+width)/width)
	}
	return n
}

// SetModel switches the model that answers the next message. The
// transcript, draft and scroll position stay.
func (m *Model) SetModel(lm llm.Model) {
	m.model = lm
	m.info = llm.Info{}
	if lm != nil {
		m.info = lm.Info()
	}
	m.refresh()
}

// LLM is the model in use (nil before one is loaded).
func (m *Model) LLM() llm.Model { return m.model }

// Streaming reports whether a reply is being generated.
func (m *Model) Streaming() bool { return m.stream != nil }

// Session is the current conversation (ID empty until the first send).
func (m *Model) Session() history.Session {
	s := m.session
	s.Draft = m.input.Value()
	return s
}

// Settings are the sampling settings and system prompt for the next message.
func (m *Model) Settings() (llm.Settings, string) { return m.settings, m.system }

// SetSettings changes the settings for the next message and saves them
// with the session.
func (m *Model) SetSettings(s llm.Settings, system string) tea.Cmd {
	m.settings, m.system = s, system
	m.session.Settings, m.session.System = s, system
	if m.db == nil || m.session.ID == "" || len(m.msgs) == 0 {
		return nil
	}
	db, sess := m.db, m.Session()
	return func() tea.Msg { return dbDoneMsg{err: db.SaveSession(&sess)} }
}

// LastStats are the stats of the last finished reply (nil before one).
func (m *Model) LastStats() *llm.Stats { return m.lastStats }

// SetHint sets the text shown while the transcript is empty. It may quote
// a load error: its control characters are shown, not obeyed.
func (m *Model) SetHint(h string) {
	m.hint = termsafe.String(h)
	m.refresh()
}

// Draft is the unsent input.
func (m *Model) Draft() string { return m.input.Value() }

// SetDraft replaces the input.
func (m *Model) SetDraft(s string) {
	m.input.SetValue(s)
	m.lastDraft = s
	m.layout()
}

// NewSession starts an empty conversation, keeping the settings, system
// prompt and draft. A reply in progress is stopped.
func (m *Model) NewSession() {
	m.abandon()
	m.msgs, m.focus, m.lastStats = nil, -1, nil
	m.session = history.Session{Settings: m.settings, System: m.system}
	m.refresh()
}

// LoadSession shows a stored conversation and takes its settings, system
// prompt and draft. A reply in progress is stopped.
func (m *Model) LoadSession(s history.Session, msgs []history.Message) {
	m.abandon()
	m.session = s
	if s.Settings.MaxTokens > 0 {
		m.settings = s.Settings
	}
	m.system = s.System
	m.msgs, m.focus, m.lastStats = nil, -1, nil
	for i, hm := range msgs {
		msg := &Message{Message: hm}
		if i > 0 && msg.isReply() && m.msgs[i-1].isReply() && hm.ReplyTo != 0 && m.msgs[i-1].ReplyTo == hm.ReplyTo {
			msg.Compare = true
		}
		if msg.isReply() && hm.Stats != nil {
			m.lastStats = hm.Stats
		}
		m.msgs = append(m.msgs, msg)
	}
	m.SetDraft(s.Draft)
	m.refresh()
	m.vp.GotoBottom()
}

// Stop cancels the reply being generated; it is kept, marked partial, when
// the generation reports back.
func (m *Model) Stop() {
	if m.stream != nil && !m.stream.stop {
		m.stream.stop = true
		m.stream.cancel()
	}
}

// abandon stops a generation whose reply leaves the screen; its goroutine
// still stores the partial reply, and its messages are drained.
func (m *Model) abandon() {
	if m.stream == nil {
		return
	}
	m.Stop()
	go func(ch <-chan tea.Msg) {
		for range ch {
		}
	}(m.stream.out)
	m.stream = nil
}

// refresh re-renders the transcript, following the end only if the view
// was already there.
func (m *Model) refresh() {
	follow := m.vp.AtBottom() || m.vp.TotalLineCount() <= m.vp.Height
	m.vp.SetContent(m.renderTranscript(m.vp.Width))
	if follow && m.focus < 0 {
		m.vp.GotoBottom()
	}
}

// View draws the transcript, a rule (with any notice) and the input.
func (m *Model) View() string {
	rule := strings.Repeat("─", max(m.width, 0))
	if m.notice != "" {
		n := " " + m.notice + " "
		if lipgloss.Width(n) < m.width-2 {
			rule = m.styles.Rule.Render("─") + m.styles.Notice.Render(n) + m.styles.Rule.Render(strings.Repeat("─", m.width-1-lipgloss.Width(n)))
		} else {
			rule = m.styles.Notice.Render(ansi.Truncate(n, m.width, "…"))
		}
	} else {
		rule = m.styles.Rule.Render(rule)
	}
	return lipgloss.JoinVertical(lipgloss.Left, m.vp.View(), rule, m.input.View())
}

// noticeMsg expires a notice.
type noticeMsg struct{ seq int }

// dbDoneMsg reports a background history write.
type dbDoneMsg struct{ err error }

// Notify shows a transient notice above the input. text may quote a
// server's error: its control characters are shown, not obeyed.
func (m *Model) Notify(text string) tea.Cmd {
	m.noticeSeq++
	m.notice = termsafe.String(text)
	seq := m.noticeSeq
	return tea.Tick(4*time.Second, func(time.Time) tea.Msg { return noticeMsg{seq} })
}

// Update handles keys and the pane's own messages.
func (m *Model) Update(msg tea.Msg) (*Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.SetSize(msg.Width, msg.Height)
		return m, nil
	case tea.KeyMsg:
		return m.handleKey(msg)
	case savedMsg, frameMsg, doneMsg:
		return m.handleStream(msg)
	case spinner.TickMsg:
		if m.stream == nil || m.stream.first {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		m.refresh()
		return m, cmd
	case noticeMsg:
		if msg.seq == m.noticeSeq {
			m.notice = ""
		}
		return m, nil
	case dbDoneMsg:
		if msg.err != nil {
			return m, m.Notify("history: " + msg.err.Error())
		}
		return m, nil
	case draftTickMsg:
		return m, m.saveDraft(msg)
	case copiedMsg:
		if msg.err != nil {
			return m, m.Notify(msg.err.Error())
		}
		return m, m.Notify("copied " + msg.what + " (" + msg.how + ")")
	case editorReadyMsg, editorExitMsg, editorTextMsg:
		return m.handleEditor(msg)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m *Model) handleKey(msg tea.KeyMsg) (*Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Stop):
		if m.stream != nil {
			m.Stop()
			return m, nil
		}
		if m.focus >= 0 {
			m.setFocus(-1)
		}
		return m, nil
	case key.Matches(msg, k.Send):
		return m, m.send()
	case key.Matches(msg, k.Newline):
		m.input.InsertString("\n")
		return m, m.inputChanged()
	case key.Matches(msg, k.NewChat):
		m.NewSession()
		return m, nil
	case key.Matches(msg, k.Regenerate):
		return m, m.regenerate()
	case key.Matches(msg, k.Compare):
		return m, m.compare()
	case key.Matches(msg, k.EditLast) && m.input.Value() == "":
		return m, m.editLast()
	case key.Matches(msg, k.Editor):
		return m, m.openEditor()
	case key.Matches(msg, k.Copy):
		return m, m.copyFocused()
	case key.Matches(msg, k.FocusPrev):
		m.moveFocus(-1)
		return m, nil
	case key.Matches(msg, k.FocusNext):
		m.moveFocus(+1)
		return m, nil
	case key.Matches(msg, k.PageUp):
		m.vp.PageUp()
		return m, nil
	case key.Matches(msg, k.PageDown):
		m.vp.PageDown()
		return m, nil
	case key.Matches(msg, k.LineUp):
		m.vp.ScrollUp(1)
		return m, nil
	case key.Matches(msg, k.LineDown):
		m.vp.ScrollDown(1)
		return m, nil
	case key.Matches(msg, k.Top):
		m.vp.GotoTop()
		return m, nil
	case key.Matches(msg, k.Bottom):
		m.vp.GotoBottom()
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, tea.Batch(cmd, m.inputChanged())
}

// Rename updates the title of the current session if id is it.
func (m *Model) Rename(id, title string) {
	if m.session.ID == id {
		m.session.Title = title
	}
}
