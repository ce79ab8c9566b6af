package remote_test

import (
	"context"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/remote"
	"github.com/nanochat-go/nanochat/server"
)

// TestChoiceMethod: a server that scores prompts is used by logprobs; one
// that does not makes Choose answer by generation, and ChoiceMethod says
// so before the first item, so that eval records it.
func TestChoiceMethod(t *testing.T) {
	for _, c := range []struct {
		name   string
		scorer bool
		want   string
	}{{"scoring server", true, llm.ChoiceLogprobs}, {"no logprobs", false, llm.ChoiceGeneration}} {
		url := serve(t, server.Options{}, func(name string) llm.Model {
			if c.scorer {
				return &scorer{Fake: fake(name), Likely: "A"}
			}
			f := fake(name)
			f.Reply = func([]llm.Message, llm.Settings) string { return "A" }
			return f
		})
		m, err := remote.New(url, "", "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := llm.ChoiceMethod(context.Background(), m)
		if err != nil || got != c.want {
			t.Errorf("%s: ChoiceMethod = %q, %v; want %q", c.name, got, err, c.want)
		}
		if _, scores, err := m.Choose(context.Background(), []llm.Message{{Role: "user", Content: "A or B?"}}, []string{"A", "B"}); err != nil ||
			(c.want == llm.ChoiceGeneration) != (scores[0] == 1 && scores[1] == 0) {
			t.Errorf("%s: Choose scores %v, %v", c.name, scores, err)
		}
	}
}
