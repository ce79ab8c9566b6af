package engine

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// scoreChunk is the most positions whose logits a Score call holds at once.
const scoreChunk = 128

// PieceLen is how many of remaining prompt tokens to feed in one chunk of
// at most limit (one more when limit < 3): never leaving a single token for the next chunk, since a
// one-token chunk is a decode step, where some nanochat generations
// computed differently from a full forward (model.Arch DecodeBigramReset,
// DecodeNoWindow). Backends that split a chunk use it too.
func PieceLen(remaining, limit int) int {
	n := min(remaining, limit)
	if remaining-n == 1 {
		if n > 2 {
			return n - 1
		}
		return remaining // a limit under 3: overshoot by one
	}
	return n
}

// scoreChunked implements Cache.Score over a forward that writes the logits
// of every position of a chunk (all) or of its last one: it feeds ch in
// pieces of at most scoreChunk tokens so memory stays at scoreChunk·vocab
// floats, and computes every position's logits only for pieces that have
// something to gather or rank.
func scoreChunked(ch Chunk, gather [][]int, topN, vocab int, forward func(part Chunk, logits []float32, all bool) error) ([]Scored, error) {
	if len(ch.Tokens) == 0 {
		return nil, fmt.Errorf("score: empty chunk for row %d", ch.Row)
	}
	if len(gather) > len(ch.Tokens) {
		return nil, fmt.Errorf("score: %d gather lists for %d tokens", len(gather), len(ch.Tokens))
	}
	for t, ids := range gather {
		for _, id := range ids {
			if id < 0 || id >= vocab {
				return nil, fmt.Errorf("score: position %d: id %d outside the vocabulary [0, %d)", t, id, vocab)
			}
		}
	}
	logits := make([]float32, min(scoreChunk, len(ch.Tokens))*vocab)
	out := make([]Scored, 0, len(ch.Tokens))
	for pos, n := 0, 0; pos < len(ch.Tokens); pos += n {
		n = PieceLen(len(ch.Tokens)-pos, scoreChunk)
		var g [][]int
		if pos < len(gather) {
			g = gather[pos:min(pos+n, len(gather))]
		}
		all := topN > 0 || slices.ContainsFunc(g, func(ids []int) bool { return len(ids) > 0 })
		if err := forward(Chunk{Row: ch.Row, Tokens: ch.Tokens[pos : pos+n]}, logits[:n*vocab], all); err != nil {
			return out, err
		}
		if !all {
			out = append(out, make([]Scored, n)...)
			continue
		}
		out = append(out, ScoreLogits(logits[:n*vocab], vocab, g, topN)...)
	}
	return out, nil
}

// ScoreLogits turns logits ([T][vocab]) into Score's answer: at each
// position t the log-softmax at the ids gather[t] (gather may be shorter
// than T) and the topN most likely ids, most likely first, lower id first
// on ties. Log-softmax is computed in float64.
func ScoreLogits(logits []float32, vocab int, gather [][]int, topN int) []Scored {
	T := len(logits) / vocab
	out := make([]Scored, T)
	for t := range out {
		row := logits[t*vocab : (t+1)*vocab]
		if t >= len(gather) && topN <= 0 {
			continue
		}
		lse := logSumExp(row)
		if t < len(gather) {
			for _, id := range gather[t] {
				out[t].Gathered = append(out[t].Gathered, float64(row[id])-lse)
			}
		}
		for _, id := range topIDs(row, topN) {
			out[t].Top = append(out[t].Top, IDLogprob{ID: id, Logprob: float64(row[id]) - lse})
		}
	}
	return out
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
