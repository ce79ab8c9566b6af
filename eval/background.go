package eval

import (
	"context"

	"github.com/nanochat-go/nanochat/llm"
)

// Handle is a run in the background (for the TUI).
type Handle struct {
	events chan Event
	done   chan struct{}
	cancel context.CancelFunc
	rep    *Report
	err    error
}

// Start runs Run in a new goroutine. Events arrive on Events() in order
// and the channel is closed when the run ends; a consumer must drain it
// (the run waits for a slow reader rather than drop events).
func Start(ctx context.Context, m llm.Model, cfg Config) *Handle {
	ctx, cancel := context.WithCancel(ctx)
	h := &Handle{events: make(chan Event, 256), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(h.done)
		defer close(h.events)
		h.rep, h.err = Run(ctx, m, cfg, func(e Event) { h.events <- e })
		cancel()
	}()
	return h
}

// Events is the progress stream.
func (h *Handle) Events() <-chan Event { return h.events }

// Stop cancels the run; finished items stay stored.
func (h *Handle) Stop() { h.cancel() }

// Done is closed when the run has ended.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Wait blocks until the run ends and returns its report.
func (h *Handle) Wait() (*Report, error) {
	<-h.done
	return h.rep, h.err
}
