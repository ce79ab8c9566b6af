package chat

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

type (
	editorReadyMsg struct {
		path string
		err  error
	}
	editorExitMsg struct {
		path string
		err  error
	}
	editorTextMsg struct {
		text string
		err  error
	}
)

// openEditor writes the draft to a temporary file and hands the terminal to
// $EDITOR; the edited text comes back as the new draft.
func (m *Model) openEditor() tea.Cmd {
	draft := m.input.Value()
	return func() tea.Msg {
		f, err := os.CreateTemp("", "nanochat-*.md")
		if err != nil {
			return editorReadyMsg{err: fmt.Errorf("open editor: %w", err)}
		}
		_, err = f.WriteString(draft)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return editorReadyMsg{path: f.Name(), err: err}
	}
}

func (m *Model) handleEditor(msg tea.Msg) (*Model, tea.Cmd) {
	switch msg := msg.(type) {
	case editorReadyMsg:
		if msg.err != nil {
			return m, m.Notify(msg.err.Error())
		}
		args := strings.Fields(m.editor)
		c := exec.Command(args[0], append(args[1:], msg.path)...)
		path := msg.path
		return m, tea.ExecProcess(c, func(err error) tea.Msg { return editorExitMsg{path: path, err: err} })
	case editorExitMsg:
		path := msg.path
		if msg.err != nil {
			os.Remove(path)
			return m, m.Notify(fmt.Sprintf("editor %q: %v", m.editor, msg.err))
		}
		return m, func() tea.Msg {
			data, err := os.ReadFile(path)
			os.Remove(path)
			return editorTextMsg{text: strings.TrimRight(string(data), "\n"), err: err}
		}
	case editorTextMsg:
		if msg.err != nil {
			return m, m.Notify("editor: " + msg.err.Error())
		}
		m.input.SetValue(msg.text)
		return m, m.inputChanged()
	}
	return m, nil
}
