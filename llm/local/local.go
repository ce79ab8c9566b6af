// Package local runs a nanochat checkpoint in-process behind llm.Model:
// tokenizer, model and engine wired together, calculator included.
package local

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/engine/calc"
	"github.com/nanochat-go/nanochat/kernels"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// Model runs a checkpoint in-process; it implements llm.Model. Everything
// it computes goes through its engine.Backend (the CPU or a GPU).
//
// Its lifetime is reference counted, so that a model replaced while still
// in use (a chat stream, an eval, a server request) is released by its last
// user rather than under it:
//
//   - Open returns the model with one reference, the owner's; Close drops it.
//   - Acquire takes another reference for work that outlives a single call
//     (a whole eval run); it fails once Close has been called.
//   - Every call that runs the model (Chat, Complete, Generate, Choose,
//     PromptLogprobs) holds a reference for its duration, so a call in
//     flight is never cut short by Close. Calls made after Close still
//     succeed while someone holds a reference, and fail with an error
//     wrapping engine.ErrClosed once the model has been released.
//   - When the count reaches zero the engine and the backend are closed at
//     once, in the goroutine that let go: device memory and the mapped
//     weights are freed then, and Released is closed.
type Model struct {
	Tokenizer  *tokenizer.Tokenizer
	Ckpt       home.Checkpoint
	backend    engine.Backend
	engine     *engine.Engine
	engineOpts engine.Options
	info       llm.Info
	ct         tokenizer.ChatTokens
	step       int

	mu       sync.Mutex
	refs     int           // the owner's reference (until Close) + holders
	closing  bool          // Close was called: Acquire fails
	released chan struct{} // closed when refs reached zero and all is freed
}

// OpenOptions configure Open.
type OpenOptions struct {
	Home  string // nanochat home (the tokenizer of checkpoints without their own)
	Model model.Options
	// Progress, if set, receives human-readable loading stages.
	Progress func(stage string)
	// Backend puts the loaded model on a device (default: the CPU).
	Backend func(m *model.Model, cpuName string) (engine.Backend, error)
}

// TokenizerPath is <home>/tokenizer/tokenizer.pkl.
func TokenizerPath(homeDir string) string { return home.HomeTokenizer(homeDir) }

// Open loads a checkpoint and its tokenizer (the checkpoint's own if it
// carries one, see home.TokenizerFor; else o.Home's, or without o.Home
// ck.Tokenizer) and checks they agree.
func Open(ck home.Checkpoint, o OpenOptions) (*Model, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	homeDir := o.Home
	if homeDir == "" {
		// <home>/<source>_checkpoints/<tag>/model_<step>.pt
		homeDir = filepath.Dir(filepath.Dir(filepath.Dir(ck.ModelPath)))
	}
	tokPath, own := home.TokenizerFor(ck.ModelPath, homeDir)
	if !own && o.Home == "" && ck.Tokenizer != "" {
		tokPath = ck.Tokenizer // the home's, as Scan, Resolve or Parse found it
	}
	progress("tokenizer " + tokPath)
	load := tokenizer.Load
	if strings.HasSuffix(tokPath, ".json") { // a Hugging Face directory's tokenizer.json
		load = tokenizer.LoadHF
	}
	tok, err := load(tokPath)
	if err != nil {
		return nil, err
	}
	progress(fmt.Sprintf("checkpoint %s (%s)", ck.ModelPath, humanize.IBytes(uint64(max(ck.Size, 0)))))
	t0 := time.Now()
	m, err := model.Load(ck.ModelPath, o.Model)
	if err != nil {
		return nil, err
	}
	if tok.VocabSize() != m.Config.VocabSize {
		m.Close()
		return nil, fmt.Errorf("tokenizer %q has %d tokens but checkpoint %q has vocab_size %d: they come from different runs", tokPath, tok.VocabSize(), ck.ModelPath, m.Config.VocabSize)
	}
	progress(fmt.Sprintf("loaded %s %s in %v", ck.Name(), m.Arch.Generation, time.Since(t0).Round(time.Millisecond)))
	if len(m.Arch.Overridden) > 0 {
		progress("overrides: " + strings.Join(m.Arch.Overridden, ", "))
	}
	ct := tok.ChatTokens()
	l := &Model{Tokenizer: tok, Ckpt: ck, ct: ct, step: m.Step(), refs: 1, released: make(chan struct{})}
	l.info = llm.Info{Name: ck.Name(), Source: ck.Source, Generation: m.Arch.Generation,
		ContextLen: m.Config.SequenceLen, Params: m.Params, Chat: ck.Source != "base"}
	device := fmt.Sprintf("cpu %s ×%d", kernels.ISA(), kernels.Threads())
	backend := engine.CPU(m, device)
	if o.Backend != nil {
		if backend, err = o.Backend(m, device); err != nil {
			m.Close()
			return nil, err
		}
	}
	l.backend = backend
	l.info.Device = backend.Describe()
	l.engineOpts = engine.Options{
		Specials: engine.Specials{BOS: ct.BOS, AssistantEnd: ct.AssistantEnd,
			PythonStart: ct.PythonStart, PythonEnd: ct.PythonEnd, OutputStart: ct.OutputStart, OutputEnd: ct.OutputEnd},
		Tool: l.calculator,
	}
	if l.engine, err = engine.New(backend, l.engineOpts); err != nil {
		backend.Close()
		return nil, err
	}
	return l, nil
}

