package server

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/model/home"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, kernelWorkers) }

// kernelWorkers are the CPU kernels' worker goroutines, started once per
// process by the first real model (evict_test.go) and kept for the next.
var kernelWorkers = goleak.IgnoreTopFunction("github.com/nanochat-go/nanochat/kernels.(*pool).helper")

// scoringFake adds llm.Scorer to the fake: every character is a token;
// its logprob is -1 for letters in Likely and -(1+rune%5) otherwise, and
// the top alternatives are the token itself and "?".
type scoringFake struct {
	*llmtest.Fake
	Likely string
}

func (f scoringFake) PromptLogprobs(ctx context.Context, text string, topN int) ([]llm.TokenLogprob, error) {
	var out []llm.TokenLogprob
	for _, r := range text {
		lp := -float64(1 + r%5)
		if strings.ContainsRune(f.Likely, r) {
			lp = -1
		}
		t := llm.TokenLogprob{ID: int(r), Token: string(r), Logprob: lp}
		cands := []llm.TopLogprob{{ID: int(r), Token: string(r), Logprob: lp}, {ID: '?', Token: "?", Logprob: lp - 1}}
		t.Top = cands[:min(topN, len(cands))]
		out = append(out, t)
	}
	return out, nil
}

var testCheckpoints = []home.Checkpoint{
	{Source: "sft", Tag: "d2", Step: 20},
	{Source: "sft", Tag: "d2", Step: 10},
	{Source: "base", Tag: "d2", Step: 30},
}

// newTestServer serves fake models (one Fake per checkpoint, configured by
// setup) through httptest.
func newTestServer(t testing.TB, o Options, setup func(name string, f *llmtest.Fake) llm.Model) (*Server, *httptest.Server) {
	t.Helper()
	if o.Checkpoints == nil {
		o.Checkpoints = testCheckpoints
	}
	if o.Open == nil {
		o.Open = func(ctx context.Context, ck home.Checkpoint) (llm.Model, error) {
			f := &llmtest.Fake{ModelInfo: llm.Info{Name: ck.Name(), Source: ck.Source, Device: "fake", ContextLen: 256, Chat: ck.Source != "base"}}
			if setup != nil {
				return setup(ck.Name(), f), nil
			}
			return f, nil
		}
	}
	if _, ok := t.(*testing.T); ok {
		o.Logf = t.Logf
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	waitReady(t, ts)
	return s, ts
}

func waitReady(t testing.TB, ts *httptest.Server) {
	t.Helper()
	for i := 0; i < 200; i++ {
		resp, err := ts.Client().Get(ts.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("server never became ready")
}

// post sends a JSON body and returns the status and the whole body.
func post(t *testing.T, ts *httptest.Server, path, body string) (int, string) {
	t.Helper()
	resp, err := ts.Client().Post(ts.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// sseEvents splits an event-stream body into its data payloads.
func sseEvents(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

// words makes a reply of n distinct words.
func words(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(prefix)
		b.WriteString(strings.Repeat("x", i%3))
		b.WriteRune(rune('a' + i%26))
	}
	return b.String()
}

// newTestServerAsync serves fakes whose loading waits for release.
func newTestServerAsync(t *testing.T, release chan struct{}) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Options{Checkpoints: testCheckpoints, Logf: t.Logf,
		Open: func(ctx context.Context, ck home.Checkpoint) (llm.Model, error) {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return &llmtest.Fake{ModelInfo: llm.Info{Name: ck.Name(), Device: "fake", ContextLen: 256, Chat: true}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}
