package calc

import (
	"math"
	"strconv"
	"strings"
)

// PyRepr formats f exactly like Python's repr(f) (and str(f), which is the
// same for floats since Python 3.2).
//
// CPython asks for the shortest digit string that round-trips (David Gay's
// mode 0, the same digits strconv picks with precision -1) and lays it out
// in fixed notation when the decimal point position decpt (value =
// 0.DIGITS × 10^decpt) satisfies -4 < decpt <= 16, that is when
// 1e-4 <= |f| < 1e16, always with at least one fractional digit ("10.0").
// Otherwise it uses exponent notation with no trailing ".0", an explicit
// sign and at least two exponent digits ("1e+16", "1.5e-05"). Infinities
// and NaNs print as "inf", "-inf" and "nan" (a NaN's sign is never shown).
func PyRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}

	// s is "[-]d.ddde±XX" or "[-]de±XX" with the shortest round-trip digits.
	s := strconv.FormatFloat(f, 'e', -1, 64)
	var b strings.Builder
	if s[0] == '-' {
		b.WriteByte('-')
		s = s[1:]
	}
	e := strings.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(s[e+1:]) // FormatFloat always writes a valid exponent
	digits := strings.Replace(s[:e], ".", "", 1)
	decpt := exp + 1

	if decpt <= -4 || decpt > 16 {
		b.WriteByte(digits[0])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		if exp < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(exp))
		return b.String()
	}

	switch {
	case decpt <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -decpt))
		b.WriteString(digits)
	case decpt >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", decpt-len(digits)))
		b.WriteString(".0")
	default:
		b.WriteString(digits[:decpt])
		b.WriteByte('.')
		b.WriteString(digits[decpt:])
	}
	return b.String()
}

// bytesRepr formats b like Python's repr(bytes) for the byte values that can
// reach it here: printable ASCII without backslashes. CPython picks double
// quotes only when the value holds a single quote and no double quote, and
// otherwise escapes single quotes.
func bytesRepr(b string) string {
	quote := byte('\'')
	if strings.IndexByte(b, '\'') >= 0 && strings.IndexByte(b, '"') < 0 {
		quote = '"'
	}
	var sb strings.Builder
	sb.WriteByte('b')
	sb.WriteByte(quote)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == quote || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c < ' ' || c >= 0x7f:
			const hex = "0123456789abcdef"
			sb.WriteString(`\x`)
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&0xf])
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(quote)
	return sb.String()
}
