package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
)

// TestUpstreamValidation replays requests whose answers were recorded from
// chat_web.py's ChatRequest and validate_chat_request under FastAPI 0.165 /
// pydantic 2.14 (testdata/upstream_ref/cases.py): status and body must
// match byte for byte.
func TestUpstreamValidation(t *testing.T) {
	data, err := os.ReadFile("testdata/upstream_validation.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, Body, Response string
		Status               int
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, Options{}, nil)
	for _, c := range cases {
		code, body := post(t, ts, "/chat/completions", c.Body)
		if c.Status == http.StatusOK {
			if code != http.StatusOK || !strings.HasSuffix(body, "data: {\"done\": true}\n\n") {
				t.Errorf("%s: got %d %.200q, want a stream", c.Name, code, body)
			}
			continue
		}
		if code != c.Status || body != c.Response {
			t.Errorf("%s:\ngot  %d %s\nwant %d %s", c.Name, code, body, c.Status, c.Response)
		}
	}
}

func TestUpstreamStream(t *testing.T) {
	var got llm.Settings
	_, ts := newTestServer(t, Options{}, func(name string, f *llmtest.Fake) llm.Model {
		f.Reply = func(msgs []llm.Message, s llm.Settings) string {
			got = s
			return "he said \"héllo\"\n\t\u2028<&>\x01 ok"
		}
		f.Tool = &llm.ToolCall{Expr: "2+2", Result: "4", OK: true}
		return f
	})
	resp, err := ts.Client().Post(ts.URL+"/chat/completions", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","content":"again"}],"top_k":null,"temperature":0.5}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	want := "data: {\"token\": \"<|python_start|>2+2<|python_end|><|output_start|>4<|output_end|>\", \"gpu\": 0}\n\n" +
		"data: {\"token\": \"he \", \"gpu\": 0}\n\n" +
		"data: {\"token\": \"said \", \"gpu\": 0}\n\n" +
		"data: {\"token\": \"\\\"héllo\\\"\\n\\t\u2028<&>\\u0001 \", \"gpu\": 0}\n\n" +
		"data: {\"token\": \"ok\", \"gpu\": 0}\n\n" +
		"data: {\"done\": true}\n\n"
	if b.String() != want {
		t.Errorf("stream:\ngot  %q\nwant %q", b.String(), want)
	}
	if got.Temperature != 0.5 || got.TopK != 50 || got.MaxTokens != 512 || got.Seed == 0 || got.Seed >= 1<<31 {
		t.Errorf("settings %+v: want temperature 0.5, upstream defaults top_k 50 max_tokens 512, a random 31-bit seed", got)
	}
}

func TestUpstreamHealthStats(t *testing.T) {
	release := make(chan struct{})
	_, ts := newTestServerAsync(t, release)
	resp, err := ts.Client().Get(ts.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || b.String() != `{"status":"loading","ready":false,"num_gpus":1,"available_workers":0}` {
		t.Errorf("while loading: %d %s", resp.StatusCode, b.String())
	}
	close(release)
	waitReady(t, ts)
	for path, want := range map[string]string{
		"/health": `{"status":"ok","ready":true,"num_gpus":1,"available_workers":1}`,
		"/stats":  `{"total_workers":1,"available_workers":1,"busy_workers":0,"workers":[{"gpu_id":0,"device":"fake"}],"queued":0}`,
	} {
		resp, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || b.String() != want {
			t.Errorf("%s: %d %s, want %s", path, resp.StatusCode, b.String(), want)
		}
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{1e16: "1e+16", 1e-5: "1e-05", 0.1: "0.1", 100: "100.0", 1.5e-7: "1.5e-07",
		123456789012345.6: "123456789012345.6", 2.5e20: "2.5e+20", -3: "-3.0"} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
}
