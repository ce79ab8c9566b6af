package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/nanochat-go/nanochat/llm"
)

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	Model    string          `json:"model"`
	Prompt   json.RawMessage `json:"prompt"`
	Echo     bool            `json:"echo"`
	Logprobs *int            `json:"logprobs"`
	Suffix   *string         `json:"suffix"`
	BestOf   *int            `json:"best_of"`
	samplingParams
}

type completionChoice struct {
	Text         string          `json:"text"`
	Index        int             `json:"index"`
	Logprobs     *choiceLogprobs `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

// choiceLogprobs is the legacy completions logprobs object, one entry per
// token, as lm-evaluation-harness reads it.
type choiceLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usage             `json:"usage,omitempty"`
}

// parsePrompts reads "prompt": a string or an array of strings.
func parsePrompts(raw json.RawMessage, lim Limits) ([]string, *apiError) {
	var one string
	var many []string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, badRequest("prompt", "prompt is required")
	case json.Unmarshal(raw, &one) == nil:
		many = []string{one}
	case json.Unmarshal(raw, &many) == nil:
		if len(many) == 0 {
			return nil, badRequest("prompt", "prompt is an empty array")
		}
	default:
		var ids []json.Number
		var idss [][]json.Number
		if json.Unmarshal(raw, &ids) == nil || json.Unmarshal(raw, &idss) == nil {
			return nil, badRequest("prompt", "token-id prompts are not supported: send the prompt as text")
		}
		return nil, badRequest("prompt", "invalid type for \"prompt\": expected a string or an array of strings")
	}
	if len(many) > lim.Prompts {
		return nil, badRequest("prompt", "too many prompts: %d, at most %d are allowed", len(many), lim.Prompts)
	}
	for i, p := range many {
		if n := utf8.RuneCountInString(p); n > lim.TotalChars {
			return nil, badRequest("prompt", "prompt[%d] is too long: %d characters, at most %d are allowed", i, n, lim.TotalChars)
		}
	}
	return many, nil
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	var req completionRequest
	if err := decodeBody(w, r, s.opts.Limits.BodyBytes, &req); err != nil {
		writeError(w, err)
		return
	}
	prompts, aerr := parsePrompts(req.Prompt, s.opts.Limits)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	settings, stops, aerr := req.settings(s.opts.Defaults, s.opts.Limits, 0, 16)
	if aerr == nil {
		aerr = req.check(s.opts.Limits, settings)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	m, release, err := s.admit(r.Context(), req.Model, settings.Samples)
	if err != nil {
		writeError(w, err)
		return
	}
	defer release()
	info := m.Info()
	scorer, canScore := m.(llm.Scorer)
	if req.Logprobs != nil && !canScore {
		writeError(w, badRequest("logprobs", "model %q cannot score tokens: logprobs are unavailable", info.Name))
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
	rows := settings.Samples
	resp := completionResponse{ID: s.requestID("cmpl"), Object: "text_completion", Created: created(), Model: info.Name}
	// The event stream starts with the first output, so an error before it
	// still gets a proper status; with echo, each prompt's text is sent
	// just before its first generated text.
	var ev *sse
	send := func(c completionChoice) error {
		if ev == nil {
			ev = startSSE(w, "text/event-stream; charset=utf-8")
		}
		resp.Choices = []completionChoice{c}
		return ev.json(resp)
	}
	total := usage{}
	var last genResult
	for p, prompt := range prompts {
		res := genResult{text: make([]string, rows), finish: make([]string, rows)}
		echoPending := req.Stream && req.Echo
		echo := func() {
			if echoPending {
				echoPending = false
				for row := range rows {
					send(completionChoice{Index: p*rows + row, Text: prompt})
				}
			}
		}
		if settings.MaxTokens > 0 {
			spec := genSpec{prompt: prompt, settings: settings, stops: stops}
			res = s.run(ctx, m, spec, func(row int, text string, _ *llm.ToolCall) error {
				if !req.Stream || text == "" {
					return nil
				}
				echo()
				return send(completionChoice{Index: p*rows + row, Text: text})
			})
		} else {
			for row := range res.finish {
				res.finish[row] = "length"
			}
		}
		last = res
		if res.err != nil {
			s.logRequest(r, info.Name, res, t0)
			if r.Context().Err() != nil {
				return
			}
			if ev != nil {
				ev.json(map[string]any{"error": s.genError(res.err)})
				ev.data([]byte("[DONE]"))
			} else {
				writeError(w, s.genError(res.err))
			}
			return
		}
		echo()
		total.PromptTokens += res.rep.Stats.PromptTokens
		total.CompletionTokens += completionTokens(res.rep)
		for row := range rows {
			c := completionChoice{Index: p*rows + row, Text: res.text[row], FinishReason: &res.finish[row]}
			if req.Echo {
				c.Text = prompt + c.Text
			}
			if req.Logprobs != nil {
				lp, n, err := scoreChoice(ctx, scorer, prompt, res.text[row], req.Echo, *req.Logprobs)
				if err != nil {
					writeError(w, s.genError(err))
					return
				}
				if res.rep.Stats.PromptTokens == 0 {
					total.PromptTokens += n
				}
				c.Logprobs = lp
			}
			if req.Stream {
				send(completionChoice{Index: c.Index, Text: "", FinishReason: c.FinishReason})
			} else {
				resp.Choices = append(resp.Choices, c)
			}
		}
	}
	total.TotalTokens = total.PromptTokens + total.CompletionTokens
	if req.Stream {
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
			resp.Choices, resp.Usage = []completionChoice{}, &total
			ev.json(resp)
		}
		ev.data([]byte("[DONE]"))
	} else {
		resp.Usage = &total
		writeJSON(w, http.StatusOK, resp)
	}
	s.logRequest(r, info.Name, last, t0)
}

// check validates the completions-only fields.
func (req *completionRequest) check(lim Limits, s llm.Settings) *apiError {
	switch {
	case req.Logprobs != nil && (*req.Logprobs < 0 || *req.Logprobs > lim.Logprobs):
		return badRequest("logprobs", "logprobs must be between 0 and %d, got %d", lim.Logprobs, *req.Logprobs)
	case req.Logprobs != nil && req.Stream:
		return badRequest("logprobs", "logprobs are not supported with stream: true")
	case req.Suffix != nil && *req.Suffix != "":
		return badRequest("suffix", "suffix is not supported")
	case req.BestOf != nil && *req.BestOf != 1 && *req.BestOf != s.Samples:
		return badRequest("best_of", "best_of is not supported (send 1 or omit it)")
	case s.MaxTokens == 0 && !req.Echo:
		return badRequest("max_tokens", "max_tokens 0 is only useful with echo: true")
	}
	return nil
}

// scoreChoice scores prompt+completion and returns the logprobs of the
// completion's tokens (with echo, of every token) and the prompt's token
// count (<|bos|> included). Offsets count characters in the returned text,
// which starts after the prompt unless echo is set, as OpenAI's do.
func scoreChoice(ctx context.Context, sc llm.Scorer, prompt, completion string, echo bool, topN int) (*choiceLogprobs, int, error) {
	full := prompt + completion
	toks, err := sc.PromptLogprobs(ctx, full, topN)
	if err != nil {
		return nil, 0, fmt.Errorf("score prompt: %w", err)
	}
	lp := &choiceLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	nPrompt, off := 1, 0
	for _, t := range toks {
		start := off
		off += len(t.Token)
		if start < len(prompt) {
			nPrompt++
			if !echo {
				continue
			}
		}
		lp.Tokens = append(lp.Tokens, t.Token)
		lp.TokenLogprobs = append(lp.TokenLogprobs, t.Logprob)
		top := make(map[string]float64, len(t.Top))
		for _, c := range t.Top {
			if _, dup := top[c.Token]; !dup {
				top[c.Token] = c.Logprob
			}
		}
		lp.TopLogprobs = append(lp.TopLogprobs, top)
		lp.TextOffset = append(lp.TextOffset, runeOffset(full, start))
	}
	return lp, nPrompt, nil
}

// runeOffset is the number of characters before byte offset b of s.
func runeOffset(s string, b int) int {
	b = min(b, len(s))
	for b > 0 && b < len(s) && !utf8.RuneStart(s[b]) {
		b--
	}
	return utf8.RuneCountInString(s[:b])
}
