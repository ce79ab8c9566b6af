package evalpane

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/eval"
	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/termsafe"
	"github.com/nanochat-go/nanochat/tui/theme"
)

type styles struct {
	title, muted, accent, ok, bad, warn, sel lipgloss.Style
}

func newStyles(th theme.Theme) styles {
	s := lipgloss.NewStyle()
	return styles{
		title: s.Foreground(th.Accent).Bold(true), muted: s.Foreground(th.Muted), accent: s.Foreground(th.Accent),
		ok: s.Foreground(th.OK), bad: s.Foreground(th.Error), warn: s.Foreground(th.Warn), sel: s.Bold(true),
	}
}

// View implements tui.Pane.
func (m *Model) View() string {
	var body string
	switch m.mode {
	case modeSamples:
		body = m.viewSamples()
	case modeCompare:
		body = m.viewCompare()
	default:
		body = m.viewTasks()
	}
	lines := strings.Split(body, "\n")
	if len(lines) > m.height && m.height > 0 {
		lines = lines[:m.height]
	}
	for i, l := range lines {
		lines[i] = truncate(l, m.width)
	}
	return strings.Join(lines, "\n")
}

func (m *Model) header() string {
	name := "no checkpoint loaded"
	if m.ck.ModelPath != "" || m.ck.Tag != "" {
		name = m.ck.Name()
	}
	return m.st.title.Render("Evaluations") + m.st.muted.Render(" · "+termsafe.String(name))
}

func (m *Model) viewTasks() string {
	var b strings.Builder
	b.WriteString(m.header() + "\n\n")
	drop, barW := m.progressLayout(2 + 3 + 1 + 13) // cursor, box, name
	for i, t := range m.tasks {
		b.WriteString(m.taskRow(i, t, drop, barW) + "\n")
	}
	if note := m.toyNote(); note != "" {
		b.WriteString("\n" + m.wrap(m.st.warn, note) + "\n")
	}
	if m.report != nil {
		b.WriteString("\n" + m.st.title.Render("Results") + "\n")
		b.WriteString(fmt.Sprintf("  %-15s %9s %9s %15s %10s\n", "task", "n", "accuracy", "95% CI", "centered"))
		toy := false
		for _, t := range m.report.Tasks {
			name := t.Name
			if m.runToy[t.ID] {
				name, toy = name+" (toy)", true
			}
			b.WriteString(fmt.Sprintf("  %-15s %9s %8.2f%% %6.2f–%6.2f%% %10.4f  %s\n", name, fmt.Sprintf("%d/%d", t.N, t.Rows),
				100*t.Accuracy, 100*t.CI95[0], 100*t.CI95[1], t.Centered, t.Status))
		}
		if c := m.report.ChatCORE; c != nil {
			b.WriteString(fmt.Sprintf("  ChatCORE %.4f", *c))
			switch {
			case toy:
				b.WriteString(m.st.warn.Render(" (on toy sets: not the benchmark's metric)"))
			case !m.report.ChatCOREComplete:
				b.WriteString(m.st.muted.Render(" (partial: upstream needs all five tasks in full)"))
			}
			b.WriteString("\n")
		}
	}
	if m.status != "" {
		b.WriteString("\n" + m.wrap(m.st.muted, termsafe.String(m.status)) + "\n")
	}
	if m.input != nil {
		b.WriteString("\n" + m.inputView() + "\n")
	}
	return b.String()
}

// wrap renders text in st, wrapped to the pane's width (View cuts lines).
func (m *Model) wrap(st lipgloss.Style, text string) string {
	return st.Width(max(m.width-2, 10)).Render(text)
}

// field is one number of a task's progress; drop 0 is always kept, the
// higher the sooner it goes when the row is too wide.
type field struct {
	text string
	drop int
}

