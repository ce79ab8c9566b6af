package tokenizer

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Pre-tokenization splits text into pieces exactly as tiktoken's regex does
// for the GPT-4 family of split patterns, without a regex engine: Go's RE2
// has neither lookahead nor possessive quantifiers, and its \s is ASCII-only.
//
// The patterns all have the same seven alternatives, tried leftmost-first at
// each position (L = \p{L}, N = \p{N}, WS = Unicode White_Space):
//
//  1. '(?i:[sdmt]|ll|ve|re)        contractions, simple case folding
//  2. [^\r\n L N]?+ L+             a letter run with one optional prefix char
//  3. N{1,k}                       k = 2 (nanochat) or 3 (GPT-4)
//  4. " "?[^WS L N]++[\r\n]*       punctuation run, optional leading space
//  5. \s*[\r\n]                    whitespace up to the last line break
//  6. \s+(?!\S)                    whitespace, leaving one char for the next piece
//  7. \s+                          whatever whitespace is left
//
// tiktoken ≥0.7 spells cl100k_base with an extra alternative \s++$ before 5
// (a whitespace run reaching the end of the text is one piece); splitSpec
// records that as wsToEnd.

// Known split patterns, spelled exactly as they appear in pickles.
const (
	// PatternNanochat is the pattern of every nanochat tokenizer: GPT-4's
	// with \p{N}{1,2} instead of \p{N}{1,3}.
	PatternNanochat = `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	// PatternGPT4 is nanochat's spelling of the GPT-4 pattern (\p{N}{1,3}),
	// the SPLIT_PATTERN a nanochat tokenizer gets with the upstream
	// "{1,2}" edit reverted.
	PatternGPT4 = `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	// PatternCL100K is tiktoken's cl100k_base pattern as shipped since
	// tiktoken 0.7 (possessive quantifiers and \s++$).
	PatternCL100K = `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s`
	// PatternCL100KLegacy is tiktoken's cl100k_base pattern before 0.7.
	PatternCL100KLegacy = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// splitSpec is what distinguishes the supported patterns.
type splitSpec struct {
	maxDigits int  // alternative 3 takes 1..maxDigits number chars
	wsToEnd   bool // \s++$ precedes alternative 5
}

var knownPatterns = map[string]splitSpec{
	PatternNanochat:     {maxDigits: 2},
	PatternGPT4:         {maxDigits: 3},
	PatternCL100K:       {maxDigits: 3, wsToEnd: true},
	PatternCL100KLegacy: {maxDigits: 3},
}

func parsePattern(p string) (splitSpec, error) {
	s, ok := knownPatterns[p]
	if !ok {
		return splitSpec{}, fmt.Errorf("unsupported pattern %q (supported: nanochat's and GPT-4/cl100k_base's)", p)
	}
	return s, nil
}

// Character classes.
const (
	clOther  uint8 = 0
	clLetter uint8 = 1 << iota
	clNumber
	clSpace   // White_Space
	clNewline // CR or LF (also clSpace)
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := 0; c < utf8.RuneSelf; c++ {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			t[c] = clLetter
		case '0' <= c && c <= '9':
			t[c] = clNumber
		case c == '\r' || c == '\n':
			t[c] = clSpace | clNewline
		case c == ' ', '\t' <= c && c <= '\r':
			t[c] = clSpace
		}
	}
	return t
}()

// isWhiteSpace reports the Unicode White_Space property (what Rust's and
// Python regex's \s match). It is not Python's str.isspace, which adds
// U+001C..U+001F.
func isWhiteSpace(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return asciiClass[r]&clSpace != 0
	case r == 0x85, r == 0xA0, r == 0x1680, 0x2000 <= r && r <= 0x200A,
		r == 0x2028, r == 0x2029, r == 0x202F, r == 0x205F, r == 0x3000:
		return true
	}
	return false
}

func classOf(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	switch {
	case isWhiteSpace(r):
		return clSpace
	case unicode.IsLetter(r): // Lu Ll Lt Lm Lo
		return clLetter
	case unicode.IsNumber(r): // Nd Nl No
		return clNumber
	}
	return clOther // includes utf8.RuneError for invalid bytes
}

