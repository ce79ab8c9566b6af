package markdown

import "strings"

// Stream renders a reply as it grows. Text up to the last safe block
// boundary (a blank line outside a fence where no list or indented block
// continues) is rendered once and cached; each View renders only what
// follows. Final renders everything afresh, so the finished reply is exact
// whatever the boundary detection missed.
type Stream struct {
	r         *Renderer
	src       strings.Builder
	width     int
	stableEnd int    // bytes of src covered by stableOut (just after a blank line)
	stableOut string // render of src[:stableEnd]
	scan      scanState
}

// scanState remembers how far the boundary scan got so each frame scans
// only new lines.
type scanState struct {
	pos      int    // start of the next unscanned line
	fence    string // opening fence marker while inside a fenced block
	pending  int    // a blank line ended here: candidate boundary (0: none)
	prevList bool   // the block before the candidate holds list items
	inList   bool   // the current block holds list items
}

// NewStream starts an empty stream rendered by r.
func NewStream(r *Renderer) *Stream { return &Stream{r: r} }

// Write appends streamed text.
func (s *Stream) Write(text string) { s.src.WriteString(text) }

// Source is the markdown received so far.
func (s *Stream) Source() string { return s.src.String() }

// View renders the text so far at width: the cached stable prefix plus a
// fresh render of the tail.
func (s *Stream) View(width int) string {
	if width != s.width {
		s.width, s.stableEnd, s.stableOut, s.scan = width, 0, "", scanState{}
	}
	src := s.src.String()
	if b := s.advance(src); b > s.stableEnd {
		s.stableOut = join(s.stableOut, s.r.Render(src[s.stableEnd:b], width))
		s.stableEnd = b
	}
	tail := src[s.stableEnd:]
	if strings.TrimSpace(tail) == "" {
		return s.stableOut
	}
	return join(s.stableOut, s.r.Render(tail, width))
}

// Final renders the whole text in one pass.
func (s *Stream) Final(width int) string { return s.r.Render(s.src.String(), width) }

// advance scans complete lines not yet seen and returns the latest safe
// boundary: the offset just after a blank line such that the block before
// it is finished and the line after it (complete, so its kind is known)
// cannot continue it.
func (s *Stream) advance(src string) int {
	st := &s.scan
	best := s.stableEnd
	for {
		nl := strings.IndexByte(src[st.pos:], '\n')
		if nl < 0 {
			return best
		}
		line := src[st.pos : st.pos+nl]
		start := st.pos
		st.pos += nl + 1
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if st.fence != "" {
			if indent < 4 && strings.HasPrefix(trimmed, st.fence) && strings.Trim(trimmed, st.fence[:1]) == "" {
				st.fence = ""
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			if st.pending == 0 && start > 0 {
				st.pending, st.prevList = st.pos, st.inList
			}
			continue
		}
		if st.pending != 0 {
			// First line of a new block: the boundary before it is safe
			// unless the line could continue the block before the blank.
			cont := indent > 0 || strings.HasPrefix(line, "\t") || (st.prevList && isListItem(trimmed))
			if !cont {
				best = st.pending
				st.inList = false
			}
			st.pending = 0
		}
		if f := fenceMarker(trimmed); f != "" && indent < 4 {
			st.fence = f
		}
		if isListItem(trimmed) {
			st.inList = true
		}
	}
}

// fenceMarker is the run of ``` or ~~~ opening a fenced code block, or "".
func fenceMarker(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return line[:n]
		}
	}
	return ""
}

// isListItem reports whether line starts with a bullet or "N." / "N)".
func isListItem(line string) bool {
	if len(line) >= 2 && strings.ContainsRune("-*+", rune(line[0])) && (line[1] == ' ' || line[1] == '\t') {
		return true
	}
	i := 0
	for i < len(line) && i < 9 && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(line) && (line[i] == '.' || line[i] == ')') && line[i+1] == ' '
}
