// Package tui is nanochat's terminal app: the root Bubble Tea model that
// lays out the tabs (chat, eval), the status bar and help, routes keys to
// the active pane or dialog, and loads checkpoints in the background. It
// never loads models itself: the caller injects how to list and open them.
package tui

import (
	"context"
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui/chat"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/picker"
	"github.com/nanochat-go/nanochat/tui/sessions"
	"github.com/nanochat-go/nanochat/tui/settings"
	"github.com/nanochat-go/nanochat/tui/termsafe"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// Lister lists the checkpoints the user can pick from.
type Lister func() ([]home.Checkpoint, error)

// Opener loads a checkpoint, reporting human-readable stages to progress.
type Opener func(ctx context.Context, ck home.Checkpoint, progress func(string)) (llm.Model, error)

// Describer tells a checkpoint's generation and parameter count cheaply
// (without loading weights), for the picker.
type Describer func(ck home.Checkpoint) (generation string, params int64, err error)

// Options configure New.
type Options struct {
	Theme     theme.Theme
	Keys      *Keys       // default: DefaultKeys()
	DB        *history.DB // nil: history off
	Lister    Lister
	Opener    Opener
	Describer Describer // optional
	Initial   string    // checkpoint to load first, "source/tag/step" (default: the best chat one)
	Home      string    // the nanochat home, named in the empty state
	Banner    string    // shown at start, e.g. that the bundled demo model is in use
	Eval      Pane      // the eval tab (default: a placeholder)
	// Continue, when set, opens this session with its messages.
	Continue *history.Session
	Messages []history.Message
	Copy     func(string) (string, error) // clipboard (default: OSC 52 + native)
}

// dialog is an open overlay; exactly one of the fields is set.
type dialog struct {
	picker   *picker.Model
	sessions *sessions.Model
	settings *settings.Model
}

// App is the root model.
type App struct {
	o      Options
	keys   Keys
	th     theme.Theme
	chat   *chat.Model
	eval   Pane
	active int // 0: chat, 1: eval
	dialog *dialog
	help   help.Model
	full   bool // full help shown
	spin   spinner.Model

	width, height int

	checkpoints []home.Checkpoint
	described   map[string]picker.Item
	ck          home.Checkpoint // loaded
	model       llm.Model
	load        *loader
	loadSeq     int
	target      *home.Checkpoint // chosen by cycling keys, loaded after a pause
	cycleDir    cycleDir         // the way the cycling keys moved to target
	cycleVer    int
	failed      map[string]string // checkpoints that failed to load, by name: why
	closeLater  []llm.Model       // replaced while a reply still streamed from them

	quitArmed bool
	status    string // transient status-bar message
	statusSeq int
}

// New builds the app; run it with tea.NewProgram(app, tea.WithAltScreen()).
func New(o Options) *App {
	keys := DefaultKeys()
	if o.Keys != nil {
		keys = *o.Keys
	}
	c := chat.New(chat.Options{Theme: o.Theme, DB: o.DB, Keys: &keys.Chat, Copy: o.Copy})
	eval := o.Eval
	if eval == nil {
		eval = NewPlaceholder(o.Theme)
	}
	h := help.New()
	h.Styles.ShortKey = lipgloss.NewStyle().Foreground(o.Theme.Accent)
	h.Styles.ShortDesc = lipgloss.NewStyle().Foreground(o.Theme.Muted)
	h.Styles.ShortSeparator = lipgloss.NewStyle().Foreground(o.Theme.Subtle)
	h.Styles.FullKey, h.Styles.FullDesc, h.Styles.FullSeparator = h.Styles.ShortKey, h.Styles.ShortDesc, h.Styles.ShortSeparator
	a := &App{o: o, keys: keys, th: o.Theme, chat: c, eval: eval, help: h, described: map[string]picker.Item{}, failed: map[string]string{},
		spin: spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(lipgloss.NewStyle().Foreground(o.Theme.Accent)))}
	if o.Continue != nil {
		c.LoadSession(*o.Continue, o.Messages)
	}
	c.SetHint("Looking for checkpoints…")
	a.width, a.height = 80, 24
	a.layout()
	return a
}

// Chat is the chat pane (for tests and the CLI).
func (a *App) Chat() *chat.Model { return a.chat }

// Init lists checkpoints and starts the panes.
func (a *App) Init() tea.Cmd {
	cmds := []tea.Cmd{a.chat.Init(), a.eval.Init(), a.list()}
	if a.o.Banner != "" {
		cmds = append(cmds, a.chat.Notify(a.o.Banner))
	}
	return tea.Batch(cmds...)
}

