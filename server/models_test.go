package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/model/home"
)

// closer records Close.
type closer struct {
	*llmtest.Fake
	closed func()
}

func (c closer) Close() error { c.closed(); return nil }

func TestLoadOnDemandAndEvict(t *testing.T) {
	var mu sync.Mutex
	opened, closed := map[string]int{}, map[string]int{}
	failBase := true
	o := Options{MaxLoaded: 1, Open: func(ctx context.Context, ck home.Checkpoint) (llm.Model, error) {
		mu.Lock()
		defer mu.Unlock()
		if ck.Source == "base" && failBase {
			failBase = false
			return nil, errors.New("disk on fire")
		}
		opened[ck.Name()]++
		name := ck.Name()
		return closer{&llmtest.Fake{ModelInfo: llm.Info{Name: name, Chat: true}}, func() { mu.Lock(); closed[name]++; mu.Unlock() }}, nil
	}}
	_, ts := newTestServer(t, o, nil)
	chat := func(model string) (int, string) {
		return post(t, ts, "/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
	}
	if code, body := chat("sft/d2/10"); code != 200 || !strings.Contains(body, `"model":"sft/d2/10"`) {
		t.Fatalf("sft/d2/10: %d %s", code, body)
	}
	mu.Lock()
	if opened["sft/d2/20"] != 1 || opened["sft/d2/10"] != 1 || closed["sft/d2/20"] != 1 {
		t.Errorf("opened %v closed %v: the idle default should make room", opened, closed)
	}
	mu.Unlock()
	code, body := chat("base/d2/30")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `load model \"base/d2/30\": disk on fire`) {
		t.Errorf("failed load: %d %s", code, body)
	}
	if code, body := post(t, ts, "/v1/completions", `{"model":"base","prompt":"x"}`); code != 200 {
		t.Errorf("the next request should load again: %d %s", code, body)
	}
	resp, err := ts.Client().Get(ts.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/health with the default unloaded to make room: %d, want 200", resp.StatusCode)
	}
	if code, _ := chat(""); code != 200 {
		t.Errorf("default model: %d", code)
	}
}
