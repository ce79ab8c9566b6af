package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/nanochat-go/nanochat/llm"
)

// Upstream nanochat's web server (scripts/chat_web.py, spec §5.6) has no
// /v1 routes: POST /chat/completions takes {messages, temperature,
// max_tokens, top_k} with user and assistant messages only and streams
// `data: {"token": "…", "gpu": N}` events (tool calls' special tokens
// literal) and a final `data: {"done": true}`; GET /health says whether it
// is ready. It has no raw completions, no logprobs, no seed, no top_p, and
// one sample per request.

// Upstream's limits (validate_chat_request).
const (
	upMaxTokens = 4096
	upMaxTopK   = 200
)

// ErrUnsupported is wrapped by the errors of calls a server cannot serve
// (a raw completion on upstream's chat-only server).
var ErrUnsupported = errors.New("not supported by this server")

// upstreamHealth is chat_web.py's /health body.
type upstreamHealth struct {
	Status  string `json:"status"`
	Ready   *bool  `json:"ready"`
	NumGPUs *int   `json:"num_gpus"`
}

// openUpstream checks that the server at m.root answers /health as
// chat_web.py does and drives it as upstream's server; model (may be
// empty) names it.
func (m *Model) openUpstream(ctx context.Context, model string) (*Model, error) {
	resp, err := m.doURL(ctx, http.MethodGet, m.root+"/health", nil)
	if err != nil {
		return nil, fmt.Errorf("remote %s: not upstream's chat_web.py either: %w", m.root, err)
	}
	defer resp.Body.Close()
	var h upstreamHealth
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Ready == nil || h.NumGPUs == nil {
		return nil, fmt.Errorf("remote GET %s/health: not chat_web.py's answer (want status, ready, num_gpus)", m.root)
	}
	if !*h.Ready {
		return nil, fmt.Errorf("remote %s: upstream's server is not ready (status %q)", m.root, h.Status)
	}
	if model == "" {
		model = "chat_web"
	}
	m.upstream = true
	m.name(model)
	m.info.Chat = true
	m.info.Device = "remote " + m.root + " (upstream chat_web.py)"
	return m, nil
}

// errNoLetterScoring explains why letter-scored tasks cannot run against
// upstream's server.
func (m *Model) errNoLetterScoring() error {
	return fmt.Errorf("remote %s: upstream's chat_web.py gives no logprobs, so multiple-choice tasks (ARC, MMLU), which compare the letters' log-probabilities, cannot be scored against it; run them with nanochat serve, vLLM or a local checkpoint: %w",
		m.root, llm.ErrNoChoiceScoring)
}

// upstreamMessages converts a conversation to chat_web.py's: a system
// message is merged into the first user message, as nanochat's chat
// template does (upstream refuses the role), and assistant turns carry
// their tool calls written out, as upstream's own web page sends back what
// it was streamed.
func upstreamMessages(msgs []llm.Message) ([]wireMessage, error) {
	var out []wireMessage
	for i, msg := range msgs {
		content := msg.Content
		if msg.Role == "assistant" && len(msg.Parts) > 0 {
			content = llm.FormatRaw(msg.Parts)
		}
		switch {
		case msg.Role == "system" && i == 0 && len(msgs) > 1 && msgs[1].Role == "user":
			continue
		case msg.Role == "user" && i == 1 && msgs[0].Role == "system":
			content = msgs[0].Content + "\n\n" + content
		case msg.Role != "user" && msg.Role != "assistant":
			return nil, fmt.Errorf("upstream chat: message %d has role %q: chat_web.py takes user and assistant turns (and a first system message, merged into the user's)", i, msg.Role)
		}
		if content == "" {
			return nil, fmt.Errorf("upstream chat: message %d is empty, which chat_web.py refuses", i)
		}
		out = append(out, wireMessage{Role: msg.Role, Content: content})
	}
	return out, nil
}

