package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/server"
	"github.com/nanochat-go/nanochat/tui/history"
)

// hostileReply is a reply that would retitle, wipe and garble a terminal.
const hostileReply = "Retitled \x1b]2;pwned\x07 wiped \x1b[2J\x1b[H garbled\vline red \x1b[31mRED\x1b[0m bell\x07 done"

// fakeRemote serves a scripted model over the OpenAI API, as a --remote
// server would; delay is the pause between words.
func fakeRemote(t testing.TB, reply string, delay time.Duration) string {
	t.Helper()
	s, err := server.New(server.Options{Checkpoints: []home.Checkpoint{{Source: "sft", Tag: "d1", Step: 1}},
		Open: func(ctx context.Context, ck home.Checkpoint) (llm.Model, error) {
			return &llmtest.Fake{Delay: delay, ModelInfo: llm.Info{Name: ck.Name(), Device: "fake", ContextLen: 4096, Chat: true},
				Reply: func([]llm.Message, llm.Settings) string { return reply }}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return ts.URL
}

// asTerminal makes the CLI treat every writer as a terminal.
func asTerminal(t *testing.T) {
	t.Helper()
	prev := onTerminal
	onTerminal = func(io.Writer) bool { return true }
	t.Cleanup(func() { onTerminal = prev })
}

// TestHostileChatOnTerminal: a --remote server's reply full of escape
// sequences is printed with its control characters visible when stdout is
// a terminal; the history keeps the bytes as they came.
func TestHostileChatOnTerminal(t *testing.T) {
	url := fakeRemote(t, hostileReply, 0)
	db := filepath.Join(t.TempDir(), "h.db")
	asTerminal(t)
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"chat", "--remote", url, "--history", db, "-q", "-p", "hi"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	want := "Retitled ^[]2;pwned^G wiped ^[[2J^[[H garbled^Kline red ^[[31mRED^[[0m bell^G done\n"
	if got != want {
		t.Errorf("stdout on a terminal:\ngot  %q\nwant %q", got, want)
	}
	h, err := history.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	s, err := h.FindSession("")
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := h.Messages(s.ID)
	if len(msgs) != 2 || msgs[1].Content != hostileReply || msgs[1].Partial || msgs[1].Finish != "stop" {
		t.Fatalf("stored %+v, want the reply as it came, finished", msgs)
	}

	// sessions show on a terminal: visible too.
	out.Reset()
	cmd = newRootCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"sessions", "show", "--history", db})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.String(), "\x1b\a\v") || !strings.Contains(out.String(), "Retitled ^[]2;pwned^G") {
		t.Errorf("sessions show on a terminal:\n%q", out.String())
	}
}

// checkedOut is a stdout that, at every write, checks that the history
// already holds everything printed so far: a kill at any moment would lose
// nothing the user saw.
type checkedOut struct {
	t       *testing.T
	db      *history.DB
	mu      sync.Mutex
	printed strings.Builder
	checks  int
	failed  error
}

func (c *checkedOut) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.printed.Write(p)
	shown := strings.TrimSpace(c.printed.String())
	if shown == "" || c.failed != nil {
		return len(p), nil
	}
	c.checks++
	s, err := c.db.FindSession("")
	if err != nil {
		c.failed = err
		return len(p), nil
	}
	msgs, err := c.db.Messages(s.ID)
	if err != nil {
		c.failed = err
		return len(p), nil
	}
	var stored string
	if n := len(msgs); n > 0 && msgs[n-1].Role == "assistant" {
		stored = msgs[n-1].Content
	}
	if !strings.HasPrefix(stored, shown) {
		c.failed = errors.New("printed " + strconvQ(shown) + " while the history holds " + strconvQ(stored))
	}
	return len(p), nil
}

func strconvQ(s string) string { return "\"" + strings.ReplaceAll(s, "\n", `\n`) + "\"" }

// TestHostileChatKilledMidStream: chat writes its reply to the history as
// it streams, before printing each piece, as the TUI does.
func TestHostileChatKilledMidStream(t *testing.T) {
	url := fakeRemote(t, words(12), 15*time.Millisecond)
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := &checkedOut{t: t, db: db}
	cmd := newRootCmd()
	cmd.SetOut(out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"chat", "--remote", url, "--history", path, "-q", "-p", "count"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if out.failed != nil {
		t.Fatal(out.failed)
	}
	if out.checks < 3 {
		t.Errorf("only %d writes checked; want the reply to stream in several", out.checks)
	}
}

func words(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("word")
		b.WriteByte(byte('a' + i))
	}
	return b.String()
}

