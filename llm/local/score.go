package local

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/nanochat-go/nanochat/llm"
)

// PromptLogprobs implements llm.Scorer: the log-probability of every token
// of text given the ones before it (with <|bos|> prepended), computed in
// chunks so memory stays at chunk × vocab floats.
func (l *Model) PromptLogprobs(ctx context.Context, text string, topN int) ([]llm.TokenLogprob, error) {
	ids := l.Tokenizer.EncodeWithSpecials(text)
	bos := l.ct.BOS
	if len(ids) == 0 || ids[0] != bos {
		ids = append([]int{bos}, ids...)
	}
	if len(ids) < 2 {
		return nil, nil
	}
	if len(ids) > l.Net.MaxPositions() {
		return nil, fmt.Errorf("score: %d tokens exceed the model's %d positions", len(ids), l.Net.MaxPositions())
	}
	V := l.Net.Config.VocabSize
	c, err := l.Net.NewCache(1, len(ids))
	if err != nil {
		return nil, err
	}
	const chunk = 128
	logits := make([]float32, chunk*V)
	out := make([]llm.TokenLogprob, 0, len(ids)-1)
	// Position p's logits predict token p+1; the last token predicts nothing.
	for pos := 0; pos < len(ids)-1; pos += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(chunk, len(ids)-1-pos)
		if err := l.Net.Forward(c, ids[pos:pos+n], n, logits[:n*V], true); err != nil {
			return nil, err
		}
		for t := 0; t < n; t++ {
			row := logits[t*V : (t+1)*V]
			lse := logSumExp(row)
			next := ids[pos+t+1]
			tl := llm.TokenLogprob{ID: next, Token: string(l.Tokenizer.TokenBytes(next)), Logprob: float64(row[next]) - lse}
			for _, id := range topIDs(row, topN) {
				tl.Top = append(tl.Top, llm.TopLogprob{ID: id, Token: string(l.Tokenizer.TokenBytes(id)), Logprob: float64(row[id]) - lse})
			}
			out = append(out, tl)
		}
	}
	return out, nil
}

func logSumExp(row []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}

// topIDs returns the n largest entries' indices, largest first (lower id on ties).
func topIDs(row []float32, n int) []int {
	if n <= 0 {
		return nil
	}
	n = min(n, len(row))
	top := make([]int, 0, n+1)
	for i, v := range row {
		if len(top) == n && v <= row[top[n-1]] {
			continue
		}
		j := sort.Search(len(top), func(k int) bool { return row[top[k]] < v })
		top = append(top, 0)
		copy(top[j+1:], top[j:])
		top[j] = i
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

var _ llm.Scorer = (*Model)(nil)
