package chat

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/theme"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// fixed wraps a model so replies carry fixed stats (goldens stay stable).
type fixed struct{ llm.Model }

func (f fixed) Chat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	rep, err := f.Model.Chat(ctx, msgs, s, on)
	rep.Stats = llm.Stats{PromptTokens: 12, Generated: rep.Stats.Generated, TTFT: 85 * time.Millisecond, TokensPerSec: 35.25}
	return rep, err
}

func (f fixed) Complete(ctx context.Context, p string, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	rep, err := f.Model.Complete(ctx, p, s, on)
	rep.Stats = llm.Stats{PromptTokens: 5, Generated: rep.Stats.Generated, TTFT: 85 * time.Millisecond, TokensPerSec: 35.25}
	return rep, err
}

type copied struct{ text []string }

func newTest(t *testing.T, w, h int, db *history.DB) (*Model, *copied) {
	t.Helper()
	c := &copied{}
	m := New(Options{Theme: theme.Plain(), DB: db, Copy: func(s string) (string, error) {
		c.text = append(c.text, s)
		return "test clipboard", nil
	}})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m, c
}

func openDB(t *testing.T) *history.DB {
	t.Helper()
	db, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func typeText(m *Model, s string) {
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)})
}

func press(m *Model, k tea.KeyType) tea.Cmd {
	_, cmd := m.Update(tea.KeyMsg{Type: k})
	return cmd
}

// drive feeds the running generation's messages to Update until it ends
// and returns how many frames it took; stopAfter > 0 presses esc after
// that many frames.
func drive(t *testing.T, m *Model, stopAfter int) (frames int) {
	t.Helper()
	for m.stream != nil {
		select {
		case msg, ok := <-m.stream.out:
			if !ok {
				t.Fatal("generation ended without a doneMsg")
			}
			if _, isFrame := msg.(frameMsg); isFrame {
				frames++
			}
			m.Update(msg)
			if stopAfter > 0 && frames == stopAfter {
				press(m, tea.KeyEsc)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("generation timed out")
		}
	}
	return frames
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s: View mismatch\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestEmptyView(t *testing.T) {
	for _, w := range []int{60, 80} {
		m, _ := newTest(t, w, 12, nil)
		m.SetHint("No checkpoint loaded.")
		golden(t, "empty_"+strconv.Itoa(w), m.View())
	}
}

func TestSendStreamStats(t *testing.T) {
	db := openDB(t)
	m, _ := newTest(t, 80, 24, db)
	fake := &llmtest.Fake{Reply: func([]llm.Message, llm.Settings) string {
		return "Here is **markdown**:\n\n- one\n- two\n\n```go\nx := 1\n```\n\nDone."
	}}
	m.SetModel(fixed{fake})
	typeText(m, "show me")
	press(m, tea.KeyEnter)
	if m.stream == nil {
		t.Fatal("enter did not start a generation")
	}
	if m.Draft() != "" {
		t.Errorf("input after send = %q, want empty", m.Draft())
	}
	drive(t, m, 0)
	golden(t, "send_stream_stats", m.View())
	if !strings.Contains(m.View(), "12 prompt · 7 generated · TTFT 85ms · 35.2 tok/s") {
		t.Errorf("no stats line in view")
	}
	msgs, err := db.Messages(m.Session().ID)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("stored %d messages (%v), want 2", len(msgs), err)
	}
	r := msgs[1]
	if r.Partial || r.Finish != "stop" || r.Checkpoint != "fake/d1/1" || r.Generation != "A7" || r.Settings.Seed != 42 || r.ReplyTo != msgs[0].ID {
		t.Errorf("stored reply = %+v", r)
	}
	if got := fake.Calls[0]; len(got) != 1 || got[0].Content != "show me" {
		t.Errorf("model saw %+v", got)
	}
}

func TestStopKeepsPartial(t *testing.T) {
	db := openDB(t)
	m, _ := newTest(t, 80, 24, db)
	m.SetModel(fixed{&llmtest.Fake{Delay: 5 * time.Millisecond, Reply: func([]llm.Message, llm.Settings) string {
		return strings.Repeat("word ", 400)
	}}})
	typeText(m, "go on")
	press(m, tea.KeyEnter)
	drive(t, m, 2)
	reply := m.msgs[1]
	if !reply.Partial || reply.Finish != "cancelled" || reply.Content == "" {
		t.Fatalf("reply after esc: partial=%v finish=%q content=%d bytes", reply.Partial, reply.Finish, len(reply.Content))
	}
	if !strings.Contains(m.View(), "stopped (partial)") {
		t.Errorf("view does not mark the reply partial:\n%s", m.View())
	}
	stored, err := db.Messages(m.Session().ID)
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored %d messages (%v), want 2", len(stored), err)
	}
	if !stored[1].Partial || stored[1].Content != reply.Content {
		t.Errorf("stored reply partial=%v content=%q, want partial %q", stored[1].Partial, stored[1].Content, reply.Content)
	}
	// The conversation goes on after a stop.
	typeText(m, "next")
	press(m, tea.KeyEnter)
	drive(t, m, 0)
	if len(m.msgs) != 4 {
		t.Errorf("after a second send: %d messages, want 4", len(m.msgs))
	}
}

