package history

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nanochat-go/nanochat/llm"
)

// AppendMessage writes m to its session (which must exist) and fills m.ID.
// It also bumps the session's updated time and, for a session without a
// title, titles it after the first user message.
func (d *DB) AppendMessage(m *Message) error {
	now := time.Now()
	if m.Created.IsZero() {
		m.Created = now
	}
	m.Updated = now
	a, err := messageArgs(m)
	if err != nil {
		return err
	}
	tx, err := d.db.Begin()
	if err != nil {
		return fmt.Errorf("append message to session %s: %w", m.SessionID, err)
	}
	defer tx.Rollback()
	res, err := tx.Exec(`INSERT INTO messages (session_id, role, content, parts, checkpoint, generation, settings, seed,
			stats, finish, partial, reply_to, superseded, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.SessionID, m.Role, m.Content, a.parts, m.Checkpoint, m.Generation, a.settings, a.seed,
		a.stats, m.Finish, m.Partial, nullID(m.ReplyTo), m.Superseded, ms(m.Created), ms(m.Updated))
	if err != nil {
		return fmt.Errorf("append message to session %s: %w", m.SessionID, err)
	}
	if m.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	title := ""
	if m.Role == "user" || m.Role == "prompt" {
		title = Title(m.Content)
	}
	if _, err := tx.Exec(`UPDATE sessions SET updated_at=?, title=CASE WHEN title='' THEN ? ELSE title END WHERE id=?`,
		ms(now), title, m.SessionID); err != nil {
		return fmt.Errorf("append message to session %s: %w", m.SessionID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append message to session %s: %w", m.SessionID, err)
	}
	return nil
}

// UpdateMessage rewrites the content, parts, stats, finish and partial flag of
// a message written earlier (a reply as it streams and when it ends).
func (d *DB) UpdateMessage(m *Message) error {
	m.Updated = time.Now()
	a, err := messageArgs(m)
	if err != nil {
		return err
	}
	_, err = d.db.Exec(`UPDATE messages SET content=?, parts=?, stats=?, finish=?, partial=?, updated_at=? WHERE id=?`,
		m.Content, a.parts, a.stats, m.Finish, m.Partial, ms(m.Updated), m.ID)
	if err != nil {
		return fmt.Errorf("update message %d: %w", m.ID, err)
	}
	return nil
}

// Supersede hides messages replaced by a regenerate or an edit; they stay
// in the database (AllMessages) but no longer belong to the conversation.
func (d *DB) Supersede(ids ...int64) error {
	for _, id := range ids {
		if _, err := d.db.Exec(`UPDATE messages SET superseded=1 WHERE id=?`, id); err != nil {
			return fmt.Errorf("supersede message %d: %w", id, err)
		}
	}
	return nil
}

// Messages returns the conversation of a session in order (superseded
// messages left out).
func (d *DB) Messages(sessionID string) ([]Message, error) {
	return d.messages(sessionID, `AND superseded=0`)
}

// AllMessages returns every message of a session, superseded ones included.
func (d *DB) AllMessages(sessionID string) ([]Message, error) {
	return d.messages(sessionID, "")
}

func (d *DB) messages(sessionID, filter string) ([]Message, error) {
	rows, err := d.db.Query(`SELECT id, session_id, role, content, parts, checkpoint, generation, settings, stats,
			finish, partial, coalesce(reply_to, 0), superseded, created_at, updated_at
		FROM messages WHERE session_id=? `+filter+` ORDER BY id`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("read messages of session %s: %w", sessionID, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var parts, settings, stats string
		var created, updated int64
		if err := rows.Scan(&m.ID, &m.SessionID, &m.Role, &m.Content, &parts, &m.Checkpoint, &m.Generation,
			&settings, &stats, &m.Finish, &m.Partial, &m.ReplyTo, &m.Superseded, &created, &updated); err != nil {
			return nil, fmt.Errorf("read messages of session %s: %w", sessionID, err)
		}
		m.Created, m.Updated = fromMS(created), fromMS(updated)
		if err := fromJSON(parts, &m.Parts); err != nil {
			return nil, fmt.Errorf("message %d parts: %w", m.ID, err)
		}
		if settings != "" {
			m.Settings = new(llm.Settings)
			if err := fromJSON(settings, m.Settings); err != nil {
				return nil, fmt.Errorf("message %d settings: %w", m.ID, err)
			}
		}
		if stats != "" {
			m.Stats = new(llm.Stats)
			if err := fromJSON(stats, m.Stats); err != nil {
				return nil, fmt.Errorf("message %d stats: %w", m.ID, err)
			}
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

type msgArgs struct {
	parts, settings, stats string
	seed                   sql.NullInt64
}

func messageArgs(m *Message) (msgArgs, error) {
	var a msgArgs
	var err error
	if len(m.Parts) > 0 {
		if a.parts, err = jsonText(m.Parts); err != nil {
			return a, err
		}
	}
	if m.Settings != nil {
		if a.settings, err = jsonText(m.Settings); err != nil {
			return a, err
		}
		a.seed = sql.NullInt64{Int64: int64(m.Settings.Seed), Valid: true}
	}
	if m.Stats != nil {
		if a.stats, err = jsonText(m.Stats); err != nil {
			return a, err
		}
	}
	return a, nil
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

func fromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// Title makes a session title from a first prompt: its first line, at most
// 60 characters.
func Title(prompt string) string {
	line := prompt
	for i, r := range prompt {
		if r == '\n' {
			line = prompt[:i]
			break
		}
	}
	r := []rune(line)
	if len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return line
}

// Settle records how a reply saved as it streamed ended: its text and
// parts are the model's first row, or what streamed when the model
// returned none; Finish is "cancelled" when stopped, "error" when failed,
// else the row's own finish ("stop" when it gave none); a cancelled or
// failed reply is Partial. The CLI and the app call it before the last
// update of the row.
func (m *Message) Settle(streamed llm.Row, rep llm.Reply, failed, stopped bool) {
	m.Content, m.Parts, m.Finish = streamed.Text, streamed.Parts, ""
	if len(rep.Rows) > 0 {
		row := rep.Rows[0]
		m.Content, m.Finish = row.Text, row.Finish
		if len(row.Parts) > 0 {
			m.Parts = row.Parts
		}
	}
	stats := rep.Stats
	m.Stats = &stats
	switch {
	case stopped:
		m.Finish = "cancelled"
	case failed:
		m.Finish = "error"
	case m.Finish == "":
		m.Finish = "stop"
	}
	m.Partial = m.Finish == "cancelled" || m.Finish == "error"
}
