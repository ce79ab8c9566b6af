package tokenizer

import (
	"errors"
	"fmt"
)

// Conversation rendering, exactly as nanochat's RustBPETokenizer
// render_conversation and render_for_completion (unchanged since 2025-10).

// DefaultMaxTokens is nanochat's default truncation length for rendered
// conversations (render_conversation's max_tokens).
const DefaultMaxTokens = 2048

// Part types of an assistant message.
const (
	PartText         = "text"          // trained on (mask 1)
	PartPython       = "python"        // a tool call, wrapped in <|python_start|> … <|python_end|> (mask 1)
	PartPythonOutput = "python_output" // tool output, wrapped in <|output_start|> … <|output_end|> (mask 0)
)

// Message is one conversation turn. Role is "system", "user" or "assistant".
// An assistant message whose Parts is non-nil is rendered from Parts and its
// Content is ignored; other messages use Content.
type Message struct {
	Role    string
	Content string
	Parts   []Part
}

// Part is one piece of a structured assistant message.
type Part struct {
	Type string // PartText, PartPython or PartPythonOutput
	Text string
}

// ErrConversation is wrapped by every error about a malformed conversation.
var ErrConversation = errors.New("malformed conversation")

func convErr(format string, args ...any) error {
	return fmt.Errorf("render conversation: %w: "+format, append([]any{ErrConversation}, args...)...)
}

// RenderConversation returns the ids of a conversation for training or
// evaluation, and a mask that is 1 where the assistant's own tokens are (the
// ones a model is trained to produce). Both are truncated to maxTokens
// (nanochat uses DefaultMaxTokens); maxTokens ≤ 0 means no truncation.
//
// A leading system message is merged into the first user message as
// system + "\n\n" + user. The remaining roles must alternate user,
// assistant, user, … starting with user.
func (t *Tokenizer) RenderConversation(msgs []Message, maxTokens int) (ids, mask []int, err error) {
	if len(msgs) == 0 {
		return nil, nil, convErr("no messages")
	}
	if msgs[0].Role == "system" {
		if len(msgs) < 2 || msgs[1].Role != "user" {
			return nil, nil, convErr("system message must be followed by a user message")
		}
		if msgs[0].Parts != nil || msgs[1].Parts != nil {
			return nil, nil, convErr("system and user messages must be plain text")
		}
		merged := msgs[1]
		merged.Content = msgs[0].Content + "\n\n" + msgs[1].Content
		msgs = append([]Message{merged}, msgs[2:]...)
	}

	c := t.chat
	add := func(m int, toks ...int) {
		ids = append(ids, toks...)
		for range toks {
			mask = append(mask, m)
		}
	}
	add(0, c.BOS)
	for i, m := range msgs {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return nil, nil, convErr("message %d is from %q, want %q (roles must alternate user, assistant, …)", i, m.Role, want)
		}
		if m.Role == "user" {
			if m.Parts != nil {
				return nil, nil, convErr("message %d: user messages must be plain text", i)
			}
			add(0, c.UserStart)
			add(0, t.Encode(m.Content)...)
			add(0, c.UserEnd)
			continue
		}
		add(0, c.AssistantStart)
		if m.Parts == nil {
			add(1, t.Encode(m.Content)...)
		}
		for j, p := range m.Parts {
			switch p.Type {
			case PartText:
				add(1, t.Encode(p.Text)...)
			case PartPython:
				add(1, c.PythonStart)
				add(1, t.Encode(p.Text)...)
				add(1, c.PythonEnd)
			case PartPythonOutput:
				add(0, c.OutputStart)
				add(0, t.Encode(p.Text)...)
				add(0, c.OutputEnd)
			default:
				return nil, nil, convErr("message %d part %d: unknown part type %q", i, j, p.Type)
			}
		}
		add(1, c.AssistantEnd)
	}
	if maxTokens > 0 && len(ids) > maxTokens {
		ids, mask = ids[:maxTokens], mask[:maxTokens]
	}
	return ids, mask, nil
}

// RenderForCompletion returns the prompt that asks the model for the last
// assistant message of msgs: that message is dropped, the rest rendered
// (truncated to DefaultMaxTokens, as upstream) and <|assistant_start|>
// appended, so the result may be DefaultMaxTokens+1 long.
func (t *Tokenizer) RenderForCompletion(msgs []Message) ([]int, error) {
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != "assistant" {
		return nil, convErr("last message must be from the assistant")
	}
	ids, _, err := t.RenderConversation(msgs[:len(msgs)-1], DefaultMaxTokens)
	if err != nil {
		return nil, err
	}
	return append(ids, t.chat.AssistantStart), nil
}
