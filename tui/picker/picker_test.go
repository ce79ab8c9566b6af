package picker

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui/theme"
)

func TestFilterAndChoose(t *testing.T) {
	items := []Item{
		{Checkpoint: home.Checkpoint{Source: "base", Tag: "d20", Step: 21400}},
		{Checkpoint: home.Checkpoint{Source: "sft", Tag: "d20", Step: 700}},
		{Checkpoint: home.Checkpoint{Source: "sft", Tag: "d12", Step: 650}},
		{Checkpoint: home.Checkpoint{Source: "rl", Tag: "d20", Step: 100}},
	}
	m := New(theme.Plain(), DefaultKeyMap(), items, "sft/d20/700")
	if m.cursor != 1 {
		t.Errorf("cursor starts at %d, want the loaded checkpoint (1)", m.cursor)
	}
	for _, r := range "sftd12" {
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	if len(m.shown) == 0 || items[m.shown[0]].Checkpoint.Name() != "sft/d12/650" {
		t.Fatalf("filter sftd12 shows %v first, want sft/d12/650", m.shown)
	}
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if got, ok := cmd().(ChosenMsg); !ok || got.Checkpoint.Name() != "sft/d12/650" {
		t.Errorf("enter chose %+v, want sft/d12/650", got)
	}

	m = New(theme.Plain(), DefaultKeyMap(), items, "")
	m.Update(tea.KeyMsg{Type: tea.KeyTab}) // all → base
	if len(m.shown) != 1 || items[m.shown[0]].Checkpoint.Source != "base" {
		t.Errorf("tab (source base) shows %v", m.shown)
	}
	if _, ok := Fuzzy("xyz", "sft/d20/700"); ok {
		t.Error("Fuzzy matched letters that are not there")
	}
	if a, _ := Fuzzy("d20", "sft/d20/700"); a <= 0 {
		t.Errorf("Fuzzy contiguous score = %d, want > 0", a)
	}
}

// TestFilterWords: each word of the filter matches a field, so "sft d4"
// is sft/d4 (and d40, after it), never sft/d6/1514, whose name has a d
// and later a 4.
func TestFilterWords(t *testing.T) {
	items := []Item{
		{Checkpoint: home.Checkpoint{Source: "sft", Tag: "d6", Step: 1514}, Generation: "A7"},
		{Checkpoint: home.Checkpoint{Source: "sft", Tag: "d40", Step: 100}, Generation: "A7"},
		{Checkpoint: home.Checkpoint{Source: "sft", Tag: "d4", Step: 1514}, Generation: "A7"},
		{Checkpoint: home.Checkpoint{Source: "base", Tag: "d4", Step: 1514}, Generation: "A7"},
	}
	for _, tt := range []struct{ filter, want string }{
		{"sft d4", "sft/d4/1514 sft/d40/100"},
		{"sft/d4", "sft/d4/1514 sft/d40/100"},
		{"d6", "sft/d6/1514"},
		{"sftd6", "sft/d6/1514"},
		{"1514 a7", "sft/d6/1514 sft/d4/1514 base/d4/1514"},
		{"rl", ""},
	} {
		m := New(theme.Plain(), DefaultKeyMap(), items, "")
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(tt.filter)})
		var got []string
		for _, i := range m.shown {
			got = append(got, items[i].Checkpoint.Name())
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("filter %q shows %q, want %q", tt.filter, strings.Join(got, " "), tt.want)
		}
	}
}

// TestSizesAsModels: the picker writes parameters and sizes as nanochat
// models does (2.6M, 7.3 MiB), not rounded (3M) or in decimal units (7.7 MB).
func TestSizesAsModels(t *testing.T) {
	items := []Item{{Checkpoint: home.Checkpoint{Source: "sft", Tag: "d4", Step: 1514, Size: 7_654_321}, Generation: "A7", Params: 2_612_480}}
	v := New(theme.Plain(), DefaultKeyMap(), items, "").View()
	if !strings.Contains(v, "2.6M   7.3 MiB") {
		t.Errorf("picker row:\n%s\nwant 2.6M and 7.3 MiB", v)
	}
}
