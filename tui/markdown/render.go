// Package markdown renders chat replies as terminal markdown with glamour,
// including while they stream: Stream keeps the rendered output of the
// stable prefix (complete blocks) and re-renders only the tail each frame.
package markdown

import (
	"strings"

	"github.com/charmbracelet/glamour"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/nanochat-go/nanochat/tui/termsafe"
)

// Renderer renders markdown at a given width. glamour renderers are costly
// to build, so one is kept per width. A Renderer is not safe for concurrent
// use (neither is glamour's); the TUI calls it from Update and View only.
type Renderer struct {
	style   string
	profile termenv.Profile
	byWidth map[int]*glamour.TermRenderer
}

// New returns a Renderer for a glamour standard style ("dark", "light",
// "notty", ...) and colour profile.
func New(style string, profile termenv.Profile) *Renderer {
	return &Renderer{style: style, profile: profile, byWidth: map[int]*glamour.TermRenderer{}}
}

// Render renders md wrapped to width columns, without glamour's leading
// and trailing blank lines and with trailing spaces trimmed from each line.
// Line breaks inside a paragraph are kept, as a model means them.
// md is untrusted (a model's reply): its control characters are made
// visible (termsafe) before glamour adds our styling. If glamour fails,
// the visible text is returned as it is.
func (r *Renderer) Render(md string, width int) string {
	md = termsafe.String(md)
	width = max(width, 10)
	tr := r.byWidth[width]
	if tr == nil {
		var err error
		tr, err = glamour.NewTermRenderer(
			glamour.WithStandardStyle(r.style),
			glamour.WithColorProfile(r.profile),
			glamour.WithWordWrap(width),
			// A model's single newlines are line breaks (a GSM8K answer
			// puts each step on its own line), not soft wraps to merge.
			glamour.WithPreservedNewLines(),
		)
		if err != nil {
			return md
		}
		r.byWidth[width] = tr
	}
	out, err := tr.Render(strings.ReplaceAll(md, "\t", "    "))
	if err != nil {
		return md
	}
	return normalize(out)
}

// normalize drops the document's opening newline and closing blank lines
// and trims each line's padding, so blocks rendered apart can be joined.
func normalize(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		// Blank lines may hold colour codes and padding: judge them by
		// what shows, and make them truly empty.
		if strings.TrimSpace(ansi.Strip(l)) == "" {
			l = ""
		}
		lines[i] = strings.TrimRight(l, " ")
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// join glues two renders that were separated by a blank line in the
// source: glamour puts exactly one blank line between blocks.
func join(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "\n\n" + b
}
