package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/model/home"
)

// probe wraps a model to observe concurrency and cancellation.
type probe struct {
	llm.Model
	running, peak atomic.Int32
	cancelled     chan struct{}
}

func (p *probe) Chat(ctx context.Context, m []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	n := p.running.Add(1)
	defer p.running.Add(-1)
	for old := p.peak.Load(); n > old && !p.peak.CompareAndSwap(old, n); old = p.peak.Load() {
	}
	rep, err := p.Model.Chat(ctx, m, s, on)
	if ctx.Err() != nil && p.cancelled != nil {
		select {
		case p.cancelled <- struct{}{}:
		default:
		}
	}
	return rep, err
}

// slowServer serves a fake replying (to "short") "ok" or n words with delay
// between words.
func slowServer(t testing.TB, o Options, n int, delay time.Duration) (*probe, *Server, string) {
	p := &probe{cancelled: make(chan struct{}, 1)}
	s, ts := newTestServer(t, o, func(name string, f *llmtest.Fake) llm.Model {
		f.Delay = delay
		f.Reply = func(m []llm.Message, _ llm.Settings) string {
			if m[len(m)-1].Content == "short" {
				return "ok"
			}
			return words("w", n)
		}
		p.Model = f
		return p
	})
	return p, s, ts.URL
}