// at decodes the char at s[i:] and classifies it. Invalid UTF-8 bytes are
// single "other" chars, so that arbitrary Go strings round-trip.
func at(s string, i int) (size int, class uint8) {
	if c := s[i]; c < utf8.RuneSelf {
		return 1, asciiClass[c]
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return n, classOf(r)
}

// foldsTo reports whether r equals the lower-case ASCII letter c under
// Unicode simple case folding (so U+017F ſ matches 's', U+212A K matches 'k').
func foldsTo(r rune, c byte) bool {
	if r < utf8.RuneSelf {
		return r|0x20 == rune(c)
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f == rune(c) {
			return true
		}
	}
	return false
}

// runOf returns the end of the maximal run of chars whose class has any of
// the bits in mask, starting at i.
func runOf(s string, i int, mask uint8) int {
	for i < len(s) {
		n, c := at(s, i)
		if c&mask == 0 {
			break
		}
		i += n
	}
	return i
}

// nextPiece returns the end of the piece that starts at s[i] (i < len(s)).
// It always makes progress.
func (sp splitSpec) nextPiece(s string, i int) int {
	n0, c0 := at(s, i)

	// 1. Contractions: ' then s|d|m|t or ll|ve|re, case-insensitively.
	if s[i] == '\'' && i+1 < len(s) {
		r1, n1 := utf8.DecodeRuneInString(s[i+1:])
		switch {
		case foldsTo(r1, 's'), foldsTo(r1, 'd'), foldsTo(r1, 'm'), foldsTo(r1, 't'):
			return i + 1 + n1
		case foldsTo(r1, 'l'), foldsTo(r1, 'v'), foldsTo(r1, 'r'):
			if j := i + 1 + n1; j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				want := byte('e')
				if foldsTo(r1, 'l') {
					want = 'l'
				}
				if foldsTo(r2, want) {
					return j + n2
				}
			}
		}
	}

	// 2. [^\r\n\p{L}\p{N}]?+\p{L}+
	if c0&clLetter != 0 {
		return runOf(s, i+n0, clLetter)
	}
	if c0&(clNewline|clNumber) == 0 && i+n0 < len(s) {
		if n1, c1 := at(s, i+n0); c1&clLetter != 0 {
			return runOf(s, i+n0+n1, clLetter)
		}
	}

	// 3. \p{N}{1,maxDigits}
	if c0&clNumber != 0 {
		j := i + n0
		for k := 1; k < sp.maxDigits && j < len(s); k++ {
			n, c := at(s, j)
			if c&clNumber == 0 {
				break
			}
			j += n
		}
		return j
	}

	// 4. " "?[^\s\p{L}\p{N}]++[\r\n]*
	j := i
	if s[i] == ' ' {
		j++
	}
	if j < len(s) {
		if n, c := at(s, j); c == clOther {
			j += n
			for j < len(s) {
				n, c := at(s, j)
				if c != clOther {
					break
				}
				j += n
			}
			return runOf(s, j, clNewline)
		}
	}

	// From here on s[i] is white space: all other chars matched above.
	// Find the maximal white-space run [i, end), the start of its last
	// char and the end of its last CR/LF.
	end, last, afterNL := i, i, -1
	for end < len(s) {
		n, c := at(s, end)
		if c&clSpace == 0 {
			break
		}
		if c&clNewline != 0 {
			afterNL = end + n
		}
		last = end
		end += n
	}

	// \s++$ (cl100k_base since tiktoken 0.7).
	if sp.wsToEnd && end == len(s) {
		return end
	}
	// 5. \s*[\r\n]
	if afterNL >= 0 {
		return afterNL
	}
	// 6. \s+(?!\S): the whole run at the end of the text, otherwise all
	// but its last char, which then prefixes the next piece.
	if end == len(s) {
		return end
	}
	if last > i {
		return last
	}
	// 7. \s+
	return end
}

// split calls f with each piece of s in order.
func (sp splitSpec) split(s string, f func(piece string)) {
	for i := 0; i < len(s); {
		j := sp.nextPiece(s, i)
		f(s[i:j])
		i = j
	}
}
