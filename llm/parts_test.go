package llm

import (
	"reflect"
	"strings"
	"testing"
)

// decoded is everything a Decoder produced: the finished row and its
// events, adjacent text events merged.
type decoded struct {
	Text   string
	Parts  []Part
	Raw    string
	Events []Event
}

// run feeds a new Decoder with feed and finishes it, checking the events'
// row and that no text event is empty.
func run(t *testing.T, feed func(d *Decoder)) decoded {
	t.Helper()
	var evs []Event
	d := NewDecoder(3, func(e Event) {
		if e.Row != 3 {
			t.Errorf("event row %d, want 3", e.Row)
		}
		if e.Tool == nil && e.Text == "" {
			t.Error("empty text event")
		}
		e.Row = 0
		evs = append(evs, e)
	})
	feed(d)
	r := d.Finish()
	return decoded{Text: r.Text, Parts: r.Parts, Raw: r.Raw, Events: merge(evs)}
}

func merge(evs []Event) []Event {
	var out []Event
	for _, e := range evs {
		if n := len(out); n > 0 && e.Tool == nil && out[n-1].Tool == nil {
			out[n-1].Text += e.Text
			continue
		}
		out = append(out, e)
	}
	return out
}

func text(s string) Event { return Event{Text: s} }
func call(expr, result string, ok bool) Event {
	return Event{Tool: &ToolCall{Expr: expr, Result: result, OK: ok}}
}

func txt(s string) Part    { return Part{Type: PartText, Text: s} }
func py(s string) Part     { return Part{Type: PartPython, Text: s} }
func output(s string) Part { return Part{Type: PartPythonOutput, Text: s} }

// rawCases are raw texts (special tokens literal, as remote servers and
// Row.Raw carry them) with what they decode to.
var rawCases = []struct {
	name   string
	raw    string
	text   string
	parts  []Part
	events []Event
}{
	{"empty", "", "", nil, nil},
	{"text only", "Hello, world.", "Hello, world.", []Part{txt("Hello, world.")}, []Event{text("Hello, world.")}},
	{"tool call",
		"7*11 = <|python_start|>7*11<|python_end|><|output_start|>77<|output_end|>77 buttons.\n#### 77",
		"7*11 = 77 buttons.\n#### 77",
		[]Part{txt("7*11 = "), py("7*11"), output("77"), txt("77 buttons.\n#### 77")},
		[]Event{text("7*11 = "), call("7*11", "77", true), text("77 buttons.\n#### 77")}},
	{"tool failed", "x<|python_start|>1/0<|python_end|>no luck",
		"xno luck",
		[]Part{txt("x"), py("1/0"), txt("no luck")},
		[]Event{text("x"), call("1/0", "", false), text("no luck")}},
	{"tool failed at the end", "x<|python_start|>1/0<|python_end|>",
		"x", []Part{txt("x"), py("1/0")}, []Event{text("x"), call("1/0", "", false)}},
	{"two calls", "<|python_start|>a<|python_end|><|python_start|>2+2<|python_end|><|output_start|>4<|output_end|>",
		"", []Part{py("a"), py("2+2"), output("4")}, []Event{call("a", "", false), call("2+2", "4", true)}},
	{"empty expression", "<|python_start|><|python_end|>.", ".", []Part{py(""), txt(".")}, []Event{call("", "", false), text(".")}},
	{"unterminated python", "a <|python_start|>1+", "a ", []Part{txt("a "), py("1+")}, []Event{text("a "), call("1+", "", false)}},
	{"unterminated output", "<|python_start|>6*7<|python_end|><|output_start|>4",
		"", []Part{py("6*7"), output("4")}, []Event{call("6*7", "4", true)}},
	{"partial token at the end", "so <|python_sta", "so <|python_sta", []Part{txt("so <|python_sta")}, []Event{text("so <|python_sta")}},
	{"lone < at the end", "a <", "a <", []Part{txt("a <")}, []Event{text("a <")}},
	{"resembles a token", "a<b <|python|> <|python_start| <<1+1=2>> <|python_startx|>",
		"a<b <|python|> <|python_start| <<1+1=2>> <|python_startx|>",
		[]Part{txt("a<b <|python|> <|python_start| <<1+1=2>> <|python_startx|>")},
		[]Event{text("a<b <|python|> <|python_start| <<1+1=2>> <|python_startx|>")}},
	{"non-tool specials hidden", "a<|user_start|>b<|python_end|>c<|output_end|>d<|assistant_end|>",
		"abcd", []Part{txt("abcd")}, []Event{text("abcd")}},
	{"specials literal inside a span", "<|python_start|>1<|output_start|>2<|user_end|><|python_end|>",
		"", []Part{py("1<|output_start|>2<|user_end|>")}, []Event{call("1<|output_start|>2<|user_end|>", "", false)}},
	{"python_start restarts the expression", "<|python_start|>1+<|python_start|>2+2<|python_end|><|output_start|>4<|output_end|>",
		"", []Part{py("2+2"), output("4")}, []Event{call("2+2", "4", true)}},
	{"python_start ends an output span", "<|python_start|>1<|python_end|><|output_start|>1<|python_start|>2<|python_end|>",
		"", []Part{py("1"), output("1"), py("2")}, []Event{call("1", "1", true), call("2", "", false)}},
	{"output span without a call", "a<|output_start|>5<|output_end|>b", "ab", []Part{txt("a"), output("5"), txt("b")}, []Event{text("ab")}},
	{"text between call and output", "<|python_start|>1<|python_end|> <|output_start|>1<|output_end|>",
		" ", []Part{py("1"), txt(" "), output("1")}, []Event{call("1", "", false), text(" ")}},
	{"multibyte", "héllo <|python_start|>2·3<|python_end|><|output_start|>6 ✓<|output_end|> 😀",
		"héllo  😀", []Part{txt("héllo "), py("2·3"), output("6 ✓"), txt(" 😀")},
		[]Event{text("héllo "), call("2·3", "6 ✓", true), text(" 😀")}},
}

