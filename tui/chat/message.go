package chat

import (
	"strings"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/markdown"
)

// Message is one transcript entry: the stored message plus display state.
type Message struct {
	history.Message
	Compare bool // shown beside the reply before it (same prompt, another checkpoint)

	live *markdown.Stream // while the reply streams
	err  string           // why the generation failed (shown, not stored)
	// render cache
	cacheKey  renderKey
	cacheView string
}

type renderKey struct {
	width   int
	focused bool
	version int
}

// isReply reports whether the message was produced by a model.
func (m *Message) isReply() bool { return m.Role == "assistant" || m.Role == "completion" }

// display is the markdown shown for a message: its text with calculator
// calls inlined as compact spans where they happened.
func (m *Message) display() string {
	if m.live != nil {
		return m.live.Source()
	}
	plain := m.Role == "completion"
	return history.Inline(m.Content, m.Parts, func(tc llm.ToolCall) string { return toolSpan(tc, plain) })
}

// toolSpan is how a calculator call reads in the transcript, as a compact
// inline span: 123*45 → 5535 (code in markdown, bracketed in plain text).
func toolSpan(tc llm.ToolCall, plain bool) string {
	if plain {
		return " " + history.PlainChip(tc) + " "
	}
	return history.CodeChip(tc)
}

// codeBlocks returns the bodies of the fenced code blocks in md.
func codeBlocks(md string) []string {
	var out []string
	var fence string
	var body []string
	for _, line := range strings.Split(md, "\n") {
		t := strings.TrimLeft(line, " ")
		if fence == "" {
			if f := fenceOf(t); f != "" {
				fence, body = f, nil
			}
			continue
		}
		if strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
			out = append(out, strings.Join(body, "\n"))
			fence = ""
			continue
		}
		body = append(body, line)
	}
	if fence != "" && len(body) > 0 {
		out = append(out, strings.Join(body, "\n"))
	}
	return out
}

func fenceOf(line string) string {
	for _, c := range []string{"```", "~~~"} {
		if strings.HasPrefix(line, c) {
			return line[:len(line)-len(strings.TrimLeft(line, c[:1]))]
		}
	}
	return ""
}

// conversation builds the chat history for the model from the transcript
// up to and including msgs[upto]: user turns and, for each, the latest
// reply (compared alternatives count once). Unfinished replies are left out.
func conversation(system string, msgs []*Message, upto int) []llm.Message {
	var out []llm.Message
	if system != "" {
		out = append(out, llm.Message{Role: "system", Content: system})
	}
	for i := 0; i <= upto && i < len(msgs); i++ {
		m := msgs[i]
		switch m.Role {
		case "user":
			if n := len(out); n > 0 && out[n-1].Role == "user" {
				// The turn before got no reply (stopped before its first
				// token): the model expects turns to alternate.
				out[n-1].Content += "\n\n" + m.Content
				continue
			}
			out = append(out, llm.Message{Role: "user", Content: m.Content})
		case "assistant":
			if m.live != nil || m.Content == "" && len(m.Parts) == 0 {
				continue
			}
			am := llm.Message{Role: "assistant", Content: m.Content, Parts: m.Parts}
			if n := len(out); n > 0 && out[n-1].Role == "assistant" {
				out[n-1] = am // a compared alternative replaces the earlier reply
			} else {
				out = append(out, am)
			}
		}
	}
	return out
}