// progressFields are a task's progress numbers, each at a fixed width so
// that the rows' columns line up.
func (m *Model) progressFields(p eval.Progress) []field {
	n := len(fmt.Sprint(p.Total))
	fs := []field{{fmt.Sprintf(" %*d/%d", n, p.Done, p.Total), 0}, {fmt.Sprintf("  acc %5.1f%%", 100*p.Accuracy), 0},
		{fmt.Sprintf(" [%4.1f–%5.1f]", 100*p.Lo, 100*p.Hi), 3}}
	if p.ItemsPerSec > 0 {
		fs = append(fs, field{fmt.Sprintf("  %5.1f it/s", p.ItemsPerSec), 1})
		if p.TokensPerSec > 0 {
			fs = append(fs, field{fmt.Sprintf("  %5.0f tok/s", p.TokensPerSec), 4})
		}
		if p.Done < p.Total && m.running {
			fs = append(fs, field{"  ETA " + p.ETA.Round(time.Second).String(), 2})
		}
	}
	if p.Cached > 0 {
		fs = append(fs, field{m.st.muted.Render(fmt.Sprintf("  %d cached", p.Cached)), 5})
	}
	return fs
}

// keep joins the fields below drop.
func keep(fs []field, drop int) string {
	var b strings.Builder
	for _, f := range fs {
		if f.drop < drop {
			b.WriteString(f.text)
		}
	}
	return b.String()
}

// progressLayout fits the progress rows to the width, all alike so their
// columns line up: the bar shrinks (to 8), then the least useful numbers
// go (cached, tok/s, the CI, the ETA), so the ones kept are never cut. It
// returns the drop level and the bar width (0: no bar).
func (m *Model) progressLayout(head int) (drop, bar int) {
	for drop = 6; ; drop-- {
		room := 20
		for _, t := range m.tasks {
			if p, ok := m.prog[t.ID]; ok && p.Total > 0 {
				room = min(room, m.width-head-lipgloss.Width(keep(m.progressFields(p), drop))-1)
			}
		}
		if room >= 8 {
			return drop, room
		}
		if drop == 0 {
			return 0, 0
		}
	}
}

// taskRow is one task's line: its selection, name and, while it runs or
// after, its progress laid out as progressLayout says; before, its kind
// and where its data comes from.
func (m *Model) taskRow(i int, t *task.Task, drop, barW int) string {
	cursor := "  "
	if i == m.cursor {
		cursor = m.st.accent.Render("▸ ")
	}
	box := "[ ]"
	if m.selected[t.ID] {
		box = "[x]"
	}
	head := fmt.Sprintf("%s%s %-13s", cursor, box, t.Name)
	p, ok := m.prog[t.ID]
	if !ok || p.Total == 0 {
		return head + m.st.muted.Render("  "+t.Kind.String()+" · "+termsafe.String(m.label(t)))
	}
	bar := ""
	if barW > 0 {
		pb := m.bar
		pb.Width = barW
		bar = " " + pb.ViewAs(float64(p.Done)/float64(p.Total))
	}
	return head + bar + keep(m.progressFields(p), drop)
}

func (m *Model) viewSamples() string {
	var b strings.Builder
	t := m.tasks[m.cursor]
	list := m.samples()
	filter := "all items"
	if m.failOnly {
		filter = "failures only"
	}
	b.WriteString(m.header() + m.st.muted.Render(fmt.Sprintf(" · samples · %s · %s · %d shown", t.Name, filter, len(list))) + "\n\n")
	if len(list) == 0 {
		b.WriteString(m.st.muted.Render("  nothing to show yet: run the task (enter) or switch task ([ ])") + "\n")
		return b.String()
	}
	cur := min(m.sCursor, len(list)-1)
	listH := max(min(8, m.height/3), 3)
	start := max(0, min(cur-listH/2, len(list)-listH))
	for i := start; i < min(start+listH, len(list)); i++ {
		r := list[i]
		mark := m.st.ok.Render("✓")
		if !r.Pass {
			mark = m.st.bad.Render("✗")
		}
		cursor := "  "
		if i == cur {
			cursor = m.st.accent.Render("▸ ")
		}
		b.WriteString(fmt.Sprintf("%s%s #%-5d gold %-8q got %-8q %s\n", cursor, mark, r.Index, clip(r.Gold, 8), clip(r.Predicted, 8),
			m.st.muted.Render(oneLine(plainOutput(firstOutput(r)), 40))))
	}
	r := list[cur]
	b.WriteString("\n" + m.st.title.Render(fmt.Sprintf("item %d (row %d)", r.Index, r.Row)) +
		m.st.muted.Render(fmt.Sprintf("  %d/%d samples passed · %v", r.Correct, r.Samples, r.Duration.Round(time.Millisecond))) + "\n")
	// Prompts come from data files, answers from the model: shown, never obeyed.
	if items := m.items[t.ID]; r.Index < len(items) {
		for _, msg := range items[r.Index].Prompt() {
			b.WriteString(m.st.accent.Render(msg.Role) + "\n" + termsafe.String(msg.Content) + "\n")
		}
	}
	b.WriteString(m.st.muted.Render("gold: ") + termsafe.String(r.Gold) + "   " + m.st.muted.Render("extracted: ") + termsafe.String(r.Predicted) + "\n")
	for i, o := range r.Outputs {
		head := fmt.Sprintf("output %d", i+1)
		if o.Detail != "" {
			head += " · " + o.Detail
		}
		b.WriteString(m.st.accent.Render(termsafe.String(head)) + "\n" + m.output(o.Text) + "\n")
	}
	return b.String()
}

