package eval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
)

// methodFake is a model that says how it scores letters (as a remote one
// does).
type methodFake struct {
	llmtest.Fake
	method string
	err    error
}

func (f *methodFake) ChoiceMethod(context.Context) (string, error) { return f.method, f.err }

// TestCategoricalScoringMethod: how letters were scored is in the report
// and in the store's key, so results scored by a one-token answer are
// never served as log-probability results (nor the reverse); a model that
// cannot score letters fails the task before any item.
func TestCategoricalScoringMethod(t *testing.T) {
	arc := job(t, "arc-easy", "arc.jsonl", 0)
	st := openStore(t)
	ck := Checkpoint{Name: "remote", Digest: "remote:http://x#m"}
	run := func(m llm.Model) (*Report, error) {
		return Run(context.Background(), m, Config{Jobs: []Job{arc}, Settings: Defaults(), Store: st, Checkpoint: ck}, nil)
	}
	gen := &methodFake{method: llm.ChoiceGeneration}
	rep, err := run(gen)
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Tasks[0]
	if tr.Scoring != llm.ChoiceGeneration || tr.N != 3 || tr.Cached != 0 || !strings.Contains(tr.Results[0].Outputs[0].Detail, "one-token answer") {
		t.Errorf("by generation: %+v", tr)
	}
	key := store.Key{Digest: ck.Digest, Task: "arc-easy", Settings: "categorical scoring=generation "}
	if got, _ := st.Results(context.Background(), key); len(got) != 3 {
		t.Errorf("stored under %q: %d results, want 3", key.Settings, len(got))
	}
	// The same checkpoint scored by logprobs (a model that does not say,
	// as a local one) misses those results.
	rep, err = run(&llmtest.Fake{})
	if err != nil || rep.Tasks[0].Scoring != llm.ChoiceLogprobs || rep.Tasks[0].Cached != 0 {
		t.Errorf("by logprobs after generation: %v %+v", err, rep.Tasks[0])
	}
	rep, _ = run(gen)
	if rep.Tasks[0].Cached != 3 {
		t.Errorf("rerun by generation: %d cached, want 3", rep.Tasks[0].Cached)
	}

	refuse := &methodFake{err: fmt.Errorf("upstream's server gives no logprobs: %w", llm.ErrNoChoiceScoring)}
	rep, err = run(refuse)
	if !errors.Is(err, llm.ErrNoChoiceScoring) || rep.Tasks[0].Status != "failed" || !strings.Contains(rep.Tasks[0].Error, "gives no logprobs") ||
		rep.Tasks[0].N != 0 {
		t.Errorf("refusing model: %v, %+v", err, rep.Tasks[0])
	}
}
