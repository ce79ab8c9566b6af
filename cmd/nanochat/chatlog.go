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
		switch m.Role {
		case "user", "assistant":
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

// reply records a finished (or stopped) reply.
func (cl *chatLog) reply(userID int64, info llm.Info, s llm.Settings, rep llm.Reply) error {
	if len(rep.Rows) == 0 {
		return nil
	}
	row := rep.Rows[0]
	stats := rep.Stats
	if cl.session.Checkpoint != info.Name {
		sess, err := cl.db.Session(cl.session.ID) // fresh: titles are set by the store
		if err != nil {
			return err
		}
		sess.Checkpoint = info.Name
		if err := cl.db.SaveSession(&sess); err != nil {
			return err
		}
		cl.session = sess
	}
	return cl.db.AppendMessage(&history.Message{SessionID: cl.session.ID, Role: "assistant", Content: row.Text,
		Parts: row.Parts, Checkpoint: info.Name, Generation: info.Generation, Settings: &s, Stats: &stats,
		Finish: row.Finish, Partial: row.Finish == "cancelled", ReplyTo: userID})
}

func (cl *chatLog) note(w io.Writer) {
	id := cl.session.ID
	fmt.Fprintf(w, "nanochat: session %s (continue with: nanochat chat --continue %s)\n", id, id[:min(8, len(id))])
}

func (cl *chatLog) Close() error { return cl.db.Close() }
