package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nanochat-go/nanochat/llm"
)

// wireMessage is an OpenAI message; Parts is nanochat serve's extension for
// structured assistant turns, sent only to nanochat servers.
type wireMessage struct {
	Role    string     `json:"role"`
	Content string     `json:"content"`
	Parts   []llm.Part `json:"parts,omitempty"`
}

// Chat implements llm.Model over POST /v1/chat/completions with stream.
func (m *Model) Chat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	if m.upstream {
		return m.upstreamChat(ctx, msgs, s, on)
	}
	wire := make([]wireMessage, len(msgs))
	for i, msg := range msgs {
		wire[i] = wireMessage{Role: msg.Role, Content: msg.Content}
		if m.nanochat {
			wire[i].Parts = msg.Parts
		} else if len(msg.Parts) > 0 {
			wire[i].Content = llm.FormatRaw(msg.Parts)
		}
	}
	body := m.request(s)
	body["messages"] = wire
	return m.stream(ctx, "/chat/completions", body, max(s.Samples, 1), on)
}

// Complete implements llm.Model over POST /v1/completions with stream.
func (m *Model) Complete(ctx context.Context, prompt string, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	if m.upstream {
		return llm.Reply{}, fmt.Errorf("remote %s: upstream's chat_web.py has no raw completions, only chat: %w", m.root, ErrUnsupported)
	}
	body := m.request(s)
	body["prompt"] = prompt
	return m.stream(ctx, "/completions", body, max(s.Samples, 1), on)
}

// request is the body fields shared by chat and completions.
func (m *Model) request(s llm.Settings) map[string]any {
	body := map[string]any{"model": m.info.Name, "stream": true, "stream_options": map[string]bool{"include_usage": true},
		"temperature": s.Temperature, "seed": int64(s.Seed)}
	if s.TopP > 0 && s.TopP < 1 {
		body["top_p"] = s.TopP
	}
	if s.TopK > 0 {
		body["top_k"] = s.TopK // an extension vLLM, SGLang, llama-server and nanochat understand
	}
	if s.MaxTokens > 0 {
		// Like the local engine, cap the reply by the context rather than
		// fail: servers reject max_tokens that alone fills the context.
		if n := m.info.ContextLen; n > 1 && s.MaxTokens >= n {
			s.MaxTokens = n - 1
		}
		body["max_tokens"] = s.MaxTokens
	}
	if s.Samples > 1 {
		body["n"] = s.Samples
	}
	return body
}

// chunk is a streamed chat or completion chunk.
type chunk struct {
	Choices []struct {
		Index int    `json:"index"`
		Text  string `json:"text"`
		Delta struct {
			Content *string       `json:"content"`
			Tool    *llm.ToolCall `json:"nanochat_tool"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// stream posts body and assembles the streamed reply of rows rows.
func (m *Model) stream(ctx context.Context, path string, body map[string]any, rows int, on func(llm.Event)) (llm.Reply, error) {
	t0 := time.Now()
	rs := make([]rowState, rows)
	for i := range rs {
		rs[i].dec = llm.NewDecoder(i, on)
	}
	rep := llm.Reply{}
	finish := func(err error) (llm.Reply, error) {
		rep.Rows = make([]llm.Row, rows)
		for i := range rs {
			rep.Rows[i] = rs[i].row()
			if rep.Rows[i].Finish == "" {
				rep.Rows[i].Finish = "cancelled"
			}
		}
		rep.Stats.Duration = time.Since(t0)
		if rep.Stats.Generated == 0 {
			for _, r := range rs {
				rep.Stats.Generated = max(rep.Stats.Generated, r.chunks)
			}
		}
		if d := rep.Stats.Duration - rep.Stats.TTFT; d > 0 && rep.Stats.Generated > 1 {
			rep.Stats.TokensPerSec = float64((rep.Stats.Generated-1)*rows) / d.Seconds()
		}
		return rep, err
	}
	resp, err := m.do(ctx, "POST", path, body)
	if err != nil {
		return finish(err)
	}
	defer resp.Body.Close()
	op := "POST " + m.base + path
	done := false
	err = readEvents(resp.Body, func(data string) error {
		if data == "[DONE]" {
			done = true
			return io.EOF
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return fmt.Errorf("remote %s: bad event %.100q: %w", op, data, err)
		}
		if len(c.Error) > 0 && string(c.Error) != "null" {
			return parseError(op, 200, []byte(data))
		}
		if c.Usage != nil {
			rep.Stats.PromptTokens = c.Usage.PromptTokens
			rep.Stats.Generated = c.Usage.CompletionTokens / rows
		}
		for _, ch := range c.Choices {
			if ch.Index < 0 || ch.Index >= rows {
				continue
			}
			r := &rs[ch.Index]
			text := ch.Text
			if ch.Delta.Content != nil {
				text = *ch.Delta.Content
			}
			if text != "" || ch.Delta.Tool != nil {
				if rep.Stats.TTFT == 0 {
					rep.Stats.TTFT = time.Since(t0)
				}
				r.chunks++
			}
			if ch.Delta.Tool != nil {
				r.dec.Tool(*ch.Delta.Tool)
			}
			r.dec.Raw(text)
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				r.finish = *ch.FinishReason
			}
		}
		return nil
	})
	switch {
	case ctx.Err() != nil:
		return finish(ctx.Err())
	case err != nil:
		return finish(err)
	case !done:
		return finish(fmt.Errorf("remote %s: the stream ended without [DONE]", op))
	}
	return finish(nil)
}

// readEvents calls fn with each Server-Sent Event's data (multi-line data
// joined by "\n") until the body ends or fn returns an error (io.EOF: stop
// quietly).
func readEvents(r io.Reader, fn func(data string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(data) > 0 {
				err := fn(strings.Join(data, "\n"))
				data = data[:0]
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
			}
			continue
		}
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			data = append(data, strings.TrimPrefix(d, " "))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(data) > 0 {
		if err := fn(strings.Join(data, "\n")); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return nil
}

// rowState is one row of a streamed reply: its decoder (visible text, parts
// and raw text, from text chunks that may carry literal tool tokens and
// from nanochat servers' tool deltas) and counters.
type rowState struct {
	dec    *llm.Decoder
	finish string
	chunks int
}

func (r *rowState) row() llm.Row {
	row := r.dec.Finish()
	row.Finish = r.finish
	return row
}
