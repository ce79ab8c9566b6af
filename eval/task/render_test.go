package task

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nanochat-go/nanochat/eval/data"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// upstreamRender is testdata/eval/upstream_render.json, written by
// upstream_render.py with upstream's own task classes and tokenizer code.
type upstreamRender struct {
	Task  string `json:"task"`
	File  string `json:"file"`
	Rows  int    `json:"rows"`
	Items []struct {
		Row     int      `json:"row"`
		IDs     []int    `json:"ids"`
		Letters []string `json:"letters"`
	} `json:"items"`
}

// TestUpstreamRendering checks, for every fixture item and the first toy
// items, that our order and the prompt token ids equal upstream's
// render_for_completion of upstream's own conversation — both as the
// categorical path renders it (full conversation, gold popped) and as a
// chat prompt (prompt messages + <|assistant_start|>), which is what the
// generative path sends.
func TestUpstreamRendering(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtures, "upstream_render.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []upstreamRender
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load("../../testdata/demo/home/tokenizer/tokenizer.pkl")
	if err != nil {
		t.Fatal(err)
	}
	ct := tok.ChatTokens()
	for _, c := range cases {
		tk, err := Lookup(c.Task)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := data.Read(filepath.Join(fixtures, c.File))
		if err != nil {
			t.Fatal(err)
		}
		items, err := tk.Items(rows)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != c.Rows {
			t.Fatalf("%s: %d items, upstream %d", c.File, len(items), c.Rows)
		}
		for i, want := range c.Items {
			it := items[i]
			if it.Row != want.Row {
				t.Errorf("%s item %d: row %d, upstream %d", c.File, i, it.Row, want.Row)
				continue
			}
			if len(want.Letters) > 0 && !slices.Equal(it.Letters, want.Letters) {
				t.Errorf("%s item %d: letters %v, upstream %v", c.File, i, it.Letters, want.Letters)
			}
			got, err := tok.RenderForCompletion(local.TokenizerMessages(it.Messages))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want.IDs) {
				t.Errorf("%s item %d: render_for_completion\n got %v\nwant %v", c.File, i, got, want.IDs)
			}
			chat, _, err := tok.RenderConversation(local.TokenizerMessages(it.Prompt()), 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if chat = append(chat, ct.AssistantStart); !slices.Equal(chat, want.IDs) {
				t.Errorf("%s item %d: chat prompt differs from upstream's render_for_completion", c.File, i)
			}
		}
	}
}