// Info implements llm.Model.
func (l *Model) Info() llm.Info { return l.info }

// Step is the checkpoint's training step.
func (l *Model) Step() int { return l.step }

// Backend is the device the model runs on, for tests that look at its
// memory. It takes no reference: use it only while holding the model (the
// owner's reference, Acquire, or a call in flight); after the release every
// method wraps engine.ErrClosed.
func (l *Model) Backend() engine.Backend { return l.backend }

// Close drops the owner's reference. When no call or Acquire holds the
// model any more it stops the engine and releases the backend (device
// memory and the model's file) at once and returns what that returned;
// otherwise the last holder releases them and Close returns nil without
// waiting (Released tells when). Later calls to Close do nothing.
func (l *Model) Close() error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return nil
	}
	l.closing = true
	l.mu.Unlock()
	return l.unref()
}

// Acquire takes a reference that keeps the model loaded until release is
// called (release may be called more than once; only the first counts). It
// is for work spanning many calls, such as an eval run, that must finish on
// this model even if its owner closes it meanwhile. It fails with an error
// wrapping engine.ErrClosed once Close has been called.
func (l *Model) Acquire() (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return nil, fmt.Errorf("acquire model %s: %w", l.info.Name, engine.ErrClosed)
	}
	l.refs++
	var once sync.Once
	return func() { once.Do(func() { l.unref() }) }, nil
}

// Released is closed once the model's engine and backend have been
// released (the last reference was dropped).
func (l *Model) Released() <-chan struct{} { return l.released }

// hold keeps the model loaded for one call; it fails once the model has
// been released.
func (l *Model) hold(op string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refs == 0 {
		return nil, fmt.Errorf("%s: model %s: %w", op, l.info.Name, engine.ErrClosed)
	}
	l.refs++
	return func() { l.unref() }, nil
}

// unref drops a reference and releases the engine and backend with the
// last one.
func (l *Model) unref() error {
	l.mu.Lock()
	l.refs--
	last := l.refs == 0
	l.mu.Unlock()
	if !last {
		return nil
	}
	l.engine.Close()
	err := l.backend.Close()
	close(l.released)
	return err
}

// BatchRows is the number of rows concurrent generations share.
func (l *Model) BatchRows() int { return l.engine.Rows() }

