package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/nanochat-go/nanochat/llm"
)

// ErrNoChoice is returned by Choose when a generated answer names none of
// the letters.
var ErrNoChoice = errors.New("the answer names none of the letters")

// errNoLogprobs marks a server that answered without usable logprobs.
var errNoLogprobs = errors.New("no logprobs in the answer")

// Choose implements llm.Model. When the server scores prompts
// (/v1/completions with echo and logprobs) each letter is scored at the
// answer position of the prompt the local model would see, and the scores
// are the letters' log-probabilities (ordered as the logits would be).
// Otherwise the model answers at temperature 0 with one token and the
// first letter it names wins, scored 1 (the others 0); ChoiceMethod says
// which. Upstream's chat_web.py can do neither faithfully: an error.
func (m *Model) Choose(ctx context.Context, msgs []llm.Message, letters []string) (int, []float32, error) {
	if m.upstream {
		return 0, nil, m.errNoLetterScoring()
	}
	m.mu.Lock()
	scoring := m.scoring
	m.mu.Unlock()
	if scoring >= 0 {
		best, scores, err := m.chooseByLogprobs(ctx, msgs, letters)
		if err == nil {
			m.setScoring(1)
			return best, scores, nil
		}
		var ae *APIError
		unsupported := errors.Is(err, errNoLogprobs) ||
			errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusNotFound || ae.Status == http.StatusNotImplemented || ae.Status == http.StatusUnprocessableEntity)
		if scoring == 1 || !unsupported {
			return 0, nil, err
		}
		m.setScoring(-1)
	}
	return m.chooseByGeneration(ctx, msgs, letters)
}

// ChoiceMethod implements llm.ChoiceMethoder: llm.ChoiceLogprobs when the
// server scores prompts, llm.ChoiceGeneration when Choose falls back to a
// one-token answer. The first call asks the server (one small scoring
// request); upstream's server is an error wrapping llm.ErrNoChoiceScoring.
func (m *Model) ChoiceMethod(ctx context.Context) (string, error) {
	if m.upstream {
		return "", m.errNoLetterScoring()
	}
	m.mu.Lock()
	scoring := m.scoring
	m.mu.Unlock()
	if scoring == 0 {
		probe := []llm.Message{{Role: "user", Content: "Answer with the letter A or B."}}
		if _, _, err := m.Choose(ctx, probe, []string{"A", "B"}); err != nil && !errors.Is(err, ErrNoChoice) {
			return "", err
		}
		m.mu.Lock()
		scoring = m.scoring
		m.mu.Unlock()
	}
	if scoring < 0 {
		return llm.ChoiceGeneration, nil
	}
	return llm.ChoiceLogprobs, nil
}

func (m *Model) setScoring(v int) {
	m.mu.Lock()
	m.scoring = v
	m.mu.Unlock()
}

// chooseByLogprobs sends one prompt per letter (the rendered conversation
// followed by the letter) with echo and logprobs, and sums the logprobs of
// the tokens that spell the letter.
func (m *Model) chooseByLogprobs(ctx context.Context, msgs []llm.Message, letters []string) (int, []float32, error) {
	prompt, err := Prompt(msgs)
	if err != nil {
		return 0, nil, err
	}
	prompts := make([]string, len(letters))
	for i, l := range letters {
		prompts[i] = prompt + l
	}
	// nanochat serve scores without generating; other servers (vLLM) want
	// at least one generated token, which is ignored.
	maxTokens := 1
	if m.nanochat {
		maxTokens = 0
	}
	resp, err := m.do(ctx, "POST", "/completions", map[string]any{"model": m.info.Name, "prompt": prompts,
		"max_tokens": maxTokens, "echo": true, "logprobs": 1, "temperature": 0})
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct {
			Index    int `json:"index"`
			Logprobs *struct {
				TokenLogprobs []*float64 `json:"token_logprobs"`
				TextOffset    []int      `json:"text_offset"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, nil, fmt.Errorf("remote choose: %w", err)
	}
	if len(out.Choices) != len(letters) {
		return 0, nil, fmt.Errorf("remote choose: %d choices for %d prompts: %w", len(out.Choices), len(letters), errNoLogprobs)
	}
	start := utf8.RuneCountInString(prompt)
	scores := make([]float32, len(letters))
	best := 0
	for _, c := range out.Choices {
		if c.Index < 0 || c.Index >= len(letters) || c.Logprobs == nil || len(c.Logprobs.TextOffset) != len(c.Logprobs.TokenLogprobs) {
			return 0, nil, errNoLogprobs
		}
		end := start + utf8.RuneCountInString(letters[c.Index])
		sum, n := 0.0, 0
		for j, off := range c.Logprobs.TextOffset {
			if off >= start && off < end && c.Logprobs.TokenLogprobs[j] != nil {
				sum += *c.Logprobs.TokenLogprobs[j]
				n++
			}
		}
		if n == 0 {
			return 0, nil, fmt.Errorf("remote choose: no token starts the letter %q: %w", letters[c.Index], errNoLogprobs)
		}
		scores[c.Index] = float32(sum)
	}
	for i, s := range scores {
		if s > scores[best] {
			best = i
		}
	}
	return best, scores, nil
}

// chooseByGeneration asks for one token at temperature 0.
func (m *Model) chooseByGeneration(ctx context.Context, msgs []llm.Message, letters []string) (int, []float32, error) {
	rep, err := m.Chat(ctx, msgs, llm.Settings{Temperature: 0, TopP: 1, MaxTokens: 1}, nil)
	if err != nil {
		return 0, nil, err
	}
	answer := strings.TrimSpace(rep.Rows[0].Text)
	for i, l := range letters {
		if l != "" && strings.HasPrefix(answer, l) {
			scores := make([]float32, len(letters))
			scores[i] = 1
			return i, scores, nil
		}
	}
	return 0, nil, fmt.Errorf("remote choose: answer %q: %w", answer, ErrNoChoice)
}

// Prompt renders msgs as nanochat's chat template in text, the way
// llm/local renders a conversation for Choose (render_for_completion):
// a leading system message merged into the first user message, user turns
// in <|user_start|>…<|user_end|>, assistant turns in
// <|assistant_start|>…<|assistant_end|> with tool calls' special tokens,
// then <|assistant_start|>. The <|bos|> that starts every sequence is left
// to the server.
func Prompt(msgs []llm.Message) (string, error) {
	if len(msgs) > 0 && msgs[0].Role == "system" {
		if len(msgs) < 2 || msgs[1].Role != "user" {
			return "", errors.New("render prompt: a system message must be followed by a user message")
		}
		merged := msgs[1]
		merged.Content = msgs[0].Content + "\n\n" + msgs[1].Content
		msgs = append([]llm.Message{merged}, msgs[2:]...)
	}
	var b strings.Builder
	for i, msg := range msgs {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if msg.Role != want {
			return "", fmt.Errorf("render prompt: message %d has role %q, want %q (turns alternate, starting with user)", i, msg.Role, want)
		}
		if msg.Role == "user" {
			b.WriteString("<|user_start|>" + msg.Content + "<|user_end|>")
			continue
		}
		b.WriteString("<|assistant_start|>")
		if len(msg.Parts) > 0 {
			b.WriteString(llm.FormatRaw(msg.Parts))
		} else {
			b.WriteString(msg.Content)
		}
		b.WriteString("<|assistant_end|>")
	}
	b.WriteString("<|assistant_start|>")
	return b.String(), nil
}
