// Package task defines the chat evaluations with upstream nanochat's
// semantics (tasks/*.py + scripts/chat_eval.py): how a Hugging Face row
// becomes a conversation, the item order (numpy default_rng(42)
// permutation), categorical letter scoring and generative answer checking.
// A task is a small table entry: its hub source, a row parser and, for
// generative tasks, a checker.
package task

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nanochat-go/nanochat/eval/data"
	"github.com/nanochat-go/nanochat/eval/nprand"
	"github.com/nanochat-go/nanochat/eval/sandbox"
	"github.com/nanochat-go/nanochat/llm"
)

// Kind is how a task is scored.
type Kind int

const (
	// Categorical tasks pick the answer letter with the highest logit at
	// the first assistant position (one forward, no sampling).
	Categorical Kind = iota
	// Generative tasks sample a completion and check it.
	Generative
)

func (k Kind) String() string {
	if k == Categorical {
		return "categorical"
	}
	return "generative"
}

// ShuffleSeed is upstream's dataset shuffle seed.
const ShuffleSeed = 42

// Task is one evaluation.
type Task struct {
	ID       string      // CLI name, e.g. "arc-easy"
	Name     string      // upstream name, e.g. "ARC-Easy"
	Kind     Kind        // categorical or generative
	Baseline float64     // chance accuracy for ChatCORE
	Source   data.Source // where the hub keeps the eval split
	// Parse turns one dataset row into an item (Messages, Letters, Gold …).
	Parse func(row json.RawMessage) (Item, error)
	// Check scores a generative completion (upstream's task.evaluate).
	Check func(ctx context.Context, env Env, it *Item, completion string) (Verdict, error)
}

// Env is what checks need from outside the task.
type Env struct {
	Sandbox *sandbox.Sandbox // runs HumanEval programs
}

// Item is one problem: upstream's conversation plus where it came from.
type Item struct {
	Index    int           `json:"index"`    // position in the shuffled order (upstream's problem i)
	Row      int           `json:"row"`      // row in the dataset file(s)
	Messages []llm.Message `json:"messages"` // user prompt and the gold assistant message
	Letters  []string      `json:"letters,omitempty"`
	Gold     string        `json:"gold"`              // gold letter, or the reference answer
	ID       string        `json:"id,omitempty"`      // dataset id (ARC id, HumanEval task_id)
	Subject  string        `json:"subject,omitempty"` // MMLU subject
	Test     string        `json:"test,omitempty"`    // HumanEval
	Entry    string        `json:"entry_point,omitempty"`
}

// Prompt is the conversation the model answers: every message but the
// final (gold) assistant one — render_for_completion's input.
func (it *Item) Prompt() []llm.Message { return it.Messages[:len(it.Messages)-1] }

// Key identifies the item's content (prompt, letters, gold, tests): results
// are cached under it, so a changed dataset row is never served a stale
// result.
func (it *Item) Key() string {
	b, _ := json.Marshal(struct {
		M       []llm.Message
		L       []string
		G, T, E string
	}{it.Messages, it.Letters, it.Gold, it.Test, it.Entry})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Verdict is the outcome of one sample.
type Verdict struct {
	Pass      bool   `json:"pass"`
	Extracted string `json:"extracted,omitempty"` // the answer read from the completion
	Detail    string `json:"detail,omitempty"`    // e.g. the sandbox's error line
}

// CheckLetter scores a categorical prediction: the predicted letter
// against the gold assistant message.
func CheckLetter(it *Item, predicted string) Verdict {
	return Verdict{Pass: predicted == it.Gold, Extracted: predicted}
}

// Items parses rows and orders them like upstream: item i is row
// permutation[i] of numpy default_rng(42).permutation(len(rows)).
func (t *Task) Items(rows []json.RawMessage) ([]Item, error) {
	perm := nprand.Permutation(ShuffleSeed, len(rows))
	items := make([]Item, len(rows))
	for i, r := range perm {
		it, err := t.Parse(rows[r])
		if err != nil {
			return nil, &RowError{Task: t.Name, Row: r, Err: err}
		}
		it.Index, it.Row = i, r
		items[i] = it
	}
	return items, nil
}

// RowError is a dataset row that does not parse. Row counts the rows as
// read, from 0, before the shuffle; data.Where names its file and line.
type RowError struct {
	Task string
	Row  int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("%s: row %d: %v", e.Task, e.Row, e.Err) }

func (e *RowError) Unwrap() error { return e.Err }

// All returns the tasks in upstream's default order (ARC-Easy,
// ARC-Challenge, MMLU, GSM8K, HumanEval).
func All() []*Task { return append([]*Task(nil), registry...) }

var registry = []*Task{
	{ID: "arc-easy", Name: "ARC-Easy", Kind: Categorical, Baseline: 0.25,
		Source: data.Source{Repo: "allenai/ai2_arc", Subset: "ARC-Easy", Split: "test"}, Parse: parseARC},
	{ID: "arc-challenge", Name: "ARC-Challenge", Kind: Categorical, Baseline: 0.25,
		Source: data.Source{Repo: "allenai/ai2_arc", Subset: "ARC-Challenge", Split: "test"}, Parse: parseARC},
	{ID: "mmlu", Name: "MMLU", Kind: Categorical, Baseline: 0.25,
		Source: data.Source{Repo: "cais/mmlu", Subset: "all", Split: "test"}, Parse: parseMMLU},
	{ID: "gsm8k", Name: "GSM8K", Kind: Generative, Baseline: 0,
		Source: data.Source{Repo: "openai/gsm8k", Subset: "main", Split: "test"}, Parse: parseGSM8K, Check: checkGSM8K},
	{ID: "humaneval", Name: "HumanEval", Kind: Generative, Baseline: 0,
		Source: data.Source{Repo: "openai/openai_humaneval", Subset: "openai_humaneval", Split: "test"}, Parse: parseHumanEval, Check: checkHumanEval},
}

// Lookup finds a task by CLI or upstream name, case-insensitively and
// ignoring "-" / "_" ("arc-easy", "ARC-Easy", "arc_easy", "humaneval").
func Lookup(name string) (*Task, error) {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s))
	}
	for _, t := range registry {
		if norm(t.ID) == norm(name) || norm(t.Name) == norm(name) {
			return t, nil
		}
	}
	ids := make([]string, len(registry))
	for i, t := range registry {
		ids[i] = t.ID
	}
	return nil, fmt.Errorf("unknown task %q (want one of %s)", name, strings.Join(ids, ", "))
}

// Parse splits a comma- or |-separated task list ("all" or "" = every task).
func Parse(list string) ([]*Task, error) {
	list = strings.TrimSpace(list)
	if list == "" || strings.EqualFold(list, "all") {
		return All(), nil
	}
	var out []*Task
	seen := map[string]bool{}
	for _, n := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '|' }) {
		t, err := Lookup(strings.TrimSpace(n))
		if err != nil {
			return nil, err
		}
		if !seen[t.ID] {
			seen[t.ID] = true
			out = append(out, t)
		}
	}
	return out, nil
}
