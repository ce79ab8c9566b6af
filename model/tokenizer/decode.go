package tokenizer

import "unicode/utf8"

// Decoding concatenates token bytes and converts them to text as Python's
// bytes.decode("utf-8", errors="replace") does: each maximal subpart of an
// ill-formed sequence (Unicode §3.9, "best practice for U+FFFD
// substitution", which CPython follows) becomes one U+FFFD. Go's own
// conversions differ: range-over-string yields one U+FFFD per bad byte and
// strings.ToValidUTF8 merges whole runs of bad bytes into one.

const replacement = "\uFFFD"

// appendToken appends the bytes of token id to b; an id outside the
// vocabulary appends U+FFFD (tiktoken would raise instead).
func (t *Tokenizer) appendToken(b []byte, id int) []byte {
	if id < 0 || id >= len(t.tokens) || t.tokens[id] == "" {
		return append(b, replacement...)
	}
	return append(b, t.tokens[id]...)
}

// Decode returns the text of ids, as nanochat's tokenizer.decode: special
// tokens decode to their literal text and invalid UTF-8 is replaced like
// Python's errors="replace". Ids outside the vocabulary decode to U+FFFD.
func (t *Tokenizer) Decode(ids []int) string {
	var b []byte
	for _, id := range ids {
		b = t.appendToken(b, id)
	}
	return DecodeUTF8(b)
}

// DecodeUTF8 is Python's b.decode("utf-8", errors="replace"): each maximal
// subpart of an ill-formed sequence becomes one U+FFFD.
func DecodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out, _ := appendReplacing(make([]byte, 0, len(b)+8), b, true)
	return string(out)
}

// utf8Prefix reports, for b with b[0] ≥ 0x80, the length of the longest
// prefix of b that is a prefix of some well-formed UTF-8 sequence (at least
// 1) and the length that sequence needs (0 if b[0] can never start one).
// have == need means b starts with a complete, valid character.
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

// appendReplacing appends the text of b to dst with errors="replace". If
// final is false, a trailing incomplete sequence that more bytes could still
// complete is left undecoded and its start is returned as rest.
func appendReplacing(dst, b []byte, final bool) (out []byte, rest int) {
	i := 0
	for i < len(b) {
		if c := b[i]; c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		have, need := utf8Prefix(b[i:])
		switch {
		case have == need:
			dst = append(dst, b[i:i+have]...)
		case !final && i+have == len(b) && need > 0:
			return dst, i
		default:
			dst = append(dst, replacement...)
		}
		i += have
	}
	return dst, i
}

// StreamDecoder decodes ids one at a time for streaming output. Its outputs
// are always whole characters; concatenated, with Flush at the end, they
// equal Decode of all ids pushed.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte // an incomplete UTF-8 sequence, at most 3 bytes
	buf     []byte
}

// NewStreamDecoder returns a StreamDecoder for t.
func NewStreamDecoder(t *Tokenizer) *StreamDecoder { return &StreamDecoder{t: t} }

// Push adds token id and returns the text it completes. A trailing partial
// UTF-8 character is held back until a later token completes it or shows
// it can never be completed (then it becomes U+FFFD, as in Decode).
func (d *StreamDecoder) Push(id int) string {
	d.buf = d.t.appendToken(append(d.buf[:0], d.pending...), id)
	out, rest := appendReplacing(nil, d.buf, false)
	d.pending = append(d.pending[:0], d.buf[rest:]...)
	return string(out)
}

// Flush ends the stream: it returns any held-back bytes, replaced by U+FFFD,
// and resets d for a new stream.
func (d *StreamDecoder) Flush() string {
	if len(d.pending) == 0 {
		return ""
	}
	out, _ := appendReplacing(nil, d.pending, true)
	d.pending = d.pending[:0]
	return string(out)
}

// Pending reports how many bytes Push is holding back.
func (d *StreamDecoder) Pending() int { return len(d.pending) }
