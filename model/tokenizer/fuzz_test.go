package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncodeDecode checks that pieces tile the text, that encoding keeps
// every byte (Decode(Encode(s)) == s for valid UTF-8) and that streaming
// decode agrees with Decode.
func FuzzEncodeDecode(f *testing.F) {
	for _, c := range specSplits {
		f.Add(c.text)
	}
	for _, s := range []string{"", "'S'ſ'LL'vE", "\x1c \x85\u00a0\u3000\r\n", "١٢٣ Ⅻ ½", "a\xffb\xe2\x82", benchText[:500]} {
		f.Add(s)
	}
	tok := fixtureTokenizer(f)
	f.Fuzz(func(t *testing.T, s string) {
		var sb strings.Builder
		for _, p := range tok.Split(s) {
			if p == "" {
				t.Fatalf("Split(%+q): empty piece", s)
			}
			sb.WriteString(p)
		}
		if sb.String() != s {
			t.Fatalf("Split(%+q) pieces join to %+q", s, sb.String())
		}
		ids := tok.Encode(s)
		var raw []byte
		for _, id := range ids {
			if tok.IsSpecial(id) {
				t.Fatalf("Encode(%+q) produced special id %d", s, id)
			}
			raw = append(raw, tok.TokenBytes(id)...)
		}
		if string(raw) != s {
			t.Fatalf("Encode(%+q): token bytes join to %+q", s, raw)
		}
		dec := tok.Decode(ids)
		if utf8.ValidString(s) && dec != s {
			t.Fatalf("Decode(Encode(%+q)) = %+q", s, dec)
		}
		d := NewStreamDecoder(tok)
		sb.Reset()
		for _, id := range ids {
			sb.WriteString(d.Push(id))
		}
		sb.WriteString(d.Flush())
		if sb.String() != dec {
			t.Fatalf("stream decode of Encode(%+q) = %+q, Decode = %+q", s, sb.String(), dec)
		}
	})
}
