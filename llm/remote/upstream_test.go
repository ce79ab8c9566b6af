package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/remote"
	"github.com/nanochat-go/nanochat/server"
)

// recording is server/testdata/upstream_stream.json: upstream's
// chat_web.py answering these requests (its code, a scripted engine; see
// server/testdata/upstream_ref/stream.py).
type recording struct {
	Gets []struct {
		Path        string
		Status      int
		ContentType string `json:"content_type"`
		Body        string
	}
	Posts []struct {
		Name        string
		Request     json.RawMessage
		Status      int
		ContentType string `json:"content_type"`
		Body        string
	}
}

// replayUpstream serves the recording: each GET as recorded, each POST
// /chat/completions whose body equals a recorded request (as JSON) as
// recorded; anything else is a 599 naming what was asked.
func replayUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "server", "testdata", "upstream_stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec recording
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, g := range rec.Gets {
			if r.Method == http.MethodGet && r.URL.Path == g.Path {
				w.Header().Set("Content-Type", g.ContentType)
				w.WriteHeader(g.Status)
				io.WriteString(w, g.Body)
				return
			}
		}
		if r.Method == http.MethodPost && r.URL.Path == "/chat/completions" {
			for _, p := range rec.Posts {
				if sameJSON(body, p.Request) {
					w.Header().Set("Content-Type", p.ContentType)
					w.WriteHeader(p.Status)
					io.WriteString(w, p.Body)
					return
				}
			}
		}
		w.WriteHeader(599)
		fmt.Fprintf(w, "not in the recording: %s %s %s", r.Method, r.URL.Path, body)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// TestUpstreamServer drives the recording of upstream's server as
// `--remote` does: found without /v1/models, chat (tool calls, split
// characters, max_tokens, a system message and a tool call in the history
// sent as upstream's page sends them), and clear refusals for what it
// cannot do.
func TestUpstreamServer(t *testing.T) {
	ts := replayUpstream(t)
	m, err := remote.New(ts.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if info := m.Info(); !info.Chat || info.Name != "chat_web" || !strings.Contains(info.Device, "upstream") {
		t.Errorf("info %+v", info)
	}
	greedy := llm.Settings{Temperature: 0, TopK: 50, TopP: 1, MaxTokens: 100}
	calc := []llm.Part{{Type: "text", Text: "Let me compute "}, {Type: "python", Text: "12*7"}, {Type: "python_output", Text: "84"},
		{Type: "text", Text: ". It is 84."}}
	for _, c := range []struct {
		name   string
		msgs   []llm.Message
		s      llm.Settings
		text   string
		parts  []llm.Part
		tools  []llm.ToolCall
		finish string
	}{
		{"calculator", []llm.Message{{Role: "user", Content: "please calc"}}, greedy,
			"Let me compute . It is 84.", calc, []llm.ToolCall{{Expr: "12*7", Result: "84", OK: true}}, "stop"},
		{"utf8", []llm.Message{{Role: "user", Content: "say utf8"}}, greedy,
			"café 😀 ok \uFFFDx \uFFFD! 你好", nil, nil, "stop"},
		{"max_tokens", []llm.Message{{Role: "user", Content: "count long"}}, llm.Settings{Temperature: 0.7, TopK: 20, TopP: 1, MaxTokens: 3},
			"one two three", nil, nil, "length"},
		{"no output", []llm.Message{{Role: "user", Content: "divide nocalc"}}, greedy,
			"Oops.", []llm.Part{{Type: "python", Text: "1/0"}, {Type: "text", Text: "Oops."}}, []llm.ToolCall{{Expr: "1/0"}}, "stop"},
		{"conversation", []llm.Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "please calc"},
			{Role: "assistant", Content: "Let me compute . It is 84.", Parts: calc}, {Role: "user", Content: "now utf8"}}, greedy,
			"café 😀 ok \uFFFDx \uFFFD! 你好", nil, nil, "stop"},
	} {
		var text strings.Builder
		var tools []llm.ToolCall
		rep, err := m.Chat(context.Background(), c.msgs, c.s, func(e llm.Event) {
			text.WriteString(e.Text)
			if e.Tool != nil {
				tools = append(tools, *e.Tool)
			}
		})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		row := rep.Rows[0]
		if c.parts == nil {
			c.parts = []llm.Part{{Type: "text", Text: c.text}}
		}
		if row.Text != c.text || text.String() != c.text || !reflect.DeepEqual(row.Parts, c.parts) || !reflect.DeepEqual(tools, c.tools) ||
			row.Finish != c.finish {
			t.Errorf("%s: row %+v, streamed %q, tools %+v\nwant text %q, parts %+v, tools %+v, finish %s", c.name, row, text.String(), tools,
				c.text, c.parts, c.tools, c.finish)
		}
	}

	_, _, err = m.Choose(context.Background(), []llm.Message{{Role: "user", Content: "A or B?"}}, []string{"A", "B"})
	if !errors.Is(err, llm.ErrNoChoiceScoring) || !strings.Contains(err.Error(), "gives no logprobs") {
		t.Errorf("Choose: %v, want a refusal naming the missing logprobs", err)
	}
	if _, err := llm.ChoiceMethod(context.Background(), m); !errors.Is(err, llm.ErrNoChoiceScoring) {
		t.Errorf("ChoiceMethod: %v, want ErrNoChoiceScoring", err)
	}
	if _, err := m.Complete(context.Background(), "x", greedy, nil); !errors.Is(err, remote.ErrUnsupported) {
		t.Errorf("Complete: %v, want ErrUnsupported", err)
	}
	if _, err := m.Chat(context.Background(), []llm.Message{{Role: "user", Content: "x"}}, llm.Settings{TopP: 0.9}, nil); err == nil {
		t.Error("top_p 0.9 sent to a server that has none")
	}
	if _, err := remote.Open(remote.Options{URL: ts.URL, API: remote.APIOpenAI}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("--remote-api openai on upstream's server: %v, want its 404", err)
	}
}

// TestUpstreamAPIOnNanochatServe: nanochat serve speaks upstream's
// protocol too, so --remote-api upstream drives it, calculator included.
func TestUpstreamAPIOnNanochatServe(t *testing.T) {
	url := serve(t, server.Options{}, func(name string) llm.Model {
		f := fake(name)
		f.Tool = &llm.ToolCall{Expr: "6*7", Result: "42", OK: true}
		f.Reply = func(msgs []llm.Message, s llm.Settings) string { return "the answer is 42" }
		return f
	})
	m, err := remote.Open(remote.Options{URL: url, API: remote.APIUpstream, Model: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Info().Name != "mine" {
		t.Errorf("name %q, want the one given", m.Info().Name)
	}
	rep, err := m.Chat(context.Background(), []llm.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "6*7?"}},
		llm.Settings{Temperature: 0, MaxTokens: 20, Samples: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Part{{Type: "python", Text: "6*7"}, {Type: "python_output", Text: "42"}, {Type: "text", Text: "the answer is 42"}}
	if len(rep.Rows) != 2 || !reflect.DeepEqual(rep.Rows[1].Parts, want) || rep.Rows[1].Finish != "stop" {
		t.Errorf("rows %+v", rep.Rows)
	}
}