func TestRegenerate(t *testing.T) {
	db := openDB(t)
	m, _ := newTest(t, 80, 24, db)
	fake := &llmtest.Fake{Reply: func(_ []llm.Message, s llm.Settings) string { return "answer with seed " + strconv.Itoa(int(s.Seed)) }}
	m.SetModel(fixed{fake})
	typeText(m, "q")
	press(m, tea.KeyEnter)
	drive(t, m, 0)
	press(m, tea.KeyCtrlR)
	drive(t, m, 0)
	if len(m.msgs) != 2 || m.msgs[1].Content != "answer with seed 43" {
		t.Fatalf("after ctrl+r: %d messages, last %q; want 2, seed 43", len(m.msgs), m.msgs[len(m.msgs)-1].Content)
	}
	all, _ := db.AllMessages(m.Session().ID)
	visible, _ := db.Messages(m.Session().ID)
	if len(all) != 3 || !all[1].Superseded || len(visible) != 2 || visible[1].Content != "answer with seed 43" {
		t.Errorf("db after regenerate: all=%d visible=%d", len(all), len(visible))
	}
}

func TestCoalescing(t *testing.T) {
	m, _ := newTest(t, 80, 24, nil)
	m.SetModel(fixed{&llmtest.Fake{Delay: 200 * time.Microsecond, Reply: func([]llm.Message, llm.Settings) string {
		return strings.TrimSpace(strings.Repeat("tok ", 1000))
	}}})
	m.settings.MaxTokens = 2000
	typeText(m, "long")
	press(m, tea.KeyEnter)
	start := time.Now()
	frames := drive(t, m, 0)
	elapsed := time.Since(start)
	if got := m.msgs[1].Stats.Generated; got != 1000 {
		t.Fatalf("generated %d words, want 1000", got)
	}
	// Slack for scheduling on a loaded machine; a frame per token, or a
	// much shorter interval, still fails by far.
	if max := int(elapsed/FrameInterval)*3/2 + 5; frames > max || frames > 250 {
		t.Errorf("1000 tokens in %v took %d frames, want ≤ %d (one per %v)", elapsed, frames, max, FrameInterval)
	}
	t.Logf("1000 tokens in %v: %d frames", elapsed, frames)
}

