// Package theme is the TUI's palette: semantic colours and the glamour
// style that goes with them, for dark and light terminals and a plain
// (no colour) mode. It is a leaf: it imports only lipgloss and termenv.
package theme

import (
	"os"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Theme names colours by what they mean, not what they look like.
type Theme struct {
	Name      string // "dark", "light" or "plain"
	Accent    lipgloss.TerminalColor
	Text      lipgloss.TerminalColor
	Muted     lipgloss.TerminalColor // secondary text: stats, help
	Subtle    lipgloss.TerminalColor // borders, rules
	User      lipgloss.TerminalColor // the user's turns
	Assistant lipgloss.TerminalColor // the model's turns
	Tool      lipgloss.TerminalColor // calculator blocks
	Error     lipgloss.TerminalColor
	Warn      lipgloss.TerminalColor
	OK        lipgloss.TerminalColor
	BarFG     lipgloss.TerminalColor // status bar
	BarBG     lipgloss.TerminalColor
	Glamour   string // glamour standard style for markdown
	Profile   termenv.Profile
}

// Dark is for terminals with a dark background.
func Dark() Theme {
	return Theme{Name: "dark",
		Accent: lipgloss.Color("#7D9CFF"), Text: lipgloss.Color("#E4E4E7"), Muted: lipgloss.Color("#8B8B94"),
		Subtle: lipgloss.Color("#3F3F46"), User: lipgloss.Color("#F0ABFC"), Assistant: lipgloss.Color("#7DD3FC"),
		Tool: lipgloss.Color("#FCD34D"), Error: lipgloss.Color("#F87171"), Warn: lipgloss.Color("#FBBF24"),
		OK: lipgloss.Color("#4ADE80"), BarFG: lipgloss.Color("#E4E4E7"), BarBG: lipgloss.Color("#27272A"),
		Glamour: "dark", Profile: termenv.TrueColor}
}

// Light is for terminals with a light background.
func Light() Theme {
	return Theme{Name: "light",
		Accent: lipgloss.Color("#3B5BDB"), Text: lipgloss.Color("#18181B"), Muted: lipgloss.Color("#6B6B74"),
		Subtle: lipgloss.Color("#D4D4D8"), User: lipgloss.Color("#A21CAF"), Assistant: lipgloss.Color("#0369A1"),
		Tool: lipgloss.Color("#B45309"), Error: lipgloss.Color("#DC2626"), Warn: lipgloss.Color("#B45309"),
		OK: lipgloss.Color("#15803D"), BarFG: lipgloss.Color("#18181B"), BarBG: lipgloss.Color("#E4E4E7"),
		Glamour: "light", Profile: termenv.TrueColor}
}

// Plain has no colour at all (NO_COLOR, dumb terminals, golden tests).
func Plain() Theme {
	none := lipgloss.NoColor{}
	return Theme{Name: "plain", Accent: none, Text: none, Muted: none, Subtle: none, User: none,
		Assistant: none, Tool: none, Error: none, Warn: none, OK: none, BarFG: none, BarBG: none,
		Glamour: "notty", Profile: termenv.Ascii}
}

// Detect picks a theme before the program starts (asking the terminal
// later races Bubble Tea's input reader): NO_COLOR or plain → Plain;
// NANOCHAT_THEME=dark|light wins; else the terminal's background.
func Detect(plain bool) Theme {
	if plain || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return Plain()
	}
	switch os.Getenv("NANOCHAT_THEME") {
	case "dark":
		return withProfile(Dark())
	case "light":
		return withProfile(Light())
	case "plain":
		return Plain()
	}
	if lipgloss.HasDarkBackground() {
		return withProfile(Dark())
	}
	return withProfile(Light())
}

func withProfile(t Theme) Theme {
	t.Profile = lipgloss.ColorProfile()
	return t
}
