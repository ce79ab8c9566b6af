package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestResults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "evals.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := Key{Digest: "abc", Task: "gsm8k", Settings: "t=0"}
	r := Result{Key: k, ItemKey: "i1", Index: 3, Row: 7, Pass: true, Correct: 1, Samples: 2, Predicted: "19", Gold: "19",
		Outputs:      []Output{{Text: "#### 19", Pass: true, Extracted: "19"}, {Text: "no", Finish: "length"}},
		PromptTokens: 10, GenTokens: 20, Duration: 1500 * time.Microsecond, Created: time.UnixMilli(1700000000000)}
	if err := s.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	// Other keys do not leak in.
	other := r
	other.Settings = "t=1"
	s.Put(ctx, other)
	s.Close()

	s, err = Open(path) // survives reopening
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Results(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got["i1"], r) {
		t.Errorf("Results = %+v, want %+v", got, r)
	}
	// Replacing an item keeps one row.
	r.Pass = false
	s.Put(ctx, r)
	got, _ = s.Results(ctx, k)
	if len(got) != 1 || got["i1"].Pass {
		t.Errorf("after replace: %+v", got)
	}
}

func TestRuns(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "evals.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	id1, err := s.StartRun(ctx, Run{Checkpoint: "sft/d4/1514", Key: Key{Digest: "d", Task: "mmlu", Settings: "s"}, Data: "x.jsonl", Total: 10})
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := s.StartRun(ctx, Run{Checkpoint: "sft/d4/1514", Key: Key{Digest: "d", Task: "gsm8k"}, Total: 5})
	if err := s.UpdateRun(ctx, id1, 10, 7, 2, "done"); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != id2 || runs[1].ID != id1 {
		t.Fatalf("runs = %+v", runs)
	}
	if r := runs[1]; r.Done != 10 || r.Passed != 7 || r.Cached != 2 || r.Status != "done" || r.Task != "mmlu" || r.Data != "x.jsonl" {
		t.Errorf("run 1 = %+v", r)
	}
	if runs, _ := s.Runs(ctx, 1); len(runs) != 1 {
		t.Errorf("limit 1: %d runs", len(runs))
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("NANOCHAT_EVAL_DB", "")
	t.Setenv("XDG_DATA_HOME", "/x")
	if got := DefaultPath(); got != "/x/nanochat/evals.db" {
		t.Errorf("DefaultPath = %q", got)
	}
	t.Setenv("NANOCHAT_EVAL_DB", "/y.db")
	if got := DefaultPath(); got != "/y.db" {
		t.Errorf("DefaultPath = %q", got)
	}
}
