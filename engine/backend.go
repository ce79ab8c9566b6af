// Package engine generates tokens from a model: KV-cached prefill and
// decode, sampling, several samples sharing one prefill, the calculator tool
// state machine, continuous batching and cancellation. It works on token
// ids only; text, terminals and HTTP live above it.
package engine

import (
	"errors"
	"fmt"
)

// Backend is a loaded model on one compute device: the CPU (CPU) or an
// NVIDIA GPU (kernels/cuda). It is the only way anything above this package
// runs the model: the generation loop, scoring and bench all go through it.
//
// A Backend and its caches are safe for concurrent use by several
// goroutines as long as each Cache is used by one goroutine at a time.
// Close releases the device memory and the model deterministically; every
// call after Close (on the backend or on one of its caches) returns an
// error wrapping ErrClosed, and Close waits for calls in flight to finish.
type Backend interface {
	// VocabSize is the number of logits per position.
	VocabSize() int
	// ContextLen is the longest sequence generation lets a row reach
	// (the model's sequence_len).
	ContextLen() int
	// MaxPositions is the longest a cache row can be (the RoPE table,
	// nanochat's 10·sequence_len); scoring may go up to it.
	MaxPositions() int
	// Describe names the device for status lines ("cpu avx512 ×2").
	Describe() string
	// NewCache allocates a KV cache of rows rows, each up to maxLen tokens.
	NewCache(rows, maxLen int) (Cache, error)
	// Allocated is the memory the backend's open caches hold, in bytes
	// (device memory on a GPU); it drops as soon as a cache is closed.
	Allocated() int64
	// Close frees everything: caches, device memory, the model's file.
	Close() error
}

// Chunk is a run of new tokens for one cache row, fed at the row's own
// position (RowLen): a whole prompt chunk or a single decode token.
type Chunk struct {
	Row    int
	Tokens []int
}

// Cache is a backend's KV cache: Rows() rows that each sit at their own
// position and advance independently. Use it from one goroutine at a time.
type Cache interface {
	// Rows is the number of rows; Cap the most tokens a row holds.
	Rows() int
	Cap() int
	// RowLen is the number of positions cached in row r.
	RowLen(r int) int
	// Tokens returns the ids cached in row r (valid until the next call
	// that changes the row).
	Tokens(r int) []int
	// Forward appends each chunk's tokens to its row (rows distinct,
	// chunks of any lengths ≥ 1) in one step and writes the next-token
	// logits after each chunk's last token: logits is [len(chunks)][V].
	// On error no row has advanced.
	Forward(chunks []Chunk, logits []float32) error
	// Score appends c like Forward and, for each position t of c.Tokens,
	// returns the log-softmax of the next-token distribution there at the
	// ids gather[t] (gather may be shorter than c.Tokens; missing or nil
	// entries gather nothing) and the topN most likely ids, most likely
	// first, lower id first on ties. It computes no [T][V] array for the
	// caller; memory stays bounded by the chunk.
	Score(c Chunk, gather [][]int, topN int) ([]Scored, error)
	// CopyRow replaces row dst with row srcRow of src (a cache of the same
	// backend, possibly this one).
	CopyRow(dst int, src Cache, srcRow int) error
	// TruncateRow drops positions ≥ n of row r (0 empties the row).
	TruncateRow(r, n int) error
	// Close frees the cache's memory; later calls return ErrClosed.
	Close() error
}

// Scored is what Score returns for one position.
type Scored struct {
	Gathered []float64   // log P(gather[t][i]), in gather's order
	Top      []IDLogprob // the topN most likely ids, most likely first
}

// IDLogprob is a token id with its log-probability (natural log).
type IDLogprob struct {
	ID      int
	Logprob float64
}

// ErrClosed is wrapped by every error about a backend, cache or engine
// used after Close.
var ErrClosed = errors.New("closed")

// CheckChunks validates a Forward call against a cache's shape: rows in
// range and distinct, chunks non-empty and fitting, ids in the vocabulary,
// a logits buffer large enough. Backends call it before touching state.
func CheckChunks(c Cache, chunks []Chunk, vocab int, logits []float32) error {
	if len(chunks) == 0 {
		return errors.New("forward: no chunks")
	}
	if len(logits) < len(chunks)*vocab {
		return fmt.Errorf("forward: logits buffer holds %d floats, need %d", len(logits), len(chunks)*vocab)
	}
	seen := make(map[int]bool, len(chunks))
	for _, ch := range chunks {
		switch {
		case ch.Row < 0 || ch.Row >= c.Rows():
			return fmt.Errorf("forward: row %d outside the cache's %d rows", ch.Row, c.Rows())
		case seen[ch.Row]:
			return fmt.Errorf("forward: row %d listed twice", ch.Row)
		case len(ch.Tokens) == 0:
			return fmt.Errorf("forward: empty chunk for row %d", ch.Row)
		case c.RowLen(ch.Row)+len(ch.Tokens) > c.Cap():
			return fmt.Errorf("forward: row %d: %d cached + %d new tokens exceed the cache length %d",
				ch.Row, c.RowLen(ch.Row), len(ch.Tokens), c.Cap())
		}
		seen[ch.Row] = true
		for _, t := range ch.Tokens {
			if t < 0 || t >= vocab {
				return fmt.Errorf("forward: token id %d outside the vocabulary [0, %d)", t, vocab)
			}
		}
	}
	return nil
}
