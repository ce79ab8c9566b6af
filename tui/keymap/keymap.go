// Package keymap lets users remap the TUI's keys from a JSON file that maps
// action names to key lists, e.g. {"chat.send": ["ctrl+s"], "app.sessions":
// ["alt+o"]}. Components expose their bindings by name; this package loads
// and applies overrides and finds keys that two live actions share.
package keymap

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
)

// Overrides maps an action name ("component.action") to its new keys; an
// empty list unbinds the action.
type Overrides map[string][]string

// DefaultPath is $XDG_CONFIG_HOME/nanochat/keys.json (default
// ~/.config/nanochat/keys.json).
func DefaultPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			h = "."
		}
		dir = filepath.Join(h, ".config")
	}
	return filepath.Join(dir, "nanochat", "keys.json")
}

// Load reads overrides from path; a missing file means no overrides.
func Load(path string) (Overrides, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key bindings: %w", err)
	}
	var o Overrides
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("key bindings %q: %w", path, err)
	}
	return o, nil
}

// Apply rebinds every named binding that o mentions, keeping its help
// description and showing the new keys in help. Names o mentions that no
// component has are reported in the error (the rest are still applied).
func (o Overrides) Apply(named map[string]*key.Binding) error {
	var unknown []string
	for name, keys := range o {
		b, ok := named[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		desc := b.Help().Desc
		*b = key.NewBinding(key.WithKeys(keys...), key.WithHelp(strings.Join(keys, "/"), desc))
		if len(keys) == 0 {
			b.SetEnabled(false)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, 0, len(named))
		for n := range named {
			known = append(known, n)
		}
		sort.Strings(known)
		return fmt.Errorf("key bindings: unknown action %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return nil
}

// Conflict is a key bound to two actions that are live at the same time:
// only one of them could ever run.
type Conflict struct {
	Key     string
	Actions [2]string // sorted
}

func (c Conflict) String() string {
	return fmt.Sprintf("%q is bound to both %s and %s", c.Key, c.Actions[0], c.Actions[1])
}

// Conflicts lists the keys that two enabled bindings of scope (the actions
// that receive keys together) share, sorted by key.
func Conflicts(scope map[string]*key.Binding) []Conflict {
	names := make([]string, 0, len(scope))
	for n := range scope {
		names = append(names, n)
	}
	sort.Strings(names)
	owner := map[string]string{}
	var out []Conflict
	for _, n := range names {
		b := scope[n]
		if !b.Enabled() {
			continue
		}
		for _, k := range b.Keys() {
			switch prev, ok := owner[k]; {
			case !ok:
				owner[k] = n
			case prev != n:
				out = append(out, Conflict{Key: k, Actions: [2]string{prev, n}})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Merge adds src's bindings to dst under prefix+"." and returns dst.
func Merge(dst map[string]*key.Binding, prefix string, src map[string]*key.Binding) map[string]*key.Binding {
	for n, b := range src {
		dst[prefix+"."+n] = b
	}
	return dst
}
