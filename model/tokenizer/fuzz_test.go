package tokenizer

import (
	"os"
	"path/filepath"
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

// FuzzTokenizerPickle checks that no tokenizer.pkl makes Load panic, hang
// or allocate from an unchecked size, and that a tokenizer it accepts
// encodes and decodes.
func FuzzTokenizerPickle(f *testing.F) {
	for _, p := range []string{"golden", "demo"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", p, "home", "tokenizer", "tokenizer.pkl"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(encodingPickle(map[string]int64{"ab": 256, "abab": 257}, chatSpecials(258)))
	sparse := chatSpecials(256)
	sparse[BOSToken] = 1<<31 - 2
	f.Add(encodingPickle(nil, sparse))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := decodePickle(data)
		if err != nil {
			return
		}
		if n := tok.VocabSize(); n > 2*len(data)+maxUnusedIDs {
			t.Fatalf("vocabulary of %d ids from a %d-byte pickle", n, len(data))
		}
		for _, s := range []string{"hello world", "<|bos|> 12*7 ", "\xff\x00ab"} {
			ids := tok.Encode(s)
			if got := tok.Decode(ids); utf8.ValidString(s) && got != s {
				t.Fatalf("Decode(Encode(%q)) = %q", s, got)
			}
		}
		_ = tok.EncodeWithSpecials("<|bos|>x<|assistant_end|>")
	})
}
