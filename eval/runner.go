// Package eval runs chat evaluations against an llm.Model with upstream
// nanochat's semantics (scripts/chat_eval.py): categorical tasks score the
// answer letters' logits, generative tasks sample and check completions.
// Runs are cancellable, report progress events, and write every finished
// item to the result store at once, so a killed run resumes and an
// identical rerun is instant. Task definitions live in eval/task, data
// files in eval/data, the code sandbox in eval/sandbox.
package eval

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nanochat-go/nanochat/eval/stats"
	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
)

// Checkpoint identifies the model under evaluation.
type Checkpoint struct {
	Name    string `json:"name"`              // e.g. sft/d20/650
	Digest  string `json:"digest"`            // see Digest
	Variant string `json:"variant,omitempty"` // load options that change numerics (precision, overrides)
}

// Job is one task's items to evaluate.
type Job struct {
	Task  *task.Task
	Items []task.Item // in upstream order, already limited
	Data  string      // where the items came from
	Rows  int         // rows in the dataset before --limit
}

// Config configures a run.
type Config struct {
	Jobs       []Job
	Checkpoint Checkpoint
	Settings   llm.Settings // for generative tasks; Samples = k
	Parallel   int          // items in flight at once (default 1)
	Store      *store.Store // nil: nothing cached
	Fresh      bool         // ignore stored results (still stores new ones)
	Env        task.Env     // sandbox for HumanEval
}

// Event reports progress. Item is set when an item finished; Finished
// when the task is complete (or stopped).
type Event struct {
	Task     string
	Progress Progress
	Item     *store.Result
	Cached   bool // Item came from the store
	Finished bool
}

// Progress is a task's running tally.
type Progress struct {
	Done, Total  int
	Passed       int
	Cached       int // of Done, served from the store
	Errors       int // items the model could not answer (counted as failed)
	Accuracy     float64
	Lo, Hi       float64 // Wilson 95% interval
	ItemsPerSec  float64 // freshly computed items
	TokensPerSec float64 // generated tokens
	Elapsed, ETA time.Duration
}

// Run evaluates every job in order, calling on (if set) for each event
// from the calling goroutine's perspective serially. It returns the report
// so far when ctx is cancelled, with ctx's error.
func Run(ctx context.Context, m llm.Model, cfg Config, on func(Event)) (*Report, error) {
	if on == nil {
		on = func(Event) {}
	}
	rep := &Report{Checkpoint: cfg.Checkpoint, Settings: cfg.Settings, Started: time.Now()}
	if m != nil {
		rep.Model = m.Info()
	}
	var err error
	for _, job := range cfg.Jobs {
		var tr TaskReport
		tr, err = runJob(ctx, m, cfg, job, on)
		rep.Tasks = append(rep.Tasks, tr)
		if err != nil {
			break
		}
	}
	rep.finish()
	return rep, err
}

// runner is the state of one job.
type runner struct {
	cfg  Config
	job  Job
	on   func(Event)
	key  store.Key
	run  int64
	mu   sync.Mutex
	prog Progress
	res  []store.Result // by item index; Samples = 0 when not finished

	// scoring is how a categorical task's letters are scored
	// (llm.ChoiceLogprobs or llm.ChoiceGeneration).
	scoring string

	start     time.Time
	computed  int
	tokens    int
	lastWrite time.Time
}

func runJob(ctx context.Context, m llm.Model, cfg Config, job Job, on func(Event)) (TaskReport, error) {
	t := job.Task
	r := &runner{cfg: cfg, job: job, on: on, start: time.Now(), res: make([]store.Result, len(job.Items))}
	r.prog.Total = len(job.Items)
	// 0. How the model scores letters is part of what a categorical result
	// means: it goes into the key and the report. A model that cannot
	// score them fails the task here, before any item.
	if t.Kind == task.Categorical {
		r.scoring = llm.ChoiceLogprobs
		if m != nil {
			var err error
			if r.scoring, err = llm.ChoiceMethod(ctx, m); err != nil {
				err = fmt.Errorf("%s: %w", t.Name, err)
				tr := r.report("failed", err)
				on(Event{Task: t.ID, Progress: r.snapshot(), Finished: true})
				return tr, err
			}
		}
	}
	r.key = store.Key{Digest: cfg.Checkpoint.Digest, Task: t.ID, Settings: SettingsKey(t.Kind, cfg.Settings, cfg.Checkpoint.Variant, r.scoring)}

	// 1. Serve what the store has.
	var cached map[string]store.Result
	if cfg.Store != nil {
		var err error
		if !cfg.Fresh {
			if cached, err = cfg.Store.Results(ctx, r.key); err != nil {
				return r.report("failed", err), err
			}
		}
		if r.run, err = cfg.Store.StartRun(ctx, store.Run{Checkpoint: cfg.Checkpoint.Name, Key: r.key, Data: job.Data, Total: len(job.Items)}); err != nil {
			return r.report("failed", err), err
		}
	}
	var todo []int
	for i := range job.Items {
		it := &job.Items[i]
		if c, ok := cached[it.Key()]; ok {
			c.Index, c.Row = it.Index, it.Row
			r.finishItem(ctx, c, true)
			continue
		}
		todo = append(todo, i)
	}

	// 2. Compute the rest with Parallel workers.
	if m == nil && len(todo) > 0 {
		return r.report("failed", errors.New("no model")), errors.New("eval: no model to run")
	}
	work := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range max(cfg.Parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				res, err := r.evalItem(wctx, m, &job.Items[i])
				if err != nil {
					if wctx.Err() != nil {
						return
					}
					if errors.Is(err, errFatal) {
						errOnce.Do(func() { firstErr = err; cancel() })
						return
					}
					// The model could not answer this item (e.g. a prompt
					// longer than the context): a failure, not cached.
					res.Outputs = []store.Output{{Detail: "error: " + err.Error()}}
					r.mu.Lock()
					r.prog.Errors++
					r.mu.Unlock()
					r.finishItem(wctx, res, false)
					continue
				}
				if r.cfg.Store != nil {
					if err := r.cfg.Store.Put(wctx, res); err != nil {
						errOnce.Do(func() { firstErr = err; cancel() })
						return
					}
				}
				r.finishItem(wctx, res, false)
			}
		}()
	}
