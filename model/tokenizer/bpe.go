package tokenizer

import "math"

// Byte-pair encoding of one piece, as tiktoken's CoreBPE does it: start with
// one part per byte, repeatedly merge the adjacent pair whose concatenated
// bytes have the lowest rank (ties: leftmost), stop when no adjacent pair is
// in the vocabulary. Merging is by rank of the concatenation, not by a list
// of merges.

const noRank = math.MaxInt32

// smallPiece is the longest piece merged with tiktoken's own quadratic
// algorithm (a few dozen bytes fit in cache and beat a heap); longer pieces,
// up to megabytes of white space, go through mergeLarge.
const smallPiece = 48

// mergeTables precomputes what merging needs, so that no merge step hashes
// a byte string: pairs maps the ids of two adjacent parts to the id of their
// concatenation. Both parts of any pair that merging meets are tokens, so
// every concatenation that is a token splits into two tokens somewhere, and
// each such split is a key here.
type mergeTables struct {
	byteID   [256]int32       // id of each single byte
	bytePair []int32          // [b0<<8|b1] → id of the 2-byte token, or noRank
	pairs    map[uint64]int32 // id<<32|id → id of the concatenation
	maxLen   int              // length of the longest token
}

// newMergeTables indexes ranks, which must hold every single byte.
func newMergeTables(ranks map[string]int) mergeTables {
	m := mergeTables{bytePair: make([]int32, 1<<16), pairs: make(map[uint64]int32, 2*len(ranks))}
	for i := range m.bytePair {
		m.bytePair[i] = noRank
	}
	for tok, r := range ranks {
		m.maxLen = max(m.maxLen, len(tok))
		if len(tok) == 1 {
			m.byteID[tok[0]] = int32(r)
		}
		if len(tok) == 2 {
			m.bytePair[int(tok[0])<<8|int(tok[1])] = int32(r)
		}
		for k := 1; k < len(tok); k++ {
			a, okA := ranks[tok[:k]]
			b, okB := ranks[tok[k:]]
			if okA && okB {
				m.pairs[pairKey(int32(a), int32(b))] = int32(r)
			}
		}
	}
	return m
}

func pairKey(a, b int32) uint64 { return uint64(a)<<32 | uint64(uint32(b)) }

// merged returns the id of the concatenation of tokens a and b, or noRank.
func (m *mergeTables) merged(a, b int32) int32 {
	if r, ok := m.pairs[pairKey(a, b)]; ok {
		return r
	}
	return noRank
}

// part is one part of a piece being merged: the token it is and the id of
// its concatenation with the next part (noRank if none).
type part struct{ tok, pair int32 }

// appendPiece appends the ids of piece to out; scratch is reused between
// calls.
func (t *Tokenizer) appendPiece(out []int, piece string, scratch *[]part) []int {
	// The whole-piece shortcut: tiktoken emits a piece that is itself a
	// token without merging (merging could reach a different segmentation).
	m := &t.merge
	switch {
	case len(piece) == 1:
		return append(out, int(m.byteID[piece[0]]))
	case len(piece) == 2:
		if r := m.bytePair[int(piece[0])<<8|int(piece[1])]; r != noRank {
			return append(out, int(r))
		}
		return append(out, int(m.byteID[piece[0]]), int(m.byteID[piece[1]]))
	case len(piece) <= m.maxLen:
		if r, ok := t.ranks[piece]; ok {
			return append(out, r)
		}
	}
	if len(piece) <= smallPiece {
		return t.mergeSmall(out, piece, scratch)
	}
	return t.mergeLarge(out, piece)
}

// mergeSmall is tiktoken's _byte_pair_merge: scan for the lowest pair,
// merge it, repeat. Quadratic, but with few dozen parts that beats a heap.
func (t *Tokenizer) mergeSmall(out []int, piece string, scratch *[]part) []int {
	m := &t.merge
	parts := (*scratch)[:0]
	minRank, minAt := int32(noRank), -1
	for i := 0; i < len(piece); i++ {
		p := part{tok: m.byteID[piece[i]], pair: noRank}
		if i+1 < len(piece) {
			p.pair = m.bytePair[int(piece[i])<<8|int(piece[i+1])]
			if p.pair < minRank {
				minRank, minAt = p.pair, i
			}
		}
		parts = append(parts, p)
	}
	for minRank != noRank {
		i := minAt
		// Part i absorbs part i+1; the pairs (i-1, i) and (i, i+2) change.
		parts[i].tok = minRank
		if i > 0 {
			parts[i-1].pair = m.merged(parts[i-1].tok, minRank)
		}
		parts[i].pair = noRank
		if i+2 < len(parts) {
			parts[i].pair = m.merged(minRank, parts[i+2].tok)
		}
		parts = append(parts[:i+1], parts[i+2:]...)

		minRank, minAt = noRank, -1
		for k, p := range parts {
			if p.pair < minRank {
				minRank, minAt = p.pair, k
			}
		}
	}
	for _, p := range parts {
		out = append(out, int(p.tok))
	}
	*scratch = parts
	return out
}

// mergeLarge computes the same merges as mergeSmall in O(n log n): parts
// form a doubly linked list indexed by their start offset, and candidate
// pairs wait in a min-heap ordered by (rank, start), which is the order of
// mergeSmall's scan. A heap entry is stale once its left part has died or
// has grown past the entry's end.
func (t *Tokenizer) mergeLarge(out []int, piece string) []int {
	m := &t.merge
	n := len(piece)
	next := make([]int32, n+1) // start of the part after the part at i
	prev := make([]int32, n+1)
	tok := make([]int32, n+1) // token of the part at i; -1 once absorbed
	h := make(pairHeap, 0, n)
	for i := 0; i <= n; i++ {
		next[i], prev[i] = int32(i+1), int32(i-1)
		if i < n {
			tok[i] = m.byteID[piece[i]]
		}
		if i+1 < n {
			if r := m.bytePair[int(piece[i])<<8|int(piece[i+1])]; r != noRank {
				h = append(h, pair{rank: r, start: int32(i), end: int32(i + 2)})
			}
		}
	}
	h.init()

	// push queues the pair starting at part a, if a has a successor part.
	push := func(a int32) {
		b := next[a]
		if int(b) >= n {
			return
		}
		if r := m.merged(tok[a], tok[b]); r != noRank {
			h.push(pair{rank: r, start: a, end: next[b]})
		}
	}
	for len(h) > 0 {
		p := h.pop()
		a := p.start
		if tok[a] < 0 || next[next[a]] != p.end {
			continue // stale
		}
		b := next[a]
		tok[a], tok[b] = p.rank, -1
		next[a] = next[b]
		prev[next[b]] = a
		if a > 0 {
			push(prev[a])
		}
		push(a)
	}
	for a := 0; a < n; a = int(next[a]) {
		out = append(out, int(tok[a]))
	}
	return out
}

type pair struct{ rank, start, end int32 }

func (p pair) less(q pair) bool {
	return p.rank < q.rank || p.rank == q.rank && p.start < q.start
}

// pairHeap is a binary min-heap (container/heap without the interface calls).
type pairHeap []pair

func (h pairHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *pairHeap) push(p pair) {
	*h = append(*h, p)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !s[i].less(s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *pairHeap) pop() pair {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	h.down(0)
	return top
}

func (h pairHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].less(h[l]) {
			m = r
		}
		if !h[m].less(h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
