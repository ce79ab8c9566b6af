package evalpane

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/nanochat-go/nanochat/eval"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// flat is s with its runs of spaces and newlines made single spaces.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// toyPane is the pane as the CLI builds it for a home without task_data/:
// the demo's toy sets stand in for GSM8K and MMLU.
func toyPane(t *testing.T) *Model {
	t.Helper()
	m := New(Options{Theme: theme.Plain(), Home: t.TempDir(), Toy: map[string]string{
		"gsm8k": filepath.Join(fixtures, "gsm8k.jsonl"),
		"mmlu":  filepath.Join(fixtures, "mmlu.jsonl"),
	}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	drive(m, m.Init())
	return m
}

// TestToySetsLabelled: data the pane falls back to is called a toy set
// wherever it shows, with the command that fetches the real data, and a
// ChatCORE over toy sets says it is not the benchmark's.
func TestToySetsLabelled(t *testing.T) {
	m := toyPane(t)
	v := flat(m.View())
	for _, want := range []string{
		"[x] GSM8K generative · toy set gsm8k.jsonl (not the real GSM8K)",
		"[ ] ARC-Easy categorical · no data: nanochat data pull arc-easy",
		"MMLU, GSM8K: toy sets bundled with the demo model, not the benchmarks",
		"For the real data: nanochat data pull mmlu gsm8k (or d to choose a file)",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, m.View())
		}
	}
	loadModel(m, "sft/d1", nil)
	press(m, "enter")
	v = flat(m.View())
	for _, want := range []string{"MMLU (toy)", "GSM8K (toy)", "ChatCORE", "(on toy sets: not the benchmark's metric)"} {
		if !strings.Contains(v, want) {
			t.Errorf("results lack %q:\n%s", want, m.View())
		}
	}
}

// TestChooseDataFile: d opens an input for the task's data, as --data
// task=path does; the file is checked, then used, and empty goes back.
func TestChooseDataFile(t *testing.T) {
	m := toyPane(t)
	arc := filepath.Join(fixtures, "arc.jsonl")
	press(m, "d") // ARC-Easy, under the cursor
	if m.input == nil || !strings.Contains(flat(m.View()), "ARC-Easy data, as --data takes it") {
		t.Fatalf("d: no data input:\n%s", m.View())
	}
	press(m, arc, "enter")
	v := flat(m.View())
	abs, _ := filepath.Abs(arc)
	if !strings.Contains(v, "ARC-Easy: 3 items from "+abs) || !strings.Contains(v, "[x] ARC-Easy categorical · file "+abs) {
		t.Errorf("after choosing %s:\n%s", arc, m.View())
	}

	// A file that does not parse names its line, not its place in the shuffle.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"question": "q", "answer": "#### 1"}`+"\n\n"+`{"question": 7}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	press(m, "down", "down", "down", "d")
	press(m, bad, "enter")
	if v := flat(m.View()); !strings.Contains(v, "GSM8K: "+bad+" line 3: GSM8K row:") {
		t.Errorf("a bad row is not named by its line:\n%s", m.View())
	}
	if _, ok := m.data["gsm8k"]; ok {
		t.Errorf("an unusable file was taken")
	}

	press(m, "up", "up", "up", "d")
	for range arc {
		m.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	}
	m.input.SetValue("")
	press(m, "enter")
	if _, ok := m.data["arc-easy"]; ok || !strings.Contains(flat(m.View()), "ARC-Easy: data from no data: nanochat data pull arc-easy") {
		t.Errorf("an empty path should go back to the default:\n%s", m.View())
	}
}

