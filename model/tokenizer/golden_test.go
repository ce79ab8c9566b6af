package tokenizer

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

func goldenTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	tok, err := Load(goldenPath(t, "tokenizer", "tokenizer.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestGoldenEncode checks tiktoken's own encode_ordinary outputs; the last
// entry is encode(text, allowed_special="all").
func TestGoldenEncode(t *testing.T) {
	tok := goldenTokenizer(t)
	var cases []struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	}
	readJSON(t, goldenPath(t, "golden", "tokenizer_encode.json"), &cases)
	if len(cases) < 2 {
		t.Fatalf("tokenizer_encode.json: %d cases", len(cases))
	}
	for i, c := range cases {
		var got []int
		if i == len(cases)-1 {
			got = tok.EncodeWithSpecials(c.Text)
		} else {
			got = tok.Encode(c.Text)
		}
		if !slices.Equal(got, c.IDs) {
			t.Errorf("case %d: Encode(%q)\n got %v\nwant %v", i, c.Text, got, c.IDs)
			continue
		}
		if back := tok.Decode(got); back != c.Text {
			t.Errorf("case %d: Decode(Encode(%q)) = %q", i, c.Text, back)
		}
	}
}

type goldenMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func (m goldenMessage) message() (Message, error) {
	msg := Message{Role: m.Role}
	if err := json.Unmarshal(m.Content, &msg.Content); err == nil {
		return msg, nil
	}
	var parts []struct{ Type, Text string }
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return msg, fmt.Errorf("content of %s message: %w", m.Role, err)
	}
	msg.Parts = []Part{}
	for _, p := range parts {
		msg.Parts = append(msg.Parts, Part{Type: p.Type, Text: p.Text})
	}
	return msg, nil
}

func TestGoldenRender(t *testing.T) {
	tok := goldenTokenizer(t)
	var g struct {
		VocabSize int            `json:"vocab_size"`
		BOS       int            `json:"bos"`
		Specials  map[string]int `json:"specials"`
		Renders   []struct {
			Conversation struct {
				Messages []goldenMessage `json:"messages"`
			} `json:"conversation"`
			IDs           []int `json:"ids"`
			Mask          []int `json:"mask"`
			CompletionIDs []int `json:"completion_ids"`
		} `json:"renders"`
	}
	readJSON(t, goldenPath(t, "golden", "chat_render.json"), &g)
	if got := tok.VocabSize(); got != g.VocabSize {
		t.Errorf("VocabSize() = %d, want %d", got, g.VocabSize)
	}
	if got := tok.BOS(); got != g.BOS {
		t.Errorf("BOS() = %d, want %d", got, g.BOS)
	}
	for name, id := range g.Specials {
		if got, err := tok.EncodeSpecial(name); err != nil || got != id {
			t.Errorf("EncodeSpecial(%q) = %d, %v; want %d", name, got, err, id)
		}
		if !tok.IsSpecial(id) {
			t.Errorf("IsSpecial(%d) = false", id)
		}
	}
	if len(g.Renders) == 0 {
		t.Fatal("chat_render.json: no renders")
	}
	for i, r := range g.Renders {
		var msgs []Message
		for _, gm := range r.Conversation.Messages {
			m, err := gm.message()
			if err != nil {
				t.Fatalf("render %d: %v", i, err)
			}
			msgs = append(msgs, m)
		}
		ids, mask, err := tok.RenderConversation(msgs, DefaultMaxTokens)
		if err != nil {
			t.Errorf("render %d: %v", i, err)
			continue
		}
		if !slices.Equal(ids, r.IDs) {
			t.Errorf("render %d ids:\n got %v\nwant %v", i, ids, r.IDs)
		}
		if !slices.Equal(mask, r.Mask) {
			t.Errorf("render %d mask:\n got %v\nwant %v", i, mask, r.Mask)
		}
		comp, err := tok.RenderForCompletion(msgs)
		if err != nil {
			t.Errorf("render %d: completion: %v", i, err)
		} else if !slices.Equal(comp, r.CompletionIDs) {
			t.Errorf("render %d completion ids:\n got %v\nwant %v", i, comp, r.CompletionIDs)
		}
	}
}

// TestDemoTokenizer loads the vocab-3509 tokenizer of the demo home.
func TestDemoTokenizer(t *testing.T) {
	tok, err := Load(filepath.Join("..", "..", "testdata", "demo", "home", "tokenizer", "tokenizer.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.VocabSize(), 3509; got != want {
		t.Errorf("VocabSize() = %d, want %d", got, want)
	}
	want := ChatTokens{3500, 3501, 3502, 3503, 3504, 3505, 3506, 3507, 3508}
	if got := tok.ChatTokens(); got != want {
		t.Errorf("ChatTokens() = %+v, want %+v", got, want)
	}
	for _, s := range []string{"Hello world", "The answer is 5535.\n#### 5535", "café 中文 🤖"} {
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	}
}
