package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
)

func openaiClient(ts *httptest.Server, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(ts.URL + "/v1/"),
		option.WithHTTPClient(ts.Client()), option.WithAPIKey("none"), option.WithMaxRetries(0)}, opts...)...)
}

func TestOpenAIChat(t *testing.T) {
	_, ts := newTestServer(t, Options{}, nil)
	c := openaiClient(ts)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "sft/d2/20", Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("be brief"), openai.UserMessage("hi"), openai.AssistantMessage("hello"), openai.UserMessage("what's up <&>?")}}

	resp, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Choices[0].Message.Content, "echo: what's up <&>?"; got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	if resp.Model != "sft/d2/20" || resp.Choices[0].FinishReason != "stop" || resp.Object != "chat.completion" {
		t.Errorf("model, finish, object = %q, %q, %q", resp.Model, resp.Choices[0].FinishReason, resp.Object)
	}
	if resp.Usage.PromptTokens != 10 || resp.Usage.CompletionTokens != 4 || resp.Usage.TotalTokens != 14 {
		t.Errorf("usage = %+v, want 10+4=14", resp.Usage)
	}

	params.StreamOptions.IncludeUsage = openai.Bool(true)
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := acc.Choices[0].Message.Content, "echo: what's up <&>?"; got != want {
		t.Errorf("streamed content = %q, want %q", got, want)
	}
	if acc.Choices[0].FinishReason != "stop" || acc.Usage.TotalTokens != 14 {
		t.Errorf("streamed finish %q usage %+v", acc.Choices[0].FinishReason, acc.Usage)
	}
	if chunks != 1+4+1+1 { // role, 4 words, finish, usage
		t.Errorf("got %d chunks, want 7", chunks)
	}
}

func TestOpenAIChatSampling(t *testing.T) {
	var seen []llm.Settings
	_, ts := newTestServer(t, Options{Defaults: llm.Settings{Temperature: 0.6, TopK: 50, TopP: 1, MaxTokens: 100, Seed: 42}},
		func(name string, f *llmtest.Fake) llm.Model {
			f.Reply = func(msgs []llm.Message, s llm.Settings) string {
				seen = append(seen, s)
				return "one two three four five six"
			}
			return f
		})
	c := openaiClient(ts)
	ctx := context.Background()
	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "sft",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
		N:        openai.Int(3), Temperature: openai.Float(0), TopP: openai.Float(0.5), Seed: openai.Int(7),
		MaxTokens: openai.Int(4)}, option.WithJSONSet("top_k", 5))
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Settings{Temperature: 0, TopK: 5, TopP: 0.5, Seed: 7, MaxTokens: 4, Samples: 3}
	if len(seen) != 1 || seen[0] != want {
		t.Errorf("settings = %+v, want %+v", seen, want)
	}
	if len(resp.Choices) != 3 || resp.Choices[2].Index != 2 || resp.Choices[1].Message.Content != "one two three four " ||
		resp.Choices[0].FinishReason != "length" {
		t.Errorf("choices = %+v", resp.Choices)
	}
	if resp.Model != "sft/d2/20" {
		t.Errorf("model %q: the prefix \"sft\" should pick sft/d2/20", resp.Model)
	}

	// Defaults fill absent fields; max_completion_tokens wins over max_tokens.
	seen = nil
	_, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "sft/d2/20",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
		MaxTokens: openai.Int(3), MaxCompletionTokens: openai.Int(2)})
	if err != nil {
		t.Fatal(err)
	}
	want = llm.Settings{Temperature: 0.6, TopK: 50, TopP: 1, Seed: 42, MaxTokens: 2, Samples: 1}
	if seen[0] != want {
		t.Errorf("settings = %+v, want %+v", seen[0], want)
	}
}

func TestOpenAIStop(t *testing.T) {
	var calls int
	_, ts := newTestServer(t, Options{}, func(name string, f *llmtest.Fake) llm.Model {
		f.Reply = func([]llm.Message, llm.Settings) string { calls++; return words("w", 40) + " STOP here" }
		return f
	})
	c := openaiClient(ts)
	for _, stream := range []bool{false, true} {
		params := openai.ChatCompletionNewParams{Model: "sft/d2/20", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
			Stop: openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"zz", "xa wxb"}}}
		var content, finish string
		if stream {
			s := c.Chat.Completions.NewStreaming(context.Background(), params)
			for s.Next() {
				for _, ch := range s.Current().Choices {
					content += ch.Delta.Content
					if ch.FinishReason != "" {
						finish = ch.FinishReason
					}
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
		} else {
			resp, err := c.Chat.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			content, finish = resp.Choices[0].Message.Content, resp.Choices[0].FinishReason
		}
		// words("w", 40) starts "wa wxb wxxc wd …": the stop "xa wxb" never
		// matches, "zz" never occurs, so test a real hit separately below.
		if content != words("w", 40)+" STOP here" || finish != "stop" {
			t.Errorf("stream=%v: content %q finish %q", stream, content, finish)
		}
		params.Stop = openai.ChatCompletionNewParamsStopUnion{OfString: openai.String(" wxxc")}
		if stream {
			s := c.Chat.Completions.NewStreaming(context.Background(), params)
			content = ""
			for s.Next() {
				for _, ch := range s.Current().Choices {
					content += ch.Delta.Content
				}
			}
		} else {
			resp, err := c.Chat.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			content = resp.Choices[0].Message.Content
		}
		if content != "wa wxb" {
			t.Errorf("stream=%v: with stop \" wxxc\": content %q, want %q", stream, content, "wa wxb")
		}
	}
}

