package eval

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/home"
)

// upstreamEval is testdata/eval/upstream_eval.json: upstream's task code
// and chat_eval loops on the toy sets, with a numpy forward of the demo
// model (upstream_eval.py; checked against the golden logits first).
type upstreamEval struct {
	Tasks map[string]struct {
		Passed int     `json:"passed"`
		N      int     `json:"n"`
		Acc    float64 `json:"accuracy"`
		Items  []struct {
			Row        int    `json:"row"`
			Pred       string `json:"pred"`
			Completion string `json:"completion"`
			Pass       bool   `json:"pass"`
		} `json:"items"`
	} `json:"tasks"`
}

// TestDemoMatchesUpstream runs the demo checkpoint on the toy task files
// and compares every item with upstream's outcome: the predicted letter
// (ARC, MMLU), the completion text (GSM8K) and pass/fail.
func TestDemoMatchesUpstream(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo model")
	}
	b, err := os.ReadFile(filepath.Join(fixtures, "upstream_eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	var up upstreamEval
	if err := json.Unmarshal(b, &up); err != nil {
		t.Fatal(err)
	}
	demo := "../testdata/demo"
	ck, err := home.Resolve(filepath.Join(demo, "home"), "sft", "", -1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := local.Open(ck, local.OpenOptions{Home: filepath.Join(demo, "home"), Model: model.Options{Precision: model.Exact}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tasks, _ := task.Parse("arc-easy,mmlu,gsm8k")
	jobs, err := Plan{Tasks: tasks, Data: map[string]string{
		"arc-easy": filepath.Join(demo, "data", "arc_toy.jsonl"),
		"mmlu":     filepath.Join(demo, "data", "mmlu_toy.jsonl"),
		"gsm8k":    filepath.Join(demo, "data", "gsm8k_toy.jsonl"),
	}}.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), m, Config{Jobs: jobs, Settings: Defaults()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range rep.Tasks {
		want, ok := up.Tasks[tr.Name]
		if !ok {
			t.Fatalf("no upstream reference for %s", tr.Name)
		}
		t.Logf("%s: %d/%d = %.4f (upstream %d/%d = %.4f)", tr.Name, tr.Passed, tr.N, tr.Accuracy, want.Passed, want.N, want.Acc)
		if tr.Passed != want.Passed || tr.N != want.N {
			t.Errorf("%s: %d/%d, upstream %d/%d", tr.Name, tr.Passed, tr.N, want.Passed, want.N)
		}
		for i, w := range want.Items {
			got := tr.Results[i]
			if got.Row != w.Row || got.Pass != w.Pass {
				t.Errorf("%s item %d: row %d pass %v, upstream row %d pass %v", tr.Name, i, got.Row, got.Pass, w.Row, w.Pass)
				continue
			}
			if w.Pred != "" && got.Outputs[0].Text != w.Pred {
				t.Errorf("%s item %d: predicted %q, upstream %q", tr.Name, i, got.Outputs[0].Text, w.Pred)
			}
			if w.Completion != "" && got.Outputs[0].Text != w.Completion {
				t.Errorf("%s item %d: completion\n%q\nupstream\n%q", tr.Name, i, got.Outputs[0].Text, w.Completion)
			}
		}
	}
}
