package tui

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/keymap"
)

// controls lists the control characters (other than newline) in s.
func controls(s string) []rune {
	var out []rune
	for _, r := range s {
		if r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f {
			out = append(out, r)
		}
	}
	return out
}

// rawPane is a pane that forgets to sanitize: it shows raw escape
// sequences next to its own styling.
type rawPane struct{ Placeholder }

func (p *rawPane) Update(tea.Msg) (Pane, tea.Cmd) { return p, nil }
func (p *rawPane) View() string {
	return "\x1b[1mbold\x1b[0m then \x1b]2;pwned\x07 and \x1b[2J\vend"
}

// TestHostileTextInApp: a session title, a model's name and device (as a
// remote server reports them) and a pane that forgot to sanitize cannot
// put a control character on the screen: the tab bar, status bar and
// sessions dialog show them visibly, and the last guard (termsafe.Styled)
// keeps only SGR styling.
func TestHostileTextInApp(t *testing.T) {
	db, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := history.Session{}
	if err := db.SaveSession(&s); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendMessage(&history.Message{SessionID: s.ID, Role: "user", Content: "\x1b]2;owned\x07hello\x1b[2J"}); err != nil {
		t.Fatal(err)
	}
	s, _ = db.Session(s.ID)
	msgs, _ := db.Messages(s.ID)

	o := testOptions(t, db, testCheckpoints[1:2], 0)
	o.Opener = func(ctx context.Context, ck home.Checkpoint, progress func(string)) (llm.Model, error) {
		return &llmtest.Fake{ModelInfo: llm.Info{Name: "evil\x1b]0;x\x07", Generation: "A7", Device: "gpu\x1b[2J", Chat: true}}, nil
	}
	o.Continue, o.Messages = &s, msgs
	o.Eval = &rawPane{}
	a := New(o)
	settle(t, a, 100, 24)
	check := func(what string, wants ...string) {
		t.Helper()
		v := a.View()
		if c := controls(v); len(c) > 0 {
			t.Errorf("%s: control characters %q reach the screen:\n%s", what, c, v)
		}
		for _, w := range wants {
			if !strings.Contains(v, w) {
				t.Errorf("%s: view lacks %q:\n%s", what, w, v)
			}
		}
	}
	check("chat", "^[]2;owned^Ghello^[[2J", "evil^[]0;x^G A7 · gpu^[[2J")
	a.Update(tea.KeyMsg{Type: tea.KeyCtrlS})
	a.Update(a.dialog.sessions.Init()()) // the search results
	check("sessions dialog", "^[]2;owned^Ghello^[[2J")
	if _, cmd := a.Update(tea.KeyMsg{Type: tea.KeyEsc}); cmd != nil {
		a.Update(cmd()) // closed
	}

	a.Update(tea.KeyMsg{Type: tea.KeyTab})
	v := a.View()
	if !strings.Contains(v, "then ^[]2;pwned^G and ^[[2J^Kend") {
		t.Errorf("eval tab: the raw pane's escapes are not shown:\n%s", v)
	}
	if !strings.Contains(v, "\x1b[1mbold\x1b[0m") {
		t.Errorf("eval tab: the pane's own SGR styling was lost:\n%q", v)
	}
	if strings.Contains(v, "\x1b]") || strings.Contains(v, "\x1b[2J") || strings.ContainsAny(v, "\a\v") {
		t.Errorf("eval tab: raw control sequences reach the screen:\n%q", v)
	}
}

// TestHostileKeyConflicts: the documented example of old,
// {"chat.send": ["ctrl+s"]}, left ctrl+s opening the sessions list and
// nothing sending. Such a file is refused whole, naming both actions; the
// example as documented now works; the defaults have no conflict.
func TestHostileKeyConflicts(t *testing.T) {
	def := DefaultKeys()
	if err := def.conflicts(); err != nil {
		t.Fatalf("default keys: %v", err)
	}
	for _, c := range []struct {
		o    keymap.Overrides
		want string // "" = applied
	}{
		{keymap.Overrides{"chat.send": {"ctrl+s"}}, `"ctrl+s" is bound to both app.sessions and chat.send`},
		{keymap.Overrides{"chat.newline": {"tab"}}, `"tab" is bound to both app.switch_pane and chat.newline`},
		{keymap.Overrides{"sessions.delete": {"ctrl+c"}}, `"ctrl+c" is bound to both app.quit and sessions.delete`},
		{keymap.Overrides{"chat.send": {"ctrl+s"}, "chat.newline": {"enter", "ctrl+j"}, "app.sessions": {"alt+o"}}, ""},
		{keymap.Overrides{"picker.choose": {"ctrl+s"}}, ""}, // the picker is open alone: no clash with app.sessions
	} {
		k := DefaultKeys()
		err := k.Apply(c.o)
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: %v", c.o, err)
			}
			continue
		}
		var ce *ConflictError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want a conflict: %s", c.o, err, c.want)
		}
		if def := DefaultKeys(); !reflect.DeepEqual(k, def) {
			t.Errorf("%v: a refused file still changed the keys", c.o)
		}
	}
	// The documented example: ctrl+s sends, enter is a newline, alt+o opens sessions.
	k := DefaultKeys()
	if err := k.Apply(keymap.Overrides{"chat.send": {"ctrl+s"}, "chat.newline": {"enter", "ctrl+j"}, "app.sessions": {"alt+o"}}); err != nil {
		t.Fatal(err)
	}
	db, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := testOptions(t, db, testCheckpoints[1:2], 0)
	o.Keys = &k
	a := New(o)
	settle(t, a, 80, 24)
	a.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("hi")})
	a.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if got := a.Chat().Draft(); got != "hi\n" {
		t.Errorf("enter with the example keys: draft %q, want a newline", got)
	}
	a.Update(tea.KeyMsg{Type: tea.KeyCtrlS})
	if a.dialog != nil || !a.Chat().Streaming() {
		t.Errorf("ctrl+s with the example keys: dialog %v, streaming %v; want it to send", a.dialog != nil, a.Chat().Streaming())
	}
	a.Chat().Stop()
	a.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("o"), Alt: true})
	if a.dialog == nil || a.dialog.sessions == nil {
		t.Error("alt+o with the example keys does not open the sessions list")
	}
}
