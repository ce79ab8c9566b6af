package tui

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/picker"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// updating reports -update (the flag is defined by teatest's golden package).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

var testCheckpoints = []home.Checkpoint{
	{Source: "base", Tag: "d20", Step: 700, Size: 1 << 30},
	{Source: "sft", Tag: "d20", Step: 700, Size: 1 << 30},
	{Source: "sft", Tag: "d20", Step: 650, Size: 1 << 30},
}

// fakeOpener opens a scripted model per checkpoint; base ones have no chat template.
func fakeOpener(delay time.Duration) Opener {
	return func(ctx context.Context, ck home.Checkpoint, progress func(string)) (llm.Model, error) {
		progress("tokenizer")
		return &llmtest.Fake{Delay: delay,
			ModelInfo: llm.Info{Name: ck.Name(), Source: ck.Source, Generation: "A3", Device: "fake", ContextLen: 2048, Chat: ck.Source != "base"},
			Reply: func(msgs []llm.Message, _ llm.Settings) string {
				return "Reply from " + ck.Name() + ": " + strings.Repeat("lorem ipsum ", 200)
			}}, nil
	}
}

func testOptions(t *testing.T, db *history.DB, cks []home.Checkpoint, delay time.Duration) Options {
	return Options{Theme: theme.Plain(), DB: db, Home: "/home/u/.cache/nanochat",
		Lister:    func() ([]home.Checkpoint, error) { return cks, nil },
		Opener:    fakeOpener(delay),
		Describer: func(ck home.Checkpoint) (string, int64, error) { return "A3", 560_000_000, nil },
		Copy:      func(string) (string, error) { return "test", nil }}
}

// settle runs the app's start-up by hand: list, then the load.
func settle(t *testing.T, a *App, w, h int) {
	t.Helper()
	a.Update(tea.WindowSizeMsg{Width: w, Height: h})
	cks, err := a.o.Lister()
	a.Update(listedMsg{cks, err})
	if a.load != nil {
		r := <-a.load.result
		a.load.result <- r
		a.Update(r)
	}
	a.status = "" // drop the "loaded in …" flash: it has a duration in it
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updating() {
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

func TestViews(t *testing.T) {
	key := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
	tests := []struct {
		name  string
		w, h  int
		cks   []home.Checkpoint
		setup func(a *App)
	}{
		{"empty_home_80", 80, 24, nil, nil},
		{"empty_home_60", 60, 20, nil, nil},
		{"loaded_80", 80, 24, testCheckpoints, nil},
		{"loaded_60", 60, 20, testCheckpoints, nil},
		{"full_help_80", 80, 24, testCheckpoints, func(a *App) { a.Update(tea.KeyMsg{Type: tea.KeyCtrlG}) }},
		{"picker_80", 80, 24, testCheckpoints, func(a *App) {
			_, cmd := a.Update(tea.KeyMsg{Type: tea.KeyCtrlL})
			a.Update(cmd()) // describe
			a.Update(key("650"))
		}},
		{"settings_60", 60, 24, testCheckpoints, func(a *App) { a.Update(tea.KeyMsg{Type: tea.KeyCtrlT}) }},
		{"eval_tab_80", 80, 24, testCheckpoints, func(a *App) { a.Update(tea.KeyMsg{Type: tea.KeyTab}) }},
		{"base_completion_80", 80, 24, testCheckpoints[:1], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(testOptions(t, nil, tt.cks, 0))
			settle(t, a, tt.w, tt.h)
			if tt.setup != nil {
				tt.setup(a)
			}
			v := a.View()
			if h := lipgloss.Height(v); h != tt.h {
				t.Errorf("view is %d rows, want %d", h, tt.h)
			}
			for i, line := range strings.Split(v, "\n") {
				if w := lipgloss.Width(line); w > tt.w {
					t.Errorf("line %d is %d columns, want ≤ %d: %q", i, w, tt.w, line)
				}
			}
			golden(t, tt.name, v)
		})
	}
}

func TestNeighbour(t *testing.T) {
	cks := append([]home.Checkpoint{{Source: "rl", Tag: "d12", Step: 5}}, testCheckpoints...)
	from := testCheckpoints[1] // sft/d20/700
	for _, tt := range []struct {
		kind cycleKind
		d    int
		want string
	}{
		{cycleStep, -1, "sft/d20/650"},
		{cycleStep, 1, ""},
		{cycleSource, 1, "rl/d12/5"},
		{cycleSource, -1, "base/d20/700"},
	} {
		got, ok := neighbour(cks, from, tt.kind, tt.d, func(home.Checkpoint) bool { return false })
		if name := got.Name(); ok != (tt.want != "") || ok && name != tt.want {
			t.Errorf("neighbour(%v, %d) = %s, %v; want %q", tt.kind, tt.d, name, ok, tt.want)
		}
	}
}

// TestFlow drives the whole app as a user would: type, send, watch the
// stream, stop it, leave a draft, switch checkpoint by keyboard, and checks
// that the draft, the transcript and the stored history survive.
func TestFlow(t *testing.T) {
	db, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app := New(testOptions(t, db, testCheckpoints, 15*time.Millisecond))
	tm := teatest.NewTestModel(t, app, teatest.WithInitialTermSize(80, 24))
	wait := func(what string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(what)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	wait("sft/d20/700 A3")
	tm.Type("hello there")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	wait("Reply from sft/d20/700: lorem")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	wait("stopped (partial)")
	tm.Type("my draft")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s"), Alt: true}) // next source: rl (none) → base
	wait("base/d20/700 A3 (completion)")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*App)

	c := final.Chat()
	if got := c.Draft(); got != "my draft" {
		t.Errorf("draft after switch = %q, want %q", got, "my draft")
	}
	if got := c.LLM().Info().Name; got != "base/d20/700" {
		t.Errorf("model after alt+s = %s, want base/d20/700", got)
	}
	v := final.View()
	if !strings.Contains(v, "hello there") || !strings.Contains(v, "stopped (partial)") {
		t.Errorf("transcript lost after the switch:\n%s", v)
	}
	msgs, err := db.Messages(c.Session().ID)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("stored %d messages (%v), want 2", len(msgs), err)
	}
	if r := msgs[1]; !r.Partial || r.Finish != "cancelled" || !strings.HasPrefix(r.Content, "Reply from sft/d20/700") || r.Checkpoint != "sft/d20/700" {
		t.Errorf("stored reply = partial %v finish %q checkpoint %q content %.40q", r.Partial, r.Finish, r.Checkpoint, r.Content)
	}
	if s, _ := db.Session(c.Session().ID); s.Draft != "my draft" {
		t.Errorf("stored draft = %q, want it saved on quit", s.Draft)
	}
}

