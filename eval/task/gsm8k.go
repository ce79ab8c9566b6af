package task

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/nanochat-go/nanochat/llm"
)

// gsm8kRow is openai/gsm8k.
type gsm8kRow struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

var toolCallRe = regexp.MustCompile(`<<[^>]+>>`)

// SplitGSM8K turns a GSM8K answer into assistant parts like upstream's
// re.split(r'(<<[^>]+>>)', answer): text parts (empty ones included)
// alternating with a python part (expression) and a python_output part
// (result) per <<expr=result>> span, split on its last "=".
func SplitGSM8K(answer string) []llm.Part {
	var parts []llm.Part
	last := 0
	for _, m := range toolCallRe.FindAllStringIndex(answer, -1) {
		parts = append(parts, llm.Part{Type: "text", Text: answer[last:m[0]]})
		inner := answer[m[0]+2 : m[1]-2]
		expr, result := inner, ""
		if i := strings.LastIndex(inner, "="); i >= 0 {
			expr, result = inner[:i], inner[i+1:]
		}
		parts = append(parts, llm.Part{Type: "python", Text: expr}, llm.Part{Type: "python_output", Text: result})
		last = m[1]
	}
	return append(parts, llm.Part{Type: "text", Text: answer[last:]})
}

func parseGSM8K(raw json.RawMessage) (Item, error) {
	var r gsm8kRow
	if err := json.Unmarshal(raw, &r); err != nil {
		return Item{}, fmt.Errorf("GSM8K row: %w", err)
	}
	parts := SplitGSM8K(r.Answer)
	ref, _ := ExtractGSM8K(parts[len(parts)-1].Text)
	return Item{
		Messages: []llm.Message{
			{Role: "user", Content: r.Question},
			{Role: "assistant", Parts: parts},
		},
		Gold: ref,
	}, nil
}

var gsmAnswerRe = regexp.MustCompile(`#### (-?[0-9.,]+)`)

// ExtractGSM8K is upstream's extract_answer: the first "#### N" (N made
// of digits, dots and commas, optionally negative), commas removed; ok is
// false when there is none (Python's None).
func ExtractGSM8K(s string) (answer string, ok bool) {
	m := gsmAnswerRe.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return strings.ReplaceAll(m[1], ",", ""), true
}

// checkGSM8K compares the extracted answers of the completion and of the
// reference's last text part as strings ("10" ≠ "10.0"). As upstream,
// None == None passes (only possible for a reference without "####").
func checkGSM8K(_ context.Context, _ Env, it *Item, completion string) (Verdict, error) {
	gold := it.Messages[len(it.Messages)-1].Parts
	ref, refOK := ExtractGSM8K(gold[len(gold)-1].Text)
	pred, predOK := ExtractGSM8K(completion)
	return Verdict{Pass: refOK == predOK && ref == pred, Extracted: pred}, nil
}
