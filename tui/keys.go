package tui

import (
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
// picker, sessions, settings).
func (k *Keys) Apply(o keymap.Overrides) error {
	named := map[string]*key.Binding{}
	keymap.Merge(named, "app", k.App.Named())
	keymap.Merge(named, "chat", k.Chat.Named())
	keymap.Merge(named, "picker", k.Picker.Named())
	keymap.Merge(named, "sessions", k.Sessions.Named())
	keymap.Merge(named, "settings", k.Settings.Named())
	return o.Apply(named)
}

func (k KeyMap) short() []key.Binding {
	return []key.Binding{k.Picker, k.Sessions, k.Settings, k.SwitchPane, k.Help, k.Quit}
}

func (k KeyMap) full() [][]key.Binding {
	return [][]key.Binding{{k.Picker, k.NextSource, k.OlderStep}, {k.Sessions, k.Settings, k.SwitchPane, k.Help, k.Quit}}
}
