package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui/picker"
)

// loader is a checkpoint load running in the background.
type loader struct {
	seq      int
	ck       home.Checkpoint
	cycle    *cycleDir // set when alt+s / alt+, / alt+. chose ck: a failure moves on
	skipped  string    // says which checkpoints were skipped on the way to ck
	cancel   context.CancelFunc
	progress chan string
	result   chan loadedMsg
	stage    string
	start    time.Time
}

type (
	progressMsg struct {
		seq   int
		stage string
	}
	loadedMsg struct {
		seq   int
		ck    home.Checkpoint
		model llm.Model
		err   error
		took  time.Duration
	}
	cycleMsg     struct{ ver int }
	describedMsg struct{ items []picker.Item }
)

// startLoad opens ck in the background; a load already running is
// superseded (its model, if it still arrives, is closed).
func (a *App) startLoad(ck home.Checkpoint) tea.Cmd { return a.startLoadFrom(ck, nil) }

// startLoadFrom is startLoad for a checkpoint reached by cycling in dir
// (nil: chosen directly), so that one that fails to load is skipped.
func (a *App) startLoadFrom(ck home.Checkpoint, dir *cycleDir) tea.Cmd {
	if a.o.Opener == nil {
		return a.flash("no way to load checkpoints in this build")
	}
	var cmds []tea.Cmd
	if old := a.load; old != nil {
		old.cancel()
		cmds = append(cmds, func() tea.Msg {
			if r := <-old.result; r.model != nil {
				r.model.Close()
			}
			return nil
		})
	}
	a.loadSeq++
	ctx, cancel := context.WithCancel(context.Background())
	l := &loader{seq: a.loadSeq, ck: ck, cycle: dir, cancel: cancel, progress: make(chan string, 16),
		result: make(chan loadedMsg, 1), stage: "starting", start: time.Now()}
	a.load, a.target = l, nil
	opener := a.o.Opener
	go func() {
		m, err := opener(ctx, ck, func(s string) {
			select {
			case l.progress <- s:
			default: // the UI shows the latest stage only; drop when behind
			}
		})
		l.result <- loadedMsg{seq: l.seq, ck: ck, model: m, err: err, took: time.Since(l.start)}
	}()
	return tea.Batch(append(cmds, waitLoad(l), a.spin.Tick)...)
}

func waitLoad(l *loader) tea.Cmd {
	return func() tea.Msg {
		select {
		case s := <-l.progress:
			return progressMsg{seq: l.seq, stage: s}
		case r := <-l.result:
			l.result <- r // keep it for a superseding load's cleanup
			return r
		}
	}
}

func (a *App) handleLoad(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case progressMsg:
		if a.load == nil || msg.seq != a.load.seq {
			return nil
		}
		a.load.stage = msg.stage
		return waitLoad(a.load)
	case loadedMsg:
		if a.load == nil || msg.seq != a.load.seq {
			return nil
		}
		<-a.load.result // taken: nothing left for a cleanup to close
		dir, skipped := a.load.cycle, a.load.skipped
		a.load = nil
		if msg.err != nil {
			return a.loadFailed(msg.ck, msg.err, dir, skipped)
		}
		delete(a.failed, msg.ck.Name())
		// The app drops its own reference to the replaced model: at once,
		// or when the reply streaming from it ends (the chat's command may
		// not have called the model yet). Work holding its own reference
		// (an eval run, see Acquire) keeps the model loaded until it ends.
		old := a.model
		a.model, a.ck = msg.model, msg.ck
		a.chat.SetModel(msg.model)
		a.chat.SetHint(a.readyHint())
		var cmds []tea.Cmd
		if old != nil {
			if a.chat.Streaming() {
				a.closeLater = append(a.closeLater, old)
			} else {
				cmds = append(cmds, func() tea.Msg { old.Close(); return nil })
			}
		}
		var c tea.Cmd
		a.eval, c = a.eval.Update(ModelMsg{Model: msg.model, Checkpoint: msg.ck})
		loaded := fmt.Sprintf("loaded %s in %v", msg.ck.Name(), msg.took.Round(10*time.Millisecond))
		if skipped != "" {
			loaded = skipped + " → " + loaded
		}
		cmds = append(cmds, c, a.flash(loaded))
		return tea.Batch(cmds...)
	case cycleMsg:
		if msg.ver != a.cycleVer || a.target == nil {
			return nil
		}
		dir := a.cycleDir
		return a.startLoadFrom(*a.target, &dir)
	case describedMsg:
		for _, it := range msg.items {
			a.described[it.Checkpoint.Name()] = it
			if a.dialog != nil && a.dialog.picker != nil {
				a.dialog.picker.Describe(it)
			}
		}
	}
	return nil
}

