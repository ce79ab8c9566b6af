package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Specials are the token ids the engine acts on; -1 where absent.
type Specials struct {
	BOS, AssistantEnd                              int
	PythonStart, PythonEnd, OutputStart, OutputEnd int
}

// Tool runs a tool call: the tokens between <|python_start|> and
// <|python_end|> in, the result's tokens out (ok=false: no output, like
// upstream's None).
type Tool func(expr []int) (result []int, ok bool)

// Options configure an Engine.
type Options struct {
	Specials Specials
	// Tool is the calculator (nil: tool calls produce no output).
	Tool Tool
	// PrefillChunk bounds the tokens per prefill forward, so cancellation
	// is noticed within one chunk (default 128).
	PrefillChunk int
}

// Request is one generation.
type Request struct {
	Prompt     []int
	NumSamples int // rows sharing the prefill (default 1)
	MaxTokens  int // per row; 0 means up to the context length
	Sampling
}

// Token is one generated token of one row.
type Token struct {
	Row    int
	ID     int
	Forced bool // inserted by the tool state machine, not sampled (mask 0)
	Last   bool // the row ended with this token (<|assistant_end|> or <|bos|>)
}

// Stats describes a finished (or stopped) generation.
type Stats struct {
	PromptTokens int           // tokens in the request prompt
	CachedTokens int           // of those, reused from the previous call
	Generated    int           // decode steps taken (tokens per row)
	TTFT         time.Duration // request start → first token
	Decode       time.Duration // first token → end
	Stop         string        // "end", "length", "cancelled"
}

// TokensPerSecond is the decode throughput over all rows.
func (s Stats) TokensPerSecond(rows int) float64 {
	if s.Generated <= 1 || s.Decode <= 0 {
		return 0
	}
	return float64((s.Generated-1)*rows) / s.Decode.Seconds()
}

// ErrPromptTooLong is returned when the prompt leaves no room to generate.
var ErrPromptTooLong = errors.New("prompt fills the model's context")

// Engine generates from one backend. Calls are serialised; the engine keeps
// the last conversation's cache so a continued conversation only prefills
// its new tokens.
type Engine struct {
	b    Backend
	opts Options

	mu     sync.Mutex
	cache  Cache     // batch-1 conversation cache, reused across calls
	logits []float32 // [rows][V]
}

// New returns an engine over b.
func New(b Backend, opts Options) *Engine {
	if opts.PrefillChunk <= 0 {
		opts.PrefillChunk = 128
	}
	return &Engine{b: b, opts: opts}
}

// Backend returns the engine's backend.
func (e *Engine) Backend() Backend { return e.b }

// Generate runs req and calls emit once per decode step with one Token per
// row (rows that already ended are omitted). It returns when every row has
// ended, MaxTokens is reached, emit returns an error, or ctx is done; in
// every case the engine stays usable.
func (e *Engine) Generate(ctx context.Context, req Request, emit func([]Token) error) (Stats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	st := Stats{PromptTokens: len(req.Prompt)}
	rows := max(req.NumSamples, 1)
	V, ctxLen := e.b.VocabSize(), e.b.ContextLen()
	maxTok, err := checkRequest(req, V, ctxLen)
	if err != nil {
		return st, err
	}
	if len(e.logits) < rows*V {
		e.logits = make([]float32, rows*V)
	}

	// 1. Prefill into the conversation cache, reusing its common prefix.
	if st.CachedTokens, err = e.prefill(ctx, req.Prompt, e.logits[:V]); err != nil {
		if ctx.Err() != nil {
			st.Stop = "cancelled"
		}
		return st, err
	}

	// 2. Rows: decode in the conversation cache itself for one row, else in
	// a fresh cache whose rows all start from the prefill.
	dec := e.cache
	if rows > 1 {
		c, err := e.b.NewCache(rows, len(req.Prompt)+maxTok)
		if err != nil {
			return st, err
		}
		if err := c.CopyFrom(e.cache, 0); err != nil {
			return st, err
		}
		for r := 1; r < rows; r++ {
			copy(e.logits[r*V:(r+1)*V], e.logits[:V])
		}
		dec = c
	}

	// 3. Decode loop (upstream Engine.generate): sample per row, apply
	// forced tool tokens, feed the column back.
	sp := newSampler(req.Sampling, V)
	state := make([]rowState, rows)
	column := make([]int, rows)
	out := make([]Token, 0, rows)
	st.Stop = "length"
	for st.Generated < maxTok {
		out = sampleStep(sp, state, e.logits[:rows*V], V, column, out[:0], e.opts)
		if st.Generated == 0 {
			st.TTFT = time.Since(start)
		}
		st.Generated++
		if err := emit(out); err != nil {
			st.Stop = "cancelled"
			return e.finish(st, start), err
		}
		if allDone(state) {
			st.Stop = "end"
			break
		}
		if err := ctx.Err(); err != nil {
			st.Stop = "cancelled"
			return e.finish(st, start), err
		}
		if st.Generated == maxTok {
			break
		}
		if err := dec.Forward(column, 1, e.logits[:rows*V], false); err != nil {
			return e.finish(st, start), err
		}
	}
	return e.finish(st, start), nil
}

