package eval

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nanochat-go/nanochat/eval/data"
	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
)

const fixtures = "../testdata/eval"

func job(t *testing.T, name, file string, limit int) Job {
	t.Helper()
	tk, err := task.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := data.Read(filepath.Join(fixtures, file))
	if err != nil {
		t.Fatal(err)
	}
	items, err := tk.Items(rows)
	if err != nil {
		t.Fatal(err)
	}
	if limit > 0 && limit < len(items) {
		items = items[:limit]
	}
	return Job{Task: tk, Items: items, Data: file, Rows: len(rows)}
}

// goldIndex answers a categorical prompt by reading the gold letter off the
// conversation the runner sent (the fake sees only the prompt, so tests
// look it up by prompt text).
func goldChooser(jobs ...Job) func([]llm.Message, []string) int {
	gold := map[string]string{}
	for _, j := range jobs {
		for _, it := range j.Items {
			gold[it.Messages[0].Content] = it.Gold
		}
	}
	return func(msgs []llm.Message, letters []string) int {
		for i, l := range letters {
			if l == gold[msgs[0].Content] {
				return i
			}
		}
		return 0
	}
}

func TestCategorical(t *testing.T) {
	arc := job(t, "arc-easy", "arc.jsonl", 0)
	mmlu := job(t, "mmlu", "mmlu.parquet", 0)
	choose := goldChooser(arc, mmlu)
	var seen [][]string
	fake := &llmtest.Fake{Choice: func(msgs []llm.Message, letters []string) int {
		seen = append(seen, letters)
		if strings.Contains(msgs[0].Content, "capital of France") {
			return 0 // wrong on purpose
		}
		return choose(msgs, letters)
	}}
	var events []Event
	rep, err := Run(context.Background(), fake, Config{Jobs: []Job{arc, mmlu}, Settings: Defaults()}, func(e Event) { events = append(events, e) })
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Tasks[0]; got.Accuracy != 1 || got.N != 3 || got.Status != "done" {
		t.Errorf("ARC = %+v", got)
	}
	if got := rep.Tasks[1]; got.Passed != 3 || got.N != 4 || got.Accuracy != 0.75 {
		t.Errorf("MMLU = %+v", got)
	}
	// ARC letters come from the row's labels (numeric here).
	if !strings.Contains(strings.Join(flatten(seen), ""), "123") {
		t.Errorf("letters seen %v, want the numeric labels 1 2 3", seen)
	}
	// ChatCORE over two categorical tasks: mean of (acc − .25)/.75.
	want := ((1-0.25)/0.75 + (0.75-0.25)/0.75) / 2
	if rep.ChatCORE == nil || math.Abs(*rep.ChatCORE-want) > 1e-12 || rep.ChatCOREComplete {
		t.Errorf("ChatCORE = %v (complete %v), want %v, incomplete", rep.ChatCORE, rep.ChatCOREComplete, want)
	}
	last := events[len(events)-1]
	if !last.Finished || last.Task != "mmlu" || last.Progress.Done != 4 || last.Progress.Lo >= 0.75 || last.Progress.Hi <= 0.75 {
		t.Errorf("last event = %+v", last)
	}
}

func flatten(ss [][]string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s...)
	}
	return out
}

