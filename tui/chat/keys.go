package chat

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the chat pane's bindings. Help shows only those that apply in
// the current mode (streaming or idle).
type KeyMap struct {
	Send        key.Binding
	Newline     key.Binding
	Stop        key.Binding
	NewChat     key.Binding
	Regenerate  key.Binding
	Compare     key.Binding // re-run the last prompt on the loaded checkpoint, side by side
	EditLast    key.Binding
	Editor      key.Binding
	Copy        key.Binding
	FocusPrev   key.Binding
	FocusNext   key.Binding
	PageUp      key.Binding
	PageDown    key.Binding
	LineUp      key.Binding
	LineDown    key.Binding
	Top, Bottom key.Binding
}

// DefaultKeyMap is the built-in binding set.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Send:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		Newline:    key.NewBinding(key.WithKeys("shift+enter", "ctrl+j", "alt+enter"), key.WithHelp("shift+enter/ctrl+j", "newline")),
		Stop:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "stop")),
		NewChat:    key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("ctrl+n", "new chat")),
		Regenerate: key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "regenerate")),
		Compare:    key.NewBinding(key.WithKeys("alt+r"), key.WithHelp("alt+r", "re-run on this checkpoint")),
		EditLast:   key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "edit last")),
		Editor:     key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "$EDITOR")),
		Copy:       key.NewBinding(key.WithKeys("ctrl+y"), key.WithHelp("ctrl+y", "copy")),
		FocusPrev:  key.NewBinding(key.WithKeys("alt+up", "ctrl+up"), key.WithHelp("alt+↑/↓", "focus msg/code")),
		FocusNext:  key.NewBinding(key.WithKeys("alt+down", "ctrl+down")),
		PageUp:     key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup/pgdn", "scroll")),
		PageDown:   key.NewBinding(key.WithKeys("pgdown")),
		LineUp:     key.NewBinding(key.WithKeys("shift+up"), key.WithHelp("shift+↑/↓", "scroll line")),
		LineDown:   key.NewBinding(key.WithKeys("shift+down")),
		Top:        key.NewBinding(key.WithKeys("ctrl+home"), key.WithHelp("ctrl+home/end", "top/bottom")),
		Bottom:     key.NewBinding(key.WithKeys("ctrl+end")),
	}
}

// Named exposes the bindings for remapping (keymap.Overrides).
func (k *KeyMap) Named() map[string]*key.Binding {
	return map[string]*key.Binding{
		"send": &k.Send, "newline": &k.Newline, "stop": &k.Stop, "new_chat": &k.NewChat,
		"regenerate": &k.Regenerate, "compare": &k.Compare, "edit_last": &k.EditLast, "editor": &k.Editor,
		"copy": &k.Copy, "focus_prev": &k.FocusPrev, "focus_next": &k.FocusNext, "page_up": &k.PageUp,
		"page_down": &k.PageDown, "line_up": &k.LineUp, "line_down": &k.LineDown, "top": &k.Top, "bottom": &k.Bottom,
	}
}

// ShortHelp is the one-line help for the current mode.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	if m.stream != nil {
		return []key.Binding{k.Stop, k.PageUp}
	}
	if m.model == nil {
		return []key.Binding{k.Newline, k.PageUp}
	}
	return []key.Binding{k.Send, k.Newline, k.Regenerate, k.Copy}
}

// FullHelp lists every chat binding, grouped.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{
		{k.Send, k.Newline, k.Stop, k.Editor},
		{k.NewChat, k.Regenerate, k.Compare, k.EditLast},
		{k.Copy, k.FocusPrev, k.PageUp, k.LineUp, k.Top},
	}
}
