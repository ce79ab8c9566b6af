package history

import (
	"strings"

	"github.com/nanochat-go/nanochat/llm"
)

// Chip is how a calculator call reads wherever a reply is shown: "12*7 →
// 84", or "12*7 → no result" when the tool gave none. Callers frame it:
// a code span in markdown (CodeChip), brackets in plain text (PlainChip).
func Chip(tc llm.ToolCall) string {
	res := tc.Result
	if !tc.OK {
		res = "no result"
	}
	return tc.Expr + " → " + res
}

// PlainChip is a calculator call in plain text: "[12*7 → 84]".
func PlainChip(tc llm.ToolCall) string { return "[" + Chip(tc) + "]" }

// CodeChip is a calculator call in markdown: a code span set off by
// spaces, " `12*7 → 84` ", fenced with more backticks when the expression
// holds one.
func CodeChip(tc llm.ToolCall) string {
	s, fence := Chip(tc), "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if fence != "`" {
		s = " " + s + " "
	}
	return " " + fence + s + fence + " "
}

// Inline is a reply as a reader sees it: its text with each calculator
// call written by chip where it happened, from parts (the text, python and
// python_output parts in order; llm.Replay reads them). Without parts it
// is content.
func Inline(content string, parts []llm.Part, chip func(llm.ToolCall) string) string {
	if len(parts) == 0 {
		return content
	}
	var b strings.Builder
	for _, e := range llm.Replay(parts) {
		if e.Tool != nil {
			b.WriteString(chip(*e.Tool))
		}
		b.WriteString(e.Text)
	}
	return b.String()
}

// LengthNote says why a reply that ended at a length limit stopped (""
// for any other finish): "hit max tokens" when it generated all it was
// allowed, else "filled the context", the model's whole sequence length
// being used up before max tokens.
func LengthNote(m Message) string {
	if m.Finish != "length" {
		return ""
	}
	if s, st := m.Settings, m.Stats; s != nil && st != nil && s.MaxTokens > 0 && st.Generated < s.MaxTokens {
		return "filled the context"
	}
	return "hit max tokens"
}
