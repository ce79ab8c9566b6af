package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/llm/remote"
	"github.com/nanochat-go/nanochat/model/home"
)

// TestServeDemo runs `nanochat serve` on the bundled demo model and drives
// it through the remote engine and the upstream API, then stops it like
// Ctrl-C does.
func TestServeDemo(t *testing.T) {
	demo, err := filepath.Abs(filepath.Join("..", "..", "testdata", "demo", "home"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	pr, pw := io.Pipe()
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--home", demo, "--port", "0", "--api-key", "k", "-q"})
	cmd.SetErr(pw)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()

	addr := regexp.MustCompile(`serving sft/d4/1514 on (http://\S+) `)
	sc := bufio.NewScanner(pr)
	url := ""
	for url == "" && sc.Scan() {
		if m := addr.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		t.Fatalf("no address announced: %v", <-done)
	}

	m, err := remote.New(url, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if info := m.Info(); info.Name != "sft/d4/1514" || info.Device != "remote "+url {
		t.Errorf("info = %+v", info)
	}
	var tools []llm.ToolCall
	rep, err := m.Chat(ctx, []llm.Message{{Role: "user", Content: "There are 7 jars. Each of them has 11 buttons. How many buttons are there in total?"}},
		llm.Settings{Temperature: 0, MaxTokens: 64}, func(e llm.Event) {
			if e.Tool != nil {
				tools = append(tools, *e.Tool)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if row := rep.Rows[0]; !strings.Contains(row.Text, "#### 77") || !strings.Contains(row.Raw, "<|python_start|>7*11<|python_end|>") || len(tools) != 1 {
		t.Errorf("reply %+v, tools %+v", row, tools)
	}
	// Choose scores the letters through /v1/completions logprobs and picks
	// what the in-process model picks.
	ck, err := home.Parse(demo, "sft/d4/1514")
	if err != nil {
		t.Fatal(err)
	}
	lm, err := local.Open(ck, local.OpenOptions{Home: demo})
	if err != nil {
		t.Fatal(err)
	}
	defer lm.Close()
	for _, q := range []string{"Is 2+2=4? A) yes B) no. Answer with a letter.", "Which is a color?\nA. dog\nB. red\nC. seven\nD. run"} {
		msgs := []llm.Message{{Role: "user", Content: q}}
		letters := []string{"A", "B", "C", "D"}
		got, scores, err := m.Choose(ctx, msgs, letters)
		want, logits, lerr := lm.Choose(ctx, msgs, letters)
		if err != nil || lerr != nil || got != want {
			t.Fatalf("%q: remote chose %d %v (%v), local %d %v (%v)", q, got, scores, err, want, logits, lerr)
		}
		// Log-probabilities are the logits less one log-sum-exp.
		for i := range letters {
			if d := (scores[i] - logits[i]) - (scores[0] - logits[0]); d > 0.05 || d < -0.05 {
				t.Errorf("%q: remote scores %v are not local logits %v shifted by a constant", q, scores, logits)
				break
			}
		}
	}

	req, _ := http.NewRequest("POST", url+"/chat/completions", strings.NewReader(`{"messages":[{"role":"user","content":"Omar has 56 marbles. He buys 32 more marbles. How many marbles does Omar have now?"}],"temperature":0}`))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// One event per token, as chat_web.py streams them, the calculator
	// call's too.
	for _, want := range []string{"data: {\"token\": \"<|python_start|>\", \"gpu\": 0}\n\ndata: {\"token\": \"56\", \"gpu\": 0}\n\n" +
		"data: {\"token\": \"+\", \"gpu\": 0}\n\ndata: {\"token\": \"32\", \"gpu\": 0}\n\ndata: {\"token\": \"<|python_end|>\", \"gpu\": 0}\n\n" +
		"data: {\"token\": \"<|output_start|>\", \"gpu\": 0}\n\ndata: {\"token\": \"88\", \"gpu\": 0}\n\ndata: {\"token\": \"<|output_end|>\", \"gpu\": 0}\n\n",
		"data: {\"token\": \"88\", \"gpu\": 0}\n\ndata: {\"done\": true}\n\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("upstream stream lacks %q:\n%s", want, body)
		}
	}
	// A conversation that cannot fit the 512-token context is the client's
	// fault: 400 context_length_exceeded.
	long := strings.Repeat("apples and oranges ", 400)
	req, _ = http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(`{"model":"sft","messages":[{"role":"user","content":"`+long+`"}]}`))
	req.Header.Set("Authorization", "Bearer k")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "context_length_exceeded") {
		t.Errorf("over-long prompt: %d %s", resp.StatusCode, body)
	}

	// The CLI drives the same server as its engine with --remote.
	out := new(strings.Builder)
	chat := newRootCmd()
	chat.SetArgs([]string{"chat", "--remote", url, "--api-key", "k", "-t", "0", "-q", "--no-history", "-p", "There are 7 jars. Each of them has 11 buttons. How many buttons are there in total?"})
	chat.SetOut(out)
	if err := chat.ExecuteContext(ctx); err != nil || !strings.Contains(out.String(), "#### 77") {
		t.Errorf("chat --remote: %v, %q", err, out.String())
	}
	http.DefaultClient.CloseIdleConnections()

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}