func TestGenerative(t *testing.T) {
	gsm := job(t, "gsm8k", "gsm8k.jsonl", 0)
	fake := &llmtest.Fake{Reply: func(msgs []llm.Message, s llm.Settings) string {
		switch {
		case strings.Contains(msgs[0].Content, "1,200 pens"):
			return "<|python_start|>3*1200<|python_end|><|output_start|>3600<|output_end|> #### 3,600"
		case strings.Contains(msgs[0].Content, "Half of 5"):
			return "#### 2.50" // string compare: wrong
		case strings.Contains(msgs[0].Content, "spent 7"):
			return "#### -2"
		}
		return "I do not know"
	}}
	var gotSettings llm.Settings
	fake2 := &capture{Model: fake, settings: &gotSettings}
	rep, err := Run(context.Background(), fake2, Config{Jobs: []Job{gsm}, Settings: Defaults()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Tasks[0]
	if tr.Passed != 2 || tr.N != 5 || tr.PassAtK["pass@1"] != 0.4 {
		t.Errorf("GSM8K = %+v", tr)
	}
	if gotSettings.Temperature != 0 || gotSettings.MaxTokens != 512 || gotSettings.TopK != 50 || gotSettings.Samples != 1 {
		t.Errorf("settings sent = %+v, want upstream's defaults", gotSettings)
	}
	// The browser sees the raw completion and the extracted answer.
	for _, r := range tr.Results {
		if strings.Contains(r.Outputs[0].Text, "2.50") && (r.Predicted != "2.50" || r.Gold != "2.5" || r.Pass) {
			t.Errorf("half item = %+v", r)
		}
	}
}

// capture records the settings of the last Chat.
type capture struct {
	llm.Model
	settings *llm.Settings
}

func (c *capture) Chat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	*c.settings = s
	return c.Model.Chat(ctx, msgs, s, on)
}

// multi answers Chat with per-row scripted completions.
type multi struct {
	llmtest.Fake
	rows  func(prompt string, n int) []string
	calls atomic.Int32
}

func (m *multi) Chat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	m.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return llm.Reply{}, err
	}
	var rep llm.Reply
	for _, text := range m.rows(msgs[0].Content, s.Samples) {
		rep.Rows = append(rep.Rows, llm.Row{Raw: text, Text: text, Finish: "stop"})
	}
	rep.Stats.Generated = 3
	return rep, nil
}

