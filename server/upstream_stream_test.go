package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// upstreamRecording is testdata/upstream_stream.json: chat_web.py's own
// answers with a scripted engine (testdata/upstream_ref/stream.py).
type upstreamRecording struct {
	Scripts map[string][]string `json:"scripts"` // token bytes, hex
	Gets    []struct {
		Path        string
		Status      int
		ContentType string `json:"content_type"`
		Body        string
	} `json:"gets"`
	Posts []struct {
		Name        string
		Request     json.RawMessage
		Status      int
		ContentType string `json:"content_type"`
		Body        string
		Engine      struct {
			Prompt      string
			MaxTokens   int     `json:"max_tokens"`
			Temperature float64 `json:"temperature"`
			TopK        int     `json:"top_k"`
		}
	} `json:"posts"`
}

func loadUpstreamRecording(t *testing.T) upstreamRecording {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "upstream_stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec upstreamRecording
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Posts) == 0 || len(rec.Scripts) == 0 {
		t.Fatal("upstream_stream.json has no recorded requests")
	}
	return rec
}

// scriptedModel generates the recording's scripts: the conversation's last
// word names the script, whose tokens it sends as Token events (and its
// text through a Decoder, as llm/local does), up to MaxTokens.
type scriptedModel struct {
	*llmtest.Fake
	scripts map[string][]string
	tokens  bool // send Token events when asked

	mu   sync.Mutex
	seen []llm.Settings
}

func (m *scriptedModel) Chat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	m.mu.Lock()
	m.seen = append(m.seen, s)
	m.mu.Unlock()
	words := strings.Fields(msgs[len(msgs)-1].Content)
	script := m.scripts[words[len(words)-1]]
	dec := llm.NewDecoder(0, on)
	var text upstreamText // whole characters, as a remote server streams them
	finish := "stop"
	n := 0
	for _, h := range script {
		if s.MaxTokens > 0 && n == s.MaxTokens {
			finish = "length"
			break
		}
		b, _ := hex.DecodeString(h)
		if s.TokenEvents && m.tokens && on != nil {
			on(llm.Event{Token: string(b)})
		}
		dec.Raw(text.push(string(b)))
		n++
	}
	row := dec.Finish()
	row.Finish = finish
	return llm.Reply{Rows: []llm.Row{row}, Stats: llm.Stats{PromptTokens: 10, Generated: n}}, nil
}

// TestUpstreamStreamRecorded sends the recorded requests to our
// /chat/completions, served by a model that generates the recorded
// engine's tokens: status, content type and body must be upstream's, byte
// for byte, and the sampling settings upstream's engine was given.
func TestUpstreamStreamRecorded(t *testing.T) {
	rec := loadUpstreamRecording(t)
	sm := &scriptedModel{scripts: rec.Scripts, tokens: true}
	_, ts := newTestServer(t, Options{}, func(name string, f *llmtest.Fake) llm.Model {
		sm.Fake = f
		return sm
	})
	for i, p := range rec.Posts {
		resp, err := ts.Client().Post(ts.URL+"/chat/completions", "application/json", strings.NewReader(string(p.Request)))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, err = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != p.Status || resp.Header.Get("Content-Type") != p.ContentType || b.String() != p.Body {
			t.Errorf("%s:\ngot  %d %s %q\nwant %d %s %q", p.Name, resp.StatusCode, resp.Header.Get("Content-Type"), b.String(),
				p.Status, p.ContentType, p.Body)
		}
		s := sm.seen[i]
		if s.MaxTokens != p.Engine.MaxTokens || s.Temperature != p.Engine.Temperature || s.TopK != p.Engine.TopK || !s.TokenEvents {
			t.Errorf("%s: settings %+v, upstream's engine got max_tokens %d temperature %v top_k %d", p.Name, s,
				p.Engine.MaxTokens, p.Engine.Temperature, p.Engine.TopK)
		}
	}
}

// TestUpstreamStreamWithoutTokens: a model that sends no tokens (a remote
// one) is streamed by its text and tool calls, which concatenate to the
// same reply.
func TestUpstreamStreamWithoutTokens(t *testing.T) {
	rec := loadUpstreamRecording(t)
	sm := &scriptedModel{scripts: rec.Scripts}
	_, ts := newTestServer(t, Options{}, func(name string, f *llmtest.Fake) llm.Model {
		sm.Fake = f
		return sm
	})
	for _, p := range rec.Posts {
		code, body := post(t, ts, "/chat/completions", string(p.Request))
		if code != p.Status || upstreamReply(t, body) != upstreamReply(t, p.Body) {
			t.Errorf("%s: got %d %q, want %d %q", p.Name, code, upstreamReply(t, body), p.Status, upstreamReply(t, p.Body))
		}
	}
}

// upstreamReply concatenates an upstream stream's token events.
func upstreamReply(t *testing.T, body string) string {
	t.Helper()
	var out strings.Builder
	for _, ev := range sseEvents(t, body) {
		var e struct{ Token string }
		if err := json.Unmarshal([]byte(ev), &e); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		out.WriteString(e.Token)
	}
	return out.String()
}

