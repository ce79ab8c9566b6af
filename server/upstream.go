package server

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nanochat-go/nanochat/llm"
)

// Upstream chat_web.py's limits and defaults (spec §5.6).
const (
	upMaxMessages     = 500
	upMaxMessageChars = 8000
	upMaxTotalChars   = 32000
	upMaxTokens       = 4096
	upMaxTopK         = 200
)

// UpstreamDefaults are chat_web.py's defaults (-t 0.8 -k 50 -m 512) for
// requests to /chat/completions that leave a field null.
var UpstreamDefaults = llm.Settings{Temperature: 0.8, TopK: 50, TopP: 1, MaxTokens: 512}

// upstreamRequest is chat_web.py's ChatRequest after validation by type.
type upstreamRequest struct {
	messages    []llm.Message
	temperature *float64
	maxTokens   *int
	topK        *int
}

// handleUpstreamChat is chat_web.py's POST /chat/completions: FastAPI's 422
// for mistyped fields, its 400 validation messages in its order, then a
// token stream of `data: {"token": "…", "gpu": 0}` events (one per
// generated token that completes text, see upstreamText) and a final
// `data: {"done": true}`, encoded as Python's json.dumps; the bytes equal
// upstream's for the same tokens (TestUpstreamStreamRecorded).
//
// What differs, by design: a conversation longer than the context loses
// its oldest turns (upstream runs past sequence_len); turns that do not
// alternate are a 400; an error after the stream started is sent as
// `data: {"error": "…"}` before it ends (upstream's stream just breaks);
// requests share decode steps rather than waiting for a worker each.
func (s *Server) handleUpstreamChat(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	body, err := readBody(w, r, s.opts.Limits.BodyBytes)
	if err != nil {
		ae := err.(*apiError)
		writePy(w, ae.Status, obj("detail", ae.Message))
		return
	}
	// Nesting deeper than maxJSONDepth: Python's json.loads raises
	// RecursionError, which FastAPI answers like this.
	if tooDeep(body, maxJSONDepth) {
		writePy(w, http.StatusBadRequest, obj("detail", "There was an error parsing the body"))
		return
	}
	req, errs := parseUpstream(body)
	if len(errs) > 0 {
		writePy(w, http.StatusUnprocessableEntity, obj("detail", errs))
		return
	}
	if msg := req.validate(); msg != "" {
		writePy(w, http.StatusBadRequest, obj("detail", msg))
		return
	}
	// Our chat template has no rendering for turns that do not alternate
	// (upstream's checks pass them): a 400 in upstream's style.
	if msg := upstreamTurns(req.messages); msg != "" {
		writePy(w, http.StatusBadRequest, obj("detail", msg))
		return
	}
	settings := UpstreamDefaults
	if req.temperature != nil {
		settings.Temperature = *req.temperature
	}
	if req.topK != nil {
		settings.TopK = *req.topK
	}
	if req.maxTokens != nil {
		settings.MaxTokens = *req.maxTokens
	}
	var p samplingParams // seed: random.randint(0, 2**31-1) per request
	settings.Seed = 0
	settings, _, _ = p.settings(settings, s.opts.Limits, 1, settings.MaxTokens)

	m, release, err := s.admit(r.Context(), "", 1)
	if err != nil {
		ae, ok := err.(*apiError)
		if !ok {
			return // the client left while waiting
		}
		writePy(w, ae.Status, obj("detail", ae.Message))
		return
	}
	defer release()
	ctx, cancel := s.genContext(r.Context())
	defer cancel()
	var ev *sse // started with the first token, so an early error gets a status
	open := func() *sse {
		if ev == nil {
			ev = startSSE(w, "text/event-stream; charset=utf-8")
		}
		return ev
	}
	event := func(text string) error {
		return open().data([]byte(pyDumps(obj("token", text, "gpu", 0), false)))
	}
	// A model that sends its tokens is streamed as generate_stream does,
	// one event per token that completes text; for one that does not (a
	// remote model), its text and tool calls are sent as they come.
	var up upstreamText
	byToken := false
	spec := genSpec{chat: req.messages, isChat: true, settings: settings, rawTools: true, token: func(_ int, tok string) error {
		byToken = true
		if text := up.push(tok); text != "" {
			return event(text)
		}
		return nil
	}}
	res := s.run(ctx, m, spec, func(_ int, text string, _ *llm.ToolCall) error {
		if byToken {
			return nil
		}
		return event(text) // tool calls as text: upstream streams the special tokens literally
	})
	switch {
	case res.err != nil && r.Context().Err() != nil: // the client left
	case res.err != nil && ev == nil:
		ae := s.genError(res.err)
		writePy(w, ae.Status, obj("detail", ae.Message))
	case res.err != nil:
		ev.data([]byte(pyDumps(obj("error", s.genError(res.err).Message), false)))
	default:
		open().data([]byte(pyDumps(obj("done", true), false)))
	}
	s.logRequest(r, m.Info().Name, res, t0)
}

// writePy writes v as Starlette's JSONResponse does (compact json.dumps,
// ensure_ascii=False).
func writePy(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, pyDumps(v, true))
}

