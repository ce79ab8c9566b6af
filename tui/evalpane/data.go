package evalpane

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/eval"
	"github.com/nanochat-go/nanochat/eval/data"
	"github.com/nanochat-go/nanochat/eval/task"
)

// sourceKind is where a task's data comes from.
type sourceKind int

const (
	srcNone  sourceKind = iota // nothing on disk: data pull, or a file
	srcFile                    // a file or directory the user chose (--data, or d)
	srcCache                   // the home's task_data/, filled by data pull
	srcToy                     // the bundled demo's toy set
)

// source is a task's data.
type source struct {
	kind sourceKind
	path string
}

// source is where the task's data comes from now: a chosen file first,
// then the home's cache, then a toy set.
func (m *Model) source(t *task.Task) source {
	if p, ok := m.data[t.ID]; ok {
		return source{srcFile, p}
	}
	return m.fallback(t)
}

// fallback is where the task's data comes from without a chosen file.
func (m *Model) fallback(t *task.Task) source {
	if m.cached[t.ID] {
		return source{srcCache, t.Source.Dir(m.o.Home)}
	}
	if p, ok := m.o.Toy[t.ID]; ok {
		return source{srcToy, p}
	}
	return source{kind: srcNone}
}

// label says in a few words where a task's data comes from.
func (m *Model) label(t *task.Task) string { return m.describe(t, m.source(t)) }

// describe says in a few words what s, a source of t's data, is.
func (m *Model) describe(t *task.Task, s source) string {
	switch s.kind {
	case srcFile:
		return "file " + s.path
	case srcCache:
		return "task_data"
	case srcToy:
		return "toy set " + filepath.Base(s.path) + " (not the real " + t.Name + ")"
	}
	return "no data: " + m.pull(t.ID)
}

// pull is the command that downloads tasks' data.
func (m *Model) pull(ids ...string) string {
	if m.o.PullCommand != nil {
		return m.o.PullCommand(ids)
	}
	return "nanochat data pull " + strings.Join(ids, " ")
}

// toyNote explains, when selected tasks run on toy sets, what they are and
// how to get the real data ("" when none does).
func (m *Model) toyNote() string {
	var names, ids []string
	for _, t := range m.tasks {
		if m.selected[t.ID] && m.source(t).kind == srcToy {
			names, ids = append(names, t.Name), append(ids, t.ID)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: toy sets bundled with the demo model, not the benchmarks; their scores and ChatCORE are not comparable with published ones. "+
		"For the real data: %s (or d to choose a file).", strings.Join(names, ", "), m.pull(ids...))
}

// scannedMsg reports which tasks have data in the home's cache.
type scannedMsg struct{ cached map[string]bool }

// scan looks for each task's data in the home's task_data/ (as
// data.Load does: a complete download has its manifest).
func (m *Model) scan() tea.Cmd {
	homeDir, tasks := m.o.Home, m.tasks
	if homeDir == "" {
		return nil
	}
	return func() tea.Msg {
		cached := map[string]bool{}
		for _, t := range tasks {
			if _, err := os.Stat(filepath.Join(t.Source.Dir(homeDir), data.ManifestName)); err == nil {
				cached[t.ID] = true
			}
		}
		return scannedMsg{cached}
	}
}

// defaultSelection selects, until the user toggles a task, what the CLI
// would run: the tasks given data files when there are any, else every
// task that has data.
func (m *Model) defaultSelection() {
	if m.touched {
		return
	}
	for _, t := range m.tasks {
		if len(m.o.Data) > 0 {
			_, m.selected[t.ID] = m.o.Data[t.ID]
		} else {
			m.selected[t.ID] = m.source(t).kind != srcNone
		}
	}
}

// dataChosenMsg reports a data file checked for a task (err: unusable).
type dataChosenMsg struct {
	task  *task.Task
	path  string
	items int
	err   error
}

// editData opens the input for the data file of the task under the cursor.
func (m *Model) editData() tea.Cmd {
	t := m.tasks[m.cursor]
	in := textinput.New()
	in.Prompt = "› "
	in.Placeholder = "e.g. ~/data/" + t.ID + "/test.jsonl"
	in.Width = max(m.width-lipgloss.Width(in.Prompt)-2, 10)
	if p, ok := m.data[t.ID]; ok {
		in.SetValue(p)
	} else if last := m.lastPath[t.ID]; last != "" {
		in.SetValue(last)
	}
	in.CursorEnd()
	m.input, m.inputTask = &in, t
	return in.Focus()
}

// dataKey handles a key while the data input is open.
func (m *Model) dataKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case msg.Type == tea.KeyEsc:
		m.input = nil
		return nil
	case msg.Type == tea.KeyEnter:
		t, path := m.inputTask, strings.TrimSpace(m.input.Value())
		m.input = nil
		if path == "" {
			delete(m.data, t.ID)
			m.status = t.Name + ": data from " + m.label(t)
			return nil
		}
		m.lastPath[t.ID] = path
		m.status = "reading " + path + "…"
		return checkData(t, path)
	}
	var cmd tea.Cmd
	*m.input, cmd = m.input.Update(msg)
	return cmd
}

// checkData reads path as t's data, as --data t=path would, off the UI
// goroutine.
func checkData(t *task.Task, path string) tea.Cmd {
	return func() tea.Msg {
		if rest, ok := strings.CutPrefix(path, "~/"); ok {
			if h, err := os.UserHomeDir(); err == nil {
				path = filepath.Join(h, rest)
			}
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		jobs, err := eval.Plan{Tasks: []*task.Task{t}, Data: map[string]string{t.ID: path}}.Jobs()
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%s: no such file or directory", path)
		}
		if err != nil {
			return dataChosenMsg{task: t, path: path, err: err}
		}
		items := jobs[0].Items
		return dataChosenMsg{task: t, path: path, items: len(items)}
	}
}

// dataChosen records a checked data file.
func (m *Model) dataChosen(msg dataChosenMsg) {
	if msg.err != nil {
		m.status = msg.task.Name + ": " + msg.err.Error()
		return
	}
	m.data[msg.task.ID] = msg.path
	m.selected[msg.task.ID] = true
	m.status = fmt.Sprintf("%s: %d items from %s", msg.task.Name, msg.items, msg.path)
}

// inputView is the data input with what it is for.
func (m *Model) inputView() string {
	hint := m.inputTask.Name + " data, as --data takes it: a .jsonl, .json or .parquet file, or a directory of them " +
		"(empty: back to " + m.describe(m.inputTask, m.fallback(m.inputTask)) + "). enter sets it, esc cancels."
	return m.wrap(m.st.muted, hint) + "\n" + m.input.View()
}
