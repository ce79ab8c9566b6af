// Package evalpane is the TUI's eval tab: pick tasks and their data (the
// home's task_data/, a file as --data takes it, or the demo's toy sets,
// labelled as such), run them on the loaded checkpoint in the background
// with live per-task progress (done/total, accuracy ± Wilson CI, items/s,
// tok/s, ETA), see the results table and ChatCORE, browse samples
// (failures only on demand), and compare the loaded checkpoint with
// another one item by item from the result store. All work (data loading,
// the run, store queries) happens in tea.Cmds; Update only records their
// messages.
package evalpane

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/eval"
	"github.com/nanochat-go/nanochat/eval/sandbox"
	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// Options configure New.
type Options struct {
	Theme theme.Theme
	Keys  *KeyMap           // default DefaultKeys()
	Store *store.Store      // result cache and compare source (nil: neither)
	Home  string            // nanochat home with task_data/
	Data  map[string]string // task ID → data path overriding the cache (--data)
	// Toy are the bundled demo's toy sets by task ID, used where the home
	// has no data; they are labelled as such wherever they show.
	Toy map[string]string
	// PullCommand spells the command that downloads tasks' data (default
	// "nanochat data pull <ids>").
	PullCommand func(taskIDs []string) string
	Limit       int          // first N items per task (0: all)
	Settings    llm.Settings // generative settings (default eval.Defaults())
	Variant     string       // load options that change numerics, part of the cache key
	// Sandbox makes the HumanEval sandbox (default sandbox.New with
	// upstream's limits).
	Sandbox func() (*sandbox.Sandbox, error)
}

type mode int

const (
	modeTasks mode = iota
	modeSamples
	modeCompare
)

// Model is the eval pane; it implements tui.Pane.
type Model struct {
	o    Options
	keys KeyMap
	st   styles
	bar  progress.Model

	width, height int

	model llm.Model
	ck    home.Checkpoint

	tasks    []*task.Task
	selected map[string]bool
	touched  bool // the user changed the selection
	cursor   int
	mode     mode

	data      map[string]string // task ID → chosen data file (--data, or d)
	cached    map[string]bool   // task ID → data in the home's task_data/
	lastPath  map[string]string // task ID → the last path typed
	input     *textinput.Model  // the data file being typed (nil: none)
	inputTask *task.Task

	handle   *eval.Handle
	running  bool
	prog     map[string]eval.Progress
	results  map[string][]store.Result // by task, in finishing order
	items    map[string][]task.Item    // the last run's items by task, for prompts
	report   *eval.Report
	status   string
	checkpt  eval.Checkpoint // of the last run
	runGen   string          // the last run's model generation
	runToy   map[string]bool // the last run's tasks that ran on toy sets
	failOnly bool
	sCursor  int // sample browser cursor

	cmp *comparison
}

// New returns the pane.
func New(o Options) *Model {
	keys := DefaultKeys()
	if o.Keys != nil {
		keys = *o.Keys
	}
	if o.Settings == (llm.Settings{}) {
		o.Settings = eval.Defaults()
	}
	if o.Sandbox == nil {
		o.Sandbox = func() (*sandbox.Sandbox, error) { return sandbox.New(sandbox.Options{}) }
	}
	m := &Model{o: o, keys: keys, st: newStyles(o.Theme), tasks: task.All(), selected: map[string]bool{},
		data: maps.Clone(o.Data), cached: map[string]bool{}, lastPath: map[string]string{},
		prog: map[string]eval.Progress{}, results: map[string][]store.Result{}, width: 80, height: 20}
	if m.data == nil {
		m.data = map[string]string{}
	}
	m.bar = progress.New(progress.WithWidth(20), progress.WithoutPercentage(), progress.WithSolidFill(colorString(o.Theme.Accent)))
	m.defaultSelection()
	return m
}

// Messages produced by the pane's commands.
type (
	startedMsg struct {
		h    *eval.Handle
		ck   eval.Checkpoint
		gen  string
		jobs []eval.Job
		toy  map[string]bool
	}
	eventMsg struct {
		h *eval.Handle
		e eval.Event
	}
	finishedMsg struct {
		h   *eval.Handle
		rep *eval.Report
		err error
	}
	errMsg      struct{ err error }
	comparedMsg struct{ c *comparison }
)

