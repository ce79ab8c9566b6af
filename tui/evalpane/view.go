package evalpane

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/eval/store"
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
	for i, t := range m.tasks {
		cursor := "  "
		if i == m.cursor {
			cursor = m.st.accent.Render("▸ ")
		}
		box := "[ ]"
		if m.selected[t.ID] {
			box = "[x]"
		}
		line := fmt.Sprintf("%s%s %-13s", cursor, box, t.Name)
		if p, ok := m.prog[t.ID]; ok && p.Total > 0 {
			line += " " + m.bar.ViewAs(float64(p.Done)/float64(p.Total))
			line += fmt.Sprintf(" %d/%d  acc %5.1f%% [%4.1f–%4.1f]", p.Done, p.Total, 100*p.Accuracy, 100*p.Lo, 100*p.Hi)
			if p.ItemsPerSec > 0 {
				line += fmt.Sprintf("  %.1f it/s", p.ItemsPerSec)
				if p.TokensPerSec > 0 {
					line += fmt.Sprintf("  %.0f tok/s", p.TokensPerSec)
				}
				if p.Done < p.Total && m.running {
					line += "  ETA " + p.ETA.Round(time.Second).String()
				}
			}
			if p.Cached > 0 {
				line += m.st.muted.Render(fmt.Sprintf("  %d cached", p.Cached))
			}
		} else {
			line += m.st.muted.Render("  " + t.Kind.String())
		}
		b.WriteString(line + "\n")
	}
	if m.report != nil {
		b.WriteString("\n" + m.st.title.Render("Results") + "\n")
		b.WriteString(fmt.Sprintf("  %-13s %9s %9s %15s %10s\n", "task", "n", "accuracy", "95% CI", "centered"))
		for _, t := range m.report.Tasks {
			b.WriteString(fmt.Sprintf("  %-13s %9s %8.2f%% %6.2f–%6.2f%% %10.4f  %s\n", t.Name, fmt.Sprintf("%d/%d", t.N, t.Rows),
				100*t.Accuracy, 100*t.CI95[0], 100*t.CI95[1], t.Centered, t.Status))
		}
		if c := m.report.ChatCORE; c != nil {
			b.WriteString(fmt.Sprintf("  ChatCORE %.4f", *c))
			if !m.report.ChatCOREComplete {
				b.WriteString(m.st.muted.Render(" (partial: upstream needs all five tasks in full)"))
			}
			b.WriteString("\n")
		}
	}
	if m.status != "" {
		b.WriteString("\n" + m.st.muted.Render(termsafe.String(m.status)) + "\n")
	}
	return b.String()
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
			m.st.muted.Render(oneLine(firstOutput(r), 40))))
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
		b.WriteString(m.st.accent.Render(termsafe.String(head)) + "\n" + termsafe.String(o.Text) + "\n")
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
		b.WriteString(fmt.Sprintf("%s%s #%-5d gold %-8q %s\n", cursor, who, r.Index, clip(r.Gold, 8), m.st.muted.Render(oneLine(firstOutput(r), 50))))
	}
	return b.String()
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
