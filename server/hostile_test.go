package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/home"
)

// demoServer serves the bundled demo model, decoding rows rows at once,
// as `nanochat serve --batch rows` does: the real chat template and engine
// refuse what the fakes accept.
func demoServer(t *testing.T, rows int) (*Server, string) {
	t.Helper()
	demoHome := filepath.Join("..", "testdata", "demo", "home")
	ck, err := home.Resolve(demoHome, "sft", "", -1)
	if err != nil {
		t.Fatal(err)
	}
	s, ts := newTestServer(t, Options{Checkpoints: []home.Checkpoint{ck},
		Open: func(ctx context.Context, c home.Checkpoint) (llm.Model, error) {
			m, err := local.Open(c, local.OpenOptions{Home: demoHome})
			if err != nil {
				return nil, err
			}
			if err := m.EnableBatching(rows); err != nil {
				m.Close()
				return nil, err
			}
			return m, nil
		}}, nil)
	return s, ts.URL
}

// TestHostileRequestsOnRealModel: client mistakes that reached the model
// and came back as 500 are 400s naming what is wrong.
func TestHostileRequestsOnRealModel(t *testing.T) {
	_, url := demoServer(t, 8)
	u := `{"role":"user","content":"hi"}`
	for _, c := range []struct {
		path, body string
		want       string
	}{
		{"/v1/chat/completions", `{"max_tokens":2,"n":12,"messages":[` + u + `]}`,
			`"message":"n must be at most 8 on this server (it decodes 8 rows at once), got 12","type":"invalid_request_error","param":"n"`},
		{"/v1/chat/completions", `{"max_tokens":2,"messages":[{"role":"user","content":"hi","parts":[{"type":"text","text":"hi"}]}]}`,
			`"param":"messages[0].parts"`},
		{"/v1/chat/completions", `{"max_tokens":2,"messages":[{"role":"system","content":"s","parts":[{"type":"text","text":"s"}]},` + u + `]}`,
			`"param":"messages[0].parts"`},
		{"/chat/completions", `{"max_tokens":2,"messages":[` + u + `,` + u + `]}`,
			`{"detail":"Message 1 has role 'user' but must be 'assistant': roles must alternate user and assistant, starting with user"}`},
		{"/chat/completions", `{"max_tokens":2,"messages":[{"role":"assistant","content":"hello"},` + u + `]}`,
			`{"detail":"Message 0 has role 'assistant' but must be 'user'`},
	} {
		resp, err := http.Post(url+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		bufio.NewReader(resp.Body).WriteTo(&b)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(b.String(), c.want) {
			t.Errorf("%s %s:\ngot  %d %s\nwant 400 …%s…", c.path, c.body, resp.StatusCode, b.String(), c.want)
		}
	}
	// n up to the rows still works.
	if code, body := postURL(t, url+"/v1/chat/completions", `{"max_tokens":2,"n":8,"messages":[`+u+`]}`); code != 200 {
		t.Errorf("n=8 on 8 rows: %d %s", code, body)
	}
}

func postURL(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String()
}

// TestHostileDeepJSON: a body of nothing but "[" is refused at once on
// every route, without recursing once per bracket.
func TestHostileDeepJSON(t *testing.T) {
	_, ts := newTestServer(t, Options{}, nil)
	deep := strings.Repeat("[", 1<<20-100)
	for _, c := range []struct{ path, want string }{
		{"/chat/completions", `{"detail":"There was an error parsing the body"}`},
		{"/v1/chat/completions", `exceeded max depth`},
	} {
		code, body := post(t, ts, c.path, deep)
		if code != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("%s with 1 MiB of '[': got %d %.200s, want 400 …%s…", c.path, code, body, c.want)
		}
	}
	// The parser itself stops at the limit too.
	if _, err := parsePyJSON(strings.Repeat("[", maxJSONDepth+1)); err == nil || !strings.Contains(err.Error(), "maximum recursion depth") {
		t.Errorf("parsePyJSON past the depth limit: err = %v", err)
	}
	if _, err := parsePyJSON(strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)); err != nil {
		t.Errorf("parsePyJSON at the depth limit: %v", err)
	}
	if tooDeep([]byte(`{"a":"[[[[[[\"[[[["}`), 2) {
		t.Error("tooDeep counts brackets inside strings")
	}
}

// TestHostileSlowBody: a client that never finishes its body gets 408
// within BodyTimeout instead of holding the connection; a reply that
// streams for longer than BodyTimeout after a prompt body is not cut.
func TestHostileSlowBody(t *testing.T) {
	_, ts := newTestServer(t, Options{BodyTimeout: 200 * time.Millisecond}, func(name string, f *llmtest.Fake) llm.Model {
		f.Delay = 50 * time.Millisecond
		f.Reply = func([]llm.Message, llm.Settings) string { return words("w", 10) }
		return f
	})
	for _, path := range []string{"/v1/chat/completions", "/chat/completions"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"messages\":", path)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("%s with a stalled body: no answer after %v: %v", path, time.Since(start).Round(time.Millisecond), err)
			conn.Close()
			continue
		}
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("%s with a stalled body: %d, want 408", path, resp.StatusCode)
		}
	}
	start := time.Now()
	code, body := post(t, ts, "/v1/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if took := time.Since(start); code != 200 || !strings.Contains(body, "[DONE]") || took < 400*time.Millisecond {
		t.Errorf("a stream longer than BodyTimeout: %d after %v: %.300s", code, took, body)
	}
}

// TestHostileRoutes: a known path with the wrong method is 405 with Allow,
// in the route's own dialect; the Bearer scheme is case-insensitive.
func TestHostileRoutes(t *testing.T) {
	_, ts := newTestServer(t, Options{APIKey: "sekret"}, nil)
	for _, c := range []struct {
		method, path, auth string
		status             int
		allow, want        string
	}{
		{"GET", "/v1/chat/completions", "Bearer sekret", 405, "POST", `"code":"method_not_allowed"`},
		{"GET", "/v1/completions", "Bearer sekret", 405, "POST", `method GET is not allowed on /v1/completions (allowed: POST)`},
		{"POST", "/v1/models", "Bearer sekret", 405, "GET", `"type":"invalid_request_error"`},
		{"GET", "/chat/completions", "Bearer sekret", 405, "POST", `{"detail":"Method Not Allowed"}`},
		{"DELETE", "/health", "", 405, "GET", `{"detail":"Method Not Allowed"}`},
		{"GET", "/v1/nothing", "Bearer sekret", 404, "", `no route GET /v1/nothing`},
		{"GET", "/v1/models", "bearer sekret", 200, "", `"object":"list"`},
		{"GET", "/v1/models", "BEARER  sekret ", 200, "", `"object":"list"`},
		{"GET", "/v1/models", "Basic sekret", 401, "", `invalid_api_key`},
		{"GET", "/v1/models", "Bearersekret", 401, "", `invalid_api_key`},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		bufio.NewReader(resp.Body).WriteTo(&b)
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Allow") != c.allow || !strings.Contains(b.String(), c.want) {
			t.Errorf("%s %s (%q): got %d Allow %q %s; want %d Allow %q …%s…", c.method, c.path, c.auth,
				resp.StatusCode, resp.Header.Get("Allow"), b.String(), c.status, c.allow, c.want)
		}
		if c.status >= 400 && strings.HasPrefix(c.path, "/v1/") {
			var e struct {
				Error struct{ Message, Type string }
			}
			if json.Unmarshal([]byte(b.String()), &e) != nil || e.Error.Message == "" {
				t.Errorf("%s %s: not an OpenAI error object: %s", c.method, c.path, b.String())
			}
		}
	}
}