// loadFailed reports a checkpoint that did not load. Reached by cycling,
// it is skipped: the next one the same way loads instead, so alt+s never
// sticks on a broken checkpoint. Failed checkpoints are remembered and
// passed over by later cycling until one loads.
func (a *App) loadFailed(ck home.Checkpoint, err error, dir *cycleDir, skipped string) tea.Cmd {
	a.failed[ck.Name()] = err.Error()
	if a.model == nil {
		a.chat.SetHint(fmt.Sprintf("Could not load %s: %v\n\nctrl+l picks another checkpoint.", ck.Name(), err))
	}
	if dir == nil {
		return a.flash(fmt.Sprintf("load %s failed: %v", ck.Name(), err))
	}
	if skipped != "" {
		skipped += ", "
	}
	skipped += fmt.Sprintf("skipped %s: it did not load (ctrl+l says why)", ck.Name())
	next, ok := neighbour(a.checkpoints, ck, dir.kind, dir.d, a.skip)
	if !ok || a.model != nil && next.Name() == a.ck.Name() {
		stay := "no other checkpoint that way"
		if a.model != nil {
			stay = "staying on " + a.ck.Name()
		}
		return a.flash(skipped + ": " + stay)
	}
	cmd := a.startLoadFrom(next, dir)
	if a.load != nil {
		a.load.skipped = skipped
	}
	return tea.Batch(a.flash(skipped+" → loading "+next.Name()), cmd)
}

// skip reports checkpoints that cycling passes over: those that failed to load.
func (a *App) skip(ck home.Checkpoint) bool {
	_, failed := a.failed[ck.Name()]
	return failed
}

func (a *App) readyHint() string {
	info := a.chat.LLM().Info()
	if !info.Chat {
		return fmt.Sprintf("%s is a base checkpoint (no chat template): completion mode.\nType the start of a text and press enter; the model continues it.", info.Name)
	}
	hint := "Type a message and press enter. ctrl+l switches checkpoint, ctrl+g shows every key."
	if a.o.Banner != "" {
		hint = a.o.Banner + "\n\n" + hint
	}
	return hint
}

// listed picks the first checkpoint to load, or explains that there is none.
func (a *App) listed(msg listedMsg) tea.Cmd {
	a.checkpoints = msg.cks
	if msg.err != nil {
		a.chat.SetHint(fmt.Sprintf("Could not list checkpoints in %s: %v", a.o.Home, msg.err))
		return nil
	}
	if len(msg.cks) == 0 {
		a.chat.SetHint(fmt.Sprintf("No checkpoints found in %s.\n\n"+
			"nanochat looks in $NANOCHAT_BASE_DIR (default ~/.cache/nanochat) for base_checkpoints/, "+
			"mid_checkpoints/, chatsft_checkpoints/ and chatrl_checkpoints/. Point it at a nanochat home with "+
			"--home DIR or NANOCHAT_BASE_DIR=DIR, or try the bundled demo: --home testdata/demo/home.", a.o.Home))
		return nil
	}
	if a.model != nil || a.load != nil {
		return nil
	}
	want := a.o.Initial
	if want == "" && a.o.Continue != nil {
		// a continued session resumes on the checkpoint it last used, if present
		if ck, ok := pickInitial(msg.cks, a.o.Continue.Checkpoint); ok && a.o.Continue.Checkpoint != "" {
			want = ck.Name()
		}
	}
	ck, ok := pickInitial(msg.cks, want)
	if !ok {
		return a.flash(fmt.Sprintf("checkpoint %q not found; pick one with ctrl+l", a.o.Initial))
	}
	a.chat.SetHint("Loading " + ck.Name() + "…")
	return a.startLoad(ck)
}

