package remote_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/llm/remote"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/server"
)

// scorer is a fake that scores every character as a token: the letter in
// Likely gets logprob -0.5, others -3. It records the texts it scored.
type scorer struct {
	*llmtest.Fake
	Likely string
	mu     sync.Mutex
	texts  []string
}

func (s *scorer) PromptLogprobs(ctx context.Context, text string, topN int) ([]llm.TokenLogprob, error) {
	s.mu.Lock()
	s.texts = append(s.texts, text)
	s.mu.Unlock()
	var out []llm.TokenLogprob
	for _, r := range text {
		lp := -3.0
		if string(r) == s.Likely {
			lp = -0.5
		}
		out = append(out, llm.TokenLogprob{ID: int(r), Token: string(r), Logprob: lp})
	}
	return out, nil
}

// serve runs nanochat's server over model (for sft/d2/20 and base/d2/30).
func serve(t *testing.T, o server.Options, model func(name string) llm.Model) string {
	t.Helper()
	o.Checkpoints = []home.Checkpoint{{Source: "sft", Tag: "d2", Step: 20}, {Source: "base", Tag: "d2", Step: 30}}
	o.Open = func(ctx context.Context, ck home.Checkpoint) (llm.Model, error) { return model(ck.Name()), nil }
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return ts.URL
}

func fake(name string) *llmtest.Fake {
	return &llmtest.Fake{ModelInfo: llm.Info{Name: name, Device: "fake", ContextLen: 512, Chat: !strings.HasPrefix(name, "base")}}
}

