package task

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nanochat-go/nanochat/llm"
)

// RenderMC is upstream's render_mc: the letter follows its choice with no
// space ("- Paris=C"), so it is the same token as the bare-letter answer.
// Like Python's zip, extra letters or choices are ignored.
func RenderMC(question string, letters, choices []string) string {
	var b strings.Builder
	b.WriteString("Multiple Choice question: " + question + "\n")
	for i := range min(len(letters), len(choices)) {
		b.WriteString("- " + choices[i] + "=" + letters[i] + "\n")
	}
	b.WriteString("\nRespond only with the letter of the correct answer.")
	return b.String()
}

func mcItem(question string, letters, choices []string, gold string) Item {
	return Item{
		Messages: []llm.Message{
			{Role: "user", Content: RenderMC(question, letters, choices)},
			{Role: "assistant", Content: gold},
		},
		Letters: letters,
		Gold:    gold,
	}
}

// arcRow is allenai/ai2_arc.
type arcRow struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Choices  struct {
		Text  []string `json:"text"`
		Label []string `json:"label"`
	} `json:"choices"`
	AnswerKey string `json:"answerKey"`
}

// parseARC: letters are choices.label (A–E or 1–5), gold is answerKey.
func parseARC(raw json.RawMessage) (Item, error) {
	var r arcRow
	if err := json.Unmarshal(raw, &r); err != nil {
		return Item{}, fmt.Errorf("ARC row: %w", err)
	}
	if !slices.Contains(r.Choices.Label, r.AnswerKey) {
		return Item{}, fmt.Errorf("ARC answer %q must be one of %q", r.AnswerKey, r.Choices.Label)
	}
	it := mcItem(r.Question, r.Choices.Label, r.Choices.Text, r.AnswerKey)
	it.ID = r.ID
	return it, nil
}

// mmluRow is cais/mmlu.
type mmluRow struct {
	Question string   `json:"question"`
	Subject  string   `json:"subject"`
	Choices  []string `json:"choices"`
	Answer   int      `json:"answer"`
}

var mmluLetters = []string{"A", "B", "C", "D"}

// parseMMLU: letters A–D, gold = letters[answer].
func parseMMLU(raw json.RawMessage) (Item, error) {
	var r mmluRow
	if err := json.Unmarshal(raw, &r); err != nil {
		return Item{}, fmt.Errorf("MMLU row: %w", err)
	}
	if len(r.Choices) != 4 {
		return Item{}, fmt.Errorf("MMLU should have 4 choices, got %d", len(r.Choices))
	}
	if r.Answer < 0 || r.Answer > 3 {
		return Item{}, fmt.Errorf("MMLU answer %d out of range 0-3", r.Answer)
	}
	it := mcItem(r.Question, mmluLetters, r.Choices, mmluLetters[r.Answer])
	it.Subject = r.Subject
	return it, nil
}
