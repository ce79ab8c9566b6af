// Package history stores chat sessions and their messages, with provenance
// (checkpoint, sampling settings, seed, timings) and drafts, in one embedded
// SQLite file (pure-Go driver, no cgo). Every write is its own transaction in
// WAL mode, so a killed process loses nothing that was already written.
package history

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/nanochat-go/nanochat/llm"
)

// ErrNotFound is returned when no session matches an ID or prefix.
var ErrNotFound = errors.New("no such session")

// AmbiguousError is returned by FindSession when a prefix names several sessions.
type AmbiguousError struct {
	Prefix string
	IDs    []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("session prefix %q is ambiguous: %s", e.Prefix, strings.Join(e.IDs, ", "))
}

// DB is an open history database. Its methods are safe for concurrent use;
// writes are serialised on one connection.
type DB struct {
	db   *sql.DB
	path string
	fts  bool
}

// Session is one conversation.
type Session struct {
	ID         string       `json:"id"`
	Title      string       `json:"title"`
	Created    time.Time    `json:"created"`
	Updated    time.Time    `json:"updated"`
	Checkpoint string       `json:"checkpoint,omitempty"` // last checkpoint used
	Settings   llm.Settings `json:"settings"`
	System     string       `json:"system,omitempty"` // system prompt
	Draft      string       `json:"draft,omitempty"`  // unsent input
	Messages   int          `json:"messages"`         // visible messages (listings only)
}

// Message is one turn with the provenance of how it was produced.
type Message struct {
	ID         int64         `json:"id"`
	SessionID  string        `json:"session_id"`
	Role       string        `json:"role"` // user, assistant, system; "prompt" and "completion" in completion mode
	Content    string        `json:"content"`
	Parts      []llm.Part    `json:"parts,omitempty"`
	Checkpoint string        `json:"checkpoint,omitempty"`
	Generation string        `json:"generation,omitempty"`
	Settings   *llm.Settings `json:"settings,omitempty"`
	Stats      *llm.Stats    `json:"stats,omitempty"`
	Finish     string        `json:"finish,omitempty"` // stop, length, cancelled, error
	Partial    bool          `json:"partial"`          // stopped or interrupted mid-stream
	ReplyTo    int64         `json:"reply_to,omitempty"`
	Superseded bool          `json:"superseded,omitempty"` // replaced by a regenerate or an edit
	Created    time.Time     `json:"created"`
	Updated    time.Time     `json:"updated"`
}

// DefaultPath is $NANOCHAT_HISTORY, else $XDG_DATA_HOME/nanochat/history.db,
// else ~/.local/share/nanochat/history.db.
func DefaultPath() string {
	if p := os.Getenv("NANOCHAT_HISTORY"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			h = "."
		}
		dir = filepath.Join(h, ".local", "share")
	}
	return filepath.Join(dir, "nanochat", "history.db")
}

// Open opens (creating if needed) the database at path and migrates it to
// the current schema.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open history %q: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open history %q: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	d := &DB{db: db, path: path}
	if err := d.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open history %q: %w", path, err)
	}
	return d, nil
}

// Path is the database file.
func (d *DB) Path() string { return d.path }

// FullText reports whether search uses SQLite FTS5 (else a LIKE scan).
func (d *DB) FullText() bool { return d.fts }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// NewID returns a fresh random session ID (16 hex digits).
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }

// SaveSession inserts s or updates its title, checkpoint, settings, system
// prompt and draft. An empty ID is filled with NewID; zero times with now.
func (d *DB) SaveSession(s *Session) error {
	now := time.Now()
	if s.ID == "" {
		s.ID = NewID()
	}
	if s.Created.IsZero() {
		s.Created = now
	}
	s.Updated = now
	set, err := jsonText(s.Settings)
	if err != nil {
		return err
	}
	_, err = d.db.Exec(`INSERT INTO sessions (id, title, created_at, updated_at, checkpoint, settings, system, draft)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET title=excluded.title, updated_at=excluded.updated_at,
			checkpoint=excluded.checkpoint, settings=excluded.settings, system=excluded.system, draft=excluded.draft`,
		s.ID, s.Title, ms(s.Created), ms(s.Updated), s.Checkpoint, set, s.System, s.Draft)
	if err != nil {
		return fmt.Errorf("save session %s: %w", s.ID, err)
	}
	return nil
}

