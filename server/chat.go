package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nanochat-go/nanochat/llm"
)

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	samplingParams
	Logprobs    *bool           `json:"logprobs"`
	TopLogprobs *int            `json:"top_logprobs"`
	Tools       json.RawMessage `json:"tools"`
}

// chatMessage is one OpenAI message. Content is a string, null or an array
// of text parts; Parts (an extension) carries nanochat's structured
// assistant turns (python / python_output) so tool calls re-render exactly.
type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Parts   []llm.Part      `json:"parts,omitempty"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func newUsage(rep llm.Reply) *usage {
	c := completionTokens(rep)
	return &usage{PromptTokens: rep.Stats.PromptTokens, CompletionTokens: c, TotalTokens: rep.Stats.PromptTokens + c}
}

type chatChoice struct {
	Index        int       `json:"index"`
	Message      *chatOut  `json:"message,omitempty"`
	Delta        *chatOut  `json:"delta,omitempty"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

// chatOut is a reply message or a streamed delta; Tool (an extension) is
// a finished calculator call, which clients that do not know it ignore.
type chatOut struct {
	Role    string        `json:"role,omitempty"`
	Content *string       `json:"content,omitempty"`
	Tool    *llm.ToolCall `json:"nanochat_tool,omitempty"`
}

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *usage       `json:"usage,omitempty"`
}

// parseMessages validates an OpenAI conversation and converts it for the
// model: an optional system (or developer) message first, then user and
// assistant turns alternating, ending with the user.
func parseMessages(in []chatMessage, lim Limits) ([]llm.Message, *apiError) {
	if len(in) == 0 {
		return nil, badRequest("messages", "messages must contain at least one message")
	}
	if len(in) > lim.Messages {
		return nil, badRequest("messages", "too many messages: %d, at most %d are allowed", len(in), lim.Messages)
	}
	out := make([]llm.Message, 0, len(in))
	total := 0
	for i, m := range in {
		param := fmt.Sprintf("messages[%d]", i)
		text, err := messageText(m.Content, param)
		if err != nil {
			return nil, err
		}
		n := utf8.RuneCountInString(text)
		for _, p := range m.Parts {
			n += utf8.RuneCountInString(p.Text)
		}
		if n > lim.MessageChars {
			return nil, badRequest(param+".content", "%s is too long: %d characters, at most %d are allowed per message", param, n, lim.MessageChars)
		}
		if total += n; total > lim.TotalChars {
			return nil, badRequest("messages", "conversation is too long: more than %d characters", lim.TotalChars)
		}
		role := m.Role
		want := "user"
		if len(out) > 0 && out[len(out)-1].Role == "user" {
			want = "assistant"
		}
		switch role {
		case "system", "developer":
			if i != 0 {
				return nil, badRequest(param+".role", "%s: a %s message is only allowed first", param, role)
			}
			role = "system"
		case "user", "assistant":
			if role != want {
				return nil, badRequest(param+".role", "%s: expected role %q, got %q (nanochat conversations alternate user and assistant, starting with user)", param, want, role)
			}
		case "tool", "function":
			return nil, badRequest(param+".role", "%s: role %q is not supported (this server has no function calling)", param, role)
		default:
			return nil, badRequest(param+".role", "%s: invalid role %q: want system, user or assistant", param, role)
		}
		if len(m.Parts) > 0 && role != "assistant" {
			return nil, badRequest(param+".parts", "%s: parts are only allowed on assistant messages (a %s message is plain text)", param, role)
		}
		for _, p := range m.Parts {
			if p.Type != llm.PartText && p.Type != llm.PartPython && p.Type != llm.PartPythonOutput {
				return nil, badRequest(param+".parts", "%s: part type %q: want text, python or python_output", param, p.Type)
			}
		}
		out = append(out, llm.Message{Role: role, Content: text, Parts: m.Parts})
	}
	if last := out[len(out)-1]; last.Role != "user" {
		return nil, badRequest("messages", "the last message must have role \"user\", got %q", last.Role)
	}
	return out, nil
}