func (e *Engine) finish(st Stats, start time.Time) Stats {
	if st.Generated > 0 {
		st.Decode = time.Since(start) - st.TTFT
	}
	return st
}

// rowState is one row's tool state machine.
type rowState struct {
	done     bool
	inPython bool
	expr     []int
	forced   []int
}

func (s *rowState) step(id int, o Options) {
	sp := o.Specials
	switch {
	case id == sp.AssistantEnd || id == sp.BOS:
		s.done = true
	case id == sp.PythonStart && sp.PythonStart >= 0:
		s.inPython, s.expr = true, s.expr[:0]
	case id == sp.PythonEnd && s.inPython:
		s.inPython = false
		if len(s.expr) > 0 && o.Tool != nil {
			if res, ok := o.Tool(s.expr); ok {
				s.forced = append(s.forced, sp.OutputStart)
				s.forced = append(s.forced, res...)
				s.forced = append(s.forced, sp.OutputEnd)
			}
		}
		s.expr = s.expr[:0]
	case s.inPython:
		s.expr = append(s.expr, id)
	}
}

func allDone(s []rowState) bool {
	for i := range s {
		if !s[i].done {
			return false
		}
	}
	return true
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Logits returns the next-token logits after prompt (the conversation
// cache's common prefix is reused, as in Generate). The slice is the
// caller's.
func (e *Engine) Logits(ctx context.Context, prompt []int) ([]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	V := e.b.VocabSize()
	if len(prompt) > e.b.ContextLen() {
		return nil, fmt.Errorf("logits: prompt of %d tokens, context is %d", len(prompt), e.b.ContextLen())
	}
	if err := checkPrompt(prompt, V); err != nil {
		return nil, err
	}
	out := make([]float32, V)
	if _, err := e.prefill(ctx, prompt, out); err != nil {
		return nil, err
	}
	return out, nil
}

// prefill feeds prompt into the conversation cache in chunks, after its
// longest common prefix with what the cache holds (at least the last token
// is fed, for its logits, which land in logits). It returns the number of
// tokens reused; on cancellation the cache keeps what was fed.
func (e *Engine) prefill(ctx context.Context, prompt []int, logits []float32) (int, error) {
	if e.cache == nil {
		c, err := e.b.NewCache(1, e.b.ContextLen())
		if err != nil {
			return 0, err
		}
		e.cache = c
	}
	reuse := min(commonPrefix(e.cache.Tokens(0), prompt), len(prompt)-1)
	if err := e.cache.Truncate(reuse); err != nil {
		return 0, err
	}
	err := feed(ctx, e.cache, prompt[reuse:], e.opts.PrefillChunk, logits)
	if err != nil && ctx.Err() == nil {
		e.cache.Truncate(0) // a failed forward leaves no trustworthy state
	}
	return reuse, err
}

// feed runs toks through a batch-1 cache in chunks of at most chunk tokens,
// checking ctx between chunks; the last chunk's final logits land in logits.
func feed(ctx context.Context, c Cache, toks []int, chunk int, logits []float32) error {
	for pos := 0; pos < len(toks); {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(chunk, len(toks)-pos)
		if err := c.Forward(toks[pos:pos+n], n, logits, false); err != nil {
			return err
		}
		pos += n
	}
	return nil
}

// checkPrompt rejects an empty prompt and ids outside the vocabulary.
func checkPrompt(prompt []int, vocab int) error {
	if len(prompt) == 0 {
		return errors.New("generate: empty prompt")
	}
	for _, t := range prompt {
		if t < 0 || t >= vocab {
			return fmt.Errorf("generate: prompt token %d outside the vocabulary [0, %d)", t, vocab)
		}
	}
	return nil
}

// checkRequest validates a request against the backend and returns the
// most tokens a row may generate.
func checkRequest(req Request, vocab, ctxLen int) (int, error) {
	if err := req.Sampling.Validate(); err != nil {
		return 0, err
	}
	if err := checkPrompt(req.Prompt, vocab); err != nil {
		return 0, err
	}
	if len(req.Prompt) >= ctxLen {
		return 0, fmt.Errorf("generate: %d prompt tokens, context is %d: %w", len(req.Prompt), ctxLen, ErrPromptTooLong)
	}
	maxTok := ctxLen - len(req.Prompt)
	if req.MaxTokens > 0 && req.MaxTokens < maxTok {
		maxTok = req.MaxTokens
	}
	return maxTok, nil
}

// sampleStep is one step of upstream Engine.generate for a set of rows:
// sample each row from its logits ([rows][vocab]), let a pending forced
// tool token take the sample's place, run the tool state machine, and
// write the ids to feed back into column. It appends the tokens of rows
// that had not ended to out.
func sampleStep(sp *sampler, state []rowState, logits []float32, vocab int, column []int, out []Token, o Options) []Token {
	for r := range state {
		id := sp.next(logits[r*vocab : (r+1)*vocab])
		forced := false
		if len(state[r].forced) > 0 {
			id, forced = state[r].forced[0], true
			state[r].forced = state[r].forced[1:]
		}
		column[r] = id
		if state[r].done {
			continue
		}
		state[r].step(id, o)
		out = append(out, Token{Row: r, ID: id, Forced: forced, Last: state[r].done})
	}
	return out
}
