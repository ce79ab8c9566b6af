package server

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/local"
)

// The demo model's chat prompt for one toy ARC item, as lm-evaluation-harness
// sends it with the task YAMLs of testdata/lmeval (context; the continuation
// is the letter).
const lmevalContext = "<|user_start|>Multiple Choice question: Which of these is a mammal?\n- grasshopper=A\n- pig=B\n- eagle=C\n- sparrow=D\n\nRespond only with the letter of the correct answer.<|user_end|><|assistant_start|>"

// cmplResponse is a /v1/completions answer.
type cmplResponse struct {
	Choices []struct {
		Text         string
		Index        int
		FinishReason string `json:"finish_reason"`
		Logprobs     struct {
			Tokens        []string             `json:"tokens"`
			TokenLogprobs []float64            `json:"token_logprobs"`
			TopLogprobs   []map[string]float64 `json:"top_logprobs"`
			TextOffset    []int                `json:"text_offset"`
		}
	}
	Usage usage
	Error *apiError
}

func postCompletions(t *testing.T, ts *httptest.Server, body string) (int, cmplResponse) {
	t.Helper()
	code, raw := post(t, ts, "/v1/completions", body)
	var resp cmplResponse
	if err := json.Unmarshal([]byte(raw), &resp); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if code == http.StatusOK && len(resp.Choices) == 0 {
		t.Fatalf("no choices: %s", raw)
	}
	return code, resp
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestLMEvalLoglikelihood sends lm-evaluation-harness's loglikelihood
// request (echo, logprobs 1, max_tokens 1, temperature 0) for each letter
// and scores it as lm-eval does: the sum of token_logprobs[ctxlen:-1], the
// last entry being the generated token. The demo model answers the letter
// and then ends its turn, so the generated token is <|assistant_end|>:
// without its entry the slice would drop the letter (every choice scoring
// 0, MMLU 0.28 instead of 0.94). The sums must be the letters' scores of
// nanochat's own letter scoring (Choose), and pick B.
func TestLMEvalLoglikelihood(t *testing.T) {
	ts := demoModelServer(t)
	// ctxlen: lm-eval counts the context's tokens with the exported
	// tokenizer; the echo of the context alone gives the same count.
	code, ctxOnly := postCompletions(t, ts, `{"prompt":`+jsonString(lmevalContext)+`,"echo":true,"max_tokens":0,"logprobs":1}`)
	if code != http.StatusOK {
		t.Fatalf("context: %d %+v", code, ctxOnly.Error)
	}
	ctxlen := len(ctxOnly.Choices[0].Logprobs.Tokens)
	letters := []string{"A", "B", "C", "D"}
	prompts := make([]string, len(letters))
	for i, l := range letters {
		prompts[i] = jsonString(lmevalContext + l)
	}
	code, resp := postCompletions(t, ts, `{"prompt":[`+strings.Join(prompts, ",")+`],"echo":true,"max_tokens":1,"logprobs":1,"temperature":0,"seed":1234}`)
	if code != http.StatusOK || len(resp.Choices) != 4 {
		t.Fatalf("%d %+v", code, resp)
	}
	sums := make([]float64, 4)
	for _, c := range resp.Choices {
		lp := c.Logprobs
		if n := len(lp.Tokens); n != ctxlen+2 || len(lp.TokenLogprobs) != n || len(lp.TopLogprobs) != n || len(lp.TextOffset) != n {
			t.Fatalf("choice %d: %d tokens, want the %d context tokens, the letter and the generated token: %q", c.Index, n, ctxlen, lp.Tokens)
		}
		if lp.Tokens[ctxlen] != letters[c.Index] || c.Text != lmevalContext+letters[c.Index]+strings.TrimSuffix(lp.Tokens[ctxlen+1], "<|assistant_end|>") {
			t.Errorf("choice %d: tokens %q, text %q", c.Index, lp.Tokens[ctxlen:], c.Text)
		}
		for _, v := range lp.TokenLogprobs[ctxlen : len(lp.TokenLogprobs)-1] {
			sums[c.Index] += v
		}
	}
	if last := resp.Choices[1].Logprobs.Tokens; last[len(last)-1] != "<|assistant_end|>" || resp.Choices[1].FinishReason != "stop" {
		t.Errorf("after B the model ends its turn: last token %q, finish %q", last[len(last)-1], resp.Choices[1].FinishReason)
	}
	m := openDemoModel(t)
	best, scores, err := m.Choose(context.Background(), []llm.Message{{Role: "user", Content: strings.TrimSuffix(strings.TrimPrefix(lmevalContext,
		"<|user_start|>"), "<|user_end|><|assistant_start|>")}}, letters)
	if err != nil {
		t.Fatal(err)
	}
	for i := range letters {
		if math.Abs(sums[i]-float64(scores[i])) > 1e-4 {
			t.Errorf("letter %s: lm-eval's sum %v, Choose %v", letters[i], sums[i], scores[i])
		}
	}
	if best != 1 || argmax(sums) != 1 {
		t.Errorf("Choose picked %d, the sums %v pick %d; want B", best, sums, argmax(sums))
	}
}

func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// TestCompletionsTokenizeOnce: a raw prompt with the chat template's
// special tokens is one token sequence, scored or continued.
func TestCompletionsTokenizeOnce(t *testing.T) {
	ts := demoModelServer(t)
	_, scored := postCompletions(t, ts, `{"prompt":`+jsonString(lmevalContext)+`,"echo":true,"max_tokens":0,"logprobs":0}`)
	_, gen := postCompletions(t, ts, `{"prompt":`+jsonString(lmevalContext)+`,"max_tokens":1,"temperature":0}`)
	if scored.Usage.PromptTokens != gen.Usage.PromptTokens || scored.Usage.PromptTokens != len(scored.Choices[0].Logprobs.Tokens)+1 {
		t.Errorf("prompt_tokens: scoring %d (%d tokens + <|bos|>), generating %d; want one tokenization",
			scored.Usage.PromptTokens, len(scored.Choices[0].Logprobs.Tokens), gen.Usage.PromptTokens)
	}
	if gen.Choices[0].Text != "B" {
		t.Errorf("generated %q, want B (the special tokens parsed)", gen.Choices[0].Text)
	}
	if toks := scored.Choices[0].Logprobs.Tokens; toks[0] != "<|user_start|>" || toks[len(toks)-1] != "<|assistant_start|>" {
		t.Errorf("echoed tokens %q: want the special tokens whole", toks)
	}
}

// TestCompletionsMaxTokensZero: echo with max_tokens 0 scores the prompt
// only (vLLM's and OpenAI's legacy semantics); without echo it is refused.
func TestCompletionsMaxTokensZero(t *testing.T) {
	ts := demoModelServer(t)
	code, resp := postCompletions(t, ts, `{"prompt":"Hello there","echo":true,"max_tokens":0,"logprobs":2}`)
	c := resp.Choices[0]
	if code != http.StatusOK || c.Text != "Hello there" || strings.Join(c.Logprobs.Tokens, "") != "Hello there" ||
		c.FinishReason != "length" || resp.Usage.CompletionTokens != 0 || len(c.Logprobs.TopLogprobs[0]) != 2 {
		t.Errorf("%d %+v", code, resp)
	}
	if code, resp := postCompletions(t, ts, `{"prompt":"Hello there","max_tokens":0}`); code != http.StatusBadRequest {
		t.Errorf("max_tokens 0 without echo: %d %+v", code, resp)
	}
}

// TestCompletionsTooLong: a prompt that does not fit the context, alone
// or with max_tokens, is a 400 context_length_exceeded for scoring and
// generation alike, never cut.
func TestCompletionsTooLong(t *testing.T) {
	ts := demoModelServer(t)
	long := jsonString(strings.Repeat("one two ", 400)) // > 512 tokens
	_, short := postCompletions(t, ts, `{"prompt":"one two three","echo":true,"max_tokens":0,"logprobs":0}`)
	n := short.Usage.PromptTokens
	for _, body := range []string{
		`{"prompt":` + long + `,"echo":true,"max_tokens":0,"logprobs":1}`,
		`{"prompt":` + long + `,"echo":true,"max_tokens":1,"logprobs":1}`,
		`{"prompt":` + long + `,"max_tokens":1}`,
		`{"prompt":` + long + `}`,
	} {
		code, resp := postCompletions(t, ts, body)
		if code != http.StatusBadRequest || resp.Error == nil || resp.Error.Code == nil || *resp.Error.Code != "context_length_exceeded" {
			t.Errorf("%.80s…: %d %+v, want 400 context_length_exceeded", body, code, resp.Error)
		}
	}
	fit := func(maxTokens int) int {
		code, _ := postCompletions(t, ts, `{"prompt":"one two three","temperature":0,"max_tokens":`+itoa(maxTokens)+`}`)
		return code
	}
	if code := fit(512 - n + 1); code != http.StatusBadRequest {
		t.Errorf("%d prompt + %d tokens: status %d, want 400", n, 512-n+1, code)
	}
	if code := fit(512 - n); code != http.StatusOK {
		t.Errorf("%d prompt + %d tokens (the whole context): status %d, want 200", n, 512-n, code)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestCompletionsCalculator: a raw completion is the decode of its tokens,
// the calculator call included, and its logprobs cover every generated
// token and the one that ended it, offsets continuing after the prompt.
func TestCompletionsCalculator(t *testing.T) {
	ts := demoModelServer(t)
	prompt := "<|user_start|>There are 7 jars. Each of them has 11 buttons. How many buttons are there in total?<|user_end|><|assistant_start|>"
	c := openaiClient(ts)
	cmpl, err := c.Completions.New(context.Background(), openai.CompletionNewParams{Model: "sft/d4/1514",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)}, MaxTokens: openai.Int(64),
		Temperature: openai.Float(0), Logprobs: openai.Int(2)})
	if err != nil {
		t.Fatal(err)
	}
	ch := cmpl.Choices[0]
	if !strings.Contains(ch.Text, "<|python_start|>7*11<|python_end|><|output_start|>77<|output_end|>") || ch.FinishReason != "stop" {
		t.Fatalf("text %q (%s): want the calculator call written out", ch.Text, ch.FinishReason)
	}
	toks := ch.Logprobs.Tokens
	if strings.Join(toks, "") != ch.Text+"<|assistant_end|>" || toks[len(toks)-1] != "<|assistant_end|>" {
		t.Errorf("tokens %q, want the text's and <|assistant_end|>", toks)
	}
	if off := ch.Logprobs.TextOffset; off[0] != int64(len([]rune(prompt))) || len(ch.Logprobs.TopLogprobs[0]) != 2 {
		t.Errorf("offsets %v, want them to start after the prompt (%d)", off, len([]rune(prompt)))
	}
}

// openDemoModel opens the demo model in-process (bf16, as serve does).
func openDemoModel(t *testing.T) llm.Model {
	t.Helper()
	m, err := local.Open(demoCheckpoint(t), local.OpenOptions{Home: demoModelHome})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