func TestDecoderRaw(t *testing.T) {
	for _, c := range rawCases {
		t.Run(c.name, func(t *testing.T) {
			want := decoded{Text: c.text, Parts: c.parts, Raw: c.raw, Events: c.events}
			got := run(t, func(d *Decoder) { d.Raw(c.raw) })
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("whole:\ngot  %+v\nwant %+v", got, want)
			}
			// Split in two at every byte boundary, and byte by byte.
			for i := 0; i <= len(c.raw); i++ {
				got := run(t, func(d *Decoder) { d.Raw(c.raw[:i]); d.Raw(c.raw[i:]) })
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("split at %d (%q | %q):\ngot  %+v\nwant %+v", i, c.raw[:i], c.raw[i:], got, want)
				}
			}
			got = run(t, func(d *Decoder) {
				for i := range len(c.raw) {
					d.Raw(c.raw[i : i+1])
				}
			})
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("byte by byte:\ngot  %+v\nwant %+v", got, want)
			}
			// The events replay the parts; ParseRaw is the whole decode.
			if ev := merge(Replay(got.Parts)); !reflect.DeepEqual(ev, want.Events) {
				t.Errorf("Replay(parts):\ngot  %+v\nwant %+v", ev, want.Events)
			}
			if text, parts := ParseRaw(c.raw); text != c.text || !reflect.DeepEqual(parts, c.parts) {
				t.Errorf("ParseRaw: got %q %+v, want %q %+v", text, parts, c.text, c.parts)
			}
		})
	}
}

