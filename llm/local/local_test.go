package local

import (
	"context"
	"errors"
	"github.com/nanochat-go/nanochat/engine"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/home"
)

var demoHome = filepath.Join("..", "..", "testdata", "demo", "home")

func openDemo(t *testing.T) *Model {
	t.Helper()
	ck, err := home.Resolve(demoHome, "sft", "", -1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Open(ck, OpenOptions{Home: demoHome, Model: model.Options{Precision: model.Exact}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestChatWithCalculator(t *testing.T) {
	m := openDemo(t)
	var streamed strings.Builder
	var tools []llm.ToolCall
	q := "There are 7 jars. Each of them has 11 buttons. How many buttons are there in total?"
	rep, err := m.Chat(context.Background(), []llm.Message{{Role: "user", Content: q}},
		llm.Settings{Temperature: 0, MaxTokens: 64}, func(e llm.Event) {
			streamed.WriteString(e.Text)
			if e.Tool != nil {
				tools = append(tools, *e.Tool)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	row := rep.Rows[0]
	if row.Finish != "stop" || !strings.Contains(row.Text, "#### 77") {
		t.Fatalf("reply %q (finish %s): want a finished answer with #### 77", row.Text, row.Finish)
	}
	if streamed.String() != row.Text {
		t.Fatalf("streamed %q, reply text %q", streamed.String(), row.Text)
	}
	if len(tools) != 1 || tools[0] != (llm.ToolCall{Expr: "7*11", Result: "77", OK: true}) {
		t.Fatalf("tool calls %+v, want one 7*11 → 77", tools)
	}
	if !strings.Contains(row.Raw, "<|python_start|>7*11<|python_end|><|output_start|>77<|output_end|>") {
		t.Fatalf("raw %q lacks the literal tool tokens", row.Raw)
	}
	var types []string
	for _, p := range row.Parts {
		types = append(types, p.Type)
	}
	if strings.Join(types, ",") != "text,python,python_output,text" {
		t.Fatalf("parts %v", types)
	}
	// Continuing the conversation reuses the cached prompt and reply.
	msgs := []llm.Message{{Role: "user", Content: q}, {Role: "assistant", Parts: row.Parts}, {Role: "user", Content: "Thanks!"}}
	rep2, err := m.Chat(context.Background(), msgs, llm.Settings{Temperature: 0, MaxTokens: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Stats.CachedTokens < rep.Stats.PromptTokens {
		t.Fatalf("second turn cached %d tokens, want ≥ %d (the first prompt)", rep2.Stats.CachedTokens, rep.Stats.PromptTokens)
	}
}

func TestLongConversationDropsOldestTurns(t *testing.T) {
	m := openDemo(t)
	long := strings.Repeat("apples and oranges ", 40)
	msgs := []llm.Message{{Role: "system", Content: "Be brief."}}
	for i := 0; i < 12; i++ {
		msgs = append(msgs, llm.Message{Role: "user", Content: long}, llm.Message{Role: "assistant", Content: long})
	}
	msgs = append(msgs, llm.Message{Role: "user", Content: "What is 2+2?"})
	ids, dropped, err := m.ChatPrompt(msgs, 64)
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 || dropped%2 != 0 || len(ids)+64 > m.Info().ContextLen {
		t.Fatalf("dropped %d messages, prompt %d tokens, context %d", dropped, len(ids), m.Info().ContextLen)
	}
	if !strings.Contains(m.Tokenizer.Decode(ids), "Be brief.") {
		t.Fatal("the system prompt was dropped")
	}
	rep, err := m.Chat(context.Background(), msgs, llm.Settings{Temperature: 0, MaxTokens: 16}, nil)
	if err != nil || rep.Stats.DroppedTurns != dropped {
		t.Fatalf("chat: %v, dropped %d", err, rep.Stats.DroppedTurns)
	}
	huge := []llm.Message{{Role: "user", Content: strings.Repeat("word ", 2000)}}
	if _, err := m.Chat(context.Background(), huge, llm.Settings{MaxTokens: 16}, nil); !errors.Is(err, ErrTooLong) {
		t.Fatalf("huge message: %v, want ErrTooLong", err)
	}
}

func TestCancelKeepsPartialReply(t *testing.T) {
	m := openDemo(t)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	rep, err := m.Complete(ctx, "Once upon a time", llm.Settings{Temperature: 1, Seed: 3, MaxTokens: 200}, func(e llm.Event) {
		if n++; n == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || rep.Rows[0].Finish != "cancelled" || rep.Rows[0].Text == "" {
		t.Fatalf("err %v, finish %q, text %q", err, rep.Rows[0].Finish, rep.Rows[0].Text)
	}
	if _, err := m.Complete(context.Background(), "Hello", llm.Settings{MaxTokens: 4, TopP: 1}, nil); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestChooseAndSamples(t *testing.T) {
	m := openDemo(t)
	q := "Multiple Choice question: Which of these is a mammal?\n- grasshopper=A\n- pig=B\n- eagle=C\n- sparrow=D\n\nRespond only with the letter of the correct answer."
	best, scores, err := m.Choose(context.Background(), []llm.Message{{Role: "user", Content: q}}, []string{"A", "B", "C", "D"})
	if err != nil || len(scores) != 4 {
		t.Fatal(err)
	}
	if best != 1 {
		t.Errorf("chose %d (scores %v), want B", best, scores)
	}
	rep, err := m.Chat(context.Background(), []llm.Message{{Role: "user", Content: "Hi"}}, llm.Settings{Temperature: 1, TopK: 50, Seed: 1, MaxTokens: 12, Samples: 3}, nil)
	if err != nil || len(rep.Rows) != 3 {
		t.Fatalf("samples: %v, %d rows", err, len(rep.Rows))
	}
}

func TestTokenizerMismatchIsAnError(t *testing.T) {
	dir := t.TempDir()
	ck, err := home.Resolve(demoHome, "sft", "", -1)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "tokenizer"), 0o755)
	data, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "home", "tokenizer", "tokenizer.pkl"))
	os.WriteFile(filepath.Join(dir, "tokenizer", "tokenizer.pkl"), data, 0o644)
	_, err = Open(ck, OpenOptions{Home: dir})
	if err == nil || !strings.Contains(err.Error(), "2000 tokens") || !strings.Contains(err.Error(), "vocab_size 3509") {
		t.Fatalf("err %v: want a vocab mismatch naming both sizes", err)
	}
}

func TestPromptLogprobs(t *testing.T) {
	m := openDemo(t)
	text := "<|user_start|>Hi<|user_end|><|assistant_start|>Hello"
	lps, err := m.PromptLogprobs(context.Background(), text, 3)
	if err != nil {
		t.Fatal(err)
	}
	var joined strings.Builder
	for _, lp := range lps {
		joined.WriteString(lp.Token)
		if lp.Logprob > 0 || len(lp.Top) != 3 || lp.Top[0].Logprob < lp.Top[1].Logprob || lp.Logprob > lp.Top[0].Logprob+1e-9 {
			t.Fatalf("bad entry %+v", lp)
		}
	}
	if joined.String() != text {
		t.Fatalf("tokens join to %q, want %q", joined.String(), text)
	}
	// The logprob of a token equals what the backend's next-token logits give.
	ids := append([]int{m.ct.BOS}, m.Tokenizer.EncodeWithSpecials(text)...)
	c, err := m.Backend().NewCache(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	logits := make([]float32, m.Backend().VocabSize())
	if err := c.Forward([]engine.Chunk{{Row: 0, Tokens: ids[:3]}}, logits); err != nil {
		t.Fatal(err)
	}
	want := float64(logits[ids[3]]) - logSumExp(logits)
	if d := want - lps[2].Logprob; d > 1e-5 || d < -1e-5 {
		t.Fatalf("logprob of token 3: %v, engine says %v", lps[2].Logprob, want)
	}
}

func TestBatchingGivesSameAnswers(t *testing.T) {
	m := openDemo(t)
	qs := []string{"Hi", "Who are you?", "Leo puts 45 buttons into bags with 5 buttons in each bag. How many bags does Leo fill?"}
	want := make([]string, len(qs))
	for i, q := range qs {
		rep, err := m.Chat(context.Background(), []llm.Message{{Role: "user", Content: q}}, llm.Settings{Temperature: 0, MaxTokens: 40}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = rep.Rows[0].Text
	}
	if err := m.EnableBatching(4); err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(qs))
	done := make(chan error, len(qs))
	for i, q := range qs {
		go func() {
			rep, err := m.Chat(context.Background(), []llm.Message{{Role: "user", Content: q}}, llm.Settings{Temperature: 0, MaxTokens: 40}, nil)
			if err == nil {
				got[i] = rep.Rows[0].Text
			}
			done <- err
		}()
	}
	for range qs {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for i := range qs {
		if got[i] != want[i] {
			t.Errorf("%q: batched %q, alone %q", qs[i], got[i], want[i])
		}
	}
}

func logSumExp(row []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}
