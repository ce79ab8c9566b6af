package tokenizer

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The golden splits of spec §4.2 (Python regex with nanochat's pattern).
var specSplits = []struct {
	text string
	want []string
}{
	{"Hello world", []string{"Hello", " world"}},
	{"Hello, world!!\n\nHow's it going?", []string{"Hello", ",", " world", "!!\n\n", "How", "'s", " it", " going", "?"}},
	{"I'm you're it's 'sometimes", []string{"I", "'m", " you", "'re", " it", "'s", " '", "sometimes"}},
	{"12345 6789", []string{"12", "34", "5", " ", "67", "89"}},
	{"  leading spaces", []string{" ", " leading", " spaces"}},
	{"trailing   ", []string{"trailing", "   "}},
	{"a\n\n  b", []string{"a", "\n\n", " ", " b"}},
	{"x = 3.14159;\t\ty", []string{"x", " =", " ", "3", ".", "14", "15", "9", ";", "\t", "\ty"}},
	{"naïve café 你好世界 🌍", []string{"naïve", " café", " 你好世界", " 🌍"}},
	{"line1\r\nline2", []string{"line", "1", "\r\n", "line", "2"}},
	{" 5", []string{" ", "5"}},
	{"...hello", []string{"...", "hello"}},
	{"$100", []string{"$", "10", "0"}},
	{"\u00a0word", []string{"\u00a0word"}},
	{"tab\tsep", []string{"tab", "\tsep"}},
	{"A\n", []string{"A", "\n"}},
	{"   \n  x", []string{"   \n", " ", " x"}},
	{"'ſ", []string{"'ſ"}},
}

func splitWith(t *testing.T, pattern, text string) []string {
	t.Helper()
	sp, err := parsePattern(pattern)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	sp.split(text, func(p string) { got = append(got, p) })
	return got
}

func TestSpecSplits(t *testing.T) {
	for _, c := range specSplits {
		if got := splitWith(t, PatternNanochat, c.text); !slices.Equal(got, c.want) {
			t.Errorf("split(%q)\n got %q\nwant %q", c.text, got, c.want)
		}
	}
}

// TestSplitVectors compares the pieces with Python regex's findall for all
// four supported patterns on tricky and random strings.
func TestSplitVectors(t *testing.T) {
	v := loadVectors(t)
	byName := map[string]string{
		"nanochat": PatternNanochat, "gpt4": PatternGPT4,
		"cl100k": PatternCL100K, "cl100k_legacy": PatternCL100KLegacy,
	}
	for name, p := range v.Patterns {
		if byName[name] != p {
			t.Fatalf("pattern %s in vectors.json is %q, want the package's %q", name, p, byName[name])
		}
	}
	n := 0
	for _, c := range v.Splits {
		got := splitWith(t, byName[c.Pattern], c.Text)
		want := c.Pieces
		if want == nil {
			want = []string{}
		}
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: split(%+q)\n got %+q\nwant %+q", c.Pattern, c.Text, got, want)
			if n++; n > 20 {
				t.Fatal("too many failures")
			}
		}
	}
}

// TestPatternIDs compares whole encodings with tiktoken's (fancy-regex +
// CoreBPE) for every supported pattern, using the fixture vocabulary.
func TestPatternIDs(t *testing.T) {
	base := fixtureTokenizer(t)
	v := loadVectors(t)
	toks := map[string]*Tokenizer{}
	for name, p := range v.Patterns {
		tok, err := build(p, base.ranks, base.specials)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		toks[name] = tok
	}
	for _, c := range v.Splits {
		got := toks[c.Pattern].Encode(c.Text)
		if !slices.Equal(got, c.IDs) && !(len(got) == 0 && len(c.IDs) == 0) {
			t.Errorf("%s: Encode(%+q)\n got %v\nwant %v", c.Pattern, c.Text, got, c.IDs)
		}
	}
}

