package chat

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/termsafe"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// Styles are the chat pane's looks, derived from a theme.
type Styles struct {
	User, Assistant lipgloss.Style // role labels
	Meta            lipgloss.Style // checkpoint, stats
	Partial, Error  lipgloss.Style
	Gutter          lipgloss.Style // focus bar
	Notice          lipgloss.Style
	Hint            lipgloss.Style // empty state
	Rule            lipgloss.Style // line above the input
}

// DefaultStyles derives the styles from th.
func DefaultStyles(th theme.Theme) Styles {
	s := lipgloss.NewStyle()
	return Styles{
		User:      s.Foreground(th.User).Bold(true),
		Assistant: s.Foreground(th.Assistant).Bold(true),
		Meta:      s.Foreground(th.Muted),
		Partial:   s.Foreground(th.Warn),
		Error:     s.Foreground(th.Error),
		Gutter:    s.Foreground(th.Accent),
		Notice:    s.Foreground(th.Accent),
		Hint:      s.Foreground(th.Muted),
		Rule:      s.Foreground(th.Subtle),
	}
}

// minColumn is the narrowest a side-by-side column may be; below it
// compared replies are stacked.
const minColumn = 36

// readingWidth is the widest a message is laid out, its two-column gutter
// included: on a wide terminal, lines stay about 100 columns long.
const readingWidth = 102

// renderTranscript lays out every message at width and records where each
// message starts (for focus scrolling).
func (m *Model) renderTranscript(width int) string {
	if len(m.msgs) == 0 {
		return m.emptyView(width)
	}
	var b strings.Builder
	m.offsets = m.offsets[:0]
	line := 0
	for i := 0; i < len(m.msgs); {
		j := i + 1
		for j < len(m.msgs) && m.msgs[j].Compare {
			j++
		}
		var block string
		n := j - i
		if n > 1 && (width-2*(n-1))/n >= minColumn {
			colW := min((width-2*(n-1))/n, readingWidth)
			cols := make([]string, 0, 2*n-1)
			for k := i; k < j; k++ {
				if k > i {
					cols = append(cols, "  ")
				}
				cols = append(cols, lipgloss.NewStyle().Width(colW).Render(m.renderMessage(k, colW)))
			}
			block = lipgloss.JoinHorizontal(lipgloss.Top, cols...)
		} else {
			parts := make([]string, 0, n)
			for k := i; k < j; k++ {
				parts = append(parts, m.renderMessage(k, min(width, readingWidth)))
			}
			block = strings.Join(parts, "\n\n")
		}
		for k := i; k < j; k++ {
			m.offsets = append(m.offsets, line)
		}
		if i > 0 {
			b.WriteString("\n\n")
			line += 2
		}
		b.WriteString(block)
		line += strings.Count(block, "\n") + 1
		i = j
	}
	return b.String()
}

// renderMessage renders msgs[i] at width, from cache when it is finished.
func (m *Model) renderMessage(i, width int) string {
	msg := m.msgs[i]
	focused := m.focusedMessage() == i
	key := renderKey{width: width, focused: focused, version: msg.cacheKey.version}
	if msg.live == nil && msg.cacheKey == key && msg.cacheView != "" {
		return msg.cacheView
	}
	inner := width - 2
	var lines []string
	lines = append(lines, ansi.Truncate(m.header(msg), inner, "…"))
	body := m.body(msg, inner)
	if body != "" {
		lines = append(lines, body)
	}
	if f := m.footer(msg); f != "" {
		lines = append(lines, lipgloss.NewStyle().Width(inner).Render(f))
	}
	out := strings.Join(lines, "\n")
	gutter := "  "
	if focused {
		gutter = m.styles.Gutter.Render("▌") + " "
	}
	rows := strings.Split(out, "\n")
	for r := range rows {
		rows[r] = gutter + rows[r]
	}
	out = strings.Join(rows, "\n")
	if msg.live == nil {
		msg.cacheKey, msg.cacheView = key, out
	}
	return out
}

func (m *Model) header(msg *Message) string {
	switch msg.Role {
	case "user":
		return m.styles.User.Render("You")
	case "prompt":
		return m.styles.User.Render("Prompt") + m.styles.Meta.Render(" · completion mode")
	}
	label := "nanochat"
	if msg.Role == "completion" {
		label = "Completion"
	}
	meta := msg.Checkpoint
	if msg.Generation != "" {
		meta += " " + msg.Generation
	}
	if s := msg.Settings; s != nil {
		meta += fmt.Sprintf(" · seed %d", s.Seed)
	}
	if msg.Compare {
		meta += " · re-run"
	}
	return m.styles.Assistant.Render(label) + m.styles.Meta.Render(" · "+termsafe.String(meta))
}

func (m *Model) body(msg *Message, width int) string {
	if msg.live != nil && msg.live.Source() == "" {
		return "  " + m.spin.View() + m.styles.Meta.Render(" thinking…")
	}
	switch msg.Role {
	case "user", "prompt", "completion":
		text := msg.display()
		if text == "" {
			return ""
		}
		return lipgloss.NewStyle().Width(width).Render(termsafe.String(text))
	}
	if msg.live != nil {
		return msg.live.View(width) // incremental markdown
	}
	return m.md.Render(msg.display(), width)
}

// footer is the stats line under a finished reply and, when the reply
// did not end by itself, why it ended. A reply that failed before its
// first token has no stats worth showing, only the reason.
func (m *Model) footer(msg *Message) string {
	if !msg.isReply() || msg.live != nil {
		return ""
	}
	var parts []string
	if st := msg.Stats; st != nil && (st.PromptTokens > 0 || st.Generated > 0) {
		parts = append(parts, fmt.Sprintf("%d prompt", st.PromptTokens))
		if st.CachedTokens > 0 {
			parts = append(parts, fmt.Sprintf("%d cached", st.CachedTokens))
		}
		parts = append(parts, fmt.Sprintf("%d generated", st.Generated))
		if st.TTFT > 0 {
			parts = append(parts, "TTFT "+roundDur(st.TTFT))
		}
		parts = append(parts, fmt.Sprintf("%.1f tok/s", st.TokensPerSec))
		if st.DroppedTurns > 0 {
			parts = append(parts, fmt.Sprintf("%d old turns dropped", st.DroppedTurns))
		}
	}
	var end string
	style := m.styles.Partial
	switch {
	case msg.Finish == "error":
		style, end = m.styles.Error, "failed"
		if msg.Content != "" || len(msg.Parts) > 0 {
			end += " (partial)"
		}
		if msg.err != "" {
			end += ": " + termsafe.String(msg.err)
		}
	case msg.Partial:
		end = "stopped (partial)"
	case msg.Finish == "length":
		end = history.LengthNote(msg.Message)
		if end == "filled the context" && msg.Checkpoint == m.info.Name && m.info.ContextLen > 0 {
			end += fmt.Sprintf(" of %d tokens", m.info.ContextLen)
		}
	}
	if len(parts) == 0 && end == "" {
		return "" // e.g. a reply opened from an eval sample: no stats kept
	}
	line := m.styles.Meta.Render("╰ " + strings.Join(parts, " · "))
	if end != "" {
		if len(parts) > 0 {
			end = " · " + end
		}
		line += style.Render(end)
	}
	return line
}

func roundDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

func (m *Model) emptyView(width int) string {
	hint := m.hint
	if hint == "" {
		hint = "Type a message and press enter."
	}
	return lipgloss.NewStyle().Width(width).Padding(1, 2).Render(m.styles.Hint.Render(hint))
}