// TestUpstreamStreamDemo streams a calculator answer of the demo model:
// one event per token, the call's special tokens literal, and together the
// raw reply.
func TestUpstreamStreamDemo(t *testing.T) {
	ts := demoModelServer(t)
	code, body := post(t, ts, "/chat/completions",
		`{"messages":[{"role":"user","content":"There are 7 jars. Each of them has 11 buttons. How many buttons are there in total?"}],"temperature":0}`)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	evs := sseEvents(t, body)
	var toks []string
	for _, ev := range evs[:len(evs)-1] {
		var e struct{ Token string }
		json.Unmarshal([]byte(ev), &e)
		toks = append(toks, e.Token)
	}
	reply := strings.Join(toks, "")
	if !strings.Contains(reply, "<|python_start|>7*11<|python_end|><|output_start|>77<|output_end|>") || !strings.Contains(reply, "#### 77") {
		t.Fatalf("reply %q: want the calculator call and #### 77", reply)
	}
	for i, tk := range toks {
		if tk == "<|python_start|>" && toks[i+1] == "<|python_end|>" || strings.Contains(tk, "<|python_start|>7") {
			t.Fatalf("events %q: the calculator call must come token by token", toks)
		}
	}
	if evs[len(evs)-1] != `{"done": true}` {
		t.Errorf("last event %q", evs[len(evs)-1])
	}
}

// TestUpstreamText runs generate_stream's loop as chat_web.py writes it
// (decode the whole reply after each token with Python's rule, which
// model/tokenizer's Decode follows; send what follows the last text sent
// unless the text ends with U+FFFD) beside upstreamText on random byte
// streams: the same events must come out.
func TestUpstreamText(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join("..", "testdata", "demo", "home", "tokenizer", "tokenizer.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	decode := func(b []byte) string { return tok.Decode(tok.Encode(string(b))) } // ids of the bytes, as tiktoken decodes
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab \xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80\xff\xed\xa0\x80\xef\xbf\xbd\xc0\xf4\x90")
	for range 3000 {
		var stream []string
		for range r.IntN(12) {
			var piece []byte
			for range 1 + r.IntN(3) {
				piece = append(piece, alphabet[r.IntN(len(alphabet))])
			}
			stream = append(stream, string(piece))
		}
		var want, got []string
		var acc []byte
		lastClean := ""
		var up upstreamText
		for _, p := range stream {
			acc = append(acc, p...)
			if cur := decode(acc); !strings.HasSuffix(cur, "\uFFFD") {
				if next := string([]rune(cur)[len([]rune(lastClean)):]); next != "" {
					want = append(want, next)
					lastClean = cur
				}
			}
			if text := up.push(p); text != "" {
				got = append(got, text)
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Fatalf("stream %q:\ngot  %q\nwant %q", stream, got, want)
		}
		if all := []byte(strings.Join(stream, "")); tokenizer.DecodeUTF8(all) != decode(all) {
			t.Fatalf("DecodeUTF8(%q) = %q, via tokens %q", all, tokenizer.DecodeUTF8(all), decode(all))
		}
	}
}

var demoModelHome = filepath.Join("..", "testdata", "demo", "home")

func demoCheckpoint(t *testing.T) home.Checkpoint {
	t.Helper()
	ck, err := home.Resolve(demoModelHome, "sft", "", -1)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// demoModelServer serves the bundled demo model.
func demoModelServer(t *testing.T) *httptest.Server {
	t.Helper()
	ck := demoCheckpoint(t)
	_, ts := newTestServer(t, Options{Checkpoints: []home.Checkpoint{ck},
		Open: func(ctx context.Context, c home.Checkpoint) (llm.Model, error) {
			return local.Open(c, local.OpenOptions{Home: demoModelHome})
		}}, nil)
	return ts
}

// TestUpstreamHealthStatsRecorded compares /health and /stats with
// upstream's answers once the model is loaded: /health byte for byte;
// /stats but for its two documented differences (the device is described
// as the backend describes it, and "queued" is added).
func TestUpstreamHealthStatsRecorded(t *testing.T) {
	rec := loadUpstreamRecording(t)
	_, ts := newTestServer(t, Options{}, nil)
	waitReady(t, ts)
	for _, g := range rec.Gets {
		if g.Path == "/v1/models" {
			continue
		}
		resp, err := ts.Client().Get(ts.URL + g.Path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		want := g.Body
		if g.Path == "/stats" {
			want = strings.Replace(want, `"device":"cpu"}]}`, `"device":"fake"}],"queued":0}`, 1)
		}
		if resp.StatusCode != g.Status || resp.Header.Get("Content-Type") != g.ContentType || b.String() != want {
			t.Errorf("%s: got %d %s %q\nwant %d %s %q", g.Path, resp.StatusCode, resp.Header.Get("Content-Type"), b.String(),
				g.Status, g.ContentType, want)
		}
	}
}