type listedMsg struct {
	cks []home.Checkpoint
	err error
}

func (a *App) list() tea.Cmd {
	lister := a.o.Lister
	return func() tea.Msg {
		if lister == nil {
			return listedMsg{}
		}
		cks, err := lister()
		return listedMsg{cks, err}
	}
}

type statusMsg struct{ seq int }

// flash shows a transient message in the status bar. s may quote a
// server's error or a session title: its control characters are shown.
func (a *App) flash(s string) tea.Cmd {
	a.statusSeq++
	a.status = termsafe.String(s)
	seq := a.statusSeq
	return tea.Tick(4*time.Second, func(time.Time) tea.Msg { return statusMsg{seq} })
}

// Update routes messages: app keys first, then the open dialog, then the
// active pane; non-key messages reach both panes.
func (a *App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		a.layout()
		return a, nil
	case tea.KeyMsg:
		return a, a.handleKey(msg)
	case listedMsg:
		return a, a.listed(msg)
	case progressMsg, loadedMsg, cycleMsg, describedMsg:
		return a, a.handleLoad(msg)
	case spinner.TickMsg:
		if a.load == nil {
			return a, a.forward(msg)
		}
		var cmd tea.Cmd
		a.spin, cmd = a.spin.Update(msg)
		return a, tea.Batch(cmd, a.forward(msg))
	case statusMsg:
		if msg.seq == a.statusSeq {
			a.status = ""
			a.quitArmed = false
		}
		return a, nil
	case picker.ChosenMsg:
		a.dialog = nil
		return a, a.startLoad(msg.Checkpoint)
	case picker.ClosedMsg, sessions.ClosedMsg, settings.ClosedMsg:
		a.dialog = nil
		return a, nil
	case settings.SavedMsg:
		a.dialog = nil
		return a, tea.Batch(a.chat.SetSettings(msg.Settings, msg.System), a.flash("settings apply to the next message"))
	case sessions.OpenMsg:
		a.dialog = nil
		return a, a.openSession(msg.ID)
	case sessionMsg:
		if msg.err != nil {
			return a, a.flash(msg.err.Error())
		}
		a.chat.LoadSession(msg.session, msg.messages)
		return a, a.flash("opened “" + msg.session.Title + "”")
	case OpenChatMsg:
		a.active = 0
		return a, a.openChat(msg)
	case sessions.RenamedMsg:
		a.chat.Rename(msg.ID, msg.Title)
		return a, a.toDialog(msg)
	case sessions.DeletedMsg:
		if a.chat.Session().ID == msg.ID {
			a.chat.NewSession()
		}
		return a, a.toDialog(msg)
	}
	cmd := a.toDialog(msg)
	return a, tea.Batch(cmd, a.forward(msg), a.closeFinished())
}

// forward gives a non-key message to both panes.
func (a *App) forward(msg tea.Msg) tea.Cmd {
	var c1, c2 tea.Cmd
	a.chat, c1 = a.chat.Update(msg)
	a.eval, c2 = a.eval.Update(msg)
	return tea.Batch(c1, c2)
}

func (a *App) toDialog(msg tea.Msg) tea.Cmd {
	if a.dialog == nil {
		return nil
	}
	var cmd tea.Cmd
	switch {
	case a.dialog.picker != nil:
		a.dialog.picker, cmd = a.dialog.picker.Update(msg)
	case a.dialog.sessions != nil:
		a.dialog.sessions, cmd = a.dialog.sessions.Update(msg)
	case a.dialog.settings != nil:
		a.dialog.settings, cmd = a.dialog.settings.Update(msg)
	}
	return cmd
}

