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
	// Rows is the number of cache rows generations share (default 1); a
	// request for more samples than rows grows the cache when the engine
	// is idle.
	Rows int
	// PrefillChunk bounds the prompt tokens fed per step, over all
	// requests still prefilling (default 128): a long prompt is fed in
	// chunks between the decode steps of the requests already streaming,
	// and cancellation is noticed within one chunk.
	PrefillChunk int
}

// MaxSamples bounds Request.NumSamples: each sample is a cache row of the
// full context.
const MaxSamples = 64

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
	// Tool is set on a <|python_end|> token that closed a tool call: what
	// was asked and what the tool answered (the answer's tokens follow as
	// forced tokens when OK).
	Tool *ToolOutcome
}

// ToolOutcome is one finished tool call.
type ToolOutcome struct {
	Expr   []int // the tokens between <|python_start|> and <|python_end|>
	Result []int // the tool's answer (nil when !OK)
	OK     bool  // false: the tool gave no output (upstream's None)
}

// Stats describes a finished (or stopped) generation.
type Stats struct {
	PromptTokens int           // tokens in the request prompt
	CachedTokens int           // of those, reused from an earlier request
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

// Engine generates from one backend with a single loop (continuous
// batching, loop.go): every request takes rows of one shared cache, and
// each step feeds prompt chunks of the requests still prefilling together
// with one token for every row already decoding, so the weights are read
// once per step for all of them. A finished request's rows keep their
// tokens, so a continued conversation only prefills its new tokens (the
// free row with the longest common prefix is chosen). A single chat is the
// one-row case.
type Engine struct {
	b    Backend
	opts Options

	mu      sync.Mutex
	queue   []*job
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	running sync.WaitGroup
}

// ErrEngineClosed is returned by Generate after Close.
var ErrEngineClosed = fmt.Errorf("engine %w", ErrClosed)

// New starts an engine over b (which stays the caller's to close).
func New(b Backend, opts Options) (*Engine, error) {
	if opts.PrefillChunk <= 0 {
		opts.PrefillChunk = 128
	}
	opts.Rows = max(opts.Rows, 1)
	c, err := b.NewCache(opts.Rows, b.ContextLen())
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{b: b, opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{})}
	l := newLoop(e, c)
	e.running.Add(1)
	go func() {
		defer e.running.Done()
		l.run()
	}()
	return e, nil
}

// Backend returns the engine's backend.
func (e *Engine) Backend() Backend { return e.b }

// Rows is the number of rows requests share at start.
func (e *Engine) Rows() int { return e.opts.Rows }

// Close fails queued and running requests with ErrEngineClosed, stops the
// loop and frees its cache. The backend stays open.
func (e *Engine) Close() error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.done)
	}
	e.mu.Unlock()
	e.running.Wait()
	return nil
}

// Generate runs req and calls emit once per decode step with one Token per
// row (rows that already ended are omitted); emit runs in the caller's
// goroutine. It returns when every row has ended, MaxTokens is reached,
// emit returns an error, ctx is done or the engine closes; the engine stays
// usable in every case but the last.
func (e *Engine) Generate(ctx context.Context, req Request, emit func([]Token) error) (Stats, error) {
	st := Stats{PromptTokens: len(req.Prompt)}
	rows := max(req.NumSamples, 1)
	V := e.b.VocabSize()
	maxTok, err := checkRequest(req, V, e.b.ContextLen())
	if err != nil {
		return st, err
	}
	j := &job{ctx: ctx, req: req, out: make(chan []Token, maxTok+1), start: time.Now(), maxTok: maxTok,
		state: make([]rowState, rows), sp: newSampler(req.Sampling, V), logits: make([]float32, rows*V),
		col: make([]int, rows), end: make(chan struct{})}
	j.stats = st
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return st, ErrEngineClosed
	}
	e.queue = append(e.queue, j)
	e.mu.Unlock()
	e.poke()

	// The loop may run ahead of a slow consumer (the channel is buffered);
	// after a stop the stats count only the steps emit saw.
	var emitErr error
	emitted := 0
	stop := func(err error) (Stats, error) {
		j.fail(err)
		e.poke()
		<-j.end // the loop frees the rows at its next step
		j.stats.Generated = min(j.stats.Generated, emitted)
		j.stats.Stop = "cancelled"
		return j.stats, err
	}
	for {
		select {
		case col, ok := <-j.out:
			if !ok {
				<-j.end
				if err := j.failure(); err != nil {
					j.stats.Generated = min(j.stats.Generated, emitted)
					return j.stats, err
				}
				return j.stats, nil
			}
			emitted++
			if emitErr = emit(col); emitErr != nil {
				return stop(emitErr)
			}
			if ctx.Err() != nil {
				return stop(ctx.Err())
			}
		case <-ctx.Done():
			return stop(ctx.Err())
		}
	}
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Score feeds tokens through a cache of its own (not the generation
// loop's) and returns Cache.Score's answer for every position: the
// log-probabilities of the ids gather[t] and the topN most likely ids after
// tokens[:t+1]. Memory stays bounded by the chunk; ctx is checked between
// chunks.
func (e *Engine) Score(ctx context.Context, tokens []int, gather [][]int, topN int) ([]Scored, error) {
	if len(tokens) == 0 {
		return nil, errors.New("score: no tokens")
	}
	if len(tokens) > e.b.MaxPositions() {
		return nil, fmt.Errorf("score: %d tokens exceed the model's %d positions", len(tokens), e.b.MaxPositions())
	}
	if err := checkPrompt(tokens, e.b.VocabSize()); err != nil {
		return nil, err
	}
	c, err := e.b.NewCache(1, len(tokens))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	out := make([]Scored, 0, len(tokens))
	for pos, n := 0, 0; pos < len(tokens); pos += n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n = PieceLen(len(tokens)-pos, scoreChunk)
		var g [][]int
		if pos < len(gather) {
			g = gather[pos:min(pos+n, len(gather))]
		}
		s, err := c.Score(Chunk{Row: 0, Tokens: tokens[pos : pos+n]}, g, topN)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
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
	if req.NumSamples < 0 || req.NumSamples > MaxSamples {
		return 0, fmt.Errorf("generate: %d samples: want 1…%d", req.NumSamples, MaxSamples)
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
