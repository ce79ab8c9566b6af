package tui

import (
	"maps"
	"strings"

	"github.com/charmbracelet/bubbles/key"

	"github.com/nanochat-go/nanochat/tui/chat"
	"github.com/nanochat-go/nanochat/tui/keymap"
	"github.com/nanochat-go/nanochat/tui/picker"
	"github.com/nanochat-go/nanochat/tui/sessions"
	"github.com/nanochat-go/nanochat/tui/settings"
)

// KeyMap is the app-wide bindings (the panes and dialogs have their own).
type KeyMap struct {
	SwitchPane key.Binding
	Picker     key.Binding
	Sessions   key.Binding
	Settings   key.Binding
	Help       key.Binding
	Quit       key.Binding
	NextSource key.Binding
	OlderStep  key.Binding
	NewerStep  key.Binding
}

// DefaultKeyMap is the built-in binding set.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		SwitchPane: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "chat/eval")),
		Picker:     key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "checkpoint")),
		Sessions:   key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "sessions")),
		Settings:   key.NewBinding(key.WithKeys("ctrl+t"), key.WithHelp("ctrl+t", "settings")),
		Help:       key.NewBinding(key.WithKeys("ctrl+g"), key.WithHelp("ctrl+g", "help")),
		Quit:       key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "stop/quit")),
		NextSource: key.NewBinding(key.WithKeys("alt+s"), key.WithHelp("alt+s", "next source")),
		OlderStep:  key.NewBinding(key.WithKeys("alt+,"), key.WithHelp("alt+,/.", "older/newer step")),
		NewerStep:  key.NewBinding(key.WithKeys("alt+.")),
	}
}

// Named exposes the bindings for remapping.
func (k *KeyMap) Named() map[string]*key.Binding {
	return map[string]*key.Binding{"switch_pane": &k.SwitchPane, "picker": &k.Picker, "sessions": &k.Sessions,
		"settings": &k.Settings, "help": &k.Help, "quit": &k.Quit, "next_source": &k.NextSource,
		"older_step": &k.OlderStep, "newer_step": &k.NewerStep}
}

// Keys is every remappable binding of the app, by component.
type Keys struct {
	App      KeyMap
	Chat     chat.KeyMap
	Picker   picker.KeyMap
	Sessions sessions.KeyMap
	Settings settings.KeyMap
}

// DefaultKeys is the built-in bindings of every component.
func DefaultKeys() Keys {
	return Keys{App: DefaultKeyMap(), Chat: chat.DefaultKeyMap(), Picker: picker.DefaultKeyMap(),
		Sessions: sessions.DefaultKeyMap(), Settings: settings.DefaultKeyMap()}
}

// Apply remaps k from user overrides named "component.action" (app, chat,
// picker, sessions, settings). Overrides that leave one key on two actions
// that receive keys together (the app's and the chat pane's; a dialog's and
// app.quit) are refused whole: k is left as it was and the error names both
// actions, since one of them could never run. Unknown action names are
// reported too, after the rest is applied.
func (k *Keys) Apply(o keymap.Overrides) error {
	nk := *k
	named := map[string]*key.Binding{}
	keymap.Merge(named, "app", nk.App.Named())
	keymap.Merge(named, "chat", nk.Chat.Named())
	keymap.Merge(named, "picker", nk.Picker.Named())
	keymap.Merge(named, "sessions", nk.Sessions.Named())
	keymap.Merge(named, "settings", nk.Settings.Named())
	unknown := o.Apply(named)
	if err := nk.conflicts(); err != nil {
		return err
	}
	*k = nk
	return unknown
}

// ConflictError reports keys bound to two live actions.
type ConflictError struct{ Conflicts []keymap.Conflict }

func (e *ConflictError) Error() string {
	s := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		s[i] = c.String()
	}
	return "key bindings not applied: " + strings.Join(s, "; ") + " (give one of each pair other keys)"
}

// conflicts checks every set of actions that receive keys together: in
// the chat pane the app's keys come first, then the pane's; in a dialog
// only app.quit comes before the dialog's own.
func (k *Keys) conflicts() error {
	quit := map[string]*key.Binding{"app.quit": &k.App.Quit}
	scopes := []map[string]*key.Binding{
		keymap.Merge(keymap.Merge(map[string]*key.Binding{}, "app", k.App.Named()), "chat", k.Chat.Named()),
		keymap.Merge(maps.Clone(quit), "picker", k.Picker.Named()),
		keymap.Merge(maps.Clone(quit), "sessions", k.Sessions.Named()),
		keymap.Merge(maps.Clone(quit), "settings", k.Settings.Named()),
	}
	var all []keymap.Conflict
	for _, sc := range scopes {
		all = append(all, keymap.Conflicts(sc)...)
	}
	if len(all) > 0 {
		return &ConflictError{Conflicts: all}
	}
	return nil
}

func (k KeyMap) short() []key.Binding {
	return []key.Binding{k.Picker, k.Sessions, k.Settings, k.SwitchPane, k.Help, k.Quit}
}

func (k KeyMap) full() [][]key.Binding {
	return [][]key.Binding{{k.Picker, k.NextSource, k.OlderStep}, {k.Sessions, k.Settings, k.SwitchPane, k.Help, k.Quit}}
}
