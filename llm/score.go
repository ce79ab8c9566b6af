package llm

import "context"

// TokenLogprob is one token of a scored text.
type TokenLogprob struct {
	ID      int          `json:"id"`
	Token   string       `json:"token"`   // the token's bytes (a piece of a multi-byte character stays partial)
	Logprob float64      `json:"logprob"` // log P(token | <|bos|> and the tokens before it), natural log
	Top     []TopLogprob `json:"top,omitempty"`
}

// TopLogprob is one of the most likely tokens at a position.
type TopLogprob struct {
	ID      int     `json:"id"`
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
}

// Scorer is implemented by models that can score a text token by token, as
// the OpenAI completions API does for echo with logprobs (lm-evaluation-harness
// scores multiple-choice tasks this way).
type Scorer interface {
	// PromptLogprobs tokenizes text the way Complete does: <|bos|>
	// prepended, special tokens written literally in text (<|user_start|>,
	// <|assistant_start|>, …) encoded as those tokens, as Hugging Face
	// tokenizers and vLLM do, and a leading literal <|bos|> not doubled. It
	// returns one entry per token of text (the <|bos|> it prepended
	// excluded), in order; their Token bytes concatenate to text. Each
	// entry's Top holds the topN most likely tokens at its position, most
	// likely first (none when topN is 0). Text longer than the model's
	// context is an error wrapping ErrTooLong.
	PromptLogprobs(ctx context.Context, text string, topN int) ([]TokenLogprob, error)
}