func TestOpenAIModels(t *testing.T) {
	_, ts := newTestServer(t, Options{Default: "sft/d2/10"}, nil)
	c := openaiClient(ts)
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if got, want := strings.Join(ids, " "), "sft/d2/20 sft/d2/10 base/d2/30"; got != want {
		t.Errorf("models = %q, want %q", got, want)
	}
	if !strings.Contains(page.Data[1].RawJSON(), `"loaded":true`) || strings.Contains(page.Data[0].RawJSON(), `"loaded":true`) {
		t.Errorf("only the default should be loaded: %s", page.RawJSON())
	}
	m, err := c.Models.Get(context.Background(), "base/d2/30")
	if err != nil || m.ID != "base/d2/30" {
		t.Errorf("get model: %v, %+v", err, m)
	}

	_, err = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "nope",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model: err = %v, want 404 model_not_found", err)
	}
	// A base model has no chat template; completions work.
	_, err = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "base/d2/30",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Errorf("chat with a base model: err = %v, want 400", err)
	}
	cmpl, err := c.Completions.New(context.Background(), openai.CompletionNewParams{Model: "base/d2/30",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("once upon")}, MaxTokens: openai.Int(5)})
	if err != nil || cmpl.Choices[0].Text != "echo: once upon" || cmpl.Model != "base/d2/30" {
		t.Errorf("completion: %v %+v", err, cmpl)
	}
}

func TestOpenAICompletionsLogprobs(t *testing.T) {
	_, ts := newTestServer(t, Options{}, func(name string, f *llmtest.Fake) llm.Model {
		f.Reply = func([]llm.Message, llm.Settings) string { return "XY" }
		return scoringFake{Fake: f, Likely: "B"}
	})
	// lm-evaluation-harness loglikelihood: echo, max_tokens 0, logprobs 1,
	// a batch of prompts.
	code, body := post(t, ts, "/v1/completions",
		`{"model":"sft/d2/20","prompt":["Q: é? A: B","Q: é? A: C"],"echo":true,"max_tokens":0,"logprobs":1,"temperature":0}`)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var resp struct {
		Choices []struct {
			Text     string
			Index    int
			Logprobs struct {
				Tokens        []string             `json:"tokens"`
				TokenLogprobs []float64            `json:"token_logprobs"`
				TopLogprobs   []map[string]float64 `json:"top_logprobs"`
				TextOffset    []int                `json:"text_offset"`
			}
		}
		Usage usage
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 2 {
		t.Fatalf("got %d choices, want 2: %s", len(resp.Choices), body)
	}
	lp := resp.Choices[0].Logprobs
	if resp.Choices[0].Text != "Q: é? A: B" || len(lp.Tokens) != 10 || strings.Join(lp.Tokens, "") != "Q: é? A: B" {
		t.Errorf("echo text %q tokens %q", resp.Choices[0].Text, lp.Tokens)
	}
	if got := lp.TextOffset; got[3] != 3 || got[4] != 4 || got[9] != 9 {
		t.Errorf("text_offset = %v, want character offsets 0…9", got)
	}
	last := len(lp.TokenLogprobs) - 1
	if lp.TokenLogprobs[last] != -1 || resp.Choices[1].Logprobs.TokenLogprobs[last] != -1-float64('C'%5) {
		t.Errorf("answer logprobs %v, %v", lp.TokenLogprobs[last], resp.Choices[1].Logprobs.TokenLogprobs[last])
	}
	if top := lp.TopLogprobs[last]; len(top) != 1 || top["B"] != -1 {
		t.Errorf("top_logprobs = %v, want {B: -1}", top)
	}
	if resp.Usage.PromptTokens != 22 || resp.Usage.CompletionTokens != 0 {
		t.Errorf("usage = %+v, want 2×(10+bos) prompt tokens", resp.Usage)
	}
	// Generation with logprobs through the official client, and the
	// generated tokens' logprobs: TestCompletionsCalculator and
	// TestLMEvalLoglikelihood, on the demo model.
}

func TestOpenAICompletionsStream(t *testing.T) {
	_, ts := newTestServer(t, Options{}, nil)
	c := openaiClient(ts)
	s := c.Completions.NewStreaming(context.Background(), openai.CompletionNewParams{Model: "base/d2/30",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("a b c")}, Echo: openai.Bool(true),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var text, finish string
	var total int64
	for s.Next() {
		cur := s.Current()
		for _, ch := range cur.Choices {
			text += ch.Text
			if ch.FinishReason != "" {
				finish = string(ch.FinishReason)
			}
		}
		total += cur.Usage.TotalTokens
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if text != "a b cecho: a b c" || finish != "stop" || total != 14 {
		t.Errorf("text %q finish %q total tokens %d", text, finish, total)
	}
}

func TestOpenAINoScorer(t *testing.T) {
	_, ts := newTestServer(t, Options{}, nil)
	code, body := post(t, ts, "/v1/completions", `{"model":"sft/d2/20","prompt":"x","echo":true,"max_tokens":0,"logprobs":1}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "cannot score tokens") {
		t.Errorf("got %d %s, want 400 cannot score tokens", code, body)
	}
}
