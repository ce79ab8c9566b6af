package local

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/llm"
)

var question = []llm.Message{{Role: "user", Content: "What is the capital of France?"}}

func released(m *Model) bool {
	select {
	case <-m.Released():
		return true
	default:
		return false
	}
}

// TestCloseWithoutUsersReleasesAtOnce: nothing holds the model, so Close
// frees the engine's cache and the backend before it returns, and every
// later call fails with ErrClosed.
func TestCloseWithoutUsersReleasesAtOnce(t *testing.T) {
	m := openDemo(t)
	if m.Backend().Allocated() == 0 {
		t.Fatal("an open model should hold its engine's cache")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !released(m) || m.Backend().Allocated() != 0 {
		t.Fatalf("after Close: released %v, %d bytes allocated; want released, 0", released(m), m.Backend().Allocated())
	}
	if _, _, err := m.Choose(context.Background(), question, []string{"A", "B"}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Choose after Close: %v, want ErrClosed", err)
	}
	if _, err := m.Chat(context.Background(), question, llm.Settings{MaxTokens: 4}, nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Chat after Close: %v, want ErrClosed", err)
	}
	if _, err := m.Acquire(); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Acquire after Close: %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestAcquireOutlivesClose: an eval-like user acquires the model, its
// owner closes it, and the user keeps calling it until it lets go; only
// then is the memory freed.
func TestAcquireOutlivesClose(t *testing.T) {
	m := openDemo(t)
	release, err := m.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := m.Choose(context.Background(), question, []string{"A", "B", "C"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if released(m) || m.Backend().Allocated() == 0 {
		t.Fatal("Close released a model that is still acquired")
	}
	if _, err := m.Acquire(); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Acquire after Close: %v, want ErrClosed", err)
	}
	after, _, err := m.Choose(context.Background(), question, []string{"A", "B", "C"})
	if err != nil || after != before {
		t.Fatalf("Choose while acquired after Close: %d, %v; want %d, nil", after, err, before)
	}
	if _, err := m.Chat(context.Background(), question, llm.Settings{MaxTokens: 4}, nil); err != nil {
		t.Fatalf("Chat while acquired after Close: %v", err)
	}
	release()
	release() // only the first counts
	if !released(m) || m.Backend().Allocated() != 0 {
		t.Fatalf("after the last release: released %v, %d bytes allocated; want released, 0", released(m), m.Backend().Allocated())
	}
	if _, _, err := m.Choose(context.Background(), question, []string{"A", "B"}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Choose after the last release: %v, want ErrClosed", err)
	}
}

// TestCloseDuringChat closes the model while a reply streams: Close
// returns at once, the reply finishes, and the model is released when the
// call returns.
func TestCloseDuringChat(t *testing.T) {
	m := openDemo(t)
	streaming, resume := make(chan struct{}), make(chan struct{})
	type result struct {
		rep llm.Reply
		err error
	}
	done := make(chan result, 1)
	go func() {
		first := true
		rep, err := m.Chat(context.Background(), question, llm.Settings{MaxTokens: 24, Seed: 1}, func(llm.Event) {
			if first {
				first = false
				close(streaming)
				<-resume
			}
		})
		done <- result{rep, err}
	}()
	<-streaming
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the reply in flight")
	}
	if released(m) {
		t.Fatal("released while a reply streams")
	}
	close(resume)
	r := <-done
	if r.err != nil || r.rep.Stats.Generated == 0 {
		t.Fatalf("reply after Close: %d tokens, %v; want it to finish", r.rep.Stats.Generated, r.err)
	}
	if !released(m) || m.Backend().Allocated() != 0 {
		t.Fatalf("after the reply: released %v, %d bytes allocated; want released, 0", released(m), m.Backend().Allocated())
	}
}
