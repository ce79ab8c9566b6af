package history

import (
	"fmt"
	"strings"
	"unicode"
)

// Hit is a session matching a search, with where it matched.
type Hit struct {
	Session   Session
	MessageID int64  // 0 when only the title matched
	Snippet   string // matched text with the terms in [brackets]
}

// Search finds sessions whose title or messages contain every word of q
// (prefix match per word with FTS5), best matches first, one hit per
// session. An empty q lists recent sessions.
func (d *DB) Search(q string, limit int) ([]Hit, error) {
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if limit <= 0 {
		limit = 50
	}
	if len(words) == 0 {
		ss, err := d.Sessions(limit)
		hits := make([]Hit, len(ss))
		for i, s := range ss {
			hits[i] = Hit{Session: s}
		}
		return hits, err
	}
	type match struct {
		id      string
		msg     int64
		snippet string
	}
	var found []match
	seen := map[string]bool{}
	add := func(m match) {
		if !seen[m.id] {
			seen[m.id] = true
			found = append(found, m)
		}
	}
	// Titles first.
	titleWhere, titleArgs := likeAll("title", words)
	rows, err := d.db.Query(`SELECT id, title FROM sessions WHERE `+titleWhere+` ORDER BY updated_at DESC`, titleArgs...)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", q, err)
	}
	for rows.Next() {
		var m match
		if err := rows.Scan(&m.id, &m.snippet); err != nil {
			rows.Close()
			return nil, err
		}
		add(m)
	}
	rows.Close()
	// Then message text.
	var query string
	var args []any
	if d.fts {
		terms := make([]string, len(words))
		for i, w := range words {
			terms[i] = `"` + w + `"*`
		}
		query = `SELECT m.session_id, m.id, snippet(messages_fts, 0, '[', ']', '…', 10)
			FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
			WHERE messages_fts MATCH ? AND m.superseded = 0 ORDER BY rank LIMIT 500`
		args = []any{strings.Join(terms, " ")}
	} else {
		where, a := likeAll("content", words)
		query = `SELECT session_id, id, substr(content, 1, 80) FROM messages
			WHERE superseded = 0 AND ` + where + ` ORDER BY updated_at DESC LIMIT 500`
		args = a
	}
	rows, err = d.db.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", q, err)
	}
	for rows.Next() {
		var m match
		if err := rows.Scan(&m.id, &m.msg, &m.snippet); err != nil {
			rows.Close()
			return nil, err
		}
		add(m)
	}
	rows.Close()
	var hits []Hit
	for _, m := range found {
		if len(hits) == limit {
			break
		}
		s, err := d.Session(m.id)
		if err != nil {
			return nil, err
		}
		hits = append(hits, Hit{Session: s, MessageID: m.msg, Snippet: strings.Join(strings.Fields(m.snippet), " ")})
	}
	return hits, nil
}

// likeAll is "col LIKE %w1% AND col LIKE %w2% …" with LIKE's wildcards escaped.
func likeAll(col string, words []string) (string, []any) {
	conds := make([]string, len(words))
	args := make([]any, len(words))
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	for i, w := range words {
		conds[i] = col + ` LIKE ? ESCAPE '\'`
		args[i] = "%" + r.Replace(w) + "%"
	}
	return strings.Join(conds, " AND "), args
}
