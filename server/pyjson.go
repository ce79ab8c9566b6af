package server

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// pyString encodes s as Python's json.dumps(s, ensure_ascii=False) does:
// only '"', '\\' and control characters below U+0020 are escaped (\n, \r,
// \t, \b, \f by name, the rest as \u00XX); everything else, U+2028 and
// U+2029 included, is written as is.
func pyString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// pyDumps encodes v like Python's json.dumps(v, ensure_ascii=False) with the
// default separators ", " and ": " (or compact "," and ":"): strings as
// pyString, ints and bools as Python prints them, floats as repr. v is
// built from string, bool, int, float64, nil, []any and an ordered kv list.
func pyDumps(v any, compact bool) string {
	var b strings.Builder
	encodePy(&b, v, compact)
	return b.String()
}

// kv is an ordered JSON object (Python dicts keep insertion order).
type kv []struct {
	K string
	V any
}

// get returns the last value of key, as Python's json.loads keeps it.
func (o kv) get(key string) (any, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].K == key {
			return o[i].V, true
		}
	}
	return nil, false
}

func obj(pairs ...any) kv {
	out := make(kv, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, struct {
			K string
			V any
		}{pairs[i].(string), pairs[i+1]})
	}
	return out
}

func encodePy(b *strings.Builder, v any, compact bool) {
	item, key := ", ", ": "
	if compact {
		item, key = ",", ":"
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(pyString(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		b.WriteString(pyFloat(x))
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			f, _ := x.Float64()
			b.WriteString(pyFloat(f))
		} else {
			b.WriteString(x.String())
		}
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(item)
			}
			encodePy(b, e, compact)
		}
		b.WriteByte(']')
	case kv:
		b.WriteByte('{')
		for i, p := range x {
			if i > 0 {
				b.WriteString(item)
			}
			b.WriteString(pyString(p.K))
			b.WriteString(key)
			encodePy(b, p.V, compact)
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "%q", fmt.Sprint(x))
	}
}

// pyFloat is Python's repr of a float (json.dumps writes floats so).
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e16) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e+16, 1.5e-05
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	if len(exp) < 2 {
		exp = strings.Repeat("0", 2-len(exp)) + exp
	}
	return mant + "e" + string(sign) + exp
}
