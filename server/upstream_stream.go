package server

import (
	"strings"
	"unicode/utf8"
)

// upstreamText is chat_web.py's generate_stream text logic, which decides
// what each token event carries: every generated token (special tokens by
// their literal text, the terminal one excluded) is appended to the reply,
// the reply is decoded as nanochat's tokenizer.decode does (UTF-8 with
// errors="replace"), and when that text does not end with U+FFFD the part
// after the last text sent is the next event. So a character split across
// tokens goes out whole with the token that completes it, a calculator
// call goes out token by token, and an incomplete character at the end of
// the reply is never sent.
//
// Upstream decodes the whole reply for every token; text sent is always
// followed by a complete character, so decoding only the bytes since then
// gives the same text.
type upstreamText struct {
	pending []byte // the reply's bytes after the last text sent
}

// push adds one token's bytes and returns the text to send ("" for none).
func (u *upstreamText) push(tok string) string {
	u.pending = append(u.pending, tok...)
	text := pyDecodeUTF8(u.pending)
	if text == "" || strings.HasSuffix(text, "\uFFFD") {
		return ""
	}
	u.pending = u.pending[:0]
	return text
}

// pyDecodeUTF8 is Python's b.decode("utf-8", errors="replace"): each
// maximal subpart of an ill-formed sequence (Unicode §3.9, as CPython
// substitutes) becomes one U+FFFD. Go's conversions differ: ranging over a
// string gives one U+FFFD per bad byte, strings.ToValidUTF8 one per run.
// model/tokenizer's Decode does the same; the tests check the two agree.
func pyDecodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			out.WriteByte(b[i])
			i++
			continue
		}
		have, need := utf8Prefix(b[i:])
		if have == need {
			out.Write(b[i : i+have])
		} else {
			out.WriteString("\uFFFD")
		}
		i += have
	}
	return out.String()
}

// utf8Prefix reports, for b with b[0] ≥ 0x80, the length of the longest
// prefix of b that begins some well-formed UTF-8 sequence (at least 1) and
// the length that sequence needs (0 if b[0] can start none); have == need
// means b starts with a whole valid character.
func utf8Prefix(b []byte) (have, need int) {
	lo, hi := byte(0x80), byte(0xBF) // range of the second byte
	switch c := b[0]; {
	case 0xC2 <= c && c <= 0xDF:
		need = 2
	case c == 0xE0:
		need, lo = 3, 0xA0 // no overlong forms
	case 0xE1 <= c && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 3
	case c == 0xED:
		need, hi = 3, 0x9F // no surrogates
	case c == 0xF0:
		need, lo = 4, 0x90 // no overlong forms
	case 0xF1 <= c && c <= 0xF3:
		need = 4
	case c == 0xF4:
		need, hi = 4, 0x8F // nothing above U+10FFFF
	default: // continuation bytes, C0, C1, F5..FF
		return 1, 0
	}
	have = 1
	for have < need && have < len(b) && lo <= b[have] && b[have] <= hi {
		lo, hi = 0x80, 0xBF
		have++
	}
	return have, need
}