// validate applies chat_web.py's validate_chat_request, in its order.
func (q *upstreamRequest) validate() string {
	if len(q.messages) == 0 {
		return "At least one message is required"
	}
	if len(q.messages) > upMaxMessages {
		return fmt.Sprintf("Too many messages. Maximum %d messages allowed per request", upMaxMessages)
	}
	total := 0
	for i, m := range q.messages {
		if m.Content == "" {
			return fmt.Sprintf("Message %d has empty content", i)
		}
		n := utf8.RuneCountInString(m.Content)
		if n > upMaxMessageChars {
			return fmt.Sprintf("Message %d is too long. Maximum %d characters allowed per message", i, upMaxMessageChars)
		}
		total += n
	}
	if total > upMaxTotalChars {
		return fmt.Sprintf("Total conversation is too long. Maximum %d characters allowed", upMaxTotalChars)
	}
	for i, m := range q.messages {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Sprintf("Message %d has invalid role. Must be 'user', 'assistant', or 'system'", i)
		}
	}
	if t := q.temperature; t != nil && !(*t >= 0 && *t <= 2) {
		return "Temperature must be between 0.0 and 2.0"
	}
	if k := q.topK; k != nil && !(*k >= 0 && *k <= upMaxTopK) {
		return fmt.Sprintf("top_k must be between 0 and %d", upMaxTopK)
	}
	if m := q.maxTokens; m != nil && !(*m >= 1 && *m <= upMaxTokens) {
		return fmt.Sprintf("max_tokens must be between 1 and %d", upMaxTokens)
	}
	return ""
}

// parseUpstream validates the body like pydantic (lax mode) validates
// ChatRequest{messages: List[ChatMessage{role: str, content: str}],
// temperature: Optional[float], max_tokens: Optional[int], top_k:
// Optional[int]}, returning FastAPI's 422 error list on failure.
func parseUpstream(body []byte) (upstreamRequest, []any) {
	var q upstreamRequest
	if len(body) == 0 {
		return q, []any{pyErr("missing", []any{"body"}, "Field required", nil)}
	}
	v, err := parsePyJSON(string(body))
	if err != nil {
		pe := err.(*pyJSONError)
		pos := utf8.RuneCountInString(string(body[:pe.Pos])) // Python counts characters
		return q, []any{obj("type", "json_invalid", "loc", []any{"body", pos}, "msg", "JSON decode error",
			"input", kv{}, "ctx", obj("error", pe.Msg))}
	}
	top, ok := v.(kv)
	if !ok {
		return q, []any{pyErr("model_attributes_type", []any{"body"}, notDict, v)}
	}
	var errs []any
	if raw, ok := top.get("messages"); !ok {
		errs = append(errs, pyErr("missing", []any{"body", "messages"}, "Field required", v))
	} else if list, ok := raw.([]any); !ok {
		errs = append(errs, pyErr("list_type", []any{"body", "messages"}, "Input should be a valid list", raw))
	} else {
		for i, item := range list {
			m, ok := item.(kv)
			if !ok {
				errs = append(errs, pyErr("model_attributes_type", []any{"body", "messages", i}, notDict, item))
				continue
			}
			var msg llm.Message
			for _, f := range []struct {
				name string
				dst  *string
			}{{"role", &msg.Role}, {"content", &msg.Content}} {
				loc := []any{"body", "messages", i, f.name}
				switch x, ok := m.get(f.name); {
				case !ok:
					errs = append(errs, pyErr("missing", loc, "Field required", item))
				case isString(x):
					*f.dst = x.(string)
				default:
					errs = append(errs, pyErr("string_type", loc, "Input should be a valid string", x))
				}
			}
			q.messages = append(q.messages, msg)
		}
	}
	if x, ok := top.get("temperature"); ok && x != nil {
		if f, e := pyFloatField(x, []any{"body", "temperature"}); e != nil {
			errs = append(errs, e)
		} else {
			q.temperature = &f
		}
	}
	for _, f := range []struct {
		name string
		dst  **int
	}{{"max_tokens", &q.maxTokens}, {"top_k", &q.topK}} {
		if x, ok := top.get(f.name); ok && x != nil {
			if n, e := pyIntField(x, []any{"body", f.name}); e != nil {
				errs = append(errs, e)
			} else {
				*f.dst = &n
			}
		}
	}
	return q, errs
}

const notDict = "Input should be a valid dictionary or object to extract fields from"

func isString(x any) bool { _, ok := x.(string); return ok }

func pyErr(typ string, loc []any, msg string, input any) kv {
	return obj("type", typ, "loc", loc, "msg", msg, "input", input)
}

// pyFloatField is pydantic's lax float: numbers, bools and numeric strings.
func pyFloatField(x any, loc []any) (float64, kv) {
	switch v := x.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(v.String(), 64)
		if err == nil {
			return f, nil
		}
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err == nil || strings.EqualFold(strings.TrimSpace(v), "nan") {
			if err != nil {
				f = math.NaN()
			}
			return f, nil
		}
		return 0, pyErr("float_parsing", loc, "Input should be a valid number, unable to parse string as a number", x)
	}
	return 0, pyErr("float_type", loc, "Input should be a valid number", x)
}

// pyIntField is pydantic's lax int: integers, bools, integral floats and
// integer strings.
func pyIntField(x any, loc []any) (int, kv) {
	switch v := x.(type) {
	case json.Number:
		if n, err := strconv.Atoi(v.String()); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(v.String(), 64); err == nil {
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int(f), nil
			}
			return 0, pyErr("int_from_float", loc, "Input should be a valid integer, got a number with a fractional part", x)
		}
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, nil
		}
		return 0, pyErr("int_parsing", loc, "Input should be a valid integer, unable to parse string as an integer", x)
	}
	return 0, pyErr("int_type", loc, "Input should be a valid integer", x)
}