// EnableBatching gives the engine rows rows, so that many concurrent
// callers (the HTTP server) share each decode step instead of queueing.
// Call it before the model is used.
func (l *Model) EnableBatching(rows int) error {
	if rows < 1 {
		return fmt.Errorf("batching: %d rows, want ≥ 1", rows)
	}
	o := l.engineOpts
	o.Rows = rows
	e, err := engine.New(l.backend, o)
	if err != nil {
		return err
	}
	l.engine.Close()
	l.engine = e
	return nil
}

// calculator is the engine's tool: decode the expression, evaluate it like
// upstream use_calculator, encode Python's str() of the result.
func (l *Model) calculator(expr []int) ([]int, bool) {
	res, ok := calc.Eval(l.Tokenizer.Decode(expr))
	if !ok {
		return nil, false
	}
	return l.Tokenizer.Encode(res), true
}

// ErrTooLong is llm.ErrTooLong: even the newest message does not fit.
var ErrTooLong = llm.ErrTooLong

// ChatPrompt renders msgs (ending with a user message) for a reply:
// render_conversation + <|assistant_start|>. When it would leave fewer than
// reserve tokens of the context, the oldest turns after the system prompt
// are dropped, a user+assistant pair at a time; dropped counts messages.
func (l *Model) ChatPrompt(msgs []llm.Message, reserve int) (ids []int, dropped int, err error) {
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != "user" {
		return nil, 0, fmt.Errorf("chat: the conversation must end with a user message")
	}
	ctxLen := l.info.ContextLen
	reserve = min(max(reserve, 1), ctxLen/2)
	sys := 0
	if msgs[0].Role == "system" {
		sys = 1
	}
	for {
		conv := append(append([]llm.Message{}, msgs[:sys]...), msgs[sys+dropped:]...)
		ids, _, err = l.Tokenizer.RenderConversation(TokenizerMessages(conv), 1<<31-1)
		if err != nil {
			return nil, 0, err
		}
		ids = append(ids, l.ct.AssistantStart)
		if len(ids)+reserve <= ctxLen {
			return ids, dropped, nil
		}
		if sys+dropped+2 >= len(msgs) {
			return nil, dropped, fmt.Errorf("chat: %d prompt tokens + %d to generate exceed the context of %d: %w", len(ids), reserve, ctxLen, ErrTooLong)
		}
		dropped += 2
	}
}

// TokenizerMessages converts a conversation to the tokenizer's message
// type (parts included) for rendering.
func TokenizerMessages(msgs []llm.Message) []tokenizer.Message {
	out := make([]tokenizer.Message, len(msgs))
	for i, m := range msgs {
		out[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
		for _, p := range m.Parts {
			out[i].Parts = append(out[i].Parts, tokenizer.Part{Type: p.Type, Text: p.Text})
		}
	}
	return out
}

// minReply is the room for an answer Chat keeps when it drops old turns.
const minReply = 64

// Chat implements llm.Model.
func (l *Model) Chat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	release, err := l.hold("chat")
	if err != nil {
		return llm.Reply{}, err
	}
	defer release()
	// Drop old turns until at least minReply tokens (or the fewer asked
	// for) are left to answer in; the engine caps the reply by the context.
	reserve := minReply
	if s.MaxTokens > 0 {
		reserve = min(s.MaxTokens, minReply)
	}
	ids, dropped, err := l.ChatPrompt(msgs, reserve)
	if err != nil {
		return llm.Reply{}, err
	}
	r, err := l.generate(ctx, ids, s, on)
	r.Stats.DroppedTurns = dropped
	return r, err
}