// TestHostileSessionsDelete: delete refuses an empty id, an ambiguous
// prefix, and a unique prefix without --yes; nothing is deleted then.
func TestHostileSessionsDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"abcd000011112222", "abce000011112222", "ffff000011112222"} {
		s := history.Session{ID: id, Title: "t " + id[:4]}
		if err := db.SaveSession(&s); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	count := func() int {
		db, err := history.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ss, _ := db.Sessions(0)
		return len(ss)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{""}, "empty session id"},
		{[]string{"  "}, "empty session id"},
		{[]string{"abc"}, "ambiguous"},
		{[]string{"abc", "--yes"}, "ambiguous"},
		{[]string{"ffff"}, `"ffff" is only a prefix of session ffff000011112222 "t ffff"; give the full id, or add --yes`},
		{[]string{"0000"}, "no such session"},
	} {
		_, err := nanochat(t, append([]string{"sessions", "delete", "--history", path}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("sessions delete %q: err = %v, want …%s…", c.args, err, c.want)
		}
		if n := count(); n != 3 {
			t.Fatalf("sessions delete %q deleted something: %d sessions left", c.args, n)
		}
	}
	var ue usageError
	if _, err := nanochat(t, "sessions", "delete", "--history", path, ""); !errors.As(err, &ue) {
		t.Errorf("delete '': %v, want a usage error (exit 2)", err)
	}
	for _, args := range [][]string{{"ffff", "--yes"}, {"abcd000011112222"}} {
		if out, err := nanochat(t, append([]string{"sessions", "delete", "--history", path}, args...)...); err != nil || !strings.Contains(out, "deleted") {
			t.Errorf("sessions delete %q: %v %s", args, err, out)
		}
	}
	if n := count(); n != 1 {
		t.Errorf("%d sessions left, want 1", n)
	}
	if _, err := nanochat(t, "sessions", "show", "--history", path, ""); err == nil || !strings.Contains(err.Error(), "empty session id") {
		t.Errorf("sessions show '': err = %v, want it refused", err)
	}
}

// TestHostileScripts runs the hostile-input CLI scripts
// (testdata/hostile/*.txtar) with a fake --remote server in $REMOTE.
func TestHostileScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "hostile"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("REMOTE", fakeRemote(t, hostileReply, 0))
			env.Setenv("NANOCHAT_BASE_DIR", filepath.Join(env.WorkDir, "empty-home"))
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, "xdg-data"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "xdg-config"))
			return nil
		},
	})
}

// TestHostileContinueAfterKill: a chat killed mid-stream leaves a partial
// reply that --continue carries on from; one killed before its first
// token leaves an empty reply that is skipped, with its prompt.
func TestHostileContinueAfterKill(t *testing.T) {
	var mu sync.Mutex
	var seen [][]llm.Message
	s, err := server.New(server.Options{Checkpoints: []home.Checkpoint{{Source: "sft", Tag: "d1", Step: 1}},
		Open: func(ctx context.Context, ck home.Checkpoint) (llm.Model, error) {
			return &llmtest.Fake{ModelInfo: llm.Info{Name: ck.Name(), Device: "fake", ContextLen: 4096, Chat: true},
				Reply: func(msgs []llm.Message, _ llm.Settings) string {
					mu.Lock()
					defer mu.Unlock()
					seen = append(seen, msgs)
					return "ok"
				}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer func() { ts.Close(); s.Close() }()
	for _, c := range []struct {
		stored []history.Message
		want   string // the conversation the model sees, role: content | …
	}{
		{[]history.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "half a rep", Partial: true}},
			"user: a | assistant: half a rep | user: next"},
		{[]history.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "", Partial: true}},
			"user: next"},
		{[]history.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "", Partial: true},
			{Role: "user", Content: "b"}, {Role: "assistant", Content: "B"}},
			"user: a\n\nb | assistant: B | user: next"},
	} {
		path := filepath.Join(t.TempDir(), "h.db")
		db, err := history.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sess := history.Session{}
		db.SaveSession(&sess)
		for _, m := range c.stored {
			m.SessionID = sess.ID
			db.AppendMessage(&m)
		}
		db.Close()
		seen = nil
		if _, err := nanochat(t, "chat", "--remote", ts.URL, "--history", path, "-q", "--continue", "-p", "next"); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range seen[0] {
			got = append(got, m.Role+": "+m.Content)
		}
		if g := strings.Join(got, " | "); g != c.want {
			t.Errorf("model saw %q, want %q", g, c.want)
		}
	}
}

// TestHostileNamesFromTheHome: a tag folder named with escape sequences is
// listed by models and inspect with its control characters visible on a
// terminal.
func TestHostileNamesFromTheHome(t *testing.T) {
	home := t.TempDir()
	evil := "d4\x1b]2;pwned\a\x1b[2J"
	for _, dir := range []string{"tokenizer", filepath.Join("chatsft_checkpoints", "d4")} {
		src := filepath.Join("..", "..", "testdata", "demo", "home", dir)
		dst := filepath.Join(home, strings.Replace(dir, "d4", evil, 1))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	asTerminal(t)
	for _, args := range [][]string{{"models"}, {"inspect", "sft/" + evil}} {
		cmd := newRootCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append(args, "--home", home))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%s: %v (%s)", args[0], err, errOut.String())
		}
		if strings.ContainsAny(out.String(), "\x1b\a") || !strings.Contains(out.String(), "d4^[]2;pwned^G^[[2J") {
			t.Errorf("%s on a terminal:\n%q", args[0], out.String())
		}
	}
}
