package evalpane

import (
	"context"
	"fmt"
	"sort"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/eval"
	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui"
)

// selectedTask is the task under the cursor.
func (m *Model) selectedTask() string { return m.tasks[m.cursor].ID }

// samples are the browsed task's results in item order (failures only
// when filtered).
func (m *Model) samples() []store.Result {
	var out []store.Result
	for _, r := range m.results[m.selectedTask()] {
		if !m.failOnly || !r.Pass {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

func (m *Model) sampleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	n := len(m.samples())
	switch {
	case key.Matches(msg, k.Back):
		m.mode = modeTasks
	case key.Matches(msg, k.Up):
		m.sCursor = max(m.sCursor-1, 0)
	case key.Matches(msg, k.Down):
		m.sCursor = max(min(m.sCursor+1, n-1), 0)
	case key.Matches(msg, k.PageUp):
		m.sCursor = max(m.sCursor-10, 0)
	case key.Matches(msg, k.PageDown):
		m.sCursor = max(min(m.sCursor+10, n-1), 0)
	case key.Matches(msg, k.Failures):
		m.failOnly, m.sCursor = !m.failOnly, 0
	case key.Matches(msg, k.Next):
		m.cursor, m.sCursor = (m.cursor+1)%len(m.tasks), 0
	case key.Matches(msg, k.Prev):
		m.cursor, m.sCursor = (m.cursor+len(m.tasks)-1)%len(m.tasks), 0
	case key.Matches(msg, k.Stop):
		if m.running {
			m.handle.Stop()
		}
	case key.Matches(msg, k.Chat):
		return m.openSample()
	}
	return nil
}

// openSample asks the app to open the sample under the cursor as a chat:
// its prompt and the model's first output.
func (m *Model) openSample() tea.Cmd {
	ss := m.samples()
	items := m.items[m.selectedTask()]
	if m.sCursor >= len(ss) || ss[m.sCursor].Index >= len(items) {
		return nil
	}
	r := ss[m.sCursor]
	msgs := append([]llm.Message(nil), items[r.Index].Prompt()...)
	if len(r.Outputs) > 0 {
		text, parts := llm.ParseRaw(r.Outputs[0].Text)
		msgs = append(msgs, llm.Message{Role: "assistant", Content: text, Parts: parts})
	}
	open := tui.OpenChatMsg{Title: fmt.Sprintf("%s #%d", m.tasks[m.cursor].Name, r.Index), Messages: msgs,
		Checkpoint: m.checkpt.Name, Generation: m.runGen}
	if m.tasks[m.cursor].Kind == task.Generative {
		s := m.o.Settings
		open.Settings = &s
	}
	return func() tea.Msg { return open }
}

// comparison pairs the loaded checkpoint's results on a task with another
// checkpoint's, item by item (items keyed by content, so both saw the same
// prompt).
type comparison struct {
	task       string
	self       string         // our checkpoint name
	others     []store.Run    // candidate checkpoints (one run each)
	at         int            // index into others
	onlyA      []store.Result // we passed, they failed
	onlyB      []store.Result // they passed, we failed
	both, none int
	cursor     int
	err        error
}

func (m *Model) compareKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back):
		m.mode = modeTasks
	case key.Matches(msg, k.Next):
		if m.cmp != nil && len(m.cmp.others) > 0 {
			return m.compare((m.cmp.at + 1) % len(m.cmp.others))
		}
	case key.Matches(msg, k.Prev):
		if m.cmp != nil && len(m.cmp.others) > 0 {
			return m.compare((m.cmp.at + len(m.cmp.others) - 1) % len(m.cmp.others))
		}
	case key.Matches(msg, k.Up):
		if m.cmp != nil {
			m.cmp.cursor = max(m.cmp.cursor-1, 0)
		}
	case key.Matches(msg, k.Down):
		if m.cmp != nil {
			m.cmp.cursor = min(m.cmp.cursor+1, max(len(m.cmp.onlyA)+len(m.cmp.onlyB)-1, 0))
		}
	}
	return nil
}

// compare loads, off the UI goroutine, the stored results of the last run's
// checkpoint and of the at-th other checkpoint that ran the selected task
// with the same settings.
func (m *Model) compare(at int) tea.Cmd {
	st, taskID, self, ck, variant := m.o.Store, m.selectedTask(), m.checkpt, m.ck, m.o.Variant
	return func() tea.Msg {
		if self.Digest == "" && ck.ModelPath != "" {
			self, _ = eval.CheckpointOf(ck, variant)
		}
		c := &comparison{task: taskID, self: self.Name, at: at}
		runs, err := st.Runs(context.Background(), 0)
		if err != nil {
			c.err = err
			return comparedMsg{c}
		}
		var mine *store.Run
		seen := map[string]bool{}
		for i, r := range runs {
			if r.Task != taskID {
				continue
			}
			if self.Digest != "" && r.Digest == self.Digest {
				if mine == nil {
					mine = &runs[i]
				}
				continue
			}
			if !seen[r.Digest+r.Settings] {
				seen[r.Digest+r.Settings] = true
				c.others = append(c.others, r)
			}
		}
		if mine == nil {
			c.err = fmt.Errorf("run %s on the loaded checkpoint first", taskID)
			return comparedMsg{c}
		}
		c.self = mine.Checkpoint
		var pick []store.Run
		for _, r := range c.others {
			if r.Settings == mine.Settings {
				pick = append(pick, r)
			}
		}
		c.others = pick
		if len(c.others) == 0 {
			c.err = fmt.Errorf("no other checkpoint has %s results with these settings", taskID)
			return comparedMsg{c}
		}
		c.at = at % len(c.others)
		a, err := st.Results(context.Background(), mine.Key)
		if err == nil {
			var b map[string]store.Result
			if b, err = st.Results(context.Background(), c.others[c.at].Key); err == nil {
				c.pair(a, b)
			}
		}
		c.err = err
		return comparedMsg{c}
	}
}

// pair classifies the items both checkpoints answered.
func (c *comparison) pair(a, b map[string]store.Result) {
	for k, ra := range a {
		rb, ok := b[k]
		if !ok {
			continue
		}
		switch {
		case ra.Pass && rb.Pass:
			c.both++
		case ra.Pass:
			c.onlyA = append(c.onlyA, ra)
		case rb.Pass:
			c.onlyB = append(c.onlyB, rb)
		default:
			c.none++
		}
	}
	byIndex := func(s []store.Result) { sort.Slice(s, func(i, j int) bool { return s[i].Index < s[j].Index }) }
	byIndex(c.onlyA)
	byIndex(c.onlyB)
}
