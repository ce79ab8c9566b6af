package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/history"
)

// nanochat runs the CLI in-process and returns stdout and the error.
func nanochat(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestSessionsCLI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	set := llm.DefaultSettings()
	for _, id := range []string{"abcd000011112222", "abce000011112222"} {
		s := history.Session{ID: id, Checkpoint: "sft/d4/1514"}
		if err := db.SaveSession(&s); err != nil {
			t.Fatal(err)
		}
		for _, m := range []history.Message{
			{SessionID: id, Role: "user", Content: "hello " + id[:4]},
			{SessionID: id, Role: "assistant", Content: "hi there", Checkpoint: "sft/d4/1514", Settings: &set, Partial: true, Finish: "cancelled"},
		} {
			if err := db.AppendMessage(&m); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()

	out, err := nanochat(t, "sessions", "list", "--history", path)
	if err != nil || !strings.Contains(out, "abcd0000") || !strings.Contains(out, "hello abce") {
		t.Errorf("sessions list: %v\n%s", err, out)
	}
	out, err = nanochat(t, "sessions", "show", "abcd", "--history", path)
	if err != nil || !strings.Contains(out, "# hello abcd") || !strings.Contains(out, "partial") {
		t.Errorf("sessions show abcd: %v\n%s", err, out)
	}
	out, err = nanochat(t, "sessions", "export", "abce", "--format", "json", "--history", path)
	var exp history.Export
	if err != nil || json.Unmarshal([]byte(out), &exp) != nil || len(exp.Messages) != 2 || !exp.Messages[1].Partial {
		t.Errorf("sessions export --format json: %v\n%s", err, out)
	}
	if _, err := nanochat(t, "sessions", "show", "abc", "--history", path); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("show of an ambiguous prefix: err = %v", err)
	}
	if _, err := nanochat(t, "sessions", "export", "abcd", "--format", "pdf", "--history", path); err == nil {
		t.Error("export --format pdf succeeded")
	}
	out, err = nanochat(t, "sessions", "delete", "abcd", "--yes", "--history", path)
	if err != nil || !strings.Contains(out, "deleted abcd000011112222") {
		t.Errorf("sessions delete: %v\n%s", err, out)
	}
	out, _ = nanochat(t, "sessions", "search", "hello", "--history", path)
	if strings.Contains(out, "abcd") || !strings.Contains(out, "abce") {
		t.Errorf("search after delete:\n%s", out)
	}
}

func TestTUINeedsTerminal(t *testing.T) {
	// go test's stdout is not a terminal: the app refuses and points at chat -p.
	_, err := nanochat(t, "--home", t.TempDir())
	var ue usageError
	if err == nil || !strings.Contains(err.Error(), "chat -p") || !errors.As(err, &ue) {
		t.Errorf("nanochat without a terminal: err = %v, want a usage error naming chat -p", err)
	}
}
