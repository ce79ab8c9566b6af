package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRenderErrors(t *testing.T) {
	tok := fixtureTokenizer(t)
	u := func(s string) Message { return Message{Role: "user", Content: s} }
	a := func(s string) Message { return Message{Role: "assistant", Content: s} }
	sys := Message{Role: "system", Content: "be brief"}
	for _, c := range []struct {
		name string
		msgs []Message
		has  string
	}{
		{"empty", nil, "no messages"},
		{"system alone", []Message{sys}, "system message must be followed by a user message"},
		{"system then assistant", []Message{sys, a("x")}, "system message must be followed by a user message"},
		{"assistant first", []Message{a("x")}, `message 0 is from "assistant", want "user"`},
		{"two users", []Message{u("x"), u("y")}, `message 1 is from "user", want "assistant"`},
		{"late system", []Message{u("x"), a("y"), sys}, `message 2 is from "system"`},
		{"user parts", []Message{{Role: "user", Parts: []Part{{Type: PartText, Text: "x"}}}}, "user messages must be plain text"},
		{"bad part", []Message{u("x"), {Role: "assistant", Parts: []Part{{Type: "image"}}}}, `unknown part type "image"`},
	} {
		_, _, err := tok.RenderConversation(c.msgs, DefaultMaxTokens)
		if err == nil || !errors.Is(err, ErrConversation) || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%s: error = %v, want ErrConversation containing %q", c.name, err, c.has)
		}
	}
	if _, err := tok.RenderForCompletion([]Message{u("x")}); err == nil || !errors.Is(err, ErrConversation) {
		t.Errorf("RenderForCompletion ending with user: error = %v", err)
	}
	if _, err := tok.RenderForCompletion([]Message{a("x")}); err == nil {
		t.Error("RenderForCompletion of a lone assistant message: no error")
	}
}

func TestRenderLayout(t *testing.T) {
	tok := fixtureTokenizer(t)
	c := tok.ChatTokens()
	msgs := []Message{
		{Role: "system", Content: "S"},
		{Role: "user", Content: "U"},
		{Role: "assistant", Parts: []Part{{PartText, "T"}, {PartPython, "P"}, {PartPythonOutput, "O"}}},
	}
	ids, mask, err := tok.RenderConversation(msgs, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want, wantMask []int
	add := func(m int, ids ...int) {
		want = append(want, ids...)
		for range ids {
			wantMask = append(wantMask, m)
		}
	}
	add(0, c.BOS, c.UserStart)
	add(0, tok.Encode("S\n\nU")...)
	add(0, c.UserEnd, c.AssistantStart)
	add(1, tok.Encode("T")...)
	add(1, c.PythonStart)
	add(1, tok.Encode("P")...)
	add(1, c.PythonEnd)
	add(0, c.OutputStart)
	add(0, tok.Encode("O")...)
	add(0, c.OutputEnd)
	add(1, c.AssistantEnd)
	if !slices.Equal(ids, want) || !slices.Equal(mask, wantMask) {
		t.Errorf("RenderConversation\n got %v %v\nwant %v %v", ids, mask, want, wantMask)
	}
	if msgs[1].Content != "U" {
		t.Error("RenderConversation modified its input")
	}
}

// TestRenderTruncation: ids and mask are cut to maxTokens, and
// RenderForCompletion appends <|assistant_start|> after cutting to 2048.
func TestRenderTruncation(t *testing.T) {
	tok := fixtureTokenizer(t)
	long := strings.Repeat("word ", 3000)
	msgs := []Message{{Role: "user", Content: long}, {Role: "assistant", Content: "ok"}}
	ids, mask, err := tok.RenderConversation(msgs, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 10 || len(mask) != 10 {
		t.Errorf("len(ids), len(mask) = %d, %d, want 10, 10", len(ids), len(mask))
	}
	comp, err := tok.RenderForCompletion(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(comp) != DefaultMaxTokens+1 || comp[len(comp)-1] != tok.ChatTokens().AssistantStart {
		t.Errorf("RenderForCompletion: len %d, last %d; want %d, %d", len(comp), comp[len(comp)-1], DefaultMaxTokens+1, tok.ChatTokens().AssistantStart)
	}
	full, _, _ := tok.RenderConversation(msgs, 0)
	if len(full) <= DefaultMaxTokens {
		t.Fatalf("test conversation too short: %d ids", len(full))
	}
}