// pickInitial is the checkpoint named by want, else the best chat model:
// sft, then rl, mid and base; the first (deepest tag, last step) of each.
func pickInitial(cks []home.Checkpoint, want string) (home.Checkpoint, bool) {
	if want != "" {
		for _, ck := range cks {
			if ck.Name() == want || strings.HasPrefix(ck.Name(), want+"/") {
				return ck, true
			}
		}
		return home.Checkpoint{}, false
	}
	for _, src := range []string{"sft", "rl", "mid", "base"} {
		for _, ck := range cks {
			if ck.Source == src {
				return ck, true
			}
		}
	}
	return cks[0], true
}

type cycleKind int

const (
	cycleSource cycleKind = iota
	cycleStep
)

// cycleDir is which way the cycling keys last moved.
type cycleDir struct {
	kind cycleKind
	d    int
}

// cycle moves the target checkpoint to the next source (same tag if it
// has one) or to an older/newer step of the same source and tag, and loads
// it after a short pause so repeated presses load only the last.
func (a *App) cycle(kind cycleKind, d int) tea.Cmd {
	from := a.ck
	if a.target != nil {
		from = *a.target
	} else if a.load != nil {
		from = a.load.ck
	}
	if from.Source == "" {
		return a.flash("no checkpoint loaded yet")
	}
	next, ok := neighbour(a.checkpoints, from, kind, d, a.skip)
	if !ok {
		return a.flash("no other checkpoint that way")
	}
	a.target = &next
	a.cycleDir = cycleDir{kind, d}
	a.cycleVer++
	ver := a.cycleVer
	return tea.Batch(a.flash("→ "+next.Name()), tea.Tick(400*time.Millisecond, func(time.Time) tea.Msg { return cycleMsg{ver} }))
}

// neighbour is the checkpoint after from in the direction kind, d, passing
// over those skip reports (from itself may be one).
func neighbour(cks []home.Checkpoint, from home.Checkpoint, kind cycleKind, d int, skip func(home.Checkpoint) bool) (home.Checkpoint, bool) {
	if kind == cycleStep {
		var steps []home.Checkpoint
		for _, ck := range cks {
			if ck.Source == from.Source && ck.Tag == from.Tag && (ck.Step == from.Step || !skip(ck)) {
				steps = append(steps, ck)
			}
		}
		sort.Slice(steps, func(i, j int) bool { return steps[i].Step < steps[j].Step })
		for i, ck := range steps {
			if ck.Step == from.Step && i+d >= 0 && i+d < len(steps) {
				return steps[i+d], true
			}
		}
		return home.Checkpoint{}, false
	}
	si := 0
	for i, s := range home.Sources {
		if s.Name == from.Source {
			si = i
		}
	}
	for n := 1; n < len(home.Sources); n++ {
		L := len(home.Sources)
		src := home.Sources[((si+n*d)%L+L)%L].Name
		var first *home.Checkpoint
		for i, ck := range cks {
			if ck.Source != src || skip(ck) {
				continue
			}
			if ck.Tag == from.Tag {
				return ck, true // Scan lists the last step first
			}
			if first == nil {
				first = &cks[i]
			}
		}
		if first != nil {
			return *first, true
		}
	}
	return home.Checkpoint{}, false
}

// items are the picker rows with what is known of each checkpoint.
func (a *App) items() []picker.Item {
	out := make([]picker.Item, len(a.checkpoints))
	for i, ck := range a.checkpoints {
		out[i] = a.described[ck.Name()]
		out[i].Checkpoint = ck
		if why, failed := a.failed[ck.Name()]; failed {
			out[i].Err = "did not load: " + why
		}
	}
	return out
}

// describeAll reads the generation and size of checkpoints not yet described.
func (a *App) describeAll() tea.Cmd {
	describe := a.o.Describer
	if describe == nil {
		return nil
	}
	var todo []home.Checkpoint
	for _, ck := range a.checkpoints {
		if _, ok := a.described[ck.Name()]; !ok {
			todo = append(todo, ck)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return func() tea.Msg {
		items := make([]picker.Item, 0, len(todo))
		for _, ck := range todo {
			it := picker.Item{Checkpoint: ck}
			var err error
			if it.Generation, it.Params, err = describe(ck); err != nil {
				it.Generation, it.Err = "?", err.Error()
			}
			items = append(items, it)
		}
		return describedMsg{items}
	}
}