// SaveDraft records the unsent input of a session (a no-op for an unknown one).
func (d *DB) SaveDraft(id, draft string) error {
	if _, err := d.db.Exec(`UPDATE sessions SET draft=? WHERE id=?`, draft, id); err != nil {
		return fmt.Errorf("save draft of session %s: %w", id, err)
	}
	return nil
}

// Rename sets a session's title.
func (d *DB) Rename(id, title string) error {
	res, err := d.db.Exec(`UPDATE sessions SET title=?, updated_at=? WHERE id=?`, title, ms(time.Now()), id)
	if err != nil {
		return fmt.Errorf("rename session %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("rename session %s: %w", id, ErrNotFound)
	}
	return nil
}

// Delete removes a session and its messages.
func (d *DB) Delete(id string) error {
	res, err := d.db.Exec(`DELETE FROM sessions WHERE id=?`, id)
	if err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete session %s: %w", id, ErrNotFound)
	}
	return nil
}

const sessionCols = `s.id, s.title, s.created_at, s.updated_at, s.checkpoint, s.settings, s.system, s.draft,
	(SELECT count(*) FROM messages m WHERE m.session_id = s.id AND m.superseded = 0)`

func scanSession(sc interface{ Scan(...any) error }) (Session, error) {
	var s Session
	var created, updated int64
	var settings string
	if err := sc.Scan(&s.ID, &s.Title, &created, &updated, &s.Checkpoint, &settings, &s.System, &s.Draft, &s.Messages); err != nil {
		return s, err
	}
	s.Created, s.Updated = fromMS(created), fromMS(updated)
	if err := fromJSON(settings, &s.Settings); err != nil {
		return s, fmt.Errorf("session %s settings: %w", s.ID, err)
	}
	return s, nil
}

// Sessions lists sessions, most recently updated first (limit ≤ 0: all).
func (d *DB) Sessions(limit int) ([]Session, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := d.db.Query(`SELECT `+sessionCols+` FROM sessions s ORDER BY s.updated_at DESC, s.rowid DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Session reads one session by its full ID.
func (d *DB) Session(id string) (Session, error) {
	s, err := scanSession(d.db.QueryRow(`SELECT `+sessionCols+` FROM sessions s WHERE s.id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	return s, err
}

// FindSession resolves an ID prefix git-style: the one session whose ID
// starts with prefix, or the most recent session when prefix is empty.
// It returns ErrNotFound or *AmbiguousError.
func (d *DB) FindSession(prefix string) (Session, error) {
	if prefix == "" {
		ss, err := d.Sessions(1)
		if err != nil {
			return Session{}, err
		}
		if len(ss) == 0 {
			return Session{}, fmt.Errorf("most recent session: %w", ErrNotFound)
		}
		return ss[0], nil
	}
	p := strings.ToLower(prefix)
	if strings.ContainsAny(p, "%_") {
		return Session{}, fmt.Errorf("session %q: %w", prefix, ErrNotFound)
	}
	rows, err := d.db.Query(`SELECT id FROM sessions WHERE id LIKE ? ORDER BY id LIMIT 6`, p+"%")
	if err != nil {
		return Session{}, fmt.Errorf("find session %q: %w", prefix, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return Session{}, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	switch len(ids) {
	case 0:
		return Session{}, fmt.Errorf("session %q: %w", prefix, ErrNotFound)
	case 1:
		return d.Session(ids[0])
	}
	return Session{}, &AmbiguousError{Prefix: prefix, IDs: ids}
}