func TestUnsupportedPattern(t *testing.T) {
	bad := []string{
		`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, // GPT-2
		PatternNanochat + " ",
		"",
	}
	for _, p := range bad {
		_, err := parsePattern(p)
		if err == nil || !strings.Contains(err.Error(), "unsupported pattern") || !strings.Contains(err.Error(), strconv.Quote(p)) {
			t.Errorf("parsePattern(%q) error = %v, want one quoting the pattern", p, err)
		}
	}
}

func TestWhiteSpaceClass(t *testing.T) {
	ws := []rune{0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2005, 0x200A,
		0x2028, 0x2029, 0x202F, 0x205F, 0x3000}
	notWS := []rune{0x1C, 0x1D, 0x1E, 0x1F, 0x200B, 0x180E, 0xFEFF, 0x08, 'a', '0'}
	for _, r := range ws {
		if !isWhiteSpace(r) || classOf(r)&clSpace == 0 {
			t.Errorf("U+%04X: want White_Space", r)
		}
	}
	for _, r := range notWS {
		if isWhiteSpace(r) {
			t.Errorf("U+%04X: not White_Space", r)
		}
	}
	// Case folding of contractions: ſ (U+017F) folds to s, K (U+212A) to k.
	for _, c := range []struct {
		r    rune
		c    byte
		want bool
	}{{'S', 's', true}, {'s', 's', true}, {0x17F, 's', true}, {0x212A, 'k', true}, {'3', 's', false}, {'x', 's', false}, {0x131, 'i', false}} {
		if got := foldsTo(c.r, c.c); got != c.want {
			t.Errorf("foldsTo(%q, %q) = %v, want %v", c.r, c.c, got, c.want)
		}
	}
}

// TestSplitLongRuns checks that pieces of huge runs come out whole and fast.
func TestSplitLongRuns(t *testing.T) {
	sp, _ := parsePattern(PatternNanochat)
	big := strings.Repeat(" ", 1<<20)
	for _, c := range []struct {
		text string
		want []string
	}{
		{big + "x", []string{big[1:], " x"}},
		{big, []string{big}},
		{"x" + big + "\n", []string{"x", big + "\n"}},
		{strings.Repeat("é", 1<<18), []string{strings.Repeat("é", 1<<18)}},
	} {
		var got []string
		sp.split(c.text, func(p string) { got = append(got, p) })
		if !slices.Equal(got, c.want) {
			t.Errorf("split of %d bytes: got %d pieces of lengths %v", len(c.text), len(got), pieceLens(got))
		}
	}
}

func pieceLens(ps []string) []int {
	var n []int
	for _, p := range ps {
		n = append(n, len(p))
	}
	return n
}

// TestCL100KEndOfText pins the one behaviour that tells tiktoken ≥0.7's
// cl100k_base pattern (\s++$) apart: a white-space run that reaches the end
// of the text is one piece. Expected ids are tiktoken 0.14's, with a
// vocabulary of the 256 bytes plus "\n "=256, "  "=257, "\n  "=258.
func TestCL100KEndOfText(t *testing.T) {
	ranks := map[string]int{"\n ": 256, "  ": 257, "\n  ": 258}
	for c := range 256 {
		ranks[string([]byte{byte(c)})] = c
	}
	specials := map[string]int{}
	for i, name := range chatTokenNames {
		specials[name] = 300 + i
	}
	for _, c := range []struct {
		pattern string
		want    [][]int
	}{
		{PatternCL100K, [][]int{{97, 258}, {97, 10, 32, 32, 98}, {97, 32, 10, 258}}},
		{PatternNanochat, [][]int{{97, 10, 257}, {97, 10, 32, 32, 98}, {97, 32, 10, 10, 257}}},
	} {
		tok, err := build(c.pattern, ranks, specials)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range []string{"a\n  ", "a\n  b", "a \n\n  "} {
			if got := tok.Encode(s); !slices.Equal(got, c.want[i]) {
				t.Errorf("pattern %.20q…: Encode(%q) = %v, want %v", c.pattern, s, got, c.want[i])
			}
		}
	}
}
