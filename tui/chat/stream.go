package chat

import (
	"context"
	"errors"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/history"
)

// FrameInterval is how often streamed text reaches the screen: tokens that
// arrive within one interval are coalesced into one message.
var FrameInterval = 30 * time.Millisecond

// job is everything one generation needs, copied out of the model so the
// goroutine never touches it.
type job struct {
	seq       int
	model     llm.Model
	msgs      []llm.Message // chat mode
	prompt    string        // completion mode
	complete  bool
	settings  llm.Settings
	db        *history.DB
	session   history.Session
	user      *history.Message // nil when regenerating
	reply     history.Message
	supersede []int64
}

// stream is the UI side of a running generation.
type stream struct {
	seq    int
	cancel context.CancelFunc
	out    chan tea.Msg
	first  bool // a token has arrived
	stop   bool // the user asked to stop
	start  time.Time
}

// savedMsg reports the database IDs of the turn being generated.
type savedMsg struct {
	seq             int
	userID, replyID int64
	err             error
}

// frameMsg carries the text (and calculator calls, inlined) that arrived
// during one frame.
type frameMsg struct {
	seq     int
	display string
	tools   []llm.ToolCall
}

// doneMsg ends a generation: the final reply as stored.
type doneMsg struct {
	seq   int
	reply history.Message
	err   error // the model's failure (not a stop)
	dbErr error
}

// waitFor delivers the next message from a generation.
func waitFor(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

// start launches the generation goroutine and returns the stream handle
// and the command that delivers its first message.
func start(j job) (*stream, tea.Cmd) {
	ctx, cancel := context.WithCancel(context.Background())
	st := &stream{seq: j.seq, cancel: cancel, out: make(chan tea.Msg, 1), start: time.Now()}
	go run(ctx, j, st.out)
	return st, waitFor(st.out)
}

// run is the generation goroutine: it records the turn, runs the model in
// another goroutine, coalesces its events into frames, writes the reply to
// the database before each frame is shown (so a kill loses nothing shown),
// and finally stores and reports the finished reply.
func run(ctx context.Context, j job, out chan<- tea.Msg) {
	defer close(out)
	// 1. Record the prompt and a partial reply row.
	var dbErr error
	if j.db != nil {
		dbErr = j.db.SaveSession(&j.session)
		if dbErr == nil && len(j.supersede) > 0 {
			dbErr = j.db.Supersede(j.supersede...)
		}
		if dbErr == nil && j.user != nil {
			dbErr = j.db.AppendMessage(j.user)
			j.reply.ReplyTo = j.user.ID
		}
		if dbErr == nil {
			dbErr = j.db.AppendMessage(&j.reply)
		}
	}
	saved := savedMsg{seq: j.seq, replyID: j.reply.ID, err: dbErr}
	if j.user != nil {
		saved.userID = j.user.ID
	}
	out <- saved
	persist := j.db != nil && dbErr == nil

	// 2. Run the model; events go through a channel.
	type result struct {
		rep llm.Reply
		err error
	}
	events := make(chan llm.Event, 256)
	done := make(chan result, 1)
	go func() {
		on := func(e llm.Event) {
			if e.Row == 0 {
				events <- e
			}
		}
		var r result
		if j.complete {
			r.rep, r.err = j.model.Complete(ctx, j.prompt, j.settings, on)
		} else {
			r.rep, r.err = j.model.Chat(ctx, j.msgs, j.settings, on)
		}
		done <- r
	}()

	// 3. Coalesce events into frames; the decoder keeps the reply so far
	// (text and parts) for the database.
	var pending strings.Builder
	var tools []llm.ToolCall
	reply := llm.NewDecoder(0, nil)
	add := func(e llm.Event) {
		if e.Tool != nil {
			tools = append(tools, *e.Tool)
			pending.WriteString(toolSpan(*e.Tool, j.complete))
		}
		pending.WriteString(e.Text)
		reply.Event(e)
	}
	flush := func(final bool) {
		if pending.Len() == 0 {
			return
		}
		if persist {
			row := reply.Row()
			j.reply.Content, j.reply.Parts = row.Text, row.Parts
			if err := j.db.UpdateMessage(&j.reply); err != nil && dbErr == nil {
				dbErr = err
			}
		}
		f := frameMsg{seq: j.seq, display: pending.String(), tools: tools}
		if final {
			out <- f
		} else {
			select {
			case out <- f:
			default:
				return // the UI is behind: keep coalescing
			}
		}
		pending.Reset()
		tools = nil
	}
	var tick <-chan time.Time
	last := time.Time{}
	for {
		select {
		case e := <-events:
			add(e)
			if time.Since(last) >= FrameInterval {
				flush(false)
				last = time.Now()
			} else if tick == nil {
				tick = time.After(FrameInterval - time.Since(last))
			}
		case <-tick:
			tick = nil
			flush(false)
			last = time.Now()
		case r := <-done:
			for drained := false; !drained; {
				select {
				case e := <-events:
					add(e)
				default:
					drained = true
				}
			}
			flush(true)
			finish(j, r.rep, r.err, ctx, reply.Finish(), persist, dbErr, out)
			return
		}
	}
}

// finish stores the final reply and reports it: the model's first row or,
// when it returned none, what streamed.
func finish(j job, rep llm.Reply, err error, ctx context.Context, streamed llm.Row, persist bool, dbErr error, out chan<- tea.Msg) {
	r := j.reply
	stopped := ctx.Err() != nil || errors.Is(err, context.Canceled)
	r.Settle(streamed, rep, err != nil, stopped)
	if stopped {
		err = nil
	}
	if persist {
		if e := j.db.UpdateMessage(&r); e != nil && dbErr == nil {
			dbErr = e
		}
	}
	out <- doneMsg{seq: j.seq, reply: r, err: err, dbErr: dbErr}
}
