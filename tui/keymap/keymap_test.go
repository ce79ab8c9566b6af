package keymap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

func TestLoadApply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, []byte(`{"chat.send": ["ctrl+s", "alt+enter"], "chat.stop": [], "chat.nope": ["x"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	send := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send"))
	stop := key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "stop"))
	named := Merge(map[string]*key.Binding{}, "chat", map[string]*key.Binding{"send": &send, "stop": &stop})
	err = o.Apply(named)
	if err == nil || !strings.Contains(err.Error(), "chat.nope") || !strings.Contains(err.Error(), "chat.send") {
		t.Errorf("Apply err = %v, want it to name the unknown chat.nope and list known actions", err)
	}
	if !key.Matches(tea.KeyMsg{Type: tea.KeyCtrlS}, send) || key.Matches(tea.KeyMsg{Type: tea.KeyEnter}, send) {
		t.Errorf("send keys = %v, want ctrl+s/alt+enter only", send.Keys())
	}
	if send.Help() != (key.Help{Key: "ctrl+s/alt+enter", Desc: "send"}) {
		t.Errorf("send help = %+v", send.Help())
	}
	if stop.Enabled() {
		t.Errorf("stop is still enabled after mapping it to no keys")
	}
	if o, err := Load(filepath.Join(t.TempDir(), "missing.json")); o != nil || err != nil {
		t.Errorf("missing file: %v, %v; want no overrides and no error", o, err)
	}
}

func TestHostileConflicts(t *testing.T) {
	a := key.NewBinding(key.WithKeys("ctrl+s", "x"))
	b := key.NewBinding(key.WithKeys("enter", "ctrl+s"))
	c := key.NewBinding(key.WithKeys("x"))
	off := key.NewBinding(key.WithKeys("enter"))
	off.SetEnabled(false)
	got := Conflicts(map[string]*key.Binding{"app.sessions": &a, "chat.send": &b, "chat.c": &c, "chat.off": &off})
	want := []Conflict{{"ctrl+s", [2]string{"app.sessions", "chat.send"}}, {"x", [2]string{"app.sessions", "chat.c"}}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Conflicts = %v, want %v", got, want)
	}
	if s := got[0].String(); s != `"ctrl+s" is bound to both app.sessions and chat.send` {
		t.Errorf("Conflict.String() = %s", s)
	}
}
