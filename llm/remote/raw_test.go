package remote_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/remote"
)

// TestLiteralToolTokens streams from a server that is not nanochat serve
// (it writes tool calls as literal special tokens, split across chunks).
func TestLiteralToolTokens(t *testing.T) {
	chunks := []string{"6*7 is <|pyth", "on_start|>6*7<|python", "_end|><|output_start|>4", "2<|output_end|> so", " 42 <|py", "thonic|>"}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			fmt.Fprint(w, `{"data":[{"id":"sft/d20/650","owned_by":"vllm"}]}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range chunks {
			b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": c}}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer ts.Close()
	m, err := remote.New(ts.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var text strings.Builder
	var tools []llm.ToolCall
	rep, err := m.Chat(context.Background(), []llm.Message{{Role: "user", Content: "6*7?"}}, llm.Settings{}, func(e llm.Event) {
		text.WriteString(e.Text)
		if e.Tool != nil {
			tools = append(tools, *e.Tool)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	row := rep.Rows[0]
	wantText := "6*7 is  so 42 <|pythonic|>"
	wantParts := []llm.Part{{Type: "text", Text: "6*7 is "}, {Type: "python", Text: "6*7"}, {Type: "python_output", Text: "42"},
		{Type: "text", Text: " so 42 <|pythonic|>"}}
	if row.Text != wantText || !reflect.DeepEqual(row.Parts, wantParts) || row.Raw != strings.Join(chunks, "") || row.Finish != "stop" {
		t.Errorf("row = %+v\nwant text %q, parts %+v", row, wantText, wantParts)
	}
	if text.String() != wantText || len(tools) != 1 || tools[0] != (llm.ToolCall{Expr: "6*7", Result: "42", OK: true}) {
		t.Errorf("streamed %q, tools %+v", text.String(), tools)
	}
}
