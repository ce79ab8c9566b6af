// Package llm is the text-level interface to a language model that the TUI,
// the eval runner and the HTTP server consume: conversations in, streamed
// text and tool calls out. Local runs a checkpoint in-process through the
// engine; a remote implementation speaks the OpenAI API. Decoder is the
// one reader of the calculator grammar in a reply, for all of them.
package llm

import (
	"context"
	"errors"
	"time"
)

// ErrTooLong is wrapped by errors about a conversation that does not fit
// the model's context even after dropping old turns.
var ErrTooLong = errors.New("conversation does not fit the model's context")

// Message is one conversation turn: role "system", "user" or "assistant".
// Assistant messages may carry Parts (text, python, python_output) so a tool
// call is re-rendered with its special tokens.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	Parts   []Part `json:"parts,omitempty"`
}

// Part is one piece of a structured assistant message.
type Part struct {
	Type string `json:"type"` // PartText, PartPython or PartPythonOutput
	Text string `json:"text"`
}

// Settings are the sampling controls of one request.
type Settings struct {
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k"`
	TopP        float64 `json:"top_p"`
	Seed        uint64  `json:"seed"`
	MaxTokens   int     `json:"max_tokens"`
	Samples     int     `json:"samples,omitempty"` // rows sharing one prefill (default 1)
	// Logprobs asks for Row.Logprobs, with the TopLogprobs most likely
	// alternatives at each position. Models that cannot score leave
	// Row.Logprobs empty.
	Logprobs    bool `json:"logprobs,omitempty"`
	TopLogprobs int  `json:"top_logprobs,omitempty"`
	// TokenEvents asks for an Event carrying each generated token (Event.Token),
	// for clients that stream token by token, as upstream's chat_web.py
	// does. Models that do not generate tokens locally send none.
	TokenEvents bool `json:"token_events,omitempty"`
}

// DefaultSettings are nanochat's chat CLI defaults (temperature 0.6, top-k 50).
func DefaultSettings() Settings {
	return Settings{Temperature: 0.6, TopK: 50, TopP: 1, Seed: 42, MaxTokens: 512}
}

// Info describes the model behind an implementation.
type Info struct {
	Name       string `json:"name"`       // "sft/d20/650" or the remote model id
	Source     string `json:"source"`     // base, mid, sft, rl ("" when unknown)
	Generation string `json:"generation"` // A0…A7
	Device     string `json:"device"`     // where it runs
	ContextLen int    `json:"context_len"`
	Params     int64  `json:"params"`
	Chat       bool   `json:"chat"` // has a chat template (not a base model)
}

// Event is streamed while a reply is generated: new text of one row, or a
// finished calculator call, or (when Settings.TokenEvents asks) one
// generated token.
type Event struct {
	Row  int
	Text string
	Tool *ToolCall
	// Token, when not empty, is the bytes of one generated token (a special
	// token's literal text; the terminal token is not sent). Such an event
	// carries nothing else and comes before the Text and Tool events that
	// the token produces.
	Token string
}

// ToolCall is a calculator invocation; OK is false when it produced no output.
type ToolCall struct {
	Expr   string `json:"expr"`
	Result string `json:"result"`
	OK     bool   `json:"ok"`
}

// Reply is a finished (or stopped) generation.
type Reply struct {
	Rows  []Row `json:"rows"`
	Stats Stats `json:"stats"`
}

// Row is one sample of a reply.
type Row struct {
	Text   string `json:"text"`   // what a reader sees (tool calls excluded)
	Parts  []Part `json:"parts"`  // structured reply, for the conversation history
	Raw    string `json:"raw"`    // upstream's decode of the tokens (special tokens literal): what evals parse
	Tokens []int  `json:"tokens"` // generated ids (terminal token excluded)
	Finish string `json:"finish"` // "stop", "length" or "cancelled"
	// Logprobs, when Settings.Logprobs asked and the model can score, has
	// one entry per generated token, in order: Tokens, then the terminal
	// token (<|assistant_end|>, <|bos|>) when one ended the row.
	Logprobs []TokenLogprob `json:"logprobs,omitempty"`
}

// Stats are a reply's counters.
type Stats struct {
	PromptTokens  int           `json:"prompt_tokens"`
	CachedTokens  int           `json:"cached_tokens"`
	Generated     int           `json:"generated_tokens"`
	DroppedTurns  int           `json:"dropped_turns,omitempty"`
	TTFT          time.Duration `json:"ttft_ns"`
	Duration      time.Duration `json:"duration_ns"`
	TokensPerSec  float64       `json:"tokens_per_sec"`
	PrefillPerSec float64       `json:"prefill_tokens_per_sec"`
}

// Model is what consumers drive. Implementations serialise calls as needed.
type Model interface {
	Info() Info
	// Chat continues msgs (ending with a user message) with an assistant reply.
	Chat(ctx context.Context, msgs []Message, s Settings, on func(Event)) (Reply, error)
	// Complete continues raw text (base models; no chat template). Special
	// tokens written literally in prompt (<|user_start|>, …) are those
	// tokens, as Hugging Face tokenizers and vLLM read raw prompts. A prompt
	// that with s.MaxTokens does not fit the context is an error wrapping
	// ErrTooLong; it is never cut.
	Complete(ctx context.Context, prompt string, s Settings, on func(Event)) (Reply, error)
	// Choose scores a multiple-choice prompt like upstream's categorical
	// eval: the letters' tokens at the position after <|assistant_start|>;
	// it returns the index of the best letter (first on ties) and the
	// letters' log-probabilities there (ordered as upstream's logits are).
	Choose(ctx context.Context, msgs []Message, letters []string) (int, []float32, error)
	Close() error
}