// Init implements tui.Pane: it looks for the tasks' data in the home.
func (m *Model) Init() tea.Cmd { return m.scan() }

// Title implements tui.Pane.
func (m *Model) Title() string { return "Eval" }

// Update implements tui.Pane.
func (m *Model) Update(msg tea.Msg) (tui.Pane, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tui.ModelMsg:
		m.model, m.ck = msg.Model, msg.Checkpoint
	case scannedMsg:
		m.cached = msg.cached
		m.defaultSelection()
	case dataChosenMsg:
		m.dataChosen(msg)
	case startedMsg:
		m.handle, m.running, m.checkpt, m.runGen, m.runToy = msg.h, true, msg.ck, msg.gen, msg.toy
		m.items = map[string][]task.Item{}
		for _, j := range msg.jobs {
			m.items[j.Task.ID] = j.Items
		}
		m.prog, m.results, m.report, m.status = map[string]eval.Progress{}, map[string][]store.Result{}, nil, ""
		return m, listen(msg.h)
	case eventMsg:
		if msg.h != m.handle {
			return m, nil
		}
		m.prog[msg.e.Task] = msg.e.Progress
		if msg.e.Item != nil {
			m.results[msg.e.Task] = append(m.results[msg.e.Task], *msg.e.Item)
		}
		return m, listen(msg.h)
	case finishedMsg:
		if msg.h != m.handle {
			return m, nil
		}
		m.running, m.report = false, msg.rep
		m.status = "finished"
		switch {
		case errors.Is(msg.err, context.Canceled):
			m.status = "stopped: the finished items are stored; enter runs the rest"
		case msg.err != nil:
			m.status = msg.err.Error()
		}
	case errMsg:
		m.status = msg.err.Error()
	case comparedMsg:
		m.cmp = msg.c
		if msg.c.err != nil {
			m.status = msg.c.err.Error()
		}
	case tea.KeyMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if m.input != nil {
		return m.dataKey(msg)
	}
	switch m.mode {
	case modeSamples:
		return m.sampleKey(msg)
	case modeCompare:
		return m.compareKey(msg)
	}
	switch {
	case key.Matches(msg, k.Up):
		m.cursor = max(m.cursor-1, 0)
	case key.Matches(msg, k.Down):
		m.cursor = min(m.cursor+1, len(m.tasks)-1)
	case key.Matches(msg, k.Toggle):
		if !m.running {
			id := m.tasks[m.cursor].ID
			m.selected[id], m.touched = !m.selected[id], true
		}
	case key.Matches(msg, k.Data):
		if m.running {
			m.status = "a run is going: s stops it"
			return nil
		}
		return m.editData()
	case key.Matches(msg, k.All):
		if !m.running {
			m.touched = true
			all := true
			for _, t := range m.tasks {
				all = all && m.selected[t.ID]
			}
			for _, t := range m.tasks {
				m.selected[t.ID] = !all
			}
		}
	case key.Matches(msg, k.Start):
		if m.running {
			return nil
		}
		if m.model == nil {
			m.status = "no checkpoint loaded: pick one first"
			return nil
		}
		m.status = "starting…"
		return m.start()
	case key.Matches(msg, k.Stop):
		if m.running && m.handle != nil {
			m.handle.Stop()
			m.status = "stopping (finished items are kept)…"
		}
	case key.Matches(msg, k.Samples):
		m.mode, m.sCursor = modeSamples, 0
	case key.Matches(msg, k.Compare):
		if m.o.Store == nil {
			m.status = "compare needs the result store"
			return nil
		}
		m.mode = modeCompare
		return m.compare(0)
	}
	return nil
}