// upstreamBody is the request for s; settings upstream cannot honour are
// errors rather than silently different answers (its seed is random per
// request and cannot be set, which only matters when sampling).
func upstreamBody(msgs []wireMessage, s llm.Settings) (map[string]any, error) {
	switch {
	case s.TopP > 0 && s.TopP < 1:
		return nil, fmt.Errorf("upstream chat: top_p %v: chat_web.py has no nucleus sampling (use top_p 1)", s.TopP)
	case s.TopK > upMaxTopK:
		return nil, fmt.Errorf("upstream chat: top_k %d: chat_web.py allows at most %d", s.TopK, upMaxTopK)
	case s.MaxTokens > upMaxTokens:
		return nil, fmt.Errorf("upstream chat: max_tokens %d: chat_web.py allows at most %d", s.MaxTokens, upMaxTokens)
	}
	maxTokens := s.MaxTokens
	if maxTokens <= 0 {
		maxTokens = upMaxTokens // no limit asked: the most upstream gives
	}
	return map[string]any{"messages": msgs, "temperature": s.Temperature, "max_tokens": maxTokens, "top_k": s.TopK}, nil
}

// upstreamChat is Chat on chat_web.py: one request per sample, in turn.
func (m *Model) upstreamChat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	t0 := time.Now()
	rows := max(s.Samples, 1)
	rep := llm.Reply{Rows: make([]llm.Row, rows)}
	for i := range rep.Rows {
		rep.Rows[i].Finish = "cancelled"
	}
	wire, err := upstreamMessages(msgs)
	if err != nil {
		return rep, err
	}
	body, err := upstreamBody(wire, s)
	if err != nil {
		return rep, err
	}
	for row := range rows {
		events, err := m.upstreamStream(ctx, body, row, on, &rep, t0)
		// Upstream stops at max_tokens without saying so: as many token
		// events as tokens asked for means the limit was hit (an event
		// may hold several tokens, so a cut reply can read "stop").
		rep.Rows[row].Finish = "stop"
		if events >= body["max_tokens"].(int) {
			rep.Rows[row].Finish = "length"
		}
		if err != nil {
			rep.Rows[row].Finish = "cancelled"
			rep.Stats.Duration = time.Since(t0)
			return rep, err
		}
		rep.Stats.Generated = max(rep.Stats.Generated, events)
	}
	rep.Stats.Duration = time.Since(t0)
	if d := rep.Stats.Duration - rep.Stats.TTFT; d > 0 && rep.Stats.Generated > 1 {
		rep.Stats.TokensPerSec = float64((rep.Stats.Generated-1)*rows) / d.Seconds()
	}
	return rep, nil
}

// upstreamStream posts one request and decodes its token events into row.
func (m *Model) upstreamStream(ctx context.Context, body map[string]any, row int, on func(llm.Event), rep *llm.Reply, t0 time.Time) (int, error) {
	dec := llm.NewDecoder(row, on)
	defer func() {
		r := dec.Finish()
		r.Finish = rep.Rows[row].Finish
		rep.Rows[row] = r
	}()
	op := "POST " + m.root + "/chat/completions"
	resp, err := m.doURL(ctx, http.MethodPost, m.root+"/chat/completions", body)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	events, done := 0, false
	err = readEvents(resp.Body, func(data string) error {
		var ev struct {
			Token *string `json:"token"`
			Done  bool    `json:"done"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return fmt.Errorf("remote %s: bad event %.100q: %w", op, data, err)
		}
		switch {
		case ev.Done:
			done = true
			return io.EOF
		case ev.Token == nil:
			return parseError(op, http.StatusOK, []byte(data)) // nanochat serve's {"error": …}
		}
		if rep.Stats.TTFT == 0 {
			rep.Stats.TTFT = time.Since(t0)
		}
		events++
		dec.Raw(*ev.Token)
		return nil
	})
	switch {
	case ctx.Err() != nil:
		return events, ctx.Err()
	case err != nil:
		return events, err
	case !done:
		return events, fmt.Errorf("remote %s: the stream ended without {\"done\": true}", op)
	}
	return events, nil
}
