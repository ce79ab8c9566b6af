// Package llmtest provides a scripted llm.Model for tests of the TUI, the
// eval runner and the server.
package llmtest

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/nanochat-go/nanochat/llm"
)

// Fake is a scripted llm.Model. Reply computes the answer for a
// conversation (default: "echo: " + last user message); the answer is
// streamed word by word with Delay between words. Choice answers Choose
// (default: 0). Calls records every conversation seen.
type Fake struct {
	ModelInfo llm.Info
	Reply     func(msgs []llm.Message, s llm.Settings) string
	Tool      *llm.ToolCall // if set, emitted before the text
	Choice    func(msgs []llm.Message, letters []string) int
	Delay     time.Duration

	mu    sync.Mutex
	Calls [][]llm.Message
}

// Info implements llm.Model.
func (f *Fake) Info() llm.Info {
	if f.ModelInfo.Name == "" {
		return llm.Info{Name: "fake/d1/1", Source: "sft", Generation: "A7", Device: "fake", ContextLen: 2048, Chat: true}
	}
	return f.ModelInfo
}

// Chat implements llm.Model.
func (f *Fake) Chat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	f.mu.Lock()
	f.Calls = append(f.Calls, append([]llm.Message(nil), msgs...))
	f.mu.Unlock()
	answer := "echo: " + msgs[len(msgs)-1].Content
	if f.Reply != nil {
		answer = f.Reply(msgs, s)
	}
	return f.stream(ctx, answer, s, on)
}

// Complete implements llm.Model.
func (f *Fake) Complete(ctx context.Context, prompt string, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	return f.Chat(ctx, []llm.Message{{Role: "user", Content: prompt}}, s, on)
}

func (f *Fake) stream(ctx context.Context, answer string, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	start := time.Now()
	rows := max(s.Samples, 1)
	rep := llm.Reply{Rows: make([]llm.Row, rows)}
	words := strings.SplitAfter(answer, " ")
	if s.MaxTokens > 0 && len(words) > s.MaxTokens {
		words = words[:s.MaxTokens]
	}
	decs := make([]*llm.Decoder, rows)
	for r := range decs {
		decs[r] = llm.NewDecoder(r, on)
		if f.Tool != nil {
			decs[r].Tool(*f.Tool)
		}
	}
	finish := "stop"
	if s.MaxTokens > 0 && len(strings.SplitAfter(answer, " ")) > s.MaxTokens {
		finish = "length"
	}
	for i, w := range words {
		if f.Delay > 0 {
			select {
			case <-ctx.Done():
				finish = "cancelled"
			case <-time.After(f.Delay):
			}
		} else if ctx.Err() != nil {
			finish = "cancelled"
		}
		if finish == "cancelled" {
			break
		}
		if i == 0 {
			rep.Stats.TTFT = time.Since(start)
		}
		rep.Stats.Generated++
		for _, d := range decs {
			d.Text(w)
		}
	}
	for r, d := range decs {
		rep.Rows[r] = d.Finish()
		rep.Rows[r].Finish = finish
	}
	rep.Stats.Duration = time.Since(start)
	rep.Stats.PromptTokens = 10
	if rep.Stats.Duration > 0 {
		rep.Stats.TokensPerSec = float64(rep.Stats.Generated) / rep.Stats.Duration.Seconds()
	}
	if finish == "cancelled" {
		return rep, ctx.Err()
	}
	return rep, nil
}

// Choose implements llm.Model.
func (f *Fake) Choose(ctx context.Context, msgs []llm.Message, letters []string) (int, []float32, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	c := 0
	if f.Choice != nil {
		c = f.Choice(msgs, letters)
	}
	scores := make([]float32, len(letters))
	scores[c] = 1
	return c, scores, nil
}

// Close implements llm.Model.
func (f *Fake) Close() error { return nil }

var _ llm.Model = (*Fake)(nil)