// start loads the selected tasks' data, fingerprints the checkpoint and
// starts the run, all off the UI goroutine.
func (m *Model) start() tea.Cmd {
	var tasks []*task.Task
	for _, t := range m.tasks {
		if m.selected[t.ID] {
			tasks = append(tasks, t)
		}
	}
	if len(tasks) == 0 {
		m.status = "no task selected (space selects)"
		return nil
	}
	// Each task's data: a chosen file or a toy set by path, the cache by
	// the home (eval.Plan reads it there).
	files, toy := map[string]string{}, map[string]bool{}
	for _, t := range tasks {
		switch src := m.source(t); src.kind {
		case srcNone:
			m.status = fmt.Sprintf("%s has no data: %s, or d chooses a file", t.Name, m.pull(t.ID))
			return nil
		case srcFile, srcToy:
			files[t.ID] = src.path
			toy[t.ID] = src.kind == srcToy
		}
	}
	// The run keeps its model until it ends, even if another checkpoint
	// replaces it meanwhile (the app then drops only its own reference).
	// The reference is taken here, in Update, because the app may close
	// the model before the command below runs.
	release, err := tui.Acquire(m.model)
	if err != nil {
		m.status = err.Error()
		return nil
	}
	o, model, ck, gen := m.o, m.model, m.ck, m.model.Info().Generation
	return func() tea.Msg {
		started := false
		defer func() {
			if !started {
				release()
			}
		}()
		jobs, err := eval.Plan{Tasks: tasks, Data: files, Home: o.Home, Limit: o.Limit}.Jobs()
		if err != nil {
			return errMsg{err}
		}
		var env task.Env
		for _, j := range jobs {
			if j.Task.ID == "humaneval" {
				if env.Sandbox, err = o.Sandbox(); err != nil {
					return errMsg{err}
				}
			}
		}
		id := eval.Checkpoint{Name: ck.Name(), Digest: "unknown:" + ck.Name(), Variant: o.Variant}
		if ck.ModelPath != "" {
			if id, err = eval.CheckpointOf(ck, o.Variant); err != nil {
				return errMsg{err}
			}
		}
		h := eval.Start(context.Background(), model, eval.Config{Jobs: jobs, Checkpoint: id, Settings: o.Settings,
			Parallel: 2, Store: o.Store, Env: env})
		started = true
		go func() {
			h.Wait()
			release()
		}()
		return startedMsg{h: h, ck: id, gen: gen, jobs: jobs, toy: toy}
	}
}

// listen waits for the run's next event (or its end).
func listen(h *eval.Handle) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-h.Events()
		if !ok {
			rep, err := h.Wait()
			return finishedMsg{h: h, rep: rep, err: err}
		}
		return eventMsg{h: h, e: e}
	}
}

// ShortHelp implements tui.Pane.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	if m.input != nil {
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "use this data")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))}
	}
	switch m.mode {
	case modeSamples:
		return []key.Binding{k.Up, k.Down, k.Prev, k.Next, k.Failures, k.Chat, k.Back}
	case modeCompare:
		return []key.Binding{k.Prev, k.Next, k.Up, k.Down, k.Back}
	}
	if m.running {
		return []key.Binding{k.Stop, k.Samples}
	}
	return []key.Binding{k.Toggle, k.Start, k.Data, k.Samples, k.Compare}
}

// FullHelp implements tui.Pane.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{{k.Up, k.Down, k.Toggle, k.All, k.Data}, {k.Start, k.Stop, k.Samples, k.Failures}, {k.Compare, k.Prev, k.Next, k.Chat, k.Back}}
}

var _ tui.StatusPane = (*Model)(nil)

// Status implements tui.StatusPane: the settings evals run with, which
// are not the chat's (greedy unless set otherwise).
func (m *Model) Status() string {
	s := m.o.Settings
	parts := []string{"eval: greedy"}
	if s.Temperature > 0 {
		parts = []string{fmt.Sprintf("eval: T %g · k %d · p %g · seed %d", s.Temperature, s.TopK, s.TopP, s.Seed)}
	}
	parts = append(parts, fmt.Sprintf("max %d tokens", s.MaxTokens))
	if s.Samples > 1 {
		parts = append(parts, fmt.Sprintf("%d samples", s.Samples))
	}
	if m.o.Limit > 0 {
		parts = append(parts, fmt.Sprintf("first %d items", m.o.Limit))
	}
	return strings.Join(parts, " · ")
}

func colorString(c lipgloss.TerminalColor) string {
	if s, ok := c.(lipgloss.Color); ok {
		return string(s)
	}
	return ""
}