func TestPassAtK(t *testing.T) {
	gsm := job(t, "gsm8k", "gsm8k.jsonl", 0)
	// Item with gold g: c of n rows correct, c = 0, 1, 2, 3, 4 by row.
	correct := map[string]int{}
	for i, it := range gsm.Items {
		correct[it.Messages[0].Content] = i
	}
	gold := map[string]string{}
	for _, it := range gsm.Items {
		gold[it.Messages[0].Content] = it.Gold
	}
	m := &multi{rows: func(p string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "#### wrong"
			if i < correct[p] {
				out[i] = "#### " + gold[p]
			}
		}
		return out
	}}
	s := Defaults()
	s.Samples, s.Temperature = 4, 0.8
	rep, err := Run(context.Background(), m, Config{Jobs: []Job{gsm}, Settings: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Tasks[0]
	// c = 0..4 of n = 4: any-of-n passes 4 of 5 items.
	if tr.Samples != 4 || tr.Passed != 4 || tr.Accuracy != 0.8 {
		t.Fatalf("report = %+v", tr)
	}
	// pass@1 = mean(c/n) = (0+1+2+3+4)/4/5 = 0.5; pass@4 = any-of-n.
	if math.Abs(tr.PassAtK["pass@1"]-0.5) > 1e-12 || tr.PassAtK["pass@4"] != 0.8 {
		t.Errorf("pass@k = %v", tr.PassAtK)
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "evals.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestResumeAndCache(t *testing.T) {
	st := openStore(t)
	gsm := job(t, "gsm8k", "gsm8k.jsonl", 0)
	answer := func(p string, n int) []string { return []string{"#### 19"} }
	ck := Checkpoint{Name: "sft/d4/1", Digest: "ck1:test"}

	// First run: cancel after two items finished.
	m := &multi{rows: answer}
	ctx, cancel := context.WithCancel(context.Background())
	done := 0
	_, err := Run(ctx, m, Config{Jobs: []Job{gsm}, Settings: Defaults(), Store: st, Checkpoint: ck}, func(e Event) {
		if e.Item != nil {
			if done++; done == 2 {
				cancel()
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: err = %v, want context.Canceled", err)
	}
	// Rerun: the two stored items are not recomputed.
	m2 := &multi{rows: answer}
	rep, err := Run(context.Background(), m2, Config{Jobs: []Job{gsm}, Settings: Defaults(), Store: st, Checkpoint: ck}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr := rep.Tasks[0]; tr.Cached != 2 || tr.N != 5 || m2.calls.Load() != 3 || tr.Passed != 1 {
		t.Errorf("resumed: cached %d, n %d, passed %d, model calls %d; want 2, 5, 1, 3", tr.Cached, tr.N, tr.Passed, m2.calls.Load())
	}
	// An identical rerun is served entirely from the store.
	m3 := &multi{rows: answer}
	rep, _ = Run(context.Background(), m3, Config{Jobs: []Job{gsm}, Settings: Defaults(), Store: st, Checkpoint: ck}, nil)
	if tr := rep.Tasks[0]; tr.Cached != 5 || m3.calls.Load() != 0 || tr.Passed != 1 {
		t.Errorf("identical rerun: cached %d, calls %d, passed %d", tr.Cached, m3.calls.Load(), tr.Passed)
	}
	// Other settings or another checkpoint miss the cache.
	s := Defaults()
	s.MaxTokens = 100
	m4 := &multi{rows: answer}
	Run(context.Background(), m4, Config{Jobs: []Job{gsm}, Settings: s, Store: st, Checkpoint: ck}, nil)
	if m4.calls.Load() != 5 {
		t.Errorf("new settings: %d calls, want 5", m4.calls.Load())
	}
	// Greedy decoding ignores top-k and the seed: still cached.
	s = Defaults()
	s.TopK, s.Seed = 7, 1
	m5 := &multi{rows: answer}
	Run(context.Background(), m5, Config{Jobs: []Job{gsm}, Settings: s, Store: st, Checkpoint: ck}, nil)
	if m5.calls.Load() != 0 {
		t.Errorf("greedy with other top-k: %d calls, want 0", m5.calls.Load())
	}
	// The run log has all of it.
	runs, _ := st.Runs(context.Background(), 0)
	if len(runs) != 5 || runs[len(runs)-1].Status != "cancelled" || runs[len(runs)-2].Status != "done" {
		t.Errorf("runs = %+v", runs)
	}
}

func TestModelErrorIsAFailedItem(t *testing.T) {
	gsm := job(t, "gsm8k", "gsm8k.jsonl", 2)
	m := &failing{}
	st := openStore(t)
	rep, err := Run(context.Background(), m, Config{Jobs: []Job{gsm}, Settings: Defaults(), Store: st}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr := rep.Tasks[0]; tr.Errors != 2 || tr.N != 2 || tr.Passed != 0 {
		t.Errorf("report = %+v", tr)
	}
	if got, _ := st.Results(context.Background(), store.Key{Task: "gsm8k", Settings: SettingsKey(task.Generative, Defaults(), "", "")}); len(got) != 0 {
		t.Errorf("errored items were cached: %v", got)
	}
}

type failing struct{ llmtest.Fake }

func (f *failing) Chat(context.Context, []llm.Message, llm.Settings, func(llm.Event)) (llm.Reply, error) {
	return llm.Reply{}, errors.New("prompt too long")
}

func TestHumanEvalWithoutSandboxFails(t *testing.T) {
	he := job(t, "humaneval", "humaneval.jsonl", 0)
	_, err := Run(context.Background(), &llmtest.Fake{}, Config{Jobs: []Job{he}, Settings: Defaults()}, nil)
	if err == nil || !strings.Contains(err.Error(), "sandbox") {
		t.Errorf("err = %v, want a sandbox error", err)
	}
}

func TestStart(t *testing.T) {
	arc := job(t, "arc-easy", "arc.jsonl", 2)
	h := Start(context.Background(), &llmtest.Fake{}, Config{Jobs: []Job{arc}})
	n := 0
	for range h.Events() {
		n++
	}
	rep, err := h.Wait()
	if err != nil || n != 3 || rep.Tasks[0].N != 2 {
		t.Errorf("events %d, report %+v, err %v", n, rep, err)
	}
}

func TestDigest(t *testing.T) {
	model := "../testdata/demo/home/chatsft_checkpoints/d4/model_001514.pt"
	meta := "../testdata/demo/home/chatsft_checkpoints/d4/meta_001514.json"
	a, err := Digest(model, meta)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Digest(model, meta)
	c, _ := Digest(model, "")
	if a != b || a == c || !strings.HasPrefix(a, "ck1:") || len(a) != 28 {
		t.Errorf("digests %q %q %q", a, b, c)
	}
}
