package markdown

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/muesli/termenv"
)

var docs = map[string]string{
	"paragraphs": "Hello there! Here is an answer.\n\nIt has a second paragraph with **bold** and `code`.\n\n\nAnd a third, after two blank lines.",
	"headings":   "# Title\n\nIntro text.\n\n## Part one\n\nSome text.\n\n### Deeper\n\nMore text here.\n",
	"code":       "Try this:\n\n```go\nfunc main() {\n\tfmt.Println(\"hi\")\n\n\treturn\n}\n```\n\nThen run it.\n\n~~~\nplain\n\n~~~\n\nDone.",
	"lists":      "Steps:\n\n1. First\n2. Second\n\n3. Third, loose\n\n   still third\n\n- a\n- b\n\n- c\n\nAfter the list.\n\n* x\n  * nested\n\nEnd.",
	"table":      "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\nBelow the table.\n\n> quoted\n> more\n\n> another quote\n\n---\n\nLast.",
	"unclosed":   "Start.\n\n```python\nprint(1)\n\nprint(2)\n",
	"utf8":       "Ünïcödé — “quotes” and emoji 🎉.\n\n日本語のテキスト。\n\n- élan\n- naïve",
}

// TestStreamEqualsFullRender feeds each document in pieces and checks that
// after every piece the incremental view equals a fresh render of the same
// text, and that the final render equals it too.
func TestStreamEqualsFullRender(t *testing.T) {
	for _, c := range []struct {
		style   string
		profile termenv.Profile
	}{{"notty", termenv.Ascii}, {"dark", termenv.Ascii}, {"dark", termenv.TrueColor}, {"light", termenv.ANSI256}} {
		style := c.style
		r := New(style, c.profile)
		// In colour, the same text may carry different (redundant) reset
		// codes when rendered apart: compare what shows, plus the exact
		// bytes without colour.
		same := func(a, b string) bool {
			if c.profile == termenv.Ascii {
				return a == b
			}
			return ansi.Strip(a) == ansi.Strip(b)
		}
		for name, doc := range docs {
			for _, chunk := range []int{1, 7, 40} {
				t.Run(fmt.Sprintf("%s/%v/%s/%d", style, c.profile, name, chunk), func(t *testing.T) {
					s := NewStream(r)
					for i := 0; i < len(doc); i += chunk {
						s.Write(doc[i:min(i+chunk, len(doc))])
						src := s.Source()
						got, want := s.View(60), r.Render(src, 60)
						if !same(got, want) {
							t.Fatalf("after %d bytes:\ngot:\n%s\nwant:\n%s", len(src), got, want)
						}
					}
					if got, want := s.Final(60), r.Render(doc, 60); !same(got, want) {
						t.Fatalf("final:\ngot:\n%s\nwant:\n%s", got, want)
					}
					if s.stableEnd == 0 && strings.Count(doc, "\n\n") > 2 {
						t.Errorf("no stable prefix was ever cached")
					}
				})
			}
		}
	}
}

func TestStreamWidthChange(t *testing.T) {
	r := New("notty", termenv.Ascii)
	s := NewStream(r)
	s.Write(docs["headings"])
	_ = s.View(80)
	if got, want := s.View(40), r.Render(docs["headings"], 40); got != want {
		t.Fatalf("after resize:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestBoundaryHelpers(t *testing.T) {
	for _, tt := range []struct {
		line string
		list bool
	}{{"- a", true}, {"* a", true}, {"12. a", true}, {"3) a", true}, {"-a", false}, {"1.5 km", false}, {"text", false}} {
		if got := isListItem(tt.line); got != tt.list {
			t.Errorf("isListItem(%q) = %v, want %v", tt.line, got, tt.list)
		}
	}
	if got := fenceMarker("````go"); got != "````" {
		t.Errorf("fenceMarker = %q, want ````", got)
	}
}

// longAnswer is a ~10 KB reply: paragraphs, lists and code blocks.
func longAnswer() string {
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "## Section %d\n\nThis paragraph explains step %d in some detail, with **bold** words, `inline code` and a [link](https://example.com).\n\n", i, i)
		if i%3 == 0 {
			b.WriteString("```go\nfor i := range n {\n\tsum += i\n}\n```\n\n")
		}
		if i%4 == 0 {
			b.WriteString("- one item\n- another item\n\n")
		}
	}
	return b.String()
}

// BenchmarkStreamFrame is the steady-state cost of one frame late in a
// long answer: one more word, then View (stable prefix cached).
func BenchmarkStreamFrame(b *testing.B) {
	r := New("dark", termenv.TrueColor)
	s := NewStream(r)
	s.Write(longAnswer())
	s.View(80)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Write("word ")
		s.View(80)
	}
}

// BenchmarkFullRenderFrame is the same frame rendered naively: the whole
// answer re-rendered.
func BenchmarkFullRenderFrame(b *testing.B) {
	r := New("dark", termenv.TrueColor)
	doc := longAnswer()
	r.Render(doc, 80)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		doc += "word "
		r.Render(doc, 80)
	}
}

// TestLineBreaksKept: a model's single newline is a line break. A GSM8K
// answer puts each calculation on a line of its own; merged into one
// paragraph line they read as one run-on sentence.
func TestLineBreaksKept(t *testing.T) {
	r := New("notty", termenv.Ascii)
	got := r.Render("Ruby bakes 8*5 = 40 buttons.\nThere are 40-8 = 32 buttons left.\n#### 32", 80)
	want := "  Ruby bakes 8*5 = 40 buttons.\n  There are 40-8 = 32 buttons left.\n\n  #### 32"
	if got != want {
		t.Errorf("Render:\ngot:\n%s\nwant:\n%s", got, want)
	}
	s := NewStream(r)
	s.Write("One.\nTwo.")
	if got := s.View(80); !strings.Contains(got, "One.\n  Two.") {
		t.Errorf("streamed view merged the lines:\n%s", got)
	}
}
