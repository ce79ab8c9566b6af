// Package store keeps evaluation results in one embedded SQLite file
// (pure-Go driver): a row per finished item, written the moment the item
// finishes and keyed by checkpoint digest, task, settings and the item's
// content, so a killed run resumes where it stopped and an identical rerun
// is served from disk; plus a log of runs for listings.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is an open results database, safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
}

// DefaultPath is $NANOCHAT_EVAL_DB, else $XDG_DATA_HOME/nanochat/evals.db,
// else ~/.local/share/nanochat/evals.db.
func DefaultPath() string {
	if p := os.Getenv("NANOCHAT_EVAL_DB"); p != "" {
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
	return filepath.Join(dir, "nanochat", "evals.db")
}

const schema = `
CREATE TABLE IF NOT EXISTS results (
	digest      TEXT NOT NULL,
	task        TEXT NOT NULL,
	settings    TEXT NOT NULL,
	item_key    TEXT NOT NULL,
	idx         INTEGER NOT NULL,
	row         INTEGER NOT NULL,
	pass        INTEGER NOT NULL,
	correct     INTEGER NOT NULL,
	samples     INTEGER NOT NULL,
	predicted   TEXT NOT NULL,
	gold        TEXT NOT NULL,
	outputs     TEXT NOT NULL,
	prompt_tokens INTEGER NOT NULL,
	gen_tokens  INTEGER NOT NULL,
	duration_ms REAL NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (digest, task, settings, item_key)
);
CREATE TABLE IF NOT EXISTS runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	checkpoint  TEXT NOT NULL,
	digest      TEXT NOT NULL,
	task        TEXT NOT NULL,
	settings    TEXT NOT NULL,
	data        TEXT NOT NULL,
	total       INTEGER NOT NULL,
	done        INTEGER NOT NULL,
	passed      INTEGER NOT NULL,
	cached      INTEGER NOT NULL,
	status      TEXT NOT NULL,
	started_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
`

// Open opens (creating if needed) the database at path.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open eval store %q: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open eval store %q: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open eval store %q: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Key selects the results of one checkpoint on one task under one setting.
type Key struct {
	Digest   string `json:"digest"`   // checkpoint digest
	Task     string `json:"task"`     // task ID
	Settings string `json:"settings"` // canonical settings string
}

// Output is one sample of an item.
type Output struct {
	Text      string `json:"text"` // the raw completion (or the chosen letter)
	Pass      bool   `json:"pass"`
	Extracted string `json:"extracted,omitempty"`
	Detail    string `json:"detail,omitempty"`
	Finish    string `json:"finish,omitempty"`
}

// Result is one finished item.
type Result struct {
	Key
	ItemKey      string        `json:"item_key"`
	Index        int           `json:"index"` // position in upstream's order
	Row          int           `json:"row"`   // row in the data file
	Pass         bool          `json:"pass"`  // any sample passed (upstream's outcome)
	Correct      int           `json:"correct"`
	Samples      int           `json:"samples"`
	Predicted    string        `json:"predicted"` // first sample's extracted answer
	Gold         string        `json:"gold"`
	Outputs      []Output      `json:"outputs"`
	PromptTokens int           `json:"prompt_tokens"`
	GenTokens    int           `json:"gen_tokens"`
	Duration     time.Duration `json:"duration_ns"`
	Created      time.Time     `json:"created"`
}

// Put records a finished item (replacing an older result for the same key).
func (s *Store) Put(ctx context.Context, r Result) error {
	out, err := json.Marshal(r.Outputs)
	if err != nil {
		return err
	}
	if r.Created.IsZero() {
		r.Created = time.Now()
	}
	_, err = s.db.ExecContext(context.WithoutCancel(ctx), `INSERT OR REPLACE INTO results
		(digest, task, settings, item_key, idx, row, pass, correct, samples, predicted, gold, outputs,
		 prompt_tokens, gen_tokens, duration_ms, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Digest, r.Task, r.Settings, r.ItemKey, r.Index, r.Row, r.Pass, r.Correct, r.Samples, r.Predicted, r.Gold, string(out),
		r.PromptTokens, r.GenTokens, float64(r.Duration.Microseconds())/1000, r.Created.UnixMilli())
	if err != nil {
		return fmt.Errorf("store result %s/%s: %w", r.Task, r.ItemKey, err)
	}
	return nil
}

// Results returns every stored result under k, by item key.
func (s *Store) Results(ctx context.Context, k Key) (map[string]Result, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT item_key, idx, row, pass, correct, samples, predicted, gold, outputs,
		prompt_tokens, gen_tokens, duration_ms, created_at FROM results WHERE digest = ? AND task = ? AND settings = ?`,
		k.Digest, k.Task, k.Settings)
	if err != nil {
		return nil, fmt.Errorf("load results %s: %w", k.Task, err)
	}
	defer rows.Close()
	out := map[string]Result{}
	for rows.Next() {
		r := Result{Key: k}
		var outputs string
		var durMS float64
		var created int64
		if err := rows.Scan(&r.ItemKey, &r.Index, &r.Row, &r.Pass, &r.Correct, &r.Samples, &r.Predicted, &r.Gold, &outputs,
			&r.PromptTokens, &r.GenTokens, &durMS, &created); err != nil {
			return nil, fmt.Errorf("load results %s: %w", k.Task, err)
		}
		if err := json.Unmarshal([]byte(outputs), &r.Outputs); err != nil {
			return nil, fmt.Errorf("load results %s: item %s: %w", k.Task, r.ItemKey, err)
		}
		r.Duration = time.Duration(durMS * float64(time.Millisecond))
		r.Created = time.UnixMilli(created)
		out[r.ItemKey] = r
	}
	return out, rows.Err()
}

// Run is one evaluation of one task, as listed by "nanochat eval runs".
type Run struct {
	ID         int64     `json:"id"`
	Checkpoint string    `json:"checkpoint"` // e.g. sft/d20/650
	Key                  // digest, task, settings
	Data       string    `json:"data"` // where the items came from
	Total      int       `json:"total"`
	Done       int       `json:"done"`
	Passed     int       `json:"passed"`
	Cached     int       `json:"cached"` // of Done, served from the store
	Status     string    `json:"status"` // running, done, cancelled, failed
	Started    time.Time `json:"started"`
	Updated    time.Time `json:"updated"`
}

// StartRun logs a new run and returns its ID.
func (s *Store) StartRun(ctx context.Context, r Run) (int64, error) {
	now := time.Now().UnixMilli()
	res, err := s.db.ExecContext(ctx, `INSERT INTO runs (checkpoint, digest, task, settings, data, total, done, passed, cached, status, started_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
		r.Checkpoint, r.Digest, r.Task, r.Settings, r.Data, r.Total, r.Done, r.Passed, r.Cached, now, now)
	if err != nil {
		return 0, fmt.Errorf("log run: %w", err)
	}
	return res.LastInsertId()
}

// UpdateRun records a run's progress and status.
func (s *Store) UpdateRun(ctx context.Context, id int64, done, passed, cached int, status string) error {
	_, err := s.db.ExecContext(context.WithoutCancel(ctx), `UPDATE runs SET done = ?, passed = ?, cached = ?, status = ?, updated_at = ? WHERE id = ?`,
		done, passed, cached, status, time.Now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("log run %d: %w", id, err)
	}
	return nil
}

// Runs lists the most recent runs first (limit ≤ 0: all).
func (s *Store) Runs(ctx context.Context, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, checkpoint, digest, task, settings, data, total, done, passed, cached, status,
		started_at, updated_at FROM runs ORDER BY started_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started, updated int64
		if err := rows.Scan(&r.ID, &r.Checkpoint, &r.Digest, &r.Task, &r.Settings, &r.Data, &r.Total, &r.Done, &r.Passed,
			&r.Cached, &r.Status, &started, &updated); err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		r.Started, r.Updated = time.UnixMilli(started), time.UnixMilli(updated)
		out = append(out, r)
	}
	return out, rows.Err()
}