// Complete implements llm.Model: <|bos|> + text (special tokens written
// literally parsed, as PromptLogprobs does), continued. A prompt that
// leaves no room for s.MaxTokens (for one token, when it is 0) is an error
// wrapping llm.ErrTooLong.
func (l *Model) Complete(ctx context.Context, prompt string, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	release, err := l.hold("complete")
	if err != nil {
		return llm.Reply{}, err
	}
	defer release()
	ids := l.promptIDs(prompt)
	if n := max(s.MaxTokens, 1); len(ids)+n > l.info.ContextLen {
		return llm.Reply{}, fmt.Errorf("complete: %d prompt tokens + %d to generate exceed the model's context of %d tokens: %w",
			len(ids), n, l.info.ContextLen, llm.ErrTooLong)
	}
	return l.generate(ctx, ids, s, on)
}

// Generate runs the engine on prompt ids and assembles text, parts and
// tool calls per row.
func (l *Model) Generate(ctx context.Context, ids []int, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	release, err := l.hold("generate")
	if err != nil {
		return llm.Reply{}, err
	}
	defer release()
	return l.generate(ctx, ids, s, on)
}

// generate is Generate for a caller that holds the model.
func (l *Model) generate(ctx context.Context, ids []int, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	rows := max(s.Samples, 1)
	builders := make([]*rowBuilder, rows)
	for i := range builders {
		builders[i] = newRowBuilder(l.Tokenizer, i, on)
		builders[i].tokens = s.TokenEvents
	}
	t0 := time.Now()
	st, err := l.engine.Generate(ctx, engine.Request{Prompt: ids, NumSamples: rows, MaxTokens: s.MaxTokens,
		Sampling: engine.Sampling{Temperature: s.Temperature, TopK: s.TopK, TopP: s.TopP, Seed: s.Seed}},
		func(col []engine.Token) error {
			for _, t := range col {
				builders[t.Row].push(t)
			}
			return nil
		})
	rep := llm.Reply{Stats: llm.Stats{PromptTokens: st.PromptTokens, CachedTokens: st.CachedTokens, Generated: st.Generated,
		TTFT: st.TTFT, Duration: time.Since(t0), TokensPerSec: st.TokensPerSecond(rows)}}
	if st.TTFT > 0 {
		rep.Stats.PrefillPerSec = float64(st.PromptTokens-st.CachedTokens) / st.TTFT.Seconds()
	}
	for _, b := range builders {
		row := b.finish()
		if row.Finish == "" {
			row.Finish = "length"
			if st.Stop == "cancelled" {
				row.Finish = "cancelled"
			}
		}
		rep.Rows = append(rep.Rows, row)
	}
	if err == nil && s.Logprobs {
		for i, b := range builders {
			if rep.Rows[i].Logprobs, err = l.generatedLogprobs(ctx, ids, b, s.TopLogprobs); err != nil {
				return rep, err
			}
		}
	}
	return rep, err
}

// Choose implements llm.Model (upstream categorical evaluation).
func (l *Model) Choose(ctx context.Context, msgs []llm.Message, letters []string) (int, []float32, error) {
	release, err := l.hold("choose")
	if err != nil {
		return 0, nil, err
	}
	defer release()
	conv := append(append([]llm.Message{}, msgs...), llm.Message{Role: "assistant"})
	ids, err := l.Tokenizer.RenderForCompletion(TokenizerMessages(conv))
	if err != nil {
		return 0, nil, err
	}
	letterIDs := make([]int, len(letters))
	for i, ltr := range letters {
		enc := l.Tokenizer.Encode(ltr)
		if len(enc) != 1 {
			return 0, nil, fmt.Errorf("choose: answer letter %q is %d tokens, want exactly 1", ltr, len(enc))
		}
		letterIDs[i] = enc[0]
	}
	gather := make([][]int, len(ids))
	gather[len(ids)-1] = letterIDs
	scored, err := l.engine.Score(ctx, ids, gather, 0)
	if err != nil {
		return 0, nil, err
	}
	scores := make([]float32, len(letters))
	best := 0
	for i, lp := range scored[len(ids)-1].Gathered {
		scores[i] = float32(lp)
		if scores[i] > scores[best] {
			best = i
		}
	}
	return best, scores, nil
}