func chatBody(content string, stream bool) string {
	b, _ := json.Marshal(map[string]any{"model": "sft/d2/20", "stream": stream,
		"messages": []map[string]string{{"role": "user", "content": content}}})
	return string(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 400; i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestQueueLimits(t *testing.T) {
	_, s, url := slowServer(t, Options{MaxConcurrent: 1, MaxQueue: 1, QueueTimeout: 150 * time.Millisecond}, 20, 20*time.Millisecond)
	load := func() (int, int) {
		e := s.models.entries["sft/d2/20"]
		r, q, _ := e.sched.load()
		return r, q
	}
	var wg sync.WaitGroup
	var first string
	wg.Go(func() {
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("long", true)))
		if err != nil {
			t.Error(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		first = string(b)
	})
	waitFor(t, "the first request to run", func() bool { r, _ := load(); return r == 1 })
	var second int
	var secondBody string
	wg.Go(func() {
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("short", false)))
		if err != nil {
			t.Error(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		second, secondBody = resp.StatusCode, string(b)
	})
	waitFor(t, "the second request to queue", func() bool { _, q := load(); return q == 1 })
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("short", false)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(b), `"code":"queue_full"`) {
		t.Errorf("third request: %d %s, want 429 queue_full", resp.StatusCode, b)
	}
	wg.Wait()
	if second != http.StatusServiceUnavailable || !strings.Contains(secondBody, "no free slot within 150ms") {
		t.Errorf("queued request: %d %s, want 503 after the queue timeout", second, secondBody)
	}
	if got := streamedContent(t, first); got != words("w", 20) {
		t.Errorf("running stream: %q", got)
	}
}

// TestDisconnectFreesSlot checks that a client leaving cancels its
// generation at once, whether the server notices while streaming (a write
// fails) or while the model is silent (a non-streaming request: only the
// request's context can tell).
func TestDisconnectFreesSlot(t *testing.T) {
	for _, stream := range []bool{true, false} {
		p, _, url := slowServer(t, Options{MaxConcurrent: 1}, 200, 10*time.Millisecond) // 2 s
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions", strings.NewReader(chatBody("long", stream)))
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		waitFor(t, "the generation to start", func() bool { return p.running.Load() == 1 })
		time.Sleep(30 * time.Millisecond)
		t0 := time.Now()
		cancel()
		select {
		case <-p.cancelled:
		case <-time.After(time.Second):
			t.Fatalf("stream=%v: the model's context was not cancelled after the client left", stream)
		}
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("short", false)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"content":"ok"`) {
			t.Errorf("stream=%v: next request: %d %s", stream, resp.StatusCode, b)
		}
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Errorf("stream=%v: the slot was freed after %v, want at once", stream, d)
		}
		http.DefaultClient.CloseIdleConnections()
	}
}

func TestGracefulShutdown(t *testing.T) {
	for _, c := range []struct {
		name  string
		drain time.Duration
		words int
		whole bool
	}{
		{"drained", 5 * time.Second, 20, true},
		{"cut", 50 * time.Millisecond, 300, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(Options{Checkpoints: testCheckpoints, DrainTimeout: c.drain, Logf: t.Logf,
				Open: func(context.Context, home.Checkpoint) (llm.Model, error) {
					return &llmtest.Fake{Delay: 10 * time.Millisecond, Reply: func([]llm.Message, llm.Settings) string { return words("w", c.words) },
						ModelInfo: llm.Info{Name: "sft/d2/20", ContextLen: 1024, Chat: true}}, nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			url := "http://" + ln.Addr().String()
			ctx, stop := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- s.Serve(ctx, ln) }()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr}
			waitFor(t, "ready", func() bool {
				r, err := cl.Get(url + "/health")
				if err != nil {
					return false
				}
				r.Body.Close()
				return r.StatusCode == 200
			})
			resp, err := cl.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("x", true)))
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			stop()
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
			if c.whole {
				if got := streamedContent(t, string(b)); got != words("w", c.words) {
					t.Errorf("drained stream: %q", got)
				}
			} else if d := time.Since(t0); d > time.Second || strings.Contains(string(b), `"finish_reason":"stop"`) {
				t.Errorf("cut stream after %v: %.200s…", d, b)
			}
			if _, err := cl.Get(url + "/health"); err == nil {
				t.Error("still accepting connections after Serve returned")
			}
		})
	}
}

// TestLoad runs 32 concurrent streaming clients × 4 requests each on
// loopback against a fake that takes 2 ms per word, checks every stream,
// compares the throughput with one client at a time, and checks that no
// goroutine outlives the server.
func TestLoad(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, kernelWorkers) }) // runs after the server's cleanup
	const clients, perClient, nWords = 32, 4, 16
	p, _, url := slowServer(t, Options{MaxConcurrent: clients}, nWords, 2*time.Millisecond)
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	t.Cleanup(tr.CloseIdleConnections)
	cl := &http.Client{Transport: tr}
	want := words("w", nWords)
	one := func(i int) error {
		resp, err := cl.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("long", true)))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if got := streamedContent(t, string(b)); got != want {
			return errors.New("stream content " + got)
		}
		return nil
	}
	run := func(clients, each int) (time.Duration, int) {
		var wg sync.WaitGroup
		var failed atomic.Int32
		t0 := time.Now()
		for c := range clients {
			wg.Go(func() {
				for i := range each {
					if err := one(c*each + i); err != nil {
						t.Errorf("client %d request %d: %v", c, i, err)
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return time.Since(t0), clients*each - int(failed.Load())
	}
	seqTime, seqOK := run(1, 8)
	p.peak.Store(0)
	parTime, parOK := run(clients, perClient)
	seqRate := float64(seqOK) / seqTime.Seconds()
	parRate := float64(parOK) / parTime.Seconds()
	t.Logf("one client: %d streams in %v (%.1f req/s, %.0f tok/s); %d clients: %d streams in %v (%.1f req/s, %.0f tok/s), ×%.1f, peak %d concurrent",
		seqOK, seqTime.Round(time.Millisecond), seqRate, seqRate*nWords, clients, parOK, parTime.Round(time.Millisecond),
		parRate, parRate*nWords, parRate/seqRate, p.peak.Load())
	if parOK != clients*perClient {
		t.Fatalf("%d of %d streams intact", parOK, clients*perClient)
	}
	if p.peak.Load() < clients/2 {
		t.Errorf("peak concurrency %d, want close to %d", p.peak.Load(), clients)
	}
	if parRate < 4*seqRate {
		t.Errorf("throughput with %d clients %.1f req/s, want well above one client's %.1f", clients, parRate, seqRate)
	}
}

func BenchmarkChatStream(b *testing.B) {
	_, _, url := slowServer(b, Options{MaxConcurrent: 64}, 16, 0)
	body := chatBody("long", true)
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
