package server

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// pyJSONError is a syntax error as Python's json module reports it.
type pyJSONError struct {
	Msg string
	Pos int // byte offset (equal to Python's character offset for ASCII input)
}

func (e *pyJSONError) Error() string { return e.Msg }

// maxJSONDepth bounds the nesting of arrays and objects in a request body,
// as encoding/json does for the /v1 routes: deeper input is refused before
// it costs more than a few megabytes of stack (a body of 1 MiB of "["
// would otherwise recurse a million frames deep).
const maxJSONDepth = 10000

// parsePyJSON parses data like Python's json.loads, as FastAPI does before
// validating a body: objects keep key order (kv), numbers stay json.Number,
// NaN and ±Infinity are accepted, and errors carry Python's message and
// position. Nesting deeper than maxJSONDepth fails with Python's
// RecursionError message.
func parsePyJSON(data string) (any, error) {
	p := &pyParser{s: data}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, p.fail("Extra data")
	}
	return v, nil
}

type pyParser struct {
	s     string
	i     int
	depth int // arrays and objects open at i
}

// enter opens an array or object, failing past maxJSONDepth.
func (p *pyParser) enter(what string) error {
	if p.depth++; p.depth > maxJSONDepth {
		return p.fail("maximum recursion depth exceeded while decoding a JSON " + what + " from a unicode string")
	}
	return nil
}

func (p *pyParser) fail(msg string) error { return &pyJSONError{Msg: msg, Pos: p.i} }

func (p *pyParser) ws() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *pyParser) value() (any, error) {
	p.ws()
	rest := p.s[p.i:]
	for _, lit := range []struct {
		text string
		v    any
	}{{"null", nil}, {"true", true}, {"false", false}, {"NaN", math.NaN()}, {"Infinity", math.Inf(1)}, {"-Infinity", math.Inf(-1)}} {
		if strings.HasPrefix(rest, lit.text) {
			p.i += len(lit.text)
			return lit.v, nil
		}
	}
	switch c := p.peek(); {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		if n := pyNumberLen(rest); n > 0 {
			p.i += n
			return json.Number(rest[:n]), nil
		}
	}
	return nil, p.fail("Expecting value")
}

// pyNumberLen matches Python's NUMBER_RE: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?
func pyNumberLen(s string) int {
	i := 0
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return 0
	}
	if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
		i++
		digits()
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			i = j
		}
	}
	return i
}

func (p *pyParser) object() (any, error) {
	if err := p.enter("object"); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++ // {
	o := kv{}
	p.ws()
	if p.peek() == '}' {
		p.i++
		return o, nil
	}
	for {
		if p.peek() != '"' {
			return nil, p.fail("Expecting property name enclosed in double quotes")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.peek() != ':' {
			return nil, p.fail("Expecting ':' delimiter")
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		o = append(o, struct {
			K string
			V any
		}{k.(string), v})
		p.ws()
		switch p.peek() {
		case '}':
			p.i++
			return o, nil
		case ',':
			p.i++
			p.ws()
		default:
			return nil, p.fail("Expecting ',' delimiter")
		}
	}
}

func (p *pyParser) array() (any, error) {
	if err := p.enter("array"); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++ // [
	a := []any{}
	p.ws()
	if p.peek() == ']' {
		p.i++
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.ws()
		switch p.peek() {
		case ']':
			p.i++
			return a, nil
		case ',':
			p.i++
		default:
			return nil, p.fail("Expecting ',' delimiter")
		}
	}
}

func (p *pyParser) str() (any, error) {
	start := p.i
	p.i++ // "
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			p.i = start
			return nil, p.fail("Unterminated string starting at")
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c < 0x20:
			return nil, p.fail("Invalid control character at")
		case c == '\\':
			if p.i+1 >= len(p.s) {
				p.i = start
				return nil, p.fail("Unterminated string starting at")
			}
			esc := p.s[p.i+1]
			if r, ok := map[byte]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[esc]; ok {
				b.WriteRune(r)
				p.i += 2
				continue
			}
			if esc != 'u' {
				return nil, p.fail("Invalid \\escape")
			}
			r, ok := p.hex4(p.i + 2)
			if !ok {
				return nil, p.fail("Invalid \\uXXXX escape")
			}
			p.i += 6
			if utf16.IsSurrogate(r) && strings.HasPrefix(p.s[p.i:], "\\u") {
				if r2, ok := p.hex4(p.i + 2); ok {
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						r = pair
						p.i += 6
					}
				}
			}
			b.WriteRune(r) // a lone surrogate becomes U+FFFD
		default:
			_, n := utf8.DecodeRuneInString(p.s[p.i:])
			b.WriteString(p.s[p.i : p.i+n])
			p.i += n
		}
	}
}

func (p *pyParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(p.s[at:at+4], 16, 32)
	return rune(n), err == nil
}
