// Package engine generates tokens from a model: KV-cached prefill and
// decode, sampling, several samples sharing one prefill, the calculator tool
// state machine and cancellation. It works on token ids only; text,
// terminals and HTTP live above it.
package engine

import (
	"fmt"

	"github.com/nanochat-go/nanochat/model"
)

// Backend is the compute device the engine drives: the CPU model here, the
// CUDA backend elsewhere.
type Backend interface {
	// VocabSize is the number of logits per position.
	VocabSize() int
	// ContextLen is the longest sequence the engine lets a row reach.
	ContextLen() int
	// NewCache allocates per-conversation state for batch rows.
	NewCache(batch, maxLen int) (Cache, error)
	// Describe names the device for status lines ("cpu avx512 ×2").
	Describe() string
}

// Cache is a backend's KV cache for Rows() rows at a common position.
type Cache interface {
	Rows() int
	Cap() int // longest sequence it holds
	Len() int // positions cached
	// Forward appends T tokens per row (tokens is [rows][T]) and writes
	// logits for the last position of each row ([rows][V]) or, with all,
	// for every position ([rows][T][V]).
	Forward(tokens []int, T int, logits []float32, all bool) error
	// Truncate drops positions ≥ n.
	Truncate(n int) error
	// CopyFrom fills every row with row `row` of src (same backend).
	CopyFrom(src Cache, row int) error
	// Tokens returns the ids cached in row r.
	Tokens(r int) []int
}

// RowCache is a Cache whose rows can sit at different positions and advance
// independently: what continuous batching (Batcher) needs.
type RowCache interface {
	Cache
	// ForwardRows feeds tokens[j] to row rows[j] and writes each listed
	// row's next-token logits ([len(rows)][V]).
	ForwardRows(rows []int, tokens []int, logits []float32) error
	// CopyRow replaces row dst with row srcRow of src.
	CopyRow(dst int, src Cache, srcRow int) error
	// TruncateRow drops positions ≥ n of row r.
	TruncateRow(r, n int) error
	// RowLen is the number of positions cached in row r.
	RowLen(r int) int
}

// CPU adapts a loaded model to Backend.
func CPU(m *model.Model, device string) Backend { return cpuBackend{m, device} }

type cpuBackend struct {
	m      *model.Model
	device string
}

func (b cpuBackend) VocabSize() int   { return b.m.Config.VocabSize }
func (b cpuBackend) ContextLen() int  { return b.m.Config.SequenceLen }
func (b cpuBackend) Describe() string { return b.device }

func (b cpuBackend) NewCache(batch, maxLen int) (Cache, error) {
	c, err := b.m.NewCache(batch, maxLen)
	if err != nil {
		return nil, err
	}
	return cpuCache{b.m, c}, nil
}

type cpuCache struct {
	m *model.Model
	c *model.Cache
}

func (c cpuCache) Rows() int            { return c.c.Batch }
func (c cpuCache) Cap() int             { return c.c.MaxLen }
func (c cpuCache) Len() int             { return c.c.Len() }
func (c cpuCache) Truncate(n int) error { return c.c.Truncate(n) }
func (c cpuCache) Tokens(r int) []int   { return c.c.Tokens(r) }
func (c cpuCache) Forward(tokens []int, T int, logits []float32, all bool) error {
	return c.m.Forward(c.c, tokens, T, logits, all)
}
func (c cpuCache) CopyFrom(src Cache, row int) error {
	s, ok := src.(cpuCache)
	if !ok {
		return fmt.Errorf("copy cache: source is %T, want a CPU cache", src)
	}
	return c.c.CopyFrom(s.c, row)
}

func (c cpuCache) ForwardRows(rows []int, tokens []int, logits []float32) error {
	return c.m.ForwardRows(c.c, rows, tokens, logits)
}
func (c cpuCache) CopyRow(dst int, src Cache, srcRow int) error {
	s, ok := src.(cpuCache)
	if !ok {
		return fmt.Errorf("copy cache row: source is %T, want a CPU cache", src)
	}
	return c.c.CopyRow(dst, s.c, srcRow)
}
func (c cpuCache) TruncateRow(r, n int) error { return c.c.TruncateRow(r, n) }
func (c cpuCache) RowLen(r int) int           { return c.c.RowLen(r) }
