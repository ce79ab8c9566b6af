package evalpane

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the eval pane's keys.
type KeyMap struct {
	Up, Down key.Binding
	Toggle   key.Binding
	All      key.Binding
	Start    key.Binding
	Stop     key.Binding
	Samples  key.Binding
	Failures key.Binding
	Compare  key.Binding
	Next     key.Binding
	Prev     key.Binding
	Back     key.Binding
	PageDown key.Binding
	PageUp   key.Binding
	Chat     key.Binding
	Data     key.Binding
}

// DefaultKeys returns the default bindings.
func DefaultKeys() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Toggle:   key.NewBinding(key.WithKeys(" ", "x"), key.WithHelp("space", "select task")),
		All:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all tasks")),
		Start:    key.NewBinding(key.WithKeys("enter", "r"), key.WithHelp("enter", "run")),
		Stop:     key.NewBinding(key.WithKeys("s", "ctrl+c"), key.WithHelp("s", "stop")),
		Samples:  key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "samples")),
		Failures: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "failures only")),
		Compare:  key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "compare")),
		Next:     key.NewBinding(key.WithKeys("]", "l", "right"), key.WithHelp("]", "next")),
		Prev:     key.NewBinding(key.WithKeys("[", "h", "left"), key.WithHelp("[", "previous")),
		Back:     key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "back")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		Chat:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open as chat")),
		Data:     key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "data file")),
	}
}

// Bindings names the actions for keymap overrides ("eval.<name>").
func (k *KeyMap) Bindings() map[string]*key.Binding {
	return map[string]*key.Binding{"up": &k.Up, "down": &k.Down, "toggle": &k.Toggle, "all": &k.All, "start": &k.Start,
		"stop": &k.Stop, "samples": &k.Samples, "failures": &k.Failures, "compare": &k.Compare, "next": &k.Next,
		"prev": &k.Prev, "back": &k.Back, "page_down": &k.PageDown, "page_up": &k.PageUp, "chat": &k.Chat, "data": &k.Data}
}