func (a *App) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := a.keys.App
	if key.Matches(msg, k.Quit) {
		if a.chat.Streaming() {
			a.chat.Stop()
			a.quitArmed = true
			return a.flash("stopped: ctrl+c again quits")
		}
		if a.quitArmed {
			return a.quit()
		}
		a.quitArmed = true
		return a.flash("press ctrl+c again to quit")
	}
	a.quitArmed = false
	if a.dialog != nil {
		return a.toDialog(msg)
	}
	if a.full && msg.Type == tea.KeyEsc {
		// esc closes the full help first; the next one reaches the pane
		a.full = false
		a.layout()
		return nil
	}
	switch {
	case key.Matches(msg, k.SwitchPane):
		a.active = 1 - a.active
		return nil
	case key.Matches(msg, k.Help):
		a.full = !a.full
		a.layout()
		return nil
	case key.Matches(msg, k.Picker):
		a.dialog = &dialog{picker: picker.New(a.th, a.keys.Picker, a.items(), a.ck.Name())}
		a.layout()
		return a.describeAll()
	case key.Matches(msg, k.Sessions):
		if a.o.DB == nil {
			return a.flash("history is off: no sessions to list")
		}
		s := sessions.New(a.o.DB, a.th, a.keys.Sessions, a.chat.Session().ID)
		a.dialog = &dialog{sessions: s}
		a.layout()
		return s.Init()
	case key.Matches(msg, k.Settings):
		s, sys := a.chat.Settings()
		a.dialog = &dialog{settings: settings.New(a.th, a.keys.Settings, s, sys)}
		a.layout()
		return nil
	case key.Matches(msg, k.NextSource):
		return a.cycle(cycleSource, 1)
	case key.Matches(msg, k.OlderStep):
		return a.cycle(cycleStep, -1)
	case key.Matches(msg, k.NewerStep):
		return a.cycle(cycleStep, 1)
	}
	if a.active == 1 {
		var cmd tea.Cmd
		a.eval, cmd = a.eval.Update(msg)
		return cmd
	}
	var cmd tea.Cmd
	a.chat, cmd = a.chat.Update(msg)
	return tea.Batch(cmd, a.closeFinished())
}

// quit saves the draft of the current session, then exits.
func (a *App) quit() tea.Cmd {
	a.chat.Stop()
	db, s := a.o.DB, a.chat.Session()
	if db == nil || s.ID == "" {
		return tea.Quit
	}
	return tea.Sequence(func() tea.Msg { _ = db.SaveDraft(s.ID, s.Draft); return nil }, tea.Quit)
}

type sessionMsg struct {
	session  history.Session
	messages []history.Message
	err      error
}

// openChat stores msg's conversation as a new session (when there is a
// history) and opens it.
func (a *App) openChat(msg OpenChatMsg) tea.Cmd {
	db, cur := a.o.DB, a.chat.Session()
	settings := cur.Settings
	return func() tea.Msg {
		s := history.Session{Title: msg.Title, Settings: settings, Checkpoint: msg.Checkpoint}
		var system string
		var hms []history.Message
		for _, m := range msg.Messages {
			if m.Role == "system" {
				system = m.Content
				continue
			}
			hm := history.Message{Role: m.Role, Content: m.Content, Parts: m.Parts}
			if m.Role == "assistant" {
				hm.Checkpoint, hm.Generation, hm.Settings, hm.Finish = msg.Checkpoint, msg.Generation, msg.Settings, "stop"
			}
			hms = append(hms, hm)
		}
		s.System = system
		if db == nil {
			return sessionMsg{session: s, messages: hms}
		}
		if cur.ID != "" {
			_ = db.SaveDraft(cur.ID, cur.Draft)
		}
		if err := db.SaveSession(&s); err != nil {
			return sessionMsg{err: err}
		}
		for i := range hms {
			hms[i].SessionID = s.ID
			if err := db.AppendMessage(&hms[i]); err != nil {
				return sessionMsg{err: err}
			}
		}
		if msg.Title != "" {
			_ = db.Rename(s.ID, msg.Title)
			s.Title = msg.Title
		}
		return sessionMsg{session: s, messages: hms}
	}
}

// openSession saves the current draft and reads the chosen session.
func (a *App) openSession(id string) tea.Cmd {
	db, cur := a.o.DB, a.chat.Session()
	return func() tea.Msg {
		if cur.ID != "" {
			_ = db.SaveDraft(cur.ID, cur.Draft)
		}
		s, err := db.Session(id)
		if err != nil {
			return sessionMsg{err: err}
		}
		msgs, err := db.Messages(id)
		if err != nil {
			return sessionMsg{err: fmt.Errorf("open session %s: %w", id, err)}
		}
		return sessionMsg{session: s, messages: msgs}
	}
}

// closeFinished closes models that were replaced while a reply streamed
// from them, once it is done.
func (a *App) closeFinished() tea.Cmd {
	if len(a.closeLater) == 0 || a.chat.Streaming() {
		return nil
	}
	ms := a.closeLater
	a.closeLater = nil
	return func() tea.Msg {
		for _, m := range ms {
			m.Close()
		}
		return nil
	}
}

// Close releases the app's references to models (after the program has
// exited): the loaded one and any replaced while a reply streamed. A model
// an eval still runs on is freed when that run ends.
func (a *App) Close() error {
	a.chat.Stop()
	for _, m := range a.closeLater {
		m.Close()
	}
	a.closeLater = nil
	if a.model != nil {
		return a.model.Close()
	}
	return nil
}