feed:
	for _, i := range todo {
		select {
		case work <- i:
		case <-wctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()

	status, err := "done", firstErr
	switch {
	case err != nil:
		status = "failed"
	case ctx.Err() != nil:
		status, err = "cancelled", ctx.Err()
	}
	tr := r.report(status, err)
	if r.cfg.Store != nil && r.run != 0 {
		r.cfg.Store.UpdateRun(ctx, r.run, r.prog.Done, r.prog.Passed, r.prog.Cached, status)
	}
	on(Event{Task: t.ID, Progress: r.snapshot(), Finished: true})
	return tr, err
}

// errFatal marks errors that stop the whole task (e.g. no sandbox).
var errFatal = errors.New("fatal")

// evalItem runs the model on one item and scores every sample.
func (r *runner) evalItem(ctx context.Context, m llm.Model, it *task.Item) (store.Result, error) {
	t := r.job.Task
	res := store.Result{Key: r.key, ItemKey: it.Key(), Index: it.Index, Row: it.Row, Gold: it.Gold}
	start := time.Now()
	if t.Kind == task.Categorical {
		best, _, err := m.Choose(ctx, it.Prompt(), it.Letters)
		if err != nil {
			return res, err
		}
		v := task.CheckLetter(it, it.Letters[best])
		res.Outputs = []store.Output{{Text: it.Letters[best], Pass: v.Pass, Extracted: v.Extracted}}
		if r.scoring == llm.ChoiceGeneration {
			res.Outputs[0].Detail = "scored by a one-token answer (the server gives no logprobs)"
		}
	} else {
		s := r.cfg.Settings
		s.Samples = max(s.Samples, 1)
		rep, err := m.Chat(ctx, it.Prompt(), s, nil)
		if err != nil {
			return res, err
		}
		res.PromptTokens = rep.Stats.PromptTokens
		res.GenTokens = rep.Stats.Generated * len(rep.Rows)
		for _, row := range rep.Rows {
			// Raw is upstream's completion text: decode of the generated
			// tokens, special tokens literal.
			v, err := t.Check(ctx, r.cfg.Env, it, row.Raw)
			if err != nil {
				if ctx.Err() != nil {
					return res, err
				}
				return res, fmt.Errorf("%s: %w: %w", t.Name, errFatal, err)
			}
			res.Outputs = append(res.Outputs, store.Output{Text: row.Raw, Pass: v.Pass, Extracted: v.Extracted, Detail: v.Detail, Finish: row.Finish})
		}
	}
	res.Samples = len(res.Outputs)
	for _, o := range res.Outputs {
		if o.Pass {
			res.Correct++
		}
	}
	res.Pass = res.Correct > 0 // upstream: any of the samples
	if len(res.Outputs) > 0 {
		res.Predicted = res.Outputs[0].Extracted
	}
	res.Duration = time.Since(start)
	return res, nil
}

// finishItem tallies a finished item and emits its event.
func (r *runner) finishItem(ctx context.Context, res store.Result, cached bool) {
	if res.Samples == 0 {
		res.Samples = max(len(res.Outputs), 1)
	}
	r.mu.Lock()
	r.res[res.Index] = res
	p := &r.prog
	p.Done++
	if res.Pass {
		p.Passed++
	}
	if cached {
		p.Cached++
	} else {
		r.computed++
		r.tokens += res.GenTokens
	}
	p.Accuracy = float64(p.Passed) / float64(p.Done)
	p.Lo, p.Hi = stats.Wilson(p.Passed, p.Done, stats.Z95)
	p.Elapsed = time.Since(r.start)
	if secs := p.Elapsed.Seconds(); secs > 0 && r.computed > 0 {
		p.ItemsPerSec = float64(r.computed) / secs
		p.TokensPerSec = float64(r.tokens) / secs
		p.ETA = time.Duration(float64(p.Total-p.Done) / p.ItemsPerSec * float64(time.Second))
	}
	snap := *p
	write := r.cfg.Store != nil && r.run != 0 && time.Since(r.lastWrite) > time.Second
	if write {
		r.lastWrite = time.Now()
	}
	r.on(Event{Task: r.job.Task.ID, Progress: snap, Item: &res, Cached: cached})
	r.mu.Unlock()
	if write {
		r.cfg.Store.UpdateRun(ctx, r.run, snap.Done, snap.Passed, snap.Cached, "running")
	}
}

func (r *runner) snapshot() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.prog
}
