package eval

import (
	"fmt"
	"math"
	"time"

	"github.com/nanochat-go/nanochat/eval/stats"
	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
)

// Report is the outcome of a run (the JSON of "nanochat eval --json").
type Report struct {
	Checkpoint Checkpoint   `json:"checkpoint"`
	Model      llm.Info     `json:"model"`
	Settings   llm.Settings `json:"settings"`
	Tasks      []TaskReport `json:"tasks"`
	// ChatCORE is the mean centered accuracy over the evaluated tasks;
	// ChatCOREComplete says whether all five of upstream's tasks ran in
	// full (upstream prints the metric only then).
	ChatCORE         *float64      `json:"chatcore"`
	ChatCOREComplete bool          `json:"chatcore_complete"`
	Started          time.Time     `json:"started"`
	Duration         time.Duration `json:"duration_ns"`
}

// TaskReport is one task's result.
type TaskReport struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Scoring is how a categorical task's letters were scored:
	// llm.ChoiceLogprobs (their log-probabilities, as upstream compares
	// logits) or llm.ChoiceGeneration (a one-token greedy answer scored 1,
	// the other letters 0: a server without logprobs; not comparable).
	Scoring  string     `json:"scoring,omitempty"`
	Status   string     `json:"status"` // done, cancelled, failed
	Error    string     `json:"error,omitempty"`
	Data     string     `json:"data"`
	Rows     int        `json:"rows"` // dataset size before --limit
	N        int        `json:"n"`    // items evaluated
	Total    int        `json:"total"`
	Passed   int        `json:"passed"`
	Accuracy float64    `json:"accuracy"` // upstream's: any of the samples passed
	CI95     [2]float64 `json:"ci95"`     // Wilson interval of Accuracy
	Baseline float64    `json:"baseline"`
	Centered float64    `json:"centered"` // (acc − baseline)/(1 − baseline)
	Samples  int        `json:"samples"`  // per item
	// PassAtK is the unbiased pass@k estimate (Chen et al.) for k in
	// 1, 10, …, samples; pass@samples equals Accuracy.
	PassAtK      map[string]float64 `json:"pass_at_k,omitempty"`
	Cached       int                `json:"cached"`
	Errors       int                `json:"errors,omitempty"`
	ItemsPerSec  float64            `json:"items_per_sec"`
	TokensPerSec float64            `json:"tokens_per_sec"`
	Duration     time.Duration      `json:"duration_ns"`
	Results      []store.Result     `json:"-"` // finished items by index (for browsers)
}

func (r *runner) report(status string, err error) TaskReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.job.Task
	p := r.prog
	tr := TaskReport{ID: t.ID, Name: t.Name, Kind: t.Kind.String(), Scoring: r.scoring, Status: status, Data: r.job.Data, Rows: r.job.Rows,
		N: p.Done, Total: p.Total, Passed: p.Passed, Baseline: t.Baseline, Cached: p.Cached, Errors: p.Errors,
		ItemsPerSec: p.ItemsPerSec, TokensPerSec: p.TokensPerSec, Duration: time.Since(r.start)}
	if err != nil {
		tr.Error = err.Error()
	}
	if p.Done > 0 {
		tr.Accuracy = float64(p.Passed) / float64(p.Done)
	}
	tr.CI95[0], tr.CI95[1] = stats.Wilson(p.Passed, p.Done, stats.Z95)
	tr.Centered = stats.Centered(tr.Accuracy, t.Baseline)
	for _, res := range r.res {
		if res.Samples > 0 {
			tr.Results = append(tr.Results, res)
		}
	}
	tr.Samples, tr.PassAtK = passAtK(tr.Results)
	return tr
}

// passAtK averages the unbiased estimator over items that all have the
// same number of samples n, for k in stats.Ks(n).
func passAtK(results []store.Result) (int, map[string]float64) {
	if len(results) == 0 {
		return 0, nil
	}
	n := results[0].Samples
	for _, r := range results {
		if r.Samples != n {
			return 0, nil
		}
	}
	out := map[string]float64{}
	for _, k := range stats.Ks(n) {
		sum := 0.0
		for _, r := range results {
			sum += stats.PassAtK(r.Samples, r.Correct, k)
		}
		out[fmt.Sprintf("pass@%d", k)] = sum / float64(len(results))
	}
	return n, out
}

// finish computes ChatCORE over the tasks that produced results.
func (rep *Report) finish() {
	rep.Duration = time.Since(rep.Started)
	var accs, bases []float64
	full := map[string]bool{}
	for _, tr := range rep.Tasks {
		if tr.N == 0 {
			continue
		}
		accs = append(accs, tr.Accuracy)
		bases = append(bases, tr.Baseline)
		full[tr.ID] = tr.Status == "done" && tr.N == tr.Rows
	}
	if len(accs) == 0 {
		return
	}
	c := stats.ChatCORE(accs, bases)
	if !math.IsNaN(c) {
		rep.ChatCORE = &c
	}
	rep.ChatCOREComplete = true
	for _, t := range task.All() {
		if !full[t.ID] {
			rep.ChatCOREComplete = false
		}
	}
}