func TestChat(t *testing.T) {
	url := serve(t, server.Options{}, func(name string) llm.Model {
		f := fake(name)
		f.Tool = &llm.ToolCall{Expr: "6*7", Result: "42", OK: true}
		f.Reply = func(msgs []llm.Message, s llm.Settings) string { return "the answer is 42" }
		return f
	})
	m, err := remote.New(url, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	if info.Name != "sft/d2/20" || info.Device != "remote "+url || !info.Chat || info.Source != "sft" || info.ContextLen != 512 {
		t.Errorf("info = %+v", info)
	}
	var text strings.Builder
	var tools []llm.ToolCall
	rep, err := m.Chat(context.Background(), []llm.Message{{Role: "user", Content: "6 times 7?"}},
		llm.Settings{Temperature: 0, MaxTokens: 50, Samples: 2}, func(e llm.Event) {
			if e.Row == 1 {
				text.WriteString(e.Text)
				if e.Tool != nil {
					tools = append(tools, *e.Tool)
				}
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || text.String() != "the answer is 42" || len(tools) != 1 || tools[0].Result != "42" {
		t.Fatalf("rows %d, streamed %q, tools %+v", len(rep.Rows), text.String(), tools)
	}
	row := rep.Rows[1]
	wantParts := []llm.Part{{Type: "python", Text: "6*7"}, {Type: "python_output", Text: "42"}, {Type: "text", Text: "the answer is 42"}}
	if row.Text != "the answer is 42" || row.Finish != "stop" || len(row.Parts) != 3 || row.Parts[0] != wantParts[0] ||
		row.Parts[1] != wantParts[1] || row.Parts[2] != wantParts[2] ||
		row.Raw != "<|python_start|>6*7<|python_end|><|output_start|>42<|output_end|>the answer is 42" {
		t.Errorf("row = %+v", row)
	}
	if rep.Stats.PromptTokens != 10 || rep.Stats.Generated != 4 || rep.Stats.TTFT <= 0 {
		t.Errorf("stats = %+v", rep.Stats)
	}
}

func TestCompleteAndLength(t *testing.T) {
	url := serve(t, server.Options{}, func(name string) llm.Model { return fake(name) })
	m, err := remote.New(url+"/v1/", "", "base/d2/30")
	if err != nil {
		t.Fatal(err)
	}
	if m.Info().Chat {
		t.Error("a base model should have no chat template")
	}
	rep, err := m.Complete(context.Background(), "a b c d", llm.Settings{MaxTokens: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows[0].Text != "echo: a b " || rep.Rows[0].Finish != "length" {
		t.Errorf("row = %+v", rep.Rows[0])
	}
}

func TestChooseByLogprobs(t *testing.T) {
	sc := &scorer{Likely: "C"}
	url := serve(t, server.Options{}, func(name string) llm.Model { sc.Fake = fake(name); return sc })
	m, err := remote.New(url, "", "sft/d2/20")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []llm.Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "Q1"}, {Role: "assistant", Content: "A1"}, {Role: "user", Content: "Pick: A, B, C or D?"}}
	best, scores, err := m.Choose(context.Background(), msgs, []string{"A", "B", "C", "D"})
	if err != nil {
		t.Fatal(err)
	}
	if best != 2 || scores[2] != -0.5 || scores[0] != -3 {
		t.Errorf("best %d scores %v, want 2 with C scored -0.5", best, scores)
	}
	want := "<|user_start|>sys\n\nQ1<|user_end|><|assistant_start|>A1<|assistant_end|><|user_start|>Pick: A, B, C or D?<|user_end|><|assistant_start|>B"
	if len(sc.texts) != 4 || sc.texts[1] != want {
		t.Errorf("scored texts %q\nwant [1] = %q", sc.texts, want)
	}
	if len(sc.Calls) != 0 {
		t.Errorf("scoring generated %d times", len(sc.Calls))
	}
}

func TestChooseFallsBackToGeneration(t *testing.T) {
	var f *llmtest.Fake
	url := serve(t, server.Options{}, func(name string) llm.Model {
		f = fake(name)
		f.Reply = func([]llm.Message, llm.Settings) string { return "B) because" }
		return f
	})
	m, err := remote.New(url, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		best, scores, err := m.Choose(context.Background(), []llm.Message{{Role: "user", Content: "Q"}}, []string{"A", "B"})
		if err != nil || best != 1 || scores[1] != 1 {
			t.Errorf("Choose = %d %v %v, want 1", best, scores, err)
		}
	}
	f.Reply = func([]llm.Message, llm.Settings) string { return "Z" }
	if _, _, err := m.Choose(context.Background(), []llm.Message{{Role: "user", Content: "Q"}}, []string{"A", "B"}); !errors.Is(err, remote.ErrNoChoice) {
		t.Errorf("err = %v, want ErrNoChoice", err)
	}
	if len(f.Calls) != 3 {
		t.Errorf("%d generations, want 3", len(f.Calls))
	}
}

func TestErrors(t *testing.T) {
	url := serve(t, server.Options{APIKey: "k"}, func(name string) llm.Model { return fake(name) })
	if _, err := remote.New(url, "wrong", ""); err == nil || !strings.Contains(err.Error(), "401 invalid_api_key") {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := remote.New(url, "k", "nope"); err == nil || !strings.Contains(err.Error(), `model "nope" is not served (it has sft/d2/20, base/d2/30)`) {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := remote.New("ftp://x", "", ""); err == nil {
		t.Error("ftp URL accepted")
	}
	m, err := remote.New(url, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Chat(context.Background(), []llm.Message{{Role: "user", Content: "x"}}, llm.Settings{Temperature: 5}, nil)
	var ae *remote.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "temperature must be between 0 and 2") {
		t.Errorf("bad temperature: %v", err)
	}
}

func TestCancel(t *testing.T) {
	url := serve(t, server.Options{}, func(name string) llm.Model {
		f := fake(name)
		f.Delay = 20 * time.Millisecond
		f.Reply = func([]llm.Message, llm.Settings) string { return strings.Repeat("word ", 100) }
		return f
	})
	m, err := remote.New(url, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t0 := time.Now()
	rep, err := m.Chat(ctx, []llm.Message{{Role: "user", Content: "x"}}, llm.Settings{}, func(e llm.Event) { cancel() })
	if !errors.Is(err, context.Canceled) || rep.Rows[0].Finish != "cancelled" || time.Since(t0) > time.Second {
		t.Errorf("err %v finish %q after %v", err, rep.Rows[0].Finish, time.Since(t0))
	}
}

func TestPrompt(t *testing.T) {
	got, err := remote.Prompt([]llm.Message{{Role: "user", Content: "2*3?"},
		{Role: "assistant", Parts: []llm.Part{{Type: "text", Text: "let me see "}, {Type: "python", Text: "2*3"}, {Type: "python_output", Text: "6"}, {Type: "text", Text: "6"}}},
		{Role: "user", Content: "ok"}})
	want := "<|user_start|>2*3?<|user_end|><|assistant_start|>let me see <|python_start|>2*3<|python_end|><|output_start|>6<|output_end|>6<|assistant_end|><|user_start|>ok<|user_end|><|assistant_start|>"
	if err != nil || got != want {
		t.Errorf("Prompt = %q, %v\nwant %q", got, err, want)
	}
	if _, err := remote.Prompt([]llm.Message{{Role: "assistant", Content: "x"}}); err == nil {
		t.Error("a conversation starting with the assistant rendered")
	}
}
