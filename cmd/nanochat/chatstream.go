package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/termsafe"
)

// frameInterval is how often a streaming reply is written to the history
// and printed: what arrives within one interval goes out together.
const frameInterval = 30 * time.Millisecond

// replyStream prints a reply as it streams and records it in the history
// as it goes, like the TUI: each frame is written to the database before
// it is printed, so killing the process loses nothing that was shown.
// Events are handled on a goroutine of their own, so neither the database
// nor the terminal slows the model down.
type replyStream struct {
	w     io.Writer // the command's stdout, for our own styling
	text  io.Writer // w for the model's text (termsafe on a terminal)
	flush func()    // writes what text holds back
	tty   bool
	print bool // print the reply (not with --json)
	raw   bool // print calculator calls as the model wrote them (--raw)

	log   *chatLog         // nil: not recorded
	reply *history.Message // the partial reply row (log != nil)
	dbErr error

	dec    *llm.Decoder
	events chan llm.Event
	done   chan struct{}
}

// streamOptions say what a replyStream shows.
type streamOptions struct {
	print bool // print the reply
	// raw prints calculator calls with their special tokens
	// (<|python_start|>12*7<|python_end|><|output_start|>84<|output_end|>)
	// instead of as [12*7 → 84].
	raw bool
}

// startReply starts recording and printing a reply to w. With log set, the
// reply row is created now (partial, empty) and rewritten as text arrives.
func startReply(w io.Writer, o streamOptions, log *chatLog, userID int64, info llm.Info, s llm.Settings) (*replyStream, error) {
	text, flush := untrusted(w)
	r := &replyStream{w: w, text: text, flush: flush, tty: onTerminal(w), print: o.print, raw: o.raw,
		log: log, dec: llm.NewDecoder(0, nil), events: make(chan llm.Event, 1024), done: make(chan struct{})}
	if log != nil {
		reply, err := log.begin(userID, info, s)
		if err != nil {
			return nil, err
		}
		r.reply = reply
	}
	go r.loop()
	return r, nil
}

// on is the model's event callback.
func (r *replyStream) on(e llm.Event) {
	if e.Row == 0 {
		r.events <- e
	}
}

// loop coalesces events into frames: the reply so far goes to the
// database, then the frame's text to the terminal.
func (r *replyStream) loop() {
	defer close(r.done)
	var pending []llm.Event
	var tick <-chan time.Time
	var last time.Time
	frame := func() {
		if len(pending) == 0 {
			return
		}
		if r.log != nil && r.dbErr == nil {
			row := r.dec.Row()
			r.reply.Content, r.reply.Parts = row.Text, row.Parts
			r.dbErr = r.log.update(r.reply)
		}
		for _, e := range pending {
			r.show(e)
		}
		pending = pending[:0]
		last = time.Now()
	}
	for {
		select {
		case e, ok := <-r.events:
			if !ok {
				frame()
				r.flush()
				return
			}
			r.dec.Event(e)
			pending = append(pending, e)
			if d := time.Since(last); d >= frameInterval {
				frame()
			} else if tick == nil {
				tick = time.After(frameInterval - d)
			}
		case <-tick:
			tick = nil
			frame()
		}
	}
}

// show prints one event: the model's text (made visible on a terminal)
// and a calculator call where the model made it, as a chip: [12*7 → 84]
// (dim on a terminal, plain text elsewhere), or with --raw as the special
// tokens the model wrote.
func (r *replyStream) show(e llm.Event) {
	if !r.print {
		return
	}
	if tc := e.Tool; tc != nil {
		switch {
		case r.raw:
			io.WriteString(r.text, llm.FormatRaw(tc.Parts()))
		case r.tty:
			r.flush()
			fmt.Fprintf(r.w, "\x1b[2m%s\x1b[0m", termsafe.String(history.PlainChip(*tc)))
		default:
			io.WriteString(r.text, history.PlainChip(*tc))
		}
	}
	if e.Text != "" {
		io.WriteString(r.text, e.Text)
	}
}

// finish waits for the last frame and records the reply as it ended: the
// model's own row when it returned one, else what streamed; stopped (ctx
// ended or cancelled) and failed replies stay marked partial. It returns
// the history's error, if any.
func (r *replyStream) finish(ctx context.Context, rep llm.Reply, err error) error {
	close(r.events)
	<-r.done
	if r.log == nil {
		return nil
	}
	if r.dbErr != nil {
		return r.dbErr
	}
	m := r.reply
	m.Settle(r.dec.Finish(), rep, err != nil, ctx.Err() != nil || errors.Is(err, context.Canceled))
	return r.log.update(m)
}

// printHistory shows the conversation so far (chat --continue in a
// terminal), its text made visible on a terminal.
func printHistory(w io.Writer, msgs []llm.Message) {
	text, flush := untrusted(w)
	defer flush()
	for _, msg := range msgs {
		if msg.Role != "system" {
			fmt.Fprintf(text, "\n%s: %s\n", strings.ToUpper(msg.Role[:1])+msg.Role[1:], history.Inline(msg.Content, msg.Parts, history.PlainChip))
		}
	}
}
