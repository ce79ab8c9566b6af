package tokenizer

import (
	"strings"
	"testing"
)

const benchProse = `The tokenizer splits text into pieces with a hand-written scanner, then
merges the bytes of each piece by rank. It's fast enough that nobody should notice it:
the model's forward pass costs milliseconds per token, while encoding a page of text
takes microseconds. "Quotes", (parentheses), numbers like 3.14159 and 1,000,000, and
contractions — we're, they'll, I'd — all take their own paths through the pattern.
`

const benchCode = `func (t *Tokenizer) Encode(text string) []int {
	ids := make([]int, 0, len(text)/4+1)
	for i := 0; i < len(text); {
		j := t.split.nextPiece(text, i)
		ids = t.appendPiece(ids, text[i:j])
		i = j
	}
	return ids
}

def f(x):
    return x**2 + 3*x - 1  # comment
`

const benchUnicode = `Café naïve résumé coöperate — “quotes” ‘single’ … 中文字符测试，日本語のテキスト、한국어 텍스트
Emoji: 🤖🚀👍🏽 family: 👨‍👩‍👧‍👦 Math: ∑_{i=1}^{n} i² = n(n+1)/2, α+β≠γ, √2≈1.414
`

// benchText is about 300 KB of mixed English, code and non-Latin text.
var benchText = func() string {
	var sb strings.Builder
	for sb.Len() < 300<<10 {
		sb.WriteString(benchProse)
		sb.WriteString(benchCode)
		sb.WriteString(benchProse)
		sb.WriteString(benchUnicode)
	}
	return sb.String()
}()

func BenchmarkEncode(b *testing.B) {
	tok := fixtureTokenizer(b)
	b.SetBytes(int64(len(benchText)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(benchText)
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := fixtureTokenizer(b)
	ids := tok.Encode(benchText)
	b.SetBytes(int64(len(benchText)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Decode(ids)
	}
}