// TestSamplesShowChips: the sample browser shows a calculator call as the
// chat does, never the raw special tokens the store keeps.
func TestSamplesShowChips(t *testing.T) {
	m := New(Options{Theme: theme.Plain(), Data: map[string]string{"gsm8k": filepath.Join(fixtures, "gsm8k.jsonl")}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Update(tui.ModelMsg{Model: &llmtest.Fake{Tool: &llm.ToolCall{Expr: "12+7", Result: "19", OK: true},
		Reply: func([]llm.Message, llm.Settings) string { return "so 19.\n#### 19" }}, Checkpoint: home.Checkpoint{Source: "sft", Tag: "d1"}})
	press(m, "enter", "down", "down", "down", "v")
	v := m.View()
	if strings.Contains(v, "python_start") || strings.Contains(v, "<|") {
		t.Errorf("raw special tokens in the sample browser:\n%s", v)
	}
	if !strings.Contains(v, "[12+7 → 19]so 19.") {
		t.Errorf("no calculator chip in the sample browser:\n%s", v)
	}
}

// TestRowsFitAt80: a running task's row keeps its numbers whole at 80
// columns (the bar shrinks and the least useful numbers go), "it/s"
// included.
func TestRowsFitAt80(t *testing.T) {
	m := New(Options{Theme: theme.Plain(), Data: map[string]string{"gsm8k": filepath.Join(fixtures, "gsm8k.jsonl")}})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.running = true
	m.prog["gsm8k"] = eval.Progress{Done: 152, Total: 1319, Accuracy: 0.281, Lo: 0.21, Hi: 0.35, ItemsPerSec: 28.1,
		TokensPerSec: 2210, ETA: 41e9, Cached: 12}
	v := m.View()
	var row string
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "GSM8K") {
			row = l
		}
		if w := lipgloss.Width(l); w > 80 {
			t.Errorf("line is %d columns: %q", w, l)
		}
	}
	for _, want := range []string{"152/1319", "acc  28.1%", "28.1 it/s", "ETA 41s"} {
		if !strings.Contains(row, want) {
			t.Errorf("row at 80 columns lacks %q: %q", want, row)
		}
	}
	if strings.Contains(row, "…") {
		t.Errorf("row at 80 columns is cut: %q", row)
	}
}

// TestEvalStatusAndOpenSample: on the eval tab the status bar shows the
// evals' settings (greedy), not the chat's; a sample opened as a chat
// names the checkpoint that answered it.
func TestEvalStatusAndOpenSample(t *testing.T) {
	pane := New(Options{Theme: theme.Plain(), Data: map[string]string{"gsm8k": filepath.Join(fixtures, "gsm8k.jsonl")}})
	ck := home.Checkpoint{Source: "sft", Tag: "d1", Step: 5}
	fake := &llmtest.Fake{ModelInfo: llm.Info{Name: ck.Name(), Generation: "A7", Chat: true}}
	app := tui.New(tui.Options{Theme: theme.Plain(), Eval: pane})
	app.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	pane.Update(tui.ModelMsg{Model: fake, Checkpoint: ck})
	app.Update(tea.KeyMsg{Type: tea.KeyTab})
	v := app.View()
	if !strings.Contains(v, "eval: greedy · max 512 tokens") || strings.Contains(v, "T 0.6") {
		t.Errorf("eval tab status bar:\n%s", v)
	}
	press(pane, "enter", "down", "down", "down", "v")
	cmd := pane.openSample()
	for cmd != nil {
		msg := cmd()
		if msg == nil {
			break
		}
		_, cmd = app.Update(msg)
	}
	c := app.Chat()
	if s := c.Session(); s.Checkpoint != ck.Name() || !strings.HasPrefix(s.Title, "GSM8K #") {
		t.Errorf("opened session: checkpoint %q title %q", s.Checkpoint, s.Title)
	}
	c.SetSize(100, 30)
	if v := c.View(); !strings.Contains(v, "nanochat · sft/d1/5 A7 · seed 42") || strings.Contains(v, "╰") {
		t.Errorf("opened sample's reply: no provenance, or an empty stats line:\n%s", v)
	}
}

// blocking answers no multiple-choice item until its run is stopped.
type blocking struct{ llmtest.Fake }

func (b *blocking) Choose(ctx context.Context, _ []llm.Message, _ []string) (int, []float32, error) {
	<-ctx.Done()
	return 0, nil, ctx.Err()
}

// TestStopSaysStopped: stopping a run says so, and how to go on; not
// Go's "context canceled".
func TestStopSaysStopped(t *testing.T) {
	m := newPane(t, nil)
	m.Update(tui.ModelMsg{Model: &blocking{}, Checkpoint: home.Checkpoint{Source: "sft", Tag: "d1"}})
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	_, listen := m.Update(cmd()) // started
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s")})
	drive(m, listen)
	if v := m.View(); !strings.Contains(v, "stopped: the finished items are stored; enter runs the rest") || strings.Contains(v, "context canceled") {
		t.Errorf("after s:\n%s", v)
	}
}
