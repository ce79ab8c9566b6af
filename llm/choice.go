package llm

import (
	"context"
	"errors"
)

// How a model answers Choose (ChoiceMethod).
const (
	// ChoiceLogprobs compares the letters' log-probabilities at the answer
	// position, as upstream's chat_eval compares their logits (the two
	// orders agree): local models, and servers that score prompts.
	ChoiceLogprobs = "logprobs"
	// ChoiceGeneration lets the model answer with one greedy token and
	// scores the letter it names 1, the others 0: servers without
	// logprobs. Accuracies are not comparable with upstream's.
	ChoiceGeneration = "generation"
)

// ErrNoChoiceScoring is wrapped by ChoiceMethod's and Choose's errors when
// a model can answer multiple choice in no way.
var ErrNoChoiceScoring = errors.New("this model cannot score multiple-choice answers")

// ChoiceMethoder is implemented by models whose Choose may not score the
// letters by their log-probabilities (remote servers). ChoiceMethod returns
// ChoiceLogprobs or ChoiceGeneration, finding out (a request to the server)
// if it must; models that do not implement it use ChoiceLogprobs.
type ChoiceMethoder interface {
	ChoiceMethod(ctx context.Context) (string, error)
}

// ChoiceMethod is m's ChoiceMethod, or ChoiceLogprobs when m does not
// say.
func ChoiceMethod(ctx context.Context, m Model) (string, error) {
	if cm, ok := m.(ChoiceMethoder); ok {
		return cm.ChoiceMethod(ctx)
	}
	return ChoiceLogprobs, nil
}
