package history

import (
	"bytes"
	"database/sql"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/llm"
)

var update = flag.Bool("update", false, "rewrite golden files")

func open(t *testing.T, path string) *DB {
	t.Helper()
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// seed writes a two-turn session and returns it.
func seed(t *testing.T, d *DB) Session {
	t.Helper()
	s := Session{ID: "0123456789abcdef", Settings: llm.DefaultSettings(), Checkpoint: "sft/d20/650",
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := d.SaveSession(&s); err != nil {
		t.Fatal(err)
	}
	set := llm.DefaultSettings()
	msgs := []Message{
		{Role: "user", Content: "What is the capital of France?\nAnswer briefly."},
		{Role: "assistant", Content: "The capital of France is **Paris**.", Checkpoint: "sft/d20/650", Generation: "A7",
			Settings: &set, Stats: &llm.Stats{PromptTokens: 12, Generated: 8, TokensPerSec: 41.25}, Finish: "stop"},
		{Role: "user", Content: "And 123*45?"},
		{Role: "assistant", Content: "It is 5535", Checkpoint: "sft/d20/650", Generation: "A7", Settings: &set,
			Parts: []llm.Part{{Type: "python", Text: "123*45"}, {Type: "python_output", Text: "5535"}, {Type: "text", Text: "It is 5535"}},
			Stats: &llm.Stats{Generated: 3, TokensPerSec: 20}, Finish: "cancelled", Partial: true},
	}
	for i := range msgs {
		msgs[i].SessionID = s.ID
		msgs[i].Created = time.Date(2026, 1, 2, 3, 4, 6+i, 0, time.UTC)
		if err := d.AppendMessage(&msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	// A database left at schema 1 with data in it, as an older nanochat wrote it.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(migrations[0](nil), `PRAGMA user_version = 1`,
		`INSERT INTO sessions (id, title, created_at, updated_at) VALUES ('aaaa', 'old', 1, 1)`,
		`INSERT INTO messages (session_id, role, content, created_at, updated_at) VALUES ('aaaa', 'user', 'penguins waddle', 1, 1)`) {
		if _, err := raw.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	d := open(t, path)
	if v, _ := d.version(); v != SchemaVersion {
		t.Fatalf("user_version = %d, want %d", v, SchemaVersion)
	}
	if !d.FullText() {
		t.Fatal("FTS5 unavailable in modernc.org/sqlite: search falls back to LIKE")
	}
	hits, err := d.Search("pengu", 10)
	if err != nil || len(hits) != 1 || hits[0].Session.ID != "aaaa" {
		t.Fatalf("search over pre-migration rows = %+v, %v; want session aaaa", hits, err)
	}
	d.Close()
	// Reopening is a no-op; a newer schema is refused.
	d = open(t, path)
	if _, err := d.db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open of schema 99: err = %v, want 'newer'", err)
	}
}

func TestAppendReopenReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	d := open(t, path)
	s := seed(t, d)
	d.Close()

	d = open(t, path)
	got, err := d.Session(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "What is the capital of France?" || got.Messages != 4 || got.Settings != llm.DefaultSettings() {
		t.Errorf("session = %+v", got)
	}
	msgs, err := d.Messages(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 {
		t.Fatalf("got %d messages, want 4", len(msgs))
	}
	last := msgs[3]
	if !last.Partial || last.Finish != "cancelled" || last.Settings.Seed != 42 || len(last.Parts) != 3 || last.Stats.Generated != 3 {
		t.Errorf("last message = %+v", last)
	}
	// Supersede hides from Messages but keeps in AllMessages.
	if err := d.Supersede(last.ID); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := d.Messages(s.ID); len(msgs) != 3 {
		t.Errorf("after supersede: %d messages, want 3", len(msgs))
	}
	if all, _ := d.AllMessages(s.ID); len(all) != 4 || !all[3].Superseded {
		t.Errorf("AllMessages = %d (superseded %v), want 4 with the last superseded", len(all), all[3].Superseded)
	}
}

// TestKilledMidStream runs a child process that writes a streaming reply
// the way the TUI does (partial row, then updates) and dies without closing
// the database; everything it wrote must be readable afterwards.
func TestKilledMidStream(t *testing.T) {
	if path := os.Getenv("HISTORY_KILL_CHILD"); path != "" {
		d, err := Open(path)
		if err != nil {
			os.Exit(3)
		}
		s := Session{ID: "feedface00000000"}
		d.SaveSession(&s)
		d.AppendMessage(&Message{SessionID: s.ID, Role: "user", Content: "tell me a story"})
		m := Message{SessionID: s.ID, Role: "assistant", Partial: true}
		d.AppendMessage(&m)
		for _, w := range []string{"Once ", "upon ", "a ", "time"} {
			m.Content += w
			d.UpdateMessage(&m)
		}
		os.Exit(7) // no Close, no final update: killed mid-stream
	}
	path := filepath.Join(t.TempDir(), "h.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledMidStream$")
	cmd.Env = append(os.Environ(), "HISTORY_KILL_CHILD="+path)
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 7 {
		t.Fatalf("child: %v, want exit 7", err)
	}
	d := open(t, path)
	msgs, err := d.Messages("feedface00000000")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Content != "Once upon a time" || !msgs[1].Partial {
		t.Fatalf("after kill: %+v, want the partial reply \"Once upon a time\"", msgs)
	}
}

func TestFindSessionSearchDelete(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "h.db"))
	s := seed(t, d)
	other := Session{ID: "0123ffff00000000"}
	if err := d.SaveSession(&other); err != nil {
		t.Fatal(err)
	}
	if err := d.AppendMessage(&Message{SessionID: other.ID, Role: "user", Content: "penguins in Paris"}); err != nil {
		t.Fatal(err)
	}
	if got, err := d.FindSession("01234"); err != nil || got.ID != s.ID {
		t.Errorf("FindSession(01234) = %v, %v; want %s", got.ID, err, s.ID)
	}
	var amb *AmbiguousError
	if _, err := d.FindSession("0123"); !errors.As(err, &amb) || len(amb.IDs) != 2 {
		t.Errorf("FindSession(0123) err = %v, want ambiguous between 2", err)
	}
	if _, err := d.FindSession("zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindSession(zz) err = %v, want ErrNotFound", err)
	}
	if got, err := d.FindSession(""); err != nil || got.ID != other.ID {
		t.Errorf("FindSession(\"\") = %v, %v; want the most recent %s", got.ID, err, other.ID)
	}

	tests := []struct {
		q    string
		want []string
	}{
		{"paris", []string{other.ID, s.ID}}, // title match first
		{"capit fran", []string{s.ID}},      // prefixes, all words
		{"5535", []string{s.ID}},
		{"nothing-here", nil},
	}
	for _, tt := range tests {
		hits, err := d.Search(tt.q, 10)
		if err != nil {
			t.Fatalf("Search(%q): %v", tt.q, err)
		}
		var got []string
		for _, h := range hits {
			got = append(got, h.Session.ID)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("Search(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if hits, _ := d.Search("brief", 10); len(hits) != 1 || !strings.Contains(hits[0].Snippet, "[briefly]") {
		t.Errorf("snippet = %+v, want [briefly] marked", hits)
	}

	if err := d.Rename(s.ID, "Geography"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Session(s.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: err = %v, want ErrNotFound", err)
	}
	if msgs, _ := d.AllMessages(s.ID); len(msgs) != 0 {
		t.Errorf("after delete: %d messages remain", len(msgs))
	}
	if hits, _ := d.Search("capital", 10); len(hits) != 0 {
		t.Errorf("after delete, search still finds %d sessions", len(hits))
	}
	if err := d.Delete(s.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete err = %v, want ErrNotFound", err)
	}
}

func TestExport(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "h.db"))
	s := seed(t, d)
	for _, format := range []string{"md", "json"} {
		var buf bytes.Buffer
		var err error
		if format == "md" {
			err = d.ExportMarkdown(&buf, s.ID)
		} else {
			err = d.ExportJSON(&buf, s.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		// Timestamps written by the database are "now": blank them out.
		got := regexp.MustCompile(`"updated": "[^"]*"`).ReplaceAll(buf.Bytes(), []byte(`"updated": "…"`))
		golden(t, "export."+format, got)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s mismatch:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
