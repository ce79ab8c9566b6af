package history

import (
	"fmt"
	"strings"
)

// migrations are applied in order; the database's user_version counts how
// many already ran. Append only: never edit a released step.
var migrations = []func(d *DB) []string{
	// 1: sessions and messages with provenance.
	func(*DB) []string {
		return []string{
			`CREATE TABLE sessions (
				id         TEXT PRIMARY KEY,
				title      TEXT NOT NULL DEFAULT '',
				created_at INTEGER NOT NULL,
				updated_at INTEGER NOT NULL,
				checkpoint TEXT NOT NULL DEFAULT '',
				settings   TEXT NOT NULL DEFAULT '',
				system     TEXT NOT NULL DEFAULT '',
				draft      TEXT NOT NULL DEFAULT ''
			)`,
			`CREATE TABLE messages (
				id         INTEGER PRIMARY KEY AUTOINCREMENT,
				session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
				role       TEXT NOT NULL,
				content    TEXT NOT NULL DEFAULT '',
				parts      TEXT NOT NULL DEFAULT '',
				checkpoint TEXT NOT NULL DEFAULT '',
				generation TEXT NOT NULL DEFAULT '',
				settings   TEXT NOT NULL DEFAULT '',
				seed       INTEGER,
				stats      TEXT NOT NULL DEFAULT '',
				finish     TEXT NOT NULL DEFAULT '',
				partial    INTEGER NOT NULL DEFAULT 0,
				reply_to   INTEGER,
				superseded INTEGER NOT NULL DEFAULT 0,
				created_at INTEGER NOT NULL,
				updated_at INTEGER NOT NULL
			)`,
			`CREATE INDEX messages_session ON messages(session_id, id)`,
			`CREATE INDEX sessions_updated ON sessions(updated_at)`,
		}
	},
	// 2: full-text search over message text, kept in sync by triggers
	// (skipped when the SQLite build lacks FTS5; search then scans with LIKE).
	func(d *DB) []string {
		if !d.probeFTS5() {
			return nil
		}
		return []string{
			`CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id')`,
			`CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
				INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
			END`,
			`CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
				INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
			END`,
			`CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages BEGIN
				INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
				INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
			END`,
			`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`,
		}
	},
}

// SchemaVersion is the user_version of a fully migrated database.
var SchemaVersion = len(migrations)

func (d *DB) probeFTS5() bool {
	_, err := d.db.Exec(`CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(x)`)
	if err != nil {
		return false
	}
	_, _ = d.db.Exec(`DROP TABLE temp.fts5_probe`)
	return true
}

func (d *DB) version() (int, error) {
	var v int
	err := d.db.QueryRow(`PRAGMA user_version`).Scan(&v)
	return v, err
}

// migrate runs the steps past the database's user_version, each in one
// transaction together with the version bump.
func (d *DB) migrate() error {
	v, err := d.version()
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this nanochat understands (%d): upgrade nanochat", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		stmts := migrations[i](d)
		tx, err := d.db.Begin()
		if err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		for _, s := range append(stmts, fmt.Sprintf(`PRAGMA user_version = %d`, i+1)) {
			if _, err := tx.Exec(s); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %d: %s: %w", i+1, strings.Fields(s)[0], err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	var n int
	if err := d.db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name='messages_fts'`).Scan(&n); err != nil {
		return err
	}
	d.fts = n > 0
	return nil
}
