package evalpane

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui"
	"github.com/nanochat-go/nanochat/tui/picker"
	"github.com/nanochat-go/nanochat/tui/theme"
)

// gated is a real local model whose Choose calls after the first wait for
// gate, so that the test can replace the model while an eval still has
// items to run; it records when the app closes it.
type gated struct {
	*local.Model
	calls     atomic.Int32
	first     chan struct{} // closed when the first Choose has returned
	gate      chan struct{} // later Choose calls wait for it
	closed    chan struct{} // closed when Close is called
	closeOnce sync.Once
}

func (g *gated) Choose(ctx context.Context, msgs []llm.Message, letters []string) (int, []float32, error) {
	n := g.calls.Add(1)
	if n > 1 {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
	best, scores, err := g.Model.Choose(ctx, msgs, letters)
	if n == 1 {
		close(g.first)
	}
	return best, scores, err
}

func (g *gated) Close() error {
	err := g.Model.Close()
	g.closeOnce.Do(func() { close(g.closed) })
	return err
}

func within(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestSwitchCheckpointDuringEval starts an eval on the demo model, loads
// another checkpoint while it still has items to run, and checks that the
// run finishes on the model it started with, every item answered, and that
// the replaced model is freed when the run ends (not before, not never).
// Before the eval held its own reference, the switch closed the model
// under the run: its items failed with "closed" (or, before the backend
// guarded Close, the process crashed reading unmapped weights).
func TestSwitchCheckpointDuringEval(t *testing.T) {
	const items = 6
	demo := filepath.Join("..", "..", "testdata", "demo")
	demoHome := filepath.Join(demo, "home")
	ck, err := home.Resolve(demoHome, "sft", "", -1)
	if err != nil {
		t.Fatal(err)
	}
	other := ck // the same weights under another name: a second load
	other.Step--

	var mu sync.Mutex
	var opened []*gated
	opener := func(ctx context.Context, c home.Checkpoint, progress func(string)) (llm.Model, error) {
		m, err := local.Open(c, local.OpenOptions{Home: demoHome, Progress: progress})
		if err != nil {
			return nil, err
		}
		g := &gated{Model: m, first: make(chan struct{}), gate: make(chan struct{}), closed: make(chan struct{})}
		mu.Lock()
		defer mu.Unlock()
		if len(opened) > 0 {
			close(g.gate) // only the first model is held up
		}
		opened = append(opened, g)
		return g, nil
	}
	pane := New(Options{Theme: theme.Plain(), Limit: items,
		Data: map[string]string{"arc-easy": filepath.Join(demo, "data", "arc_toy.jsonl")}})
	app := tui.New(tui.Options{Theme: theme.Plain(), Home: demoHome, Eval: pane, Opener: opener,
		Lister: func() ([]home.Checkpoint, error) { return []home.Checkpoint{ck, other}, nil }})
	defer app.Close()
	tm := teatest.NewTestModel(t, app, teatest.WithInitialTermSize(100, 30))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("Type a message")) }, // loaded
		teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	mu.Lock()
	first := opened[0]
	mu.Unlock()

	tm.Send(tea.KeyMsg{Type: tea.KeyTab})   // the eval tab
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter}) // start ARC-Easy
	within(t, "the eval's first item", first.first)
	tm.Send(picker.ChosenMsg{Checkpoint: other})
	within(t, "the app to close the replaced model", first.closed)
	select {
	case <-first.Released():
		t.Error("the replaced model was freed while the eval still runs on it")
	default:
	}
	close(first.gate)
	within(t, "the eval to end and free the replaced model", first.Released())
	if n := first.Backend().Allocated(); n != 0 {
		t.Errorf("replaced model still holds %d bytes", n)
	}

	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("finished")) },
		teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if pane.report == nil || len(pane.report.Tasks) != 1 {
		t.Fatalf("report = %+v, want one task", pane.report)
	}
	tr := pane.report.Tasks[0]
	if tr.Status != "done" || tr.N != items || tr.Errors != 0 {
		t.Errorf("ARC-Easy: status %s, %d/%d items, %d errors (%s); want done, %d items, 0 errors",
			tr.Status, tr.N, tr.Total, tr.Errors, tr.Error, items)
	}
	for _, r := range pane.results["arc-easy"] {
		for _, o := range r.Outputs {
			if strings.HasPrefix(o.Detail, "error:") {
				t.Errorf("item %d: %s", r.Index, o.Detail)
			}
		}
	}
	if got := int(first.calls.Load()); got != items {
		t.Errorf("the first model answered %d items, want all %d", got, items)
	}
	if pane.model == nil || pane.model.Info().Name != other.Name() {
		t.Errorf("the pane's model after the switch is not %s", other.Name())
	}
}