func (m *Model) viewCompare() string {
	var b strings.Builder
	b.WriteString(m.header() + m.st.muted.Render(" · compare") + "\n\n")
	c := m.cmp
	if c == nil {
		b.WriteString(m.st.muted.Render("  loading…"))
		return b.String()
	}
	if c.err != nil {
		b.WriteString(m.st.warn.Render("  "+termsafe.String(c.err.Error())) + "\n")
		return b.String()
	}
	other := c.others[c.at]
	total := c.both + c.none + len(c.onlyA) + len(c.onlyB)
	b.WriteString(termsafe.String(fmt.Sprintf("  %s  A = %s   B = %s  (%d/%d, [ ] to switch)", c.task, c.self, other.Checkpoint, c.at+1, len(c.others))) + "\n")
	b.WriteString(fmt.Sprintf("  %d shared items: both pass %d · only A %d · only B %d · neither %d\n", total, c.both, len(c.onlyA), len(c.onlyB), c.none))
	if total > 0 {
		b.WriteString(fmt.Sprintf("  Δaccuracy (A − B) %+.2f points\n", 100*float64(len(c.onlyA)-len(c.onlyB))/float64(total)))
	}
	b.WriteString("\n")
	rows := append(append([]store.Result{}, c.onlyA...), c.onlyB...)
	for i, r := range rows {
		who := "only A"
		if i >= len(c.onlyA) {
			who = "only B"
		}
		cursor := "  "
		if i == c.cursor {
			cursor = m.st.accent.Render("▸ ")
		}
		b.WriteString(fmt.Sprintf("%s%s #%-5d gold %-8q %s\n", cursor, who, r.Index, clip(r.Gold, 8), m.st.muted.Render(oneLine(plainOutput(firstOutput(r)), 50))))
	}
	return b.String()
}

// output is a model's output as the chat shows it: its text, made
// visible, with each calculator call a chip ([12*7 → 84]) instead of the
// raw <|python_start|>… tokens the result store keeps.
func (m *Model) output(raw string) string {
	text, parts := llm.ParseRaw(raw)
	if len(parts) == 0 {
		return termsafe.String(text)
	}
	var b strings.Builder
	for _, e := range llm.Replay(parts) {
		if e.Tool != nil {
			b.WriteString(m.st.accent.Render(termsafe.String(history.PlainChip(*e.Tool))))
		}
		b.WriteString(termsafe.String(e.Text))
	}
	return b.String()
}

// plainOutput is output without styling, for one-line summaries.
func plainOutput(raw string) string {
	text, parts := llm.ParseRaw(raw)
	return history.Inline(text, parts, history.PlainChip)
}

func firstOutput(r store.Result) string {
	if len(r.Outputs) == 0 {
		return ""
	}
	return r.Outputs[0].Text
}

// oneLine fits untrusted text on one line of n characters, its control
// characters made visible.
func oneLine(s string, n int) string {
	return clip(termsafe.String(strings.Join(strings.Fields(s), " ")), n)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:max(n-1, 0)]) + "…"
}

func truncate(s string, width int) string {
	if width <= 0 || lipgloss.Width(s) <= width {
		return s
	}
	return lipgloss.NewStyle().MaxWidth(width).Render(s)
}
