package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/nanochat-go/nanochat/tui/termsafe"
)

// paneHeight is what is left for the active pane below the tab bar and
// above the status bar and help.
func (a *App) paneHeight() int {
	return max(a.height-2-lipgloss.Height(a.helpView()), 3)
}

// layout hands every part its size.
func (a *App) layout() {
	a.help.Width = a.width
	h := a.paneHeight()
	a.chat.SetSize(a.width, h)
	a.eval, _ = a.eval.Update(tea.WindowSizeMsg{Width: a.width, Height: h})
	if d := a.dialog; d != nil {
		switch {
		case d.picker != nil:
			d.picker.SetSize(a.width-2, h)
		case d.sessions != nil:
			d.sessions.SetSize(a.width-2, h)
		case d.settings != nil:
			d.settings.SetSize(a.width-2, h)
		}
	}
}

// View draws tab bar, pane (or dialog), status bar and help. Each part
// makes the outside text it shows visible (termsafe.String) before styling
// it; the whole screen then goes through termsafe.Styled, so a control
// sequence that some path forgot still cannot act: only our SGR styling
// reaches the terminal.
func (a *App) View() string {
	return termsafe.Styled(a.view())
}

func (a *App) view() string {
	h := a.paneHeight()
	var body string
	switch {
	case a.dialog != nil:
		var box string
		switch {
		case a.dialog.picker != nil:
			box = a.dialog.picker.View()
		case a.dialog.sessions != nil:
			box = a.dialog.sessions.View()
		case a.dialog.settings != nil:
			box = a.dialog.settings.View()
		}
		body = lipgloss.Place(a.width, h, lipgloss.Center, lipgloss.Center, box)
	case a.active == 1:
		body = a.eval.View()
	default:
		body = a.chat.View()
	}
	body = lipgloss.NewStyle().Width(a.width).Height(h).MaxHeight(h).Render(body)
	return lipgloss.JoinVertical(lipgloss.Left, a.tabBar(), body, a.statusBar(), a.helpView())
}

func (a *App) tabBar() string {
	st := lipgloss.NewStyle()
	on := st.Foreground(a.th.Accent).Bold(true).Underline(true)
	off := st.Foreground(a.th.Muted)
	titles := []string{a.chat.Title(), a.eval.Title()}
	var b strings.Builder
	b.WriteString(st.Foreground(a.th.Accent).Bold(true).Render("nanochat") + "  ")
	for i, t := range titles {
		if i == a.active {
			b.WriteString(on.Render(t))
		} else {
			b.WriteString(off.Render(t))
		}
		b.WriteString("  ")
	}
	left := b.String()
	title := termsafe.String(a.chat.Session().Title)
	if title == "" {
		title = "new chat"
	}
	room := a.width - lipgloss.Width(left) - 1
	if room < 8 {
		return left
	}
	title = clip(title, room)
	return left + strings.Repeat(" ", room-lipgloss.Width(title)+1) + off.Render(title)
}

// statusBar: checkpoint and device | sampling settings (or a transient
// message) | context and speed. The eval tab shows its own settings: evals
// run with theirs, not the chat's. Narrow terminals drop the device, then
// cut the middle, then drop it.
func (a *App) statusBar() string {
	bar := lipgloss.NewStyle().Foreground(a.th.BarFG).Background(a.th.BarBG)
	var name, device string
	switch {
	case a.load != nil:
		name = a.spin.View() + " loading " + termsafe.String(a.load.ck.Name())
		device = termsafe.String(a.load.stage)
	case a.model != nil:
		// A remote server names its model and device.
		info := a.model.Info()
		name = "● " + termsafe.String(info.Name)
		if info.Generation != "" {
			name += " " + termsafe.String(info.Generation)
		}
		if !info.Chat {
			name += " (completion)"
		}
		device = termsafe.String(info.Device)
	default:
		name = "○ no checkpoint"
	}
	s, _ := a.chat.Settings()
	mid := fmt.Sprintf("T %g · k %d · p %g · max %d · seed %d", s.Temperature, s.TopK, s.TopP, s.MaxTokens, s.Seed)
	if sp, ok := a.eval.(StatusPane); ok && a.active == 1 {
		mid = termsafe.String(sp.Status())
	}
	if a.status != "" {
		mid = a.status
	}
	var right []string
	if st := a.chat.LastStats(); st != nil && a.active == 0 {
		used := st.PromptTokens + st.Generated
		if a.model != nil && a.model.Info().ContextLen > 0 {
			right = append(right, fmt.Sprintf("ctx %d/%d", used, a.model.Info().ContextLen))
		} else {
			right = append(right, fmt.Sprintf("ctx %d", used))
		}
		right = append(right, fmt.Sprintf("%.1f tok/s", st.TokensPerSec))
	}
	r := strings.Join(right, " · ")
	w := a.width - 2
	lefts := []string{name}
	if device != "" {
		lefts = []string{name + " · " + device, name}
	}
	line := ""
	// The whole middle with the device, or without; else the middle cut,
	// rather than dropped, while 20 columns of it show.
	for _, least := range []int{lipgloss.Width(mid), min(lipgloss.Width(mid), 20)} {
		for _, left := range lefts {
			room := w - lipgloss.Width(left) - 3
			if r != "" {
				room -= lipgloss.Width(r) + 1
			}
			if line == "" && room >= least {
				line = left + " │ " + clip(mid, room)
			}
		}
	}
	for _, left := range lefts { // no room for the middle
		if line == "" && lipgloss.Width(left)+lipgloss.Width(r)+1 <= w {
			line = left
		}
	}
	if line == "" {
		line = clip(name, w)
	}
	if pad := w - lipgloss.Width(line) - lipgloss.Width(r); r != "" && pad >= 1 {
		line += strings.Repeat(" ", pad) + r // right-align the speed
	}
	return bar.Width(a.width).Render(" " + line + " ")
}

func (a *App) helpView() string {
	if a.dialog != nil {
		return a.help.ShortHelpView([]key.Binding{a.keys.App.Quit})
	}
	var pane []key.Binding
	var paneFull [][]key.Binding
	if a.active == 1 {
		pane, paneFull = a.eval.ShortHelp(), a.eval.FullHelp()
	} else {
		pane, paneFull = a.chat.ShortHelp(), a.chat.FullHelp()
	}
	if a.full {
		k := a.keys.App
		k.Help.SetHelp(k.Help.Help().Key+"/esc", "close help")
		return a.fullHelp(append(paneFull, k.full()...))
	}
	// bubbles' help can overflow narrow widths: cut it.
	return ansi.Truncate(a.help.ShortHelpView(append(pane, a.keys.App.short()...)), a.width, "…")
}

func clip(s string, w int) string { return ansi.Truncate(s, w, "…") }

// fullHelp lays the help columns out in as many rows as the width needs.
func (a *App) fullHelp(groups [][]key.Binding) string {
	h := a.help
	h.Width = 0 // measure unclipped
	var rows []string
	var row [][]key.Binding
	for _, g := range groups {
		if len(row) > 0 && lipgloss.Width(h.FullHelpView(append(row, g))) > a.width {
			rows = append(rows, h.FullHelpView(row))
			row = nil
		}
		row = append(row, g)
	}
	if len(row) > 0 {
		rows = append(rows, h.FullHelpView(row))
	}
	return clipLines(strings.Join(rows, "\n"), a.width)
}

func clipLines(s string, w int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	return strings.Join(lines, "\n")
}
