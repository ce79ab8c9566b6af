package history

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
)

// strawberry is a letter-counting reply: the call sits between two
// paragraphs, where the model wrote it.
var strawberry = llm.Row{
	Text: "Let me count the letter r in strawberry with Python.\n\n\n\nThe letter r appears 3 times.",
	Parts: []llm.Part{{Type: llm.PartText, Text: "Let me count the letter r in strawberry with Python.\n\n"},
		{Type: llm.PartPython, Text: "'strawberry'.count('r')"}, {Type: llm.PartPythonOutput, Text: "3"},
		{Type: llm.PartText, Text: "\n\nThe letter r appears 3 times."}},
}

func TestInline(t *testing.T) {
	for _, tt := range []struct {
		name  string
		parts []llm.Part
		chip  func(llm.ToolCall) string
		want  string
	}{
		{"plain", strawberry.Parts, PlainChip,
			"Let me count the letter r in strawberry with Python.\n\n['strawberry'.count('r') → 3]\n\nThe letter r appears 3 times."},
		{"code", []llm.Part{{Type: llm.PartText, Text: "There are 12*7 = "}, {Type: llm.PartPython, Text: "12*7"},
			{Type: llm.PartPythonOutput, Text: "84"}, {Type: llm.PartText, Text: "84 marbles."}}, CodeChip,
			"There are 12*7 =  `12*7 → 84` 84 marbles."},
		{"no output", []llm.Part{{Type: llm.PartPython, Text: "1/0"}, {Type: llm.PartText, Text: "Oops."}}, PlainChip,
			"[1/0 → no result]Oops."},
		{"backtick", []llm.Part{{Type: llm.PartPython, Text: "'`'*2"}, {Type: llm.PartPythonOutput, Text: "``"}}, CodeChip,
			" ``` '`'*2 → `` ``` "},
	} {
		if got := Inline("fallback", tt.parts, tt.chip); got != tt.want {
			t.Errorf("%s: Inline = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := Inline("just text", nil, PlainChip); got != "just text" {
		t.Errorf("Inline without parts = %q, want the content", got)
	}
}

// TestExportKeepsCallsInPlace: sessions show writes a calculator call
// where the model made it, not above the reply, and leaves no run of blank
// lines where it was.
func TestExportKeepsCallsInPlace(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "h.db"))
	s := Session{ID: "feedfacefeedface", Settings: llm.DefaultSettings()}
	if err := d.SaveSession(&s); err != nil {
		t.Fatal(err)
	}
	set := llm.DefaultSettings()
	for _, m := range []Message{
		{SessionID: s.ID, Role: "user", Content: "How many r are in strawberry?"},
		{SessionID: s.ID, Role: "assistant", Content: strawberry.Text, Parts: strawberry.Parts, Settings: &set, Finish: "stop"},
	} {
		if err := d.AppendMessage(&m); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := d.ExportMarkdown(&b, s.ID); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	want := "with Python.\n\n `'strawberry'.count('r') → 3` \n\nThe letter r appears 3 times.\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("export:\n%s\nwant it to end with:\n%s", out, want)
	}
	if strings.Contains(out, "\n\n\n") {
		t.Errorf("export has a run of blank lines:\n%q", out)
	}
}

func TestLengthNote(t *testing.T) {
	set := llm.Settings{MaxTokens: 512}
	for _, tt := range []struct {
		m    Message
		want string
	}{
		{Message{Finish: "stop", Settings: &set, Stats: &llm.Stats{Generated: 12}}, ""},
		{Message{Finish: "length", Settings: &set, Stats: &llm.Stats{Generated: 512}}, "hit max tokens"},
		{Message{Finish: "length", Settings: &set, Stats: &llm.Stats{PromptTokens: 400, Generated: 112}}, "filled the context"},
		{Message{Finish: "length"}, "hit max tokens"},
	} {
		if got := LengthNote(tt.m); got != tt.want {
			t.Errorf("LengthNote(finish %s, stats %+v) = %q, want %q", tt.m.Finish, tt.m.Stats, got, tt.want)
		}
	}
}
