package local

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
)

const mcPrompt = "<|user_start|>Multiple Choice question: Which of these is a mammal?\n- grasshopper=A\n- pig=B\n- eagle=C\n- sparrow=D\n\nRespond only with the letter of the correct answer.<|user_end|><|assistant_start|>"

// TestCompleteParsesSpecialTokens: a raw prompt is tokenized the same way
// for generation and for scoring, literal special tokens included.
func TestCompleteParsesSpecialTokens(t *testing.T) {
	m := openDemo(t)
	ctx := context.Background()
	scored, err := m.PromptLogprobs(ctx, mcPrompt, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Complete(ctx, mcPrompt, llm.Settings{MaxTokens: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Stats.PromptTokens, len(scored)+1; got != want {
		t.Errorf("Complete prompt tokens = %d, PromptLogprobs scored %d + <|bos|> = %d", got, len(scored), want)
	}
	if rep.Rows[0].Text != "B" {
		t.Errorf("answer %q, want B (the chat template's special tokens must be parsed)", rep.Rows[0].Text)
	}
	bos, err := m.PromptLogprobs(ctx, "<|bos|>"+mcPrompt, 0)
	if err != nil || len(bos) != len(scored) {
		t.Errorf("a leading literal <|bos|>: %d tokens, %v; want %d (not doubled)", len(bos), err, len(scored))
	}
}

// TestCompleteTooLong: a prompt that leaves no room for max_tokens is an
// error, for generation and scoring, never cut.
func TestCompleteTooLong(t *testing.T) {
	m := openDemo(t)
	ctx := context.Background()
	scored, err := m.PromptLogprobs(ctx, strings.Repeat("a b ", 100), 0)
	if err != nil {
		t.Fatal(err)
	}
	n := len(scored) + 1 // prompt tokens with <|bos|>
	ctxLen := m.Info().ContextLen
	text := strings.Repeat("a b ", 100*ctxLen/n+10)
	if _, err := m.PromptLogprobs(ctx, text, 0); !errors.Is(err, llm.ErrTooLong) {
		t.Errorf("PromptLogprobs over the context: %v, want ErrTooLong", err)
	}
	if _, err := m.Complete(ctx, text, llm.Settings{MaxTokens: 1}, nil); !errors.Is(err, llm.ErrTooLong) {
		t.Errorf("Complete over the context: %v, want ErrTooLong", err)
	}
	// Fits alone, not with max_tokens.
	short := strings.Repeat("a b ", 100)
	if _, err := m.Complete(ctx, short, llm.Settings{MaxTokens: ctxLen - n + 1}, nil); !errors.Is(err, llm.ErrTooLong) {
		t.Errorf("Complete with %d + %d tokens: %v, want ErrTooLong", n, ctxLen-n+1, err)
	}
	if _, err := m.Complete(ctx, short, llm.Settings{MaxTokens: ctxLen - n}, nil); err != nil {
		t.Errorf("Complete with %d + %d tokens (the whole context): %v", n, ctxLen-n, err)
	}
}

// TestGeneratedLogprobs: Row.Logprobs has every generated token and the
// terminal one, each the greedy choice at temperature 0, scored as
// PromptLogprobs scores the same text.
func TestGeneratedLogprobs(t *testing.T) {
	m := openDemo(t)
	ctx := context.Background()
	rep, err := m.Complete(ctx, mcPrompt, llm.Settings{MaxTokens: 8, Logprobs: true, TopLogprobs: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	row := rep.Rows[0]
	if row.Finish != "stop" || len(row.Logprobs) != len(row.Tokens)+1 {
		t.Fatalf("row %+v: want a finished row with %d+1 logprobs", row, len(row.Tokens))
	}
	if end := row.Logprobs[len(row.Logprobs)-1]; end.Token != "<|assistant_end|>" {
		t.Errorf("last entry %+v, want the terminal <|assistant_end|>", end)
	}
	var text strings.Builder
	for i, lp := range row.Logprobs {
		if len(lp.Top) != 2 || lp.Top[0].ID != lp.ID || lp.Top[0].Logprob != lp.Logprob {
			t.Errorf("token %d %+v: at temperature 0 it must be the most likely of its top 2", i, lp)
		}
		text.WriteString(lp.Token)
	}
	scored, err := m.PromptLogprobs(ctx, mcPrompt+text.String(), 0)
	if err != nil {
		t.Fatal(err)
	}
	tail := scored[len(scored)-len(row.Logprobs):]
	for i, lp := range row.Logprobs {
		if tail[i].ID != lp.ID || math.Abs(tail[i].Logprob-lp.Logprob) > 1e-5 {
			t.Errorf("token %d: generation scored %+v, the prompt scorer %+v", i, lp, tail[i])
		}
	}
	// One token, as lm-evaluation-harness asks: the letter, or the end.
	rep, err = m.Complete(ctx, mcPrompt, llm.Settings{MaxTokens: 1, Logprobs: true}, nil)
	if err != nil || len(rep.Rows[0].Logprobs) != 1 {
		t.Fatalf("max_tokens 1: %v, %+v", err, rep.Rows[0])
	}
	rep, err = m.Complete(ctx, mcPrompt, llm.Settings{MaxTokens: 4}, nil)
	if err != nil || rep.Rows[0].Logprobs != nil {
		t.Errorf("logprobs not asked: %v, %+v", err, rep.Rows[0].Logprobs)
	}
}

// TestTokenEvents: with TokenEvents each generated token arrives as an
// event of its own (a calculator call too), before its text, and they
// concatenate to the raw reply.
func TestTokenEvents(t *testing.T) {
	m := openDemo(t)
	q := "There are 7 jars. Each of them has 11 buttons. How many buttons are there in total?"
	var toks []string
	var text strings.Builder
	rep, err := m.Chat(context.Background(), []llm.Message{{Role: "user", Content: q}},
		llm.Settings{MaxTokens: 64, TokenEvents: true}, func(e llm.Event) {
			if e.Token != "" {
				if e.Text != "" || e.Tool != nil {
					t.Errorf("token event %+v carries more than its token", e)
				}
				toks = append(toks, e.Token)
			}
			text.WriteString(e.Text)
		})
	if err != nil {
		t.Fatal(err)
	}
	row := rep.Rows[0]
	if strings.Join(toks, "") != row.Raw || len(toks) != len(row.Tokens) {
		t.Errorf("%d token events %q, want the %d tokens of %q", len(toks), toks, len(row.Tokens), row.Raw)
	}
	if text.String() != row.Text || !strings.Contains(row.Raw, "<|python_start|>") {
		t.Errorf("text events %q, row text %q (raw %q)", text.String(), row.Text, row.Raw)
	}
	for i, tk := range toks {
		if tk == "<|python_start|>" && (i+1 >= len(toks) || toks[i+1] == "<|python_end|>") {
			t.Errorf("calculator call not split into its tokens: %q", toks)
		}
	}
}
