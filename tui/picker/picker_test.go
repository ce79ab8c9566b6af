package picker

import (
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
