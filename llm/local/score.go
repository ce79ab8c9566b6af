package local

import (
	"context"

	"github.com/nanochat-go/nanochat/llm"
)

// PromptLogprobs implements llm.Scorer: the log-probability of every token
// of text given the ones before it (with <|bos|> prepended), computed by the
// engine in chunks so memory stays at chunk × vocab floats.
func (l *Model) PromptLogprobs(ctx context.Context, text string, topN int) ([]llm.TokenLogprob, error) {
	release, err := l.hold("prompt logprobs")
	if err != nil {
		return nil, err
	}
	defer release()
	ids := l.Tokenizer.EncodeWithSpecials(text)
	bos := l.ct.BOS
	if len(ids) == 0 || ids[0] != bos {
		ids = append([]int{bos}, ids...)
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
	out := make([]llm.TokenLogprob, len(scored))
	for t, s := range scored {
		next := ids[t+1]
		out[t] = llm.TokenLogprob{ID: next, Token: string(l.Tokenizer.TokenBytes(next)), Logprob: s.Gathered[0]}
		for _, top := range s.Top {
			out[t].Top = append(out[t].Top, llm.TopLogprob{ID: top.ID, Token: string(l.Tokenizer.TokenBytes(top.ID)), Logprob: top.Logprob})
		}
	}
	return out, nil
}

var _ llm.Scorer = (*Model)(nil)