// TestEscClosesHelp: esc closes the full help (ctrl+g) before it reaches
// the chat, where it would stop a reply.
func TestEscClosesHelp(t *testing.T) {
	a := New(testOptions(t, nil, testCheckpoints, 0))
	settle(t, a, 80, 24)
	a.Update(tea.KeyMsg{Type: tea.KeyCtrlG})
	if !strings.Contains(a.View(), "close help") {
		t.Fatalf("ctrl+g: no full help (or no way to close it named):\n%s", a.View())
	}
	a.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if v := a.View(); a.full || strings.Contains(v, "close help") {
		t.Errorf("esc left the full help open:\n%s", v)
	}
}

// TestCycleSkipsBrokenCheckpoint: alt+s onto a checkpoint that fails to
// load says so and moves on to the next one; later cycling passes over it
// instead of sticking there.
func TestCycleSkipsBrokenCheckpoint(t *testing.T) {
	cks := []home.Checkpoint{
		{Source: "base", Tag: "d20", Step: 700},
		{Source: "sft", Tag: "d20", Step: 700},
		{Source: "rl", Tag: "d20", Step: 5}, // broken
	}
	o := testOptions(t, nil, cks, 0)
	open := o.Opener
	o.Opener = func(ctx context.Context, ck home.Checkpoint, progress func(string)) (llm.Model, error) {
		if ck.Source == "rl" {
			return nil, errors.New("load checkpoint: truncated zip")
		}
		return open(ctx, ck, progress)
	}
	a := New(o)
	settle(t, a, 100, 24)
	altS := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s"), Alt: true}
	// cycle presses alt+s and runs the loads it starts to the end.
	cycle := func() {
		t.Helper()
		a.Update(altS)
		a.Update(cycleMsg{a.cycleVer})
		for a.load != nil {
			r := <-a.load.result
			a.load.result <- r
			a.Update(r)
		}
	}
	cycle() // sft → rl (broken) → base
	if got := a.model.Info().Name; got != "base/d20/700" {
		t.Fatalf("after alt+s onto a broken checkpoint: loaded %s, want base/d20/700 (the broken one skipped)", got)
	}
	if !strings.HasPrefix(a.status, "skipped rl/d20/5: it did not load (ctrl+l says why) → loaded base/d20/700") {
		t.Errorf("status = %q, want it to say rl/d20/5 was skipped", a.status)
	}
	a.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if v := a.View(); !strings.Contains(v, "│ skipped rl/d20/5: it did not load") {
		t.Errorf("at 80 columns the status bar drops the message that rl/d20/5 was skipped:\n%s", v)
	}
	a.Update(tea.KeyMsg{Type: tea.KeyCtrlL})
	a.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("rl")})
	if v := a.View(); !strings.Contains(v, "✗ rl/d20/5 did not load: load checkpoint: truncated zip") {
		t.Errorf("the picker does not say why rl/d20/5 was skipped:\n%s", v)
	}
	a.Update(tea.KeyMsg{Type: tea.KeyEsc})
	a.Update(picker.ClosedMsg{})
	cycle() // base → sft
	cycle() // sft → base again, rl passed over
	if got := a.model.Info().Name; got != "base/d20/700" {
		t.Errorf("cycling again: loaded %s, want base/d20/700", got)
	}
	if a.target != nil && a.target.Source == "rl" {
		t.Errorf("cycling went back to the broken rl checkpoint")
	}
}