// messageText reads a content field: a string, null, or text parts.
func messageText(raw json.RawMessage, param string) (string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", badRequest(param+".content", "invalid type for %s.content: expected a string or an array of text parts", param)
	}
	var b strings.Builder
	for j, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", badRequest(param+".content", "%s.content[%d]: only text parts are supported, got type %q", param, j, p.Type)
		}
		b.WriteString(*p.Text)
	}
	return b.String(), nil
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	var req chatRequest
	if err := decodeBody(w, r, s.opts.Limits.BodyBytes, &req); err != nil {
		writeError(w, err)
		return
	}
	msgs, aerr := parseMessages(req.Messages, s.opts.Limits)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	settings, stops, aerr := req.settings(s.opts.Defaults, s.opts.Limits, 1, s.opts.Defaults.MaxTokens)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	switch {
	case req.Logprobs != nil && *req.Logprobs:
		writeError(w, badRequest("logprobs", "logprobs are not supported on /v1/chat/completions; use /v1/completions with echo and logprobs"))
		return
	case len(req.Tools) > 0 && string(req.Tools) != "null" && string(req.Tools) != "[]":
		writeError(w, badRequest("tools", "tools are not supported (nanochat's only tool is its built-in calculator)"))
		return
	}
	m, release, err := s.admit(r.Context(), req.Model, settings.Samples)
	if err != nil {
		writeError(w, err)
		return
	}
	defer release()
	info := m.Info()
	if !info.Chat {
		writeError(w, badRequest("model", "model %q is a base model without a chat template; use /v1/completions", info.Name))
		return
	}
	if req.MaxTokens != nil || req.MaxCompletionTokens != nil {
		if aerr := checkContext(settings, info, "max_tokens"); aerr != nil {
			writeError(w, aerr)
			return
		}
	}
	ctx, cancel := s.genContext(r.Context())
	defer cancel()
	spec := genSpec{chat: msgs, isChat: true, settings: settings, stops: stops}
	id, now := s.requestID("chatcmpl"), created()
	resp := chatResponse{ID: id, Created: now, Model: info.Name}
	var res genResult
	if req.Stream {
		resp.Object = "chat.completion.chunk"
		res = s.streamChat(ctx, w, r, m, spec, resp, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
	} else {
		res = s.run(ctx, m, spec, func(int, string, *llm.ToolCall) error { return nil })
		if res.err != nil {
			if r.Context().Err() == nil {
				writeError(w, s.genError(res.err))
			}
		} else {
			resp.Object = "chat.completion"
			for row := range res.text {
				resp.Choices = append(resp.Choices, chatChoice{Index: row,
					Message: &chatOut{Role: "assistant", Content: &res.text[row]}, FinishReason: &res.finish[row]})
			}
			resp.Usage = newUsage(res.rep)
			writeJSON(w, http.StatusOK, resp)
		}
	}
	s.logRequest(r, info.Name, res, t0)
}

// streamChat streams a chat completion: a role chunk per row, content and
// tool chunks, a finish chunk per row, the usage chunk if asked, [DONE].
// The event stream starts with the first output, so an error before it
// (a prompt the model rejects) still gets a proper status.
func (s *Server) streamChat(ctx context.Context, w http.ResponseWriter, r *http.Request, m llm.Model, spec genSpec,
	resp chatResponse, includeUsage bool) genResult {
	var ev *sse
	chunk := func(choices ...chatChoice) error {
		if ev == nil {
			ev = startSSE(w, "text/event-stream; charset=utf-8")
			for row := range max(spec.settings.Samples, 1) {
				resp.Choices = []chatChoice{{Index: row, Delta: &chatOut{Role: "assistant", Content: new(string)}}}
				ev.json(resp)
			}
		}
		resp.Choices = choices
		return ev.json(resp)
	}
	res := s.run(ctx, m, spec, func(row int, text string, tool *llm.ToolCall) error {
		d := &chatOut{Tool: tool}
		if text != "" {
			d.Content = &text
		}
		return chunk(chatChoice{Index: row, Delta: d})
	})
	switch {
	case res.err != nil && r.Context().Err() != nil: // the client left
		return res
	case res.err != nil && ev == nil:
		writeError(w, s.genError(res.err))
		return res
	case res.err != nil:
		ev.json(map[string]any{"error": s.genError(res.err)})
	default:
		for row, f := range res.finish {
			chunk(chatChoice{Index: row, Delta: &chatOut{}, FinishReason: &f})
		}
		if includeUsage {
			resp.Choices, resp.Usage = []chatChoice{}, newUsage(res.rep)
			ev.json(resp)
		}
	}
	ev.data([]byte("[DONE]"))
	return res
}

// logRequest logs one finished generation.
func (s *Server) logRequest(r *http.Request, model string, res genResult, t0 time.Time) {
	outcome := strings.Join(res.finish, ",")
	if res.err != nil {
		outcome = "error: " + res.err.Error()
	}
	s.opts.logf("%s %s %s: %d prompt + %d generated tokens, %s, %v", r.Method, r.URL.Path, model,
		res.rep.Stats.PromptTokens, completionTokens(res.rep), outcome, time.Since(t0).Round(time.Millisecond))
}
