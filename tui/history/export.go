package history

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Export is the JSON form of a session and its conversation.
type Export struct {
	Session  Session   `json:"session"`
	Messages []Message `json:"messages"`
}

// ExportJSON writes session id and its conversation as indented JSON.
func (d *DB) ExportJSON(w io.Writer, id string) error {
	s, err := d.Session(id)
	if err != nil {
		return err
	}
	msgs, err := d.Messages(id)
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []Message{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Export{Session: s, Messages: msgs})
}

// ExportMarkdown writes session id as a markdown document: a heading per
// message with who wrote it and, for replies, how it was produced.
func (d *DB) ExportMarkdown(w io.Writer, id string) error {
	s, err := d.Session(id)
	if err != nil {
		return err
	}
	msgs, err := d.Messages(id)
	if err != nil {
		return err
	}
	var b strings.Builder
	title := s.Title
	if title == "" {
		title = "Untitled chat"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "Session `%s`, started %s.\n", s.ID, s.Created.Format(time.DateTime))
	if s.System != "" {
		fmt.Fprintf(&b, "\nSystem prompt:\n\n> %s\n", strings.ReplaceAll(s.System, "\n", "\n> "))
	}
	for _, m := range msgs {
		fmt.Fprintf(&b, "\n## %s", roleTitle(m.Role))
		if p := Provenance(m); p != "" {
			fmt.Fprintf(&b, " · %s", p)
		}
		b.WriteString("\n\n")
		// Calculator calls stay where they happened, as in the app.
		text := strings.TrimRight(m.Content, "\n")
		if len(m.Parts) > 0 {
			text = strings.TrimSpace(Inline(m.Content, m.Parts, CodeChip))
		}
		b.WriteString(text)
		b.WriteString("\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func roleTitle(role string) string {
	switch role {
	case "user":
		return "User"
	case "assistant":
		return "Assistant"
	case "prompt":
		return "Prompt"
	case "completion":
		return "Completion"
	}
	return role
}

// Provenance summarises how a reply was produced: checkpoint, generation,
// sampling settings, size and speed, and whether it was cut short. It is
// empty for messages without provenance (user turns).
func Provenance(m Message) string {
	var parts []string
	if m.Checkpoint != "" {
		c := m.Checkpoint
		if m.Generation != "" {
			c += " " + m.Generation
		}
		parts = append(parts, c)
	}
	if s := m.Settings; s != nil {
		parts = append(parts, fmt.Sprintf("temp %g, top-k %d, top-p %g, seed %d", s.Temperature, s.TopK, s.TopP, s.Seed))
	}
	if st := m.Stats; st != nil && st.Generated > 0 {
		parts = append(parts, fmt.Sprintf("%d tokens, %.1f tok/s", st.Generated, st.TokensPerSec))
	}
	if m.Partial {
		parts = append(parts, "partial")
	} else if n := LengthNote(m); n != "" {
		parts = append(parts, n)
	}
	return strings.Join(parts, " · ")
}
