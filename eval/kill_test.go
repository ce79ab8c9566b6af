package eval

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
)

// TestHelperSlowRun is the child of TestKillResume: a run whose model takes
// 300 ms per item, storing into $NANOCHAT_EVAL_HELPER_DB.
func TestHelperSlowRun(t *testing.T) {
	db := os.Getenv("NANOCHAT_EVAL_HELPER_DB")
	if db == "" {
		t.Skip("helper process for TestKillResume")
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	m := &multi{rows: func(string, int) []string {
		time.Sleep(300 * time.Millisecond)
		return []string{"#### 19"}
	}}
	Run(context.Background(), m, Config{Jobs: []Job{job(t, "gsm8k", "gsm8k.jsonl", 0)}, Settings: Defaults(), Store: st,
		Checkpoint: Checkpoint{Digest: "ck1:kill"}}, nil)
	t.Fatal("the helper should have been killed")
}

// TestKillResume kills a run with SIGKILL in the middle and checks the
// rerun completes without redoing the items that were finished.
func TestKillResume(t *testing.T) {
	db := filepath.Join(t.TempDir(), "evals.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSlowRun$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NANOCHAT_EVAL_HELPER_DB="+db)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	key := store.Key{Digest: "ck1:kill", Task: "gsm8k", Settings: SettingsKey(task.Generative, Defaults(), "", "")}
	var stored int
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := store.Open(db); err == nil {
			res, _ := st.Results(context.Background(), key)
			st.Close()
			if stored = len(res); stored >= 2 {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	if stored < 2 || stored >= 5 {
		t.Fatalf("killed after %d stored items, want 2-4", stored)
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before, _ := st.Results(context.Background(), key)
	m := &multi{rows: func(string, int) []string { return []string{"#### 19"} }}
	rep, err := Run(context.Background(), m, Config{Jobs: []Job{job(t, "gsm8k", "gsm8k.jsonl", 0)}, Settings: Defaults(), Store: st,
		Checkpoint: Checkpoint{Digest: "ck1:kill"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Tasks[0]
	if tr.N != 5 || tr.Cached != len(before) || int(m.calls.Load()) != 5-len(before) {
		t.Errorf("rerun: n %d, cached %d, model calls %d; stored before %d", tr.N, tr.Cached, m.calls.Load(), len(before))
	}
	runs, _ := st.Runs(context.Background(), 0)
	if len(runs) != 2 || runs[1].Status != "running" {
		t.Errorf("the killed run should stay logged as running: %+v", runs)
	}
}

var _ llm.Model = (*multi)(nil)
