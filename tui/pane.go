package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// Pane is a tab of the app besides the chat (the eval pane). The app sends
// it a tea.WindowSizeMsg with the pane's own area, a ModelMsg whenever a
// checkpoint finishes loading, every other message that is not a key, and
// keys only while it is the active tab.
type Pane interface {
	Init() tea.Cmd
	Update(msg tea.Msg) (Pane, tea.Cmd)
	View() string
	Title() string
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// StatusPane is a Pane that names its own settings for the status bar
// while it is the active tab (the eval pane: evals run with their own
// settings, not the chat's).
type StatusPane interface {
	Status() string
}

// ModelMsg announces the model now loaded. The app owns it and closes it
// when another replaces it; a pane whose work may outlive that (an eval
// run) takes its own reference with Acquire, in Update, before the next
// message can replace the model.
type ModelMsg struct {
	Model      llm.Model
	Checkpoint home.Checkpoint
}

// Acquirer is a model whose Close releases it only once every reference
// taken with Acquire has been released (llm/local.Model).
type Acquirer interface {
	Acquire() (release func(), err error)
}

// Acquire keeps m loaded until release is called, even if the app closes
// it meanwhile. Models that are not Acquirers (remote ones, fakes) need no
// reference: release does nothing for them.
func Acquire(m llm.Model) (release func(), err error) {
	if a, ok := m.(Acquirer); ok {
		return a.Acquire()
	}
	return func() {}, nil
}

// OpenChatMsg asks the app to open a conversation in the chat tab as a new
// session (the eval pane opens a sample this way): the prompt messages and,
// when known, the reply the model gave.
type OpenChatMsg struct {
	Title    string
	Messages []llm.Message
	// How the reply was produced, for its header and the session:
	// checkpoint name, generation and settings (nil: unknown).
	Checkpoint, Generation string
	Settings               *llm.Settings
}

// Placeholder stands in for the eval pane until it lands.
type Placeholder struct {
	th            theme.Theme
	width, height int
}

// NewPlaceholder returns the stand-in eval pane.
func NewPlaceholder(th theme.Theme) *Placeholder { return &Placeholder{th: th} }

// Init implements Pane.
func (p *Placeholder) Init() tea.Cmd { return nil }

// Update implements Pane.
func (p *Placeholder) Update(msg tea.Msg) (Pane, tea.Cmd) {
	if s, ok := msg.(tea.WindowSizeMsg); ok {
		p.width, p.height = s.Width, s.Height
	}
	return p, nil
}

// View implements Pane.
func (p *Placeholder) View() string {
	st := lipgloss.NewStyle().Foreground(p.th.Muted)
	text := lipgloss.NewStyle().Foreground(p.th.Accent).Bold(true).Render("Evaluations") + "\n\n" +
		st.Render("Benchmarks (GSM8K, MMLU, ARC, HumanEval) run from the command line for now:\n\n"+
			"  nanochat eval --help\n\nThe live eval dashboard will appear in this tab.")
	return lipgloss.Place(p.width, p.height, lipgloss.Center, lipgloss.Center, text)
}

// Title implements Pane.
func (p *Placeholder) Title() string { return "Eval" }

// ShortHelp implements Pane.
func (p *Placeholder) ShortHelp() []key.Binding { return nil }

// FullHelp implements Pane.
func (p *Placeholder) FullHelp() [][]key.Binding { return nil }
