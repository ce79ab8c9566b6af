package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/llm"
)

// genSpec is one generation: a conversation (chat) or a raw prompt.
type genSpec struct {
	chat     []llm.Message
	prompt   string
	isChat   bool
	settings llm.Settings
	stops    []string
	// token, if set, receives each generated token of a model that sends
	// them (llm.Event.Token; run asks for them), before the text it
	// produces; stop sequences do not apply to it.
	token func(row int, tok string) error
	// rawTools makes each calculator call text, its special tokens written
	// literally (as the decode of the tokens reads), instead of a tool
	// event; stop sequences then apply to it too.
	rawTools bool
}

// genResult is a finished generation after stop sequences.
type genResult struct {
	rep    llm.Reply
	text   []string // per row: what was emitted
	finish []string // per row: "stop", "length" or "cancelled"
	err    error    // the model's error, or the request's context error
}

// emitFunc receives a row's new text or a finished tool call. It runs on
// the handler's goroutine; an error (the client is gone) stops generation.
type emitFunc func(row int, text string, tool *llm.ToolCall) error

// admit resolves the model named name, loading it if needed, and waits for
// a slot for rows rows. release must be called when the request is done.
func (s *Server) admit(ctx context.Context, name string, rows int) (llm.Model, func(), error) {
	e, done, err := s.models.use(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if aerr := checkRows(e.model, rows); aerr != nil {
		done()
		return nil, nil, aerr
	}
	units := 1
	if _, ok := e.model.(Batcher); ok {
		units = rows
	}
	free, err := e.sched.acquire(ctx, units, s.opts.QueueTimeout)
	if err != nil {
		done()
		return nil, nil, err
	}
	return e.model, func() { free(); done() }, nil
}

// genContext bounds a generation by the request timeout and by the
// server's shutdown.
func (s *Server) genContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// run generates spec on m, applying stop sequences per row and passing
// what may be shown to emit as it streams. The model runs on its own
// goroutine and queues its events, so a slow client never stalls it (or,
// for a batching model, the other requests' rows). When every row has hit
// a stop sequence, or emit fails, the generation is cancelled at once.
func (s *Server) run(ctx context.Context, m llm.Model, spec genSpec, emit emitFunc) genResult {
	rows := max(spec.settings.Samples, 1)
	spec.settings.TokenEvents = spec.token != nil
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := &eventQueue{wake: make(chan struct{}, 1)}
	done := make(chan struct{})
	var rep llm.Reply
	var err error
	go func() {
		defer close(done)
		if spec.isChat {
			rep, err = m.Chat(gctx, spec.chat, spec.settings, q.push)
		} else {
			rep, err = m.Complete(gctx, spec.prompt, spec.settings, q.push)
		}
	}()

	res := genResult{text: make([]string, rows), finish: make([]string, rows)}
	stops := make([]stopper, rows)
	sawText := make([]bool, rows)
	stopped, emitErr := 0, error(nil)
	out := func(row int, text string, tool *llm.ToolCall) {
		if emitErr != nil || (text == "" && tool == nil) {
			return
		}
		res.text[row] += text
		if emitErr = emit(row, text, tool); emitErr != nil {
			cancel()
		}
	}
	outToken := func(row int, tok string) {
		if emitErr == nil {
			if emitErr = spec.token(row, tok); emitErr != nil {
				cancel()
			}
		}
	}
	for more := true; more; {
		var evs []llm.Event
		evs, more = q.next(done)
		for _, ev := range evs {
			if ev.Row < 0 || ev.Row >= rows || stops[ev.Row].hit {
				continue
			}
			st := &stops[ev.Row]
			st.stops = spec.stops
			if ev.Token != "" {
				if spec.token != nil {
					outToken(ev.Row, ev.Token)
				}
				continue
			}
			if ev.Tool != nil && spec.rawTools {
				ev.Text = llm.FormatRaw(ev.Tool.Parts()) + ev.Text
			} else if ev.Tool != nil {
				out(ev.Row, st.flush(), nil)
				out(ev.Row, "", ev.Tool)
			}
			if ev.Text == "" {
				continue
			}
			sawText[ev.Row] = true
			text, hit := st.push(ev.Text)
			out(ev.Row, text, nil)
			if hit {
				if stopped++; stopped == rows {
					cancel() // every row is done: stop decoding
				}
			}
		}
	}

	// A model that returned text without streaming it still gets stop
	// sequences applied.
	for r := range rows {
		st := &stops[r]
		st.stops = spec.stops
		if !sawText[r] && r < len(rep.Rows) && rep.Rows[r].Text != "" {
			text, _ := st.push(rep.Rows[r].Text)
			out(r, text, nil)
		}
		out(r, st.flush(), nil)
		switch {
		case st.hit:
			res.finish[r] = "stop"
		case r < len(rep.Rows) && rep.Rows[r].Finish != "":
			res.finish[r] = rep.Rows[r].Finish
		default:
			res.finish[r] = "length"
		}
	}
	res.rep = rep
	switch {
	case emitErr != nil:
		res.err = emitErr
	case ctx.Err() != nil:
		res.err = ctx.Err()
	case err != nil && !(stopped == rows && errors.Is(err, context.Canceled)):
		res.err = err
	}
	return res
}

// genError turns a generation's error into an API error: the request
// timeout and shutdown become 503, a prompt longer than the context 400,
// the rest 500.
func (s *Server) genError(err error) *apiError {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: strPtr("timeout"),
			Message: fmt.Sprintf("generation exceeded the server's request timeout of %v", s.opts.RequestTimeout)}
	case s.ctx.Err() != nil:
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: strPtr("shutting_down"),
			Message: "server is shutting down"}
	case errors.Is(err, llm.ErrTooLong) || errors.Is(err, engine.ErrPromptTooLong):
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: strPtr("context_length_exceeded"),
			Message: err.Error()}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "generation failed: " + err.Error()}
}

// eventQueue carries a model's events to the handler goroutine without
// ever blocking the model.
type eventQueue struct {
	mu   sync.Mutex
	evs  []llm.Event
	wake chan struct{}
}

func (q *eventQueue) push(e llm.Event) {
	q.mu.Lock()
	q.evs = append(q.evs, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) take() []llm.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.evs
	q.evs = nil
	return evs
}

// next waits for queued events; more is false once the model has returned
// and everything it queued has been taken.
func (q *eventQueue) next(done <-chan struct{}) (evs []llm.Event, more bool) {
	for {
		if evs := q.take(); len(evs) > 0 {
			return evs, true
		}
		select {
		case <-q.wake:
		case <-done:
			return q.take(), false
		}
	}
}

// completionTokens counts a reply's generated tokens over all rows.
func completionTokens(rep llm.Reply) int {
	n, counted := 0, false
	for _, r := range rep.Rows {
		n += len(r.Tokens)
		counted = counted || r.Tokens != nil
	}
	if !counted {
		n = rep.Stats.Generated * max(len(rep.Rows), 1)
	}
	return n
}

// created is the Unix time for response objects.
func created() int64 { return time.Now().Unix() }
