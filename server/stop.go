package server

import "strings"

// stopper applies stop sequences to one row's streamed text: it passes text
// through, holding back a tail that could be the start of a stop sequence,
// and cuts the text before the first stop sequence, which is not emitted.
type stopper struct {
	stops []string
	held  string
	hit   bool
}

// push adds streamed text and returns what may be emitted now; hit reports
// that a stop sequence was found (the returned text is what preceded it,
// and later pushes return nothing).
func (s *stopper) push(text string) (out string, hit bool) {
	if s.hit {
		return "", true
	}
	if len(s.stops) == 0 {
		return text, false
	}
	buf := s.held + text
	cut := -1
	for _, stop := range s.stops {
		if i := strings.Index(buf, stop); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		s.hit, s.held = true, ""
		return buf[:cut], true
	}
	keep := s.partial(buf)
	s.held = buf[len(buf)-keep:]
	return buf[:len(buf)-keep], false
}

// partial is the length of the longest suffix of buf that is a proper
// prefix of a stop sequence. Such a suffix starts where a stop sequence
// does, so on a UTF-8 character boundary.
func (s *stopper) partial(buf string) int {
	best := 0
	for _, stop := range s.stops {
		for k := min(len(buf), len(stop)-1); k > best; k-- {
			if strings.HasPrefix(stop, buf[len(buf)-k:]) {
				best = k
				break
			}
		}
	}
	return best
}

// flush returns the held-back text at the end of the row.
func (s *stopper) flush() string {
	out := s.held
	s.held = ""
	if s.hit {
		return ""
	}
	return out
}

// cutAtStop truncates text before the first stop sequence.
func cutAtStop(text string, stops []string) (string, bool) {
	s := stopper{stops: stops}
	out, hit := s.push(text)
	return out + s.flush(), hit
}
