package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/eval"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
)

type methodModel struct {
	llmtest.Fake
	method string
	err    error
}

func (m *methodModel) ChoiceMethod(context.Context) (string, error) { return m.method, m.err }

// TestAnnounceScoring: `eval --remote` says how letters will be scored
// before the run, warns (even with --quiet) when it is a one-token answer,
// and refuses a server that cannot score them at all.
func TestAnnounceScoring(t *testing.T) {
	mmlu, err := task.Lookup("mmlu")
	if err != nil {
		t.Fatal(err)
	}
	gsm, err := task.Lookup("gsm8k")
	if err != nil {
		t.Fatal(err)
	}
	jobs := []eval.Job{{Task: mmlu}, {Task: gsm}}
	refusal := fmt.Errorf("upstream's chat_web.py gives no logprobs: %w", llm.ErrNoChoiceScoring)
	for _, c := range []struct {
		name             string
		m                llm.Model
		jobs             []eval.Job
		quiet            bool
		progress, stderr string // substrings; "" = nothing printed
		err              error
	}{
		{"logprobs", &methodModel{method: llm.ChoiceLogprobs}, jobs, false, "letters scored by their log-probabilities", "", nil},
		{"generation, quiet", &methodModel{method: llm.ChoiceGeneration}, jobs, true, "", "warning: remote x gives no prompt logprobs, so MMLU will be scored by a one-token greedy answer", nil},
		{"upstream", &methodModel{err: refusal}, jobs, false, "", "", llm.ErrNoChoiceScoring},
		{"no multiple choice", &methodModel{err: refusal}, jobs[1:], false, "", "", nil},
	} {
		var progress, stderr bytes.Buffer
		var w io.Writer // --quiet: no progress writer
		if !c.quiet {
			w = &progress
		}
		if mm, ok := c.m.(*methodModel); ok {
			mm.ModelInfo = llm.Info{Name: "m", Device: "remote x"}
		}
		err := announceScoring(context.Background(), c.m, c.jobs, true, w, &stderr)
		if !errors.Is(err, c.err) || (c.err != nil) != (err != nil) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
		for _, x := range []struct{ got, want string }{{progress.String(), c.progress}, {stderr.String(), c.stderr}} {
			if (x.want == "") != (x.got == "") || !strings.Contains(x.got, x.want) {
				t.Errorf("%s: printed %q, want %q", c.name, x.got, x.want)
			}
		}
	}
}
