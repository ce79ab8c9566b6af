package server

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/home"
)

// heldModel is a real local model whose Chat waits for gate once it has
// started, so that a request can be kept in flight while another model is
// asked for.
type heldModel struct {
	*local.Model
	started chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (h *heldModel) Chat(ctx context.Context, msgs []llm.Message, s llm.Settings, on func(llm.Event)) (llm.Reply, error) {
	h.once.Do(func() { close(h.started) })
	<-h.gate
	return h.Model.Chat(ctx, msgs, s, on)
}

func releasedNow(m *local.Model) bool {
	select {
	case <-m.Released():
		return true
	default:
		return false
	}
}

// TestEvictionFreesOldModelFirst serves the demo model under two names
// with room for one. A request for the second arrives while one on the
// first is still generating: the first leaves the cache at once but keeps
// its memory until that request has finished (and it finishes normally);
// then it is released (engine stopped, backend closed) before the second
// loads, so the two are never resident together.
func TestEvictionFreesOldModelFirst(t *testing.T) {
	demoHome := filepath.Join("..", "testdata", "demo", "home")
	ck, err := home.Resolve(demoHome, "sft", "", -1)
	if err != nil {
		t.Fatal(err)
	}
	first, second := ck, ck
	second.Step--

	var mu sync.Mutex
	var log []string
	models := map[string]*heldModel{}
	o := Options{MaxLoaded: 1, Checkpoints: []home.Checkpoint{first, second},
		Open: func(ctx context.Context, c home.Checkpoint) (llm.Model, error) {
			mu.Lock()
			defer mu.Unlock()
			for name, m := range models {
				if !releasedNow(m.Model) {
					log = append(log, "still loaded: "+name)
				}
			}
			m, err := local.Open(c, local.OpenOptions{Home: demoHome})
			if err != nil {
				return nil, err
			}
			h := &heldModel{Model: m, started: make(chan struct{}), gate: make(chan struct{})}
			if c.Name() != first.Name() {
				close(h.gate)
			}
			models[c.Name()] = h
			log = append(log, "open "+c.Name())
			return h, nil
		}}
	s, ts := newTestServer(t, o, nil)
	chat := func(model string) (int, string) {
		body := `{"model":"` + model + `","max_tokens":16,"temperature":0,"messages":[{"role":"user","content":"What is 2+2?"}]}`
		resp, err := ts.Client().Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	type answer struct {
		code int
		body string
	}
	inFlight, next := make(chan answer, 1), make(chan answer, 1)
	go func() { c, b := chat(first.Name()); inFlight <- answer{c, b} }()
	mu.Lock()
	old := models[first.Name()]
	mu.Unlock()
	select {
	case <-old.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never reached the model")
	}
	go func() { c, b := chat(second.Name()); next <- answer{c, b} }()
	waitFor(t, "the first model to be evicted", func() bool {
		s.models.mu.Lock()
		defer s.models.mu.Unlock()
		return s.models.draining == 1 && s.models.entries[first.Name()] == nil
	})
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	if len(log) != 1 || releasedNow(old.Model) {
		t.Errorf("while a request runs on the evicted model: log %q, released %v; want only %q, not released",
			log, releasedNow(old.Model), "open "+first.Name())
	}
	mu.Unlock()

	close(old.gate)
	if a := <-inFlight; a.code != http.StatusOK || !strings.Contains(a.body, `"finish_reason"`) {
		t.Errorf("request on the evicted model: %d %s", a.code, a.body)
	}
	if a := <-next; a.code != http.StatusOK || !strings.Contains(a.body, `"model":"`+second.Name()+`"`) {
		t.Errorf("request on the new model: %d %s", a.code, a.body)
	}
	if !releasedNow(old.Model) || old.Backend().Allocated() != 0 {
		t.Errorf("evicted model: released %v, %d bytes allocated; want released, 0", releasedNow(old.Model), old.Backend().Allocated())
	}
	mu.Lock()
	want := []string{"open " + first.Name(), "open " + second.Name()}
	if strings.Join(log, "; ") != strings.Join(want, "; ") {
		t.Errorf("opens: %q, want %q (nothing else loaded when the second opened)", log, want)
	}
	mu.Unlock()
	s.models.mu.Lock()
	if s.models.resident != 1 || s.models.draining != 0 {
		t.Errorf("resident %d, draining %d; want 1, 0", s.models.resident, s.models.draining)
	}
	s.models.mu.Unlock()
}

func TestEvictionPrefersIdleThenOldest(t *testing.T) {
	now := time.Now()
	loaded := func(refs int, age time.Duration) *entry {
		return &entry{model: &heldModel{}, refs: refs, lastUsed: now.Add(-age)}
	}
	for _, tt := range []struct {
		name    string
		entries map[string]*entry
		want    string
	}{
		{"oldest idle", map[string]*entry{"a": loaded(0, time.Minute), "b": loaded(0, time.Hour), "c": loaded(1, 2*time.Hour)}, "b"},
		{"idle before busy", map[string]*entry{"a": loaded(2, 2*time.Hour), "b": loaded(0, time.Second)}, "b"},
		{"oldest busy", map[string]*entry{"a": loaded(1, time.Minute), "b": loaded(3, time.Hour)}, "b"},
		{"loading ones stay", map[string]*entry{"a": {refs: 0}, "b": loaded(1, time.Second)}, "b"},
		{"only the one loading", map[string]*entry{"keep": loaded(0, time.Hour)}, ""},
	} {
		r := &registry{entries: tt.entries}
		got := r.lru(tt.entries["keep"])
		name := ""
		for n, e := range tt.entries {
			if e == got {
				name = n
			}
		}
		if name != tt.want {
			t.Errorf("%s: evicts %q, want %q", tt.name, name, tt.want)
		}
	}
}
