package calc

import (
	"strconv"
	"strings"
)

// This file evaluates the string path: expressions over letters, digits,
// quotes, parentheses, "." "_" and space that contain ".count(". Supported
// is exactly the grammar
//
//	expr    = primary
//	primary = atom { "." "count" | "(" [expr] ")" }
//	atom    = STRING { STRING } | "(" ")" | "(" expr ")" | INT | FLOAT
//	        | "..." | "None" | "True" | "False"
//
// with Python's meaning: adjacent literals concatenate (str and bytes may not
// mix), str.count and bytes.count count non-overlapping occurrences (an
// empty needle matches len+1 times), bytes.count(i) counts the byte i,
// ().count(x) is 0 for any x. Other names are unbound (upstream's eval has
// empty builtins), so they are NameErrors. Other keywords (not, if, is, in,
// and, or, ...), attributes other than count, and numeric literals other
// than plain decimal ints and floats are valid Python that is deliberately
// not evaluated here; testdata/cases.json lists such divergences.

type strTok struct {
	kind  tokKind // tStr, tName, tInt, tFloat, tEllipsis, tLParen, tRParen, tDot or tEOF
	text  string  // literal contents for tStr, identifier for tName
	bytes bool    // tStr: a b"" literal
}

const (
	tStr tokKind = 100 + iota
	tName
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lexNumber reads a decimal int ("42", "000") or a simple float ("1.5",
// ".5", "5.") at the start of s. Other numeric forms (1e5, 1j, 0x1f, 1_000)
// are valid Python that is not supported here; a number running into a
// letter is usually a SyntaxError ("invalid decimal literal") and otherwise
// a keyword such as 1if, which is not supported either.
func lexNumber(s string) (strTok, int, error) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	float := i < len(s) && s[i] == '.'
	if float {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && isIdentChar(s[i]) {
		return strTok{}, 0, errUnsup
	}
	if float {
		return strTok{kind: tFloat, text: s[:i]}, i, nil
	}
	lit := s[:i]
	if len(lit) > 1 && lit[0] == '0' && strings.Trim(lit, "0") != "" {
		return strTok{}, 0, errSyntax // leading zeros in decimal integer literals
	}
	if _, err := intLiteral(lit); err != nil {
		return strTok{}, 0, err // over 4300 digits
	}
	return strTok{kind: tInt, text: lit}, i, nil
}

// lexStrings tokenizes like CPython 3.11. Backslashes and newlines cannot
// occur (they are not in the whitelist), so literals have no escapes and a
// raw prefix changes nothing; f-strings cannot contain braces and are plain
// strings.
func lexStrings(s string) ([]strTok, error) {
	var toks []strTok
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == '(':
			if depth >= maxParenDepth {
				return nil, errSyntax
			}
			depth++
			toks = append(toks, strTok{kind: tLParen})
			i++
		case c == ')':
			if depth == 0 {
				return nil, errSyntax
			}
			depth--
			toks = append(toks, strTok{kind: tRParen})
			i++
		case strings.HasPrefix(s[i:], "..."):
			toks = append(toks, strTok{kind: tEllipsis})
			i += 3
		case c == '.' && !(i+1 < len(s) && isDigit(s[i+1])):
			toks = append(toks, strTok{kind: tDot})
			i++
		case c == '.' || isDigit(c):
			t, n, err := lexNumber(s[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += n
		case c == '\'' || c == '"':
			t, n, err := lexString(s[i:], false)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += n
		default: // a letter or '_': a string prefix or a name
			t, n, err := lexWord(s[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += n
		}
	}
	if depth != 0 {
		return nil, errSyntax
	}
	return append(toks, strTok{kind: tEOF}), nil
}

// lexWord reads a name or a prefixed string literal at the start of s,
// which begins with a letter or '_'. It follows CPython's prefix loop: b and
// r in either order, u alone, f with r; the first letter that does not fit
// makes the word a name.
func lexWord(s string) (strTok, int, error) {
	var sawB, sawR, sawU, sawF bool
	j := 0
prefix:
	for j < len(s) {
		switch d := s[j] | 0x20; {
		case !(sawB || sawU || sawF) && d == 'b':
			sawB = true
		case !(sawB || sawU || sawR || sawF) && d == 'u':
			sawU = true
		case !(sawR || sawU) && d == 'r':
			sawR = true
		case !(sawF || sawB || sawU) && d == 'f':
			sawF = true
		default:
			break prefix
		}
		j++
		if j < len(s) && (s[j] == '\'' || s[j] == '"') {
			t, n, err := lexString(s[j:], sawB)
			return t, j + n, err
		}
	}
	for j < len(s) && isIdentChar(s[j]) {
		j++
	}
	return strTok{kind: tName, text: s[:j]}, j, nil
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// lexString reads one quoted literal at the start of s, returning its token
// and length. Three quotes open a triple-quoted literal, which ends at the
// first run of three closing quotes; two quotes are an empty literal.
func lexString(s string, isBytes bool) (strTok, int, error) {
	q := s[0]
	if len(s) >= 3 && s[1] == q && s[2] == q {
		end := strings.Repeat(string(q), 3)
		k := strings.Index(s[3:], end)
		if k < 0 {
			return strTok{}, 0, errSyntax // unterminated triple-quoted string
		}
		return strTok{kind: tStr, text: s[3 : 3+k], bytes: isBytes}, 3 + k + 3, nil
	}
	k := strings.IndexByte(s[1:], q)
	if k < 0 {
		return strTok{}, 0, errSyntax // unterminated string literal
	}
	return strTok{kind: tStr, text: s[1 : 1+k], bytes: isBytes}, 1 + k + 1, nil
}

type objKind uint8

const (
	objStr objKind = iota
	objBytes
	objInt      // a count result, an int literal, True or False
	objFloat    // a float literal (its value never matters)
	objEllipsis // ...
	objNone     // None
	objTuple    // the empty tuple
	objMethod   // a bound count method of recv
)

type object struct {
	kind objKind
	s    string // objStr, objBytes
	n    int    // objInt, when it fits
	big  bool   // objInt: a literal too large for n
	lit  bool   // objInt: a literal rather than a count
	recv *object
}

type countParser struct {
	toks []strTok
	pos  int
}

// evalCount runs the string path and formats the result like str().
func evalCount(s string) (string, error) {
	toks, err := lexStrings(s)
	if err != nil {
		return "", err
	}
	p := &countParser{toks: toks}
	v, err := p.primary()
	if err != nil {
		return "", err
	}
	if p.toks[p.pos].kind != tEOF {
		// A trailing keyword (is, in, if, and, or, ...) or a syntax error.
		return "", errUnsup
	}
	switch v.kind {
	case objStr:
		return v.s, nil
	case objBytes:
		return bytesRepr(v.s), nil
	case objInt:
		if v.lit {
			// A bare literal cannot contain ".count(": unreachable.
			return "", errUnsup
		}
		return strconv.Itoa(v.n), nil
	case objTuple:
		return "()", nil
	default:
		// "<built-in method count of str object at 0x7f...>": upstream's
		// text holds a memory address, which cannot be reproduced.
		return "", errUnsup
	}
}

// primary parses and evaluates an atom and its trailers. Evaluating while
// parsing is safe here: every outcome other than a full parse and
// evaluation is a failure, and no step costs more than a scan of the input.
func (p *countParser) primary() (object, error) {
	v, err := p.atom()
	if err != nil {
		return object{}, err
	}
	for {
		switch p.toks[p.pos].kind {
		case tDot:
			p.pos++
			t := p.toks[p.pos]
			if t.kind != tName {
				return object{}, errSyntax
			}
			p.pos++
			if t.text != "count" {
				return object{}, errUnsup // other attributes are not run
			}
			if v.kind != objStr && v.kind != objBytes && v.kind != objTuple {
				return object{}, errAttr // no attribute 'count'
			}
			recv := v
			v = object{kind: objMethod, recv: &recv}
		case tLParen:
			p.pos++
			var args []object
			if p.toks[p.pos].kind != tRParen {
				a, err := p.primary()
				if err != nil {
					return object{}, err
				}
				args = append(args, a)
			}
			if p.toks[p.pos].kind != tRParen {
				return object{}, errUnsup // a syntax error or a keyword
			}
			p.pos++
			if v, err = call(v, args); err != nil {
				return object{}, err
			}
		default:
			return v, nil
		}
	}
}

func (p *countParser) atom() (object, error) {
	t := p.toks[p.pos]
	switch t.kind {
	case tStr:
		v := object{kind: objStr}
		if t.bytes {
			v.kind = objBytes
		}
		var sb strings.Builder
		for ; p.toks[p.pos].kind == tStr; p.pos++ {
			if p.toks[p.pos].bytes != t.bytes {
				return object{}, errSyntax // cannot mix bytes and nonbytes literals
			}
			sb.WriteString(p.toks[p.pos].text)
		}
		v.s = sb.String()
		return v, nil
	case tLParen:
		p.pos++
		if p.toks[p.pos].kind == tRParen {
			p.pos++
			return object{kind: objTuple}, nil
		}
		v, err := p.primary()
		if err != nil {
			return object{}, err
		}
		if p.toks[p.pos].kind != tRParen {
			return object{}, errUnsup // a syntax error or a keyword
		}
		p.pos++
		return v, nil
	case tInt:
		p.pos++
		n, err := strconv.Atoi(t.text)
		return object{kind: objInt, n: n, big: err != nil, lit: true}, nil
	case tFloat:
		p.pos++
		return object{kind: objFloat}, nil
	case tEllipsis:
		p.pos++
		return object{kind: objEllipsis}, nil
	case tName:
		p.pos++
		switch t.text {
		case "None":
			return object{kind: objNone}, nil
		case "True", "False":
			return object{kind: objInt, n: boolInt(t.text == "True"), lit: true}, nil
		}
		// Builtins are empty, so a name is a NameError, but other keywords
		// (not, lambda, if, ...) start constructs not supported here.
		return object{}, errUnsup
	default:
		return object{}, errSyntax
	}
}

// call applies f to args: only bound count methods are callable, and
// count takes exactly one argument here (start/end would need commas).
func call(f object, args []object) (object, error) {
	if f.kind != objMethod || len(args) != 1 {
		return object{}, errType
	}
	recv, arg := f.recv, args[0]
	switch {
	case recv.kind == objTuple:
		return object{kind: objInt, n: 0}, nil
	case recv.kind == objStr && arg.kind == objStr,
		recv.kind == objBytes && arg.kind == objBytes:
		// Literal contents are ASCII, so strings.Count's rune-based
		// empty-needle rule (count+1) matches Python's len+1 for bytes too.
		return object{kind: objInt, n: strings.Count(recv.s, arg.s)}, nil
	case recv.kind == objBytes && arg.kind == objInt:
		// bytes.count(i) counts the byte i; ValueError outside 0..255.
		b, ok := byteValue(arg)
		if !ok {
			return object{}, errOverflow
		}
		return object{kind: objInt, n: strings.Count(recv.s, string([]byte{b}))}, nil
	default:
		return object{}, errType // must be str, not ...
	}
}

// byteValue is the int arg as a byte, if it lies in 0..255.
func byteValue(arg object) (byte, bool) {
	return byte(arg.n), !arg.big && arg.n >= 0 && arg.n <= 255
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
