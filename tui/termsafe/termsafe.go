// Package termsafe makes text that did not come from nanochat (a model's
// reply, a remote server's answer, a history or data file) safe to show on
// a terminal: control characters are shown in caret notation (ESC as ^[,
// BEL as ^G) instead of acting, so such text cannot retitle, clear or
// scroll the terminal, move the cursor or garble the layout. It knows
// nothing of Bubble Tea or Cobra; the TUI and the CLI call it.
package termsafe

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// String returns s with every control character but newline and tab made
// visible: C0 controls in caret notation (ESC as ^[, BEL as ^G, a vertical
// tab as ^K), DEL as ^?, C1 controls as <U+009B>; a carriage return is
// dropped before a newline and shown as ^M elsewhere, and invalid UTF-8
// becomes U+FFFD. Text without any of these is returned as it is.
func String(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	write(&b, s)
	return b.String()
}

// Styled is String for text that carries our own styling (a rendered
// view): SGR sequences (ESC [ parameters m: colours, bold, reverse) are
// kept, every other control is made visible as String does. It is the
// last line of defence for a whole screen; text from outside should have
// gone through String before it was styled, so that its own SGR sequences
// show too.
func Styled(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for len(s) > 0 {
		i := strings.IndexByte(s, 0x1b)
		if i < 0 {
			write(&b, s)
			break
		}
		write(&b, s[:i])
		s = s[i:]
		if n := sgrLen(s); n > 0 {
			b.WriteString(s[:n])
			s = s[n:]
			continue
		}
		b.WriteString("^[")
		s = s[1:]
	}
	return b.String()
}

// sgrLen is the length of the SGR sequence s starts with (ESC [ digits,
// ';' and ':' m), or 0.
func sgrLen(s string) int {
	if len(s) < 3 || s[0] != 0x1b || s[1] != '[' {
		return 0
	}
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'm':
			return i + 1
		case c >= '0' && c <= '9' || c == ';' || c == ':':
		default:
			return 0
		}
	}
	return 0
}

// clean reports whether s needs no change: valid UTF-8 without controls
// other than newline and tab.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 && c != '\n' && c != '\t', c == 0x7f:
			return false
		case c >= 0x80:
			return cleanRunes(s[i:])
		}
	}
	return true
}

func cleanRunes(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r <= 0x9f || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// write appends the visible form of s to b.
func write(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\r' && i+1 < len(s) && s[i+1] == '\n':
			// CRLF line ends: the newline alone ends the line.
		case r == '\n' || r == '\t':
			b.WriteByte(byte(r))
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + 0x40)
		case r == 0x7f:
			b.WriteString("^?")
		case r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(b, "<U+%04X>", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
}

// Writer passes everything written through String on the way to an
// underlying writer, for text that streams in pieces: a UTF-8 sequence or
// a carriage return cut at the end of one Write waits for the next, so the
// pieces come out as the whole would. Flush writes what waits.
type Writer struct {
	w    io.Writer
	hold []byte
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write makes p visible and writes it; it reports len(p) on success.
func (w *Writer) Write(p []byte) (int, error) {
	buf := append(w.hold, p...)
	keep := tail(buf)
	w.hold = append(w.hold[:0:0], buf[len(buf)-keep:]...)
	if out := buf[:len(buf)-keep]; len(out) > 0 {
		if _, err := io.WriteString(w.w, String(string(out))); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what an earlier Write held back.
func (w *Writer) Flush() error {
	if len(w.hold) == 0 {
		return nil
	}
	s := String(string(w.hold))
	w.hold = w.hold[:0]
	_, err := io.WriteString(w.w, s)
	return err
}

// tail is how many bytes at the end of p must wait for more: a carriage
// return (a newline may follow) or the start of an incomplete UTF-8
// sequence.
func tail(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	if p[len(p)-1] == '\r' {
		return 1
	}
	// An incomplete sequence is at most 3 bytes: a start byte and up to
	// two continuation bytes.
	for k := 1; k <= 3 && k <= len(p); k++ {
		c := p[len(p)-k]
		if c < 0x80 {
			return 0
		}
		if c >= 0xc0 { // a start byte: incomplete if it wants more than k bytes
			if !utf8.FullRune(p[len(p)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}
