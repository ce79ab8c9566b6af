package local

import (
	"context"
	"fmt"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/llm"
)

// promptIDs tokenizes a raw prompt as Complete and PromptLogprobs do:
// special tokens written literally are those tokens (as Hugging Face
// tokenizers and vLLM read a raw prompt), <|bos|> first, not doubled when
// the text starts with it.
func (l *Model) promptIDs(text string) []int {
	ids := l.Tokenizer.EncodeWithSpecials(text)
	if len(ids) == 0 || ids[0] != l.ct.BOS {
		ids = append([]int{l.ct.BOS}, ids...)
	}
	return ids
}

// PromptLogprobs implements llm.Scorer: the log-probability of every token
// of text given the ones before it (with <|bos|> prepended), computed by the
// engine in chunks so memory stays at chunk × vocab floats.
func (l *Model) PromptLogprobs(ctx context.Context, text string, topN int) ([]llm.TokenLogprob, error) {
	release, err := l.hold("prompt logprobs")
	if err != nil {
		return nil, err
	}
	defer release()
	ids := l.promptIDs(text)
	if len(ids) > l.info.ContextLen {
		return nil, fmt.Errorf("score: %d prompt tokens exceed the model's context of %d tokens: %w", len(ids), l.info.ContextLen, llm.ErrTooLong)
	}
	if len(ids) < 2 {
		return nil, nil
	}
	gather := make([][]int, len(ids)-1)
	for t := range gather {
		gather[t] = ids[t+1 : t+2]
	}
	// Position p predicts token p+1; the last token predicts nothing.
	scored, err := l.engine.Score(ctx, ids[:len(ids)-1], gather, topN)
	if err != nil {
		return nil, err
	}
	return l.logprobs(ids[1:], scored), nil
}

// generatedLogprobs scores what row b generated after prompt: its tokens
// and the terminal token that ended it, if any (Row.Logprobs).
func (l *Model) generatedLogprobs(ctx context.Context, prompt []int, b *rowBuilder, topN int) ([]llm.TokenLogprob, error) {
	gen := append([]int(nil), b.toks...)
	if b.end >= 0 {
		gen = append(gen, b.end)
	}
	if len(gen) == 0 {
		return []llm.TokenLogprob{}, nil
	}
	ids := append(append([]int(nil), prompt...), gen...)
	gather := make([][]int, len(ids)-1)
	for t := len(prompt) - 1; t < len(gather); t++ {
		gather[t] = ids[t+1 : t+2]
	}
	scored, err := l.engine.Score(ctx, ids[:len(ids)-1], gather, topN)
	if err != nil {
		return nil, fmt.Errorf("score generated tokens: %w", err)
	}
	return l.logprobs(gen, scored[len(prompt)-1:]), nil
}

// logprobs pairs each of ids with its scored position (which predicts it).
func (l *Model) logprobs(ids []int, scored []engine.Scored) []llm.TokenLogprob {
	out := make([]llm.TokenLogprob, len(scored))
	for t, s := range scored {
		out[t] = llm.TokenLogprob{ID: ids[t], Token: string(l.Tokenizer.TokenBytes(ids[t])), Logprob: s.Gathered[0]}
		for _, top := range s.Top {
			out[t].Top = append(out[t].Top, llm.TopLogprob{ID: top.ID, Token: string(l.Tokenizer.TokenBytes(top.ID)), Logprob: top.Logprob})
		}
	}
	return out
}

var _ llm.Scorer = (*Model)(nil)
