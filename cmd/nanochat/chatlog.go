package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/history"
)

// chatLog records CLI conversations in the same history database as the
// TUI, so `chat --continue` and the app's session list see them.
type chatLog struct {
	db      *history.DB
	session history.Session
}

// openChatLog opens the history and either continues the session whose id
// starts with prefix (cont; "" = the most recent) or starts a new one. It
// returns the conversation so far.
func openChatLog(path string, cont bool, prefix string, s llm.Settings, system string) (*chatLog, []llm.Message, error) {
	if path == "" {
		path = history.DefaultPath()
	}
	db, err := history.Open(path)
	if err != nil {
		return nil, nil, err
	}
	cl := &chatLog{db: db}
	if !cont {
		cl.session = history.Session{Settings: s, System: system}
		if err := db.SaveSession(&cl.session); err != nil {
			db.Close()
			return nil, nil, err
		}
		return cl, systemPrompt(system), nil
	}
	sess, err := db.FindSession(prefix)
	if errors.Is(err, history.ErrNotFound) {
		db.Close()
		if prefix == "" {
			return nil, nil, usageError{fmt.Errorf("--continue: no saved sessions in %s", path)}
		}
		return nil, nil, usageError{fmt.Errorf("--continue %s: no session with that id prefix (see nanochat sessions list)", prefix)}
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	cl.session = sess
	stored, err := db.Messages(sess.ID)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if system == "" {
		system = sess.System
	}
	msgs := systemPrompt(system)
	for _, m := range stored {
		n := len(msgs)
		switch {
		case m.Role == "assistant" && m.Content == "" && len(m.Parts) == 0:
			// A reply stopped or killed before its first token.
		case m.Role == "user" && n > 0 && msgs[n-1].Role == "user":
			// The turn before got no reply: the model expects turns to
			// alternate, so the two are one turn (as the TUI does).
			msgs[n-1].Content += "\n\n" + m.Content
		case m.Role == "user", m.Role == "assistant":
			msgs = append(msgs, llm.Message{Role: m.Role, Content: m.Content, Parts: m.Parts})
		}
	}
	// A reply that never came (killed process) leaves a trailing user
	// message: drop it, the new prompt follows.
	if n := len(msgs); n > 0 && msgs[n-1].Role == "user" {
		msgs = msgs[:n-1]
	}
	return cl, msgs, nil
}

// user records a prompt before generation starts.
func (cl *chatLog) user(text string) (int64, error) {
	m := history.Message{SessionID: cl.session.ID, Role: "user", Content: text}
	err := cl.db.AppendMessage(&m)
	return m.ID, err
}

// begin records a reply about to stream: an assistant message, marked
// partial, that the stream rewrites as text arrives (update), so a killed
// process keeps everything it printed. It also notes the checkpoint on the
// session.
func (cl *chatLog) begin(userID int64, info llm.Info, s llm.Settings) (*history.Message, error) {
	if cl.session.Checkpoint != info.Name {
		sess, err := cl.db.Session(cl.session.ID) // fresh: titles are set by the store
		if err != nil {
			return nil, err
		}
		sess.Checkpoint = info.Name
		if err := cl.db.SaveSession(&sess); err != nil {
			return nil, err
		}
		cl.session = sess
	}
	m := &history.Message{SessionID: cl.session.ID, Role: "assistant", Checkpoint: info.Name,
		Generation: info.Generation, Settings: &s, Partial: true, ReplyTo: userID}
	return m, cl.db.AppendMessage(m)
}

// update rewrites a reply recorded by begin.
func (cl *chatLog) update(m *history.Message) error { return cl.db.UpdateMessage(m) }

func (cl *chatLog) note(w io.Writer) {
	id := cl.session.ID
	fmt.Fprintf(w, "nanochat: session %s (continue with: nanochat chat --continue %s)\n", id, id[:min(8, len(id))])
}

func (cl *chatLog) Close() error { return cl.db.Close() }