func TestToolCallAndCompletionMode(t *testing.T) {
	m, _ := newTest(t, 80, 24, nil)
	m.SetModel(fixed{&llmtest.Fake{Tool: &llm.ToolCall{Expr: "123*45", Result: "5535", OK: true},
		Reply: func([]llm.Message, llm.Settings) string { return "so the answer is 5535." }}})
	typeText(m, "what is 123*45")
	press(m, tea.KeyEnter)
	drive(t, m, 0)
	golden(t, "tool_call", m.View())

	base := &llmtest.Fake{ModelInfo: llm.Info{Name: "base/d4/100", Source: "base", Generation: "A7", Chat: false},
		Reply: func(msgs []llm.Message, _ llm.Settings) string { return "and the sky is blue." }}
	m.NewSession()
	m.SetModel(fixed{base})
	typeText(m, "The grass is green")
	press(m, tea.KeyEnter)
	drive(t, m, 0)
	if m.msgs[0].Role != "prompt" || m.msgs[1].Role != "completion" {
		t.Errorf("roles = %s, %s; want prompt, completion", m.msgs[0].Role, m.msgs[1].Role)
	}
	golden(t, "completion_mode", m.View())
}

func TestEditLastAndCopy(t *testing.T) {
	m, c := newTest(t, 80, 24, nil)
	m.SetModel(fixed{&llmtest.Fake{Reply: func([]llm.Message, llm.Settings) string {
		return "Use:\n\n```sh\nls -la\n```\n"
	}}})
	typeText(m, "list files")
	press(m, tea.KeyEnter)
	drive(t, m, 0)

	// ctrl+y with no focus copies the last reply; alt+up twice focuses its
	// code block, then the message... up from none starts at the last item.
	execCmd(m, press(m, tea.KeyCtrlY))
	m.Update(tea.KeyMsg{Type: tea.KeyUp, Alt: true})
	execCmd(m, press(m, tea.KeyCtrlY))
	if len(c.text) != 2 || c.text[0] != "Use:\n\n```sh\nls -la\n```\n" || c.text[1] != "ls -la" {
		t.Errorf("copied %q, want the reply then its code block", c.text)
	}
	if !strings.Contains(m.View(), "copied code block") {
		t.Errorf("no copy notice in view:\n%s", m.View())
	}

	press(m, tea.KeyUp)
	if m.Draft() != "list files" || len(m.msgs) != 0 {
		t.Errorf("after up: draft %q, %d messages; want the last prompt back and none left", m.Draft(), len(m.msgs))
	}
}

// execCmd executes a command and feeds its message back (one level).
func execCmd(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	if msg := cmd(); msg != nil {
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				execCmd(m, c)
			}
			return
		}
		m.Update(msg)
	}
}

func TestCompareSideBySide(t *testing.T) {
	m, _ := newTest(t, 100, 20, nil)
	m.SetModel(fixed{&llmtest.Fake{ModelInfo: llm.Info{Name: "sft/d20/650", Generation: "A3", Chat: true},
		Reply: func([]llm.Message, llm.Settings) string { return "Paris." }}})
	typeText(m, "capital of France?")
	press(m, tea.KeyEnter)
	drive(t, m, 0)
	m.SetModel(fixed{&llmtest.Fake{ModelInfo: llm.Info{Name: "rl/d20/100", Generation: "A3", Chat: true},
		Reply: func([]llm.Message, llm.Settings) string { return "The capital of France is Paris." }}})
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r"), Alt: true})
	drive(t, m, 0)
	if len(m.msgs) != 3 || !m.msgs[2].Compare || m.msgs[2].Settings.Seed != m.msgs[1].Settings.Seed {
		t.Fatalf("after alt+r: %d messages, want a compared reply with the same seed", len(m.msgs))
	}
	golden(t, "compare", m.View())
	conv := conversation("", m.msgs, 2)
	if len(conv) != 2 || conv[1].Content != "The capital of France is Paris." {
		t.Errorf("conversation after compare = %+v, want the re-run reply only", conv)
	}
}

func TestInputGrows(t *testing.T) {
	m, _ := newTest(t, 60, 30, nil)
	for i := 0; i < 4; i++ {
		typeText(m, "line")
		m.Update(tea.KeyMsg{Type: tea.KeyCtrlJ})
	}
	if got := m.input.Height(); got != 5 {
		t.Errorf("input height with 5 lines = %d, want 5", got)
	}
	if got := lipgloss.Height(m.View()); got != 30 {
		t.Errorf("view height = %d, want 30", got)
	}
}
