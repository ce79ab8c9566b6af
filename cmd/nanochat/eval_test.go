package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/eval"
)

// runCLI runs the nanochat command line in-process.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

const evalDemoHome = "../../testdata/demo/home"
const evalDemoData = "../../testdata/demo/data"

func TestEvalCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "evals.db")
	out := filepath.Join(t.TempDir(), "report.json")
	samples := filepath.Join(t.TempDir(), "samples.jsonl")
	args := []string{"eval", "--home", evalDemoHome, "--db", db, "--limit", "20", "--json", "--out", out, "--log-samples", samples,
		"--data", "arc-easy=" + evalDemoData + "/arc_toy.jsonl", "--data", "gsm8k=" + evalDemoData + "/gsm8k_toy.jsonl"}
	stdout, stderr, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, stderr)
	}
	var rep eval.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout)
	}
	if len(rep.Tasks) != 2 || rep.Tasks[0].ID != "arc-easy" || rep.Tasks[1].ID != "gsm8k" {
		t.Fatalf("tasks = %+v", rep.Tasks)
	}
	for _, tr := range rep.Tasks {
		if tr.N != 20 || tr.Rows != 200 || tr.Status != "done" || tr.CI95[0] > tr.Accuracy || tr.CI95[1] < tr.Accuracy {
			t.Errorf("%s = %+v", tr.ID, tr)
		}
	}
	if rep.Checkpoint.Name != "sft/d4/1514" || !strings.HasPrefix(rep.Checkpoint.Digest, "ck1:") || rep.ChatCORE == nil || rep.Settings.MaxTokens != 512 {
		t.Errorf("report header = %+v", rep)
	}
	if !strings.Contains(stderr, "GSM8K") || !strings.Contains(stderr, "20/20") {
		t.Errorf("stderr progress missing:\n%s", stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !json.Valid(b) {
		t.Errorf("--out file: %v", err)
	}
	if b, err := os.ReadFile(samples); err != nil || strings.Count(string(b), "\n") != 40 || !strings.Contains(string(b), `"outputs"`) {
		t.Errorf("--log-samples: %v\n%.300s", err, b)
	}
	// The identical rerun is served from the store.
	stdout, _, err = runCLI(t, "eval", "--home", evalDemoHome, "--db", db, "--limit", "20", "-q",
		"--data", "arc-easy="+evalDemoData+"/arc_toy.jsonl", "--data", "gsm8k="+evalDemoData+"/gsm8k_toy.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "ARC-Easy") || !strings.Contains(stdout, "20/200") || !strings.Contains(stdout, "ChatCORE metric") {
		t.Errorf("table output:\n%s", stdout)
	}
	if lines := strings.Split(stdout, "\n"); !strings.Contains(lines[2], " 20 ") {
		t.Errorf("rerun should report 20 cached items:\n%s", stdout)
	}
	// Continuous batching (-b 4) gives the same answers.
	stdout, _, err = runCLI(t, "eval", "--home", evalDemoHome, "--db", db, "--limit", "20", "-q", "--json", "--fresh", "-b", "4",
		"--data", "gsm8k="+evalDemoData+"/gsm8k_toy.jsonl")
	var batched eval.Report
	if err != nil || json.Unmarshal([]byte(stdout), &batched) != nil || batched.Tasks[0].Passed != rep.Tasks[1].Passed {
		t.Errorf("-b 4: %v, passed %+v, want %d", err, batched.Tasks, rep.Tasks[1].Passed)
	}
	// The runs are listed.
	stdout, _, err = runCLI(t, "eval", "runs", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(stdout, "sft/d4/1514") != 5 || !strings.Contains(stdout, "gsm8k") {
		t.Errorf("eval runs:\n%s", stdout)
	}
}

func TestEvalMissingData(t *testing.T) {
	h := t.TempDir()
	_, _, err := runCLI(t, "eval", "--home", h, "--task", "gsm8k", "--db", filepath.Join(h, "e.db"))
	if err == nil || !strings.Contains(err.Error(), "nanochat data pull gsm8k --home "+h) {
		t.Errorf("err = %v, want the pull command", err)
	}
	if _, _, err := runCLI(t, "eval", "--task", "hellaswag"); err == nil || !strings.Contains(err.Error(), "unknown task") {
		t.Errorf("unknown task: %v", err)
	}
	if _, _, err := runCLI(t, "eval", "--data", "gsm8k"); err == nil || !strings.Contains(err.Error(), "task=path") {
		t.Errorf("bad --data: %v", err)
	}
}

func TestDataPull(t *testing.T) {
	shard, err := os.ReadFile("../../testdata/eval/gsm8k.parquet")
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/datasets/openai/gsm8k/parquet/main/test":
			fmt.Fprintf(w, `["%s/shard0.parquet"]`, srv.URL)
		case "/shard0.parquet":
			w.Write(shard)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	h := t.TempDir()
	_, stderr, err := runCLI(t, "data", "pull", "gsm8k", "--home", h, "--endpoint", srv.URL)
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "1 shard(s)") {
		t.Errorf("stderr = %q", stderr)
	}
	stdout, _, err := runCLI(t, "data", "list", "--home", h, "--verify", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []dataRow
	json.Unmarshal([]byte(stdout), &rows)
	for _, r := range rows {
		if r.Task == "gsm8k" && (r.Status != "ok" || r.Rows != 5) {
			t.Errorf("gsm8k after pull: %+v", r)
		}
		if r.Task == "mmlu" && r.Status != "missing" {
			t.Errorf("mmlu: %+v", r)
		}
	}
	// The pulled data is found offline (the temp home has no checkpoint,
	// so the run stops at the next step, checkpoint resolution).
	_, _, err = runCLI(t, "eval", "--home", h, "--task", "gsm8k", "-q", "--db", filepath.Join(h, "e.db"))
	if err == nil || strings.Contains(err.Error(), "data pull") {
		t.Errorf("eval on pulled data: err = %v, want a checkpoint error", err)
	}
	if _, _, err := runCLI(t, "data", "pull", "nope"); err == nil {
		t.Error("unknown task: want an error")
	}
}
