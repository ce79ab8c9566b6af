package server

import (
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

// handleCompletions is POST /v1/completions. A raw prompt is tokenized
// once, the same way for generating and for scoring: special tokens written
// literally (<|user_start|>, <|assistant_start|>, …) are those tokens, as
// vLLM's tokenizer reads a raw prompt (the chat routes keep user text
// plain). A prompt that with max_tokens (default 16, as OpenAI's) does not
// fit the model's context is a 400 context_length_exceeded, never cut.
// max_tokens 0 with echo scores the prompt only (vLLM's semantics); with
// logprobs, the generated tokens follow the prompt's, the one that ended
// the reply (<|assistant_end|>) included, as OpenAI and vLLM report it.
// The completion text is the decode of the tokens: a calculator call is
// written out with its special tokens.
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
	if req.Logprobs != nil && settings.MaxTokens > 0 {
		settings.Logprobs, settings.TopLogprobs = true, *req.Logprobs
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
	fail := func(res genResult, err error) {
		s.logRequest(r, info.Name, res, t0)
		switch {
		case r.Context().Err() != nil: // the client left
		case ev != nil:
			ev.json(map[string]any{"error": s.genError(err)})
			ev.data([]byte("[DONE]"))
		default:
			writeError(w, s.genError(err))
		}
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
			// A raw completion is the decode of its tokens: the
			// calculator's special tokens are written literally.
			spec := genSpec{prompt: prompt, settings: settings, stops: stops, rawTools: true}
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
			fail(res, res.err)
			return
		}
		echo()
		total.PromptTokens += res.rep.Stats.PromptTokens
		total.CompletionTokens += completionTokens(res.rep)
		var promptLP []llm.TokenLogprob
		if req.Logprobs != nil && (req.Echo || res.rep.Stats.PromptTokens == 0) {
			var err error
			if promptLP, err = scorer.PromptLogprobs(ctx, prompt, *req.Logprobs); err != nil {
				fail(res, fmt.Errorf("score prompt: %w", err))
				return
			}
			if res.rep.Stats.PromptTokens == 0 {
				total.PromptTokens += len(promptLP) + 1 // and <|bos|>
			}
		}
		for row := range rows {
			c := completionChoice{Index: p*rows + row, Text: res.text[row], FinishReason: &res.finish[row]}
			if req.Echo {
				c.Text = prompt + c.Text
			}
			if req.Logprobs != nil {
				var gen []llm.TokenLogprob
				ended := false
				if settings.MaxTokens > 0 {
					if row >= len(res.rep.Rows) || (res.rep.Rows[row].Logprobs == nil && res.text[row] != "") {
						fail(res, fmt.Errorf("model %q did not report its generated tokens' logprobs", info.Name))
						return
					}
					gen, ended = res.rep.Rows[row].Logprobs, endedByModel(res.rep.Rows[row])
				}
				var echoed []llm.TokenLogprob
				if req.Echo {
					echoed = promptLP
				}
				c.Logprobs = choiceLogprobsOf(prompt, echoed, res.text[row], gen, ended)
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

// choiceLogprobsOf assembles a choice's logprobs as OpenAI and vLLM do:
// with echo, one entry per prompt token (prompt, from PromptLogprobs),
// then one per generated token (gen, Row.Logprobs) up to the end of the
// returned completion text, and the token that ended the row (its
// terminal, e.g. <|assistant_end|>) when the model ended it (ended) — so
// that lm-evaluation-harness, which drops the last entry as the generated
// token, never drops a prompt token. Offsets count characters of the
// returned text, which starts after the prompt unless echo is set.
func choiceLogprobsOf(prompt string, promptLP []llm.TokenLogprob, text string, gen []llm.TokenLogprob, ended bool) *choiceLogprobs {
	lp := &choiceLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	full := prompt + text
	add := func(t llm.TokenLogprob, byteOff int) {
		lp.Tokens = append(lp.Tokens, t.Token)
		lp.TokenLogprobs = append(lp.TokenLogprobs, t.Logprob)
		top := make(map[string]float64, len(t.Top))
		for _, c := range t.Top {
			if _, dup := top[c.Token]; !dup {
				top[c.Token] = c.Logprob
			}
		}
		lp.TopLogprobs = append(lp.TopLogprobs, top)
		lp.TextOffset = append(lp.TextOffset, runeOffset(full, byteOff))
	}
	// A prompt starting with a literal <|bos|> has no entry for it.
	covered := 0
	for _, t := range promptLP {
		covered += len(t.Token)
	}
	off := max(len(prompt)-covered, 0)
	for _, t := range promptLP {
		add(t, off)
		off += len(t.Token)
	}
	off = len(prompt)
	for i, t := range gen {
		terminal := i == len(gen)-1 && ended && off >= len(full)
		if off >= len(full) && !terminal {
			break
		}
		add(t, off)
		off += len(t.Token)
	}
	return lp
}

// endedByModel reports whether the model itself ended r with a terminal
// token (not a stop sequence or the token limit) whose logprob it gave.
func endedByModel(r llm.Row) bool {
	return r.Finish == "stop" && len(r.Logprobs) == len(r.Tokens)+1
}

// runeOffset is the number of characters before byte offset b of s.
func runeOffset(s string, b int) int {
	b = min(b, len(s))
	for b > 0 && b < len(s) && !utf8.RuneStart(s[b]) {
		b--
	}
	return utf8.RuneCountInString(s[:b])
}