// TestDecoderTokens feeds what the local model feeds: decoded text, special
// tokens one at a time, and the engine's report of a call without output.
func TestDecoderTokens(t *testing.T) {
	const ps, pe, os, oe = "<|python_start|>", "<|python_end|>", "<|output_start|>", "<|output_end|>"
	type step = func(d *Decoder)
	T := func(s string) step { return func(d *Decoder) { d.Text(s) } }
	S := func(tok string) step { return func(d *Decoder) { d.Special(tok) } }
	none := func(d *Decoder) { d.NoOutput() }
	cases := []struct {
		name  string
		steps []step
		want  decoded
	}{
		{"text", []step{T("He"), T("llo"), T("")},
			decoded{"Hello", []Part{txt("Hello")}, "Hello", []Event{text("Hello")}}},
		{"tool call", []step{T("7*11="), S(ps), T("7*"), T("11"), S(pe), S(os), T("77"), S(oe), T(" ok")},
			decoded{"7*11= ok", []Part{txt("7*11="), py("7*11"), output("77"), txt(" ok")},
				"7*11=<|python_start|>7*11<|python_end|><|output_start|>77<|output_end|> ok",
				[]Event{text("7*11="), call("7*11", "77", true), text(" ok")}}},
		{"tool failed", []step{S(ps), T("1/0"), S(pe), none, T("hm")},
			decoded{"hm", []Part{py("1/0"), txt("hm")}, "<|python_start|>1/0<|python_end|>hm",
				[]Event{call("1/0", "", false), text("hm")}}},
		{"literal text is not a token", []step{T("say "), T(ps), T(" please")},
			decoded{"say <|python_start|> please", []Part{txt("say <|python_start|> please")}, "say <|python_start|> please",
				[]Event{text("say <|python_start|> please")}}},
		{"cut inside the output", []step{S(ps), T("2+2"), S(pe), S(os), T("4")},
			decoded{"", []Part{py("2+2"), output("4")}, "<|python_start|>2+2<|python_end|><|output_start|>4",
				[]Event{call("2+2", "4", true)}}},
		{"whole calls and events", []step{
			func(d *Decoder) { d.Event(Event{Text: "a"}) },
			func(d *Decoder) { d.Tool(ToolCall{Expr: "6*7", Result: "42", OK: true}) },
			func(d *Decoder) { d.Event(Event{Tool: &ToolCall{Expr: "x", Result: "ignored"}, Text: "b"}) }},
			decoded{"ab", []Part{txt("a"), py("6*7"), output("42"), py("x"), txt("b")},
				"a<|python_start|>6*7<|python_end|><|output_start|>42<|output_end|><|python_start|>x<|python_end|>b",
				[]Event{text("a"), call("6*7", "42", true), call("x", "", false), text("b")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, func(d *Decoder) {
				for _, s := range c.steps {
					s(d)
				}
			})
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("\ngot  %+v\nwant %+v", got, c.want)
			}
			if ev := merge(Replay(got.Parts)); !reflect.DeepEqual(ev, c.want.Events) {
				t.Errorf("Replay(parts):\ngot  %+v\nwant %+v", ev, c.want.Events)
			}
		})
	}
}

// TestDecoderEventsAsTheyCome checks that events are not held back: text
// as soon as it cannot be a token's start, a failed call as soon as it is
// known.
func TestDecoderEventsAsTheyCome(t *testing.T) {
	var evs []Event
	d := NewDecoder(0, func(e Event) { evs = append(evs, e) })
	d.Raw("a <|py")
	if want := []Event{text("a ")}; !reflect.DeepEqual(evs, want) {
		t.Fatalf("after a partial token: %+v, want %+v", evs, want)
	}
	d.Raw("thon_start|>1<|python_end|>")
	if len(evs) != 1 {
		t.Fatalf("a call was reported before its outcome was known: %+v", evs)
	}
	if r := d.Row(); r.Text != "a " || !reflect.DeepEqual(r.Parts, []Part{txt("a "), py("1")}) {
		t.Errorf("row so far: %q %+v", r.Text, r.Parts)
	}
	d.NoOutput()
	if want := []Event{text("a "), call("1", "", false)}; !reflect.DeepEqual(evs, want) {
		t.Fatalf("after NoOutput: %+v, want %+v", evs, want)
	}
}

func TestFormatRaw(t *testing.T) {
	parts := []Part{txt("a "), py("6*7"), output("42"), txt(" b"), py("1/0"), txt("c")}
	raw := FormatRaw(parts)
	if want := "a <|python_start|>6*7<|python_end|><|output_start|>42<|output_end|> b<|python_start|>1/0<|python_end|>c"; raw != want {
		t.Fatalf("FormatRaw = %q, want %q", raw, want)
	}
	if text, got := ParseRaw(raw); text != "a  bc" || !reflect.DeepEqual(got, parts) {
		t.Errorf("ParseRaw(FormatRaw(parts)) = %q %+v, want parts back", text, got)
	}
	tc := ToolCall{Expr: "2+2", Result: "4", OK: true}
	if got := FormatRaw(tc.Parts()); !strings.Contains(got, "<|output_start|>4<|output_end|>") {
		t.Errorf("FormatRaw(call) = %q", got)
	}
}
