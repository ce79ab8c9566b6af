package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
)

func msgs(n int, content string) string {
	var parts []string
	for i := range n {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		parts = append(parts, fmt.Sprintf(`{"role":%q,"content":%q}`, role, content))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// TestBadRequests sends malformed and out-of-range requests while other
// streams are running: each gets its 4xx and a clear message, and the
// running streams finish intact.
func TestBadRequests(t *testing.T) {
	reply := words("s", 30)
	_, ts := newTestServer(t, Options{MaxConcurrent: 4}, func(name string, f *llmtest.Fake) llm.Model {
		f.Delay = 2 * time.Millisecond
		f.Reply = func([]llm.Message, llm.Settings) string { return reply }
		return f
	})
	u := `[{"role":"user","content":"hi"}]`
	huge := `{"model":"sft/d2/20","messages":[{"role":"user","content":"` + strings.Repeat("a", 1<<20) + `"}]}`
	cases := []struct {
		path, body string
		status     int
		msg        string
	}{
		{"/v1/chat/completions", `{"messages":"hi"}`, 400, `invalid type for \"messages\": expected an array, got string`},
		{"/v1/chat/completions", `{"messages":` + u + `,"temperature":"hot"}`, 400, `invalid type for \"temperature\": expected a number, got string`},
		{"/v1/chat/completions", `{"messages":` + u + `,"n":1.5}`, 400, `invalid type for \"n\": expected an integer, got number`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":5}]}`, 400, `messages[0].content: expected a string or an array of text parts`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400, `only text parts are supported`},
		{"/v1/chat/completions", `{"messages":`, 400, `invalid JSON in request body`},
		{"/v1/chat/completions", `{"messages":[]}`, 400, `at least one message`},
		{"/v1/chat/completions", `{"messages":` + msgs(501, "x") + `}`, 400, `too many messages: 501, at most 500`},
		{"/v1/chat/completions", `{"messages":` + msgs(1, strings.Repeat("é", 8001)) + `}`, 400, `messages[0] is too long: 8001 characters, at most 8000`},
		{"/v1/chat/completions", `{"messages":` + msgs(1, strings.Repeat("é", 8000)) + `}`, 200, ``},
		{"/v1/chat/completions", `{"messages":` + msgs(5, strings.Repeat("a", 7000)) + `}`, 400, `conversation is too long`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`, 400, `messages[1]: expected role \"assistant\", got \"user\"`},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"a"},{"role":"system","content":"b"}]}`, 400, `a system message is only allowed first`},
		{"/v1/chat/completions", `{"messages":[{"role":"tool","content":"a"}]}`, 400, `role \"tool\" is not supported`},
		{"/v1/chat/completions", `{"messages":[{"role":"robot","content":"a"}]}`, 400, `invalid role \"robot\"`},
		{"/v1/chat/completions", `{"messages":` + msgs(2, "x") + `}`, 400, `the last message must have role \"user\"`},
		{"/v1/chat/completions", `{"messages":` + u + `,"temperature":2.5}`, 400, `temperature must be between 0 and 2, got 2.5`},
		{"/v1/chat/completions", `{"messages":` + u + `,"top_p":0}`, 400, `top_p must be greater than 0 and at most 1, got 0`},
		{"/v1/chat/completions", `{"messages":` + u + `,"top_k":-2}`, 400, `top_k must be ≥ 0`},
		{"/v1/chat/completions", `{"messages":` + u + `,"n":17}`, 400, `n must be between 1 and 16, got 17`},
		{"/v1/chat/completions", `{"messages":` + u + `,"max_tokens":0}`, 400, `max_tokens must be at least 1, got 0`},
		{"/v1/chat/completions", `{"messages":` + u + `,"max_tokens":256}`, 400, `max_tokens 256 does not fit the context of model \"sft/d2/20\" (256 tokens`},
		{"/v1/chat/completions", `{"messages":` + u + `,"stop":["a","b","c","d","e","f","g","h","i"]}`, 400, `at most 8 stop sequences`},
		{"/v1/chat/completions", `{"messages":` + u + `,"stop":5}`, 400, `expected a string or an array of strings`},
		{"/v1/chat/completions", `{"messages":` + u + `,"frequency_penalty":0.5}`, 400, `frequency_penalty is not supported`},
		{"/v1/chat/completions", `{"messages":` + u + `,"logprobs":true}`, 400, `use /v1/completions with echo and logprobs`},
		{"/v1/chat/completions", huge, 413, `request body is larger than 1048576 bytes`},
		{"/v1/completions", `{"prompt":[1,2,3]}`, 400, `token-id prompts are not supported`},
		{"/v1/completions", `{"prompt":{}}`, 400, `expected a string or an array of strings`},
		{"/v1/completions", `{}`, 400, `prompt is required`},
		{"/v1/completions", `{"prompt":"x","max_tokens":0}`, 400, `max_tokens 0 is only useful with echo`},
		{"/v1/completions", `{"prompt":"x","logprobs":21}`, 400, `logprobs must be between 0 and 20`},
		{"/v1/completions", `{"prompt":"` + strings.Repeat("a", 32001) + `"}`, 400, `prompt[0] is too long`},
		{"/v1/nothing", `{}`, 404, `no route POST /v1/nothing`},
	}

	// Streams running while the bad requests arrive.
	var wg sync.WaitGroup
	streams := make([]string, 4)
	for i := range streams {
		wg.Go(func() {
			_, body := post(t, ts, "/v1/chat/completions", `{"model":"sft/d2/20","stream":true,"messages":`+u+`}`)
			streams[i] = body
		})
	}
	time.Sleep(10 * time.Millisecond)
	for _, c := range cases {
		code, body := post(t, ts, c.path, c.body)
		if code != c.status || !strings.Contains(body, c.msg) {
			t.Errorf("%s %.80s:\ngot  %d %.300s\nwant %d …%s…", c.path, c.body, code, body, c.status, c.msg)
		}
		if code >= 400 {
			var e struct {
				Error struct{ Message, Type string }
			}
			if json.Unmarshal([]byte(body), &e) != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("%.80s: not an OpenAI error object: %s", c.body, body)
			}
		}
	}
	wg.Wait()
	for i, body := range streams {
		if got := streamedContent(t, body); got != reply {
			t.Errorf("stream %d disturbed: got %q, want %q", i, got, reply)
		}
	}
}

// streamedContent reassembles a chat stream's content and checks its
// framing: a role chunk, content chunks, one finish chunk, [DONE].
func streamedContent(t *testing.T, body string) string {
	t.Helper()
	evs := sseEvents(t, body)
	if len(evs) < 3 || evs[len(evs)-1] != "[DONE]" {
		t.Errorf("stream not terminated by [DONE]: %q", body)
		return ""
	}
	var content strings.Builder
	finishes := 0
	for i, ev := range evs[:len(evs)-1] {
		var c chatResponse
		if err := json.Unmarshal([]byte(ev), &c); err != nil || len(c.Choices) != 1 {
			t.Errorf("event %d: %v: %s", i, err, ev)
			return ""
		}
		d := c.Choices[0].Delta
		if (i == 0) != (d.Role == "assistant") {
			t.Errorf("event %d: role %q", i, d.Role)
		}
		if d.Content != nil {
			content.WriteString(*d.Content)
		}
		if c.Choices[0].FinishReason != nil {
			finishes++
		}
	}
	if finishes != 1 {
		t.Errorf("%d finish chunks, want 1", finishes)
	}
	return content.String()
}

func TestAPIKey(t *testing.T) {
	_, ts := newTestServer(t, Options{APIKey: "sekret"}, nil)
	for _, c := range []struct {
		path, auth string
		want       int
	}{
		{"/v1/models", "", 401}, {"/v1/models", "Bearer nope", 401}, {"/v1/models", "Bearer sekret", 200},
		{"/stats", "", 401}, {"/health", "", 200},
	} {
		req, _ := http.NewRequest("GET", ts.URL+c.path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s with %q: %d, want %d", c.path, c.auth, resp.StatusCode, c.want)
		}
	}
}

func TestStopper(t *testing.T) {
	for _, c := range []struct {
		stops  []string
		chunks []string
		want   string // emitted pieces joined by |
		hit    bool
	}{
		{nil, []string{"ab", "cd"}, "ab|cd", false},
		{[]string{"END"}, []string{"abc E", "N", "D more"}, "abc ||", true},
		{[]string{"END"}, []string{"abc E", "N", "x"}, "abc ||ENx", false},
		{[]string{"END"}, []string{"abc EN"}, "abc ", false}, // flush emits "EN"
		{[]string{"xyz", "bc"}, []string{"ab", "cxyz"}, "a|", true},
		{[]string{"é!"}, []string{"aé", "é!"}, "a|é", true},
		{[]string{"\n\n"}, []string{"line\n", "\n"}, "line|", true},
	} {
		s := stopper{stops: c.stops}
		var out []string
		hit := false
		for _, ch := range c.chunks {
			o, h := s.push(ch)
			out = append(out, o)
			hit = hit || h
		}
		got := strings.Join(out, "|")
		if got != c.want || hit != c.hit {
			t.Errorf("stops %q chunks %q: got %q hit %v, want %q hit %v", c.stops, c.chunks, got, hit, c.want, c.hit)
		}
	}
	if got, hit := cutAtStop("abc EN", []string{"END"}); got != "abc EN" || hit {
		t.Errorf("cutAtStop: %q %v", got, hit)
	}
}

// failing fails every generation, after streaming `after` words.
type failing struct {
	*llmtest.Fake
	after int
}

func (f failing) Chat(ctx context.Context, m []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	for i := range f.after {
		on(llm.Event{Text: fmt.Sprintf("w%d ", i)})
	}
	return llm.Reply{}, errors.New("prompt of 600 tokens does not fit")
}

func TestModelErrors(t *testing.T) {
	for _, c := range []struct {
		after      int
		path, body string
		status     int
		want       string
	}{
		{0, "/v1/chat/completions", chatBody("x", true), 500, `{"error":{"message":"generation failed: prompt of 600 tokens does not fit","type":"server_error"`},
		{0, "/v1/chat/completions", chatBody("x", false), 500, `"generation failed: prompt of 600 tokens does not fit"`},
		{0, "/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, 500, `{"detail":"generation failed: prompt of 600 tokens does not fit"}`},
		{2, "/v1/chat/completions", chatBody("x", true), 200, `"content":"w1 "},"logprobs":null,"finish_reason":null}]}` + "\n\n" +
			`data: {"error":{"message":"generation failed: prompt of 600 tokens does not fit","type":"server_error","param":null,"code":null}}` + "\n\ndata: [DONE]\n\n"},
		{2, "/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, 200,
			"data: {\"token\": \"w1 \", \"gpu\": 0}\n\ndata: {\"error\": \"generation failed: prompt of 600 tokens does not fit\"}\n\n"},
	} {
		_, ts := newTestServer(t, Options{}, func(name string, f *llmtest.Fake) llm.Model { return failing{f, c.after} })
		code, body := post(t, ts, c.path, c.body)
		if code != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s after %d words: got %d %q, want %d …%q…", c.path, c.after, code, body, c.status, c.want)
		}
	}
}
