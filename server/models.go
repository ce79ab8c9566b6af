package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/home"
)

// Opener loads a checkpoint; the server calls it on demand, at most once at
// a time per checkpoint, with a context that ends when the server closes.
type Opener func(ctx context.Context, ck home.Checkpoint) (llm.Model, error)

// Batcher is implemented by models whose Chat and Complete may be called
// from many goroutines at once because they decode the rows of concurrent
// requests together (continuous batching). BatchRows is the most rows the
// model decodes per step; the server admits requests until their samples
// fill it. Models without it run one request at a time (unless
// Options.MaxConcurrent says otherwise).
type Batcher interface {
	BatchRows() int
}

// registry loads, shares and evicts the served models.
type registry struct {
	list    []home.Checkpoint
	def     string
	open    Opener
	opts    *Options
	baseCtx context.Context

	mu      sync.Mutex
	entries map[string]*entry
	failed  map[string]error // last load error per model, for /health
	ready   bool             // the default model has loaded once
	loads   sync.WaitGroup
}

// entry is one model, loading or loaded.
type entry struct {
	ck    home.Checkpoint
	ready chan struct{} // closed when loading ends; then model or err is set
	model llm.Model
	err   error
	sched *scheduler

	refs     int // requests using it (guarded by registry.mu)
	lastUsed time.Time
}

// lookup resolves a request's model: "" is the default, otherwise an exact
// "source/tag/step" or a prefix of one ("sft", "sft/d20") naming the best
// match as home.Scan orders them.
func (r *registry) lookup(name string) (home.Checkpoint, bool) {
	if name == "" {
		name = r.def
	}
	for _, ck := range r.list {
		if ck.Name() == name {
			return ck, true
		}
	}
	for _, ck := range r.list {
		if strings.HasPrefix(ck.Name(), name+"/") {
			return ck, true
		}
	}
	return home.Checkpoint{}, false
}

// use returns the loaded model named name, loading it if needed, and the
// function that ends the use.
func (r *registry) use(ctx context.Context, name string) (*entry, func(), error) {
	ck, ok := r.lookup(name)
	if !ok {
		return nil, nil, modelNotFound(name)
	}
	e := r.start(ck)
	done := func() {
		r.mu.Lock()
		e.refs--
		e.lastUsed = time.Now()
		r.mu.Unlock()
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		done()
		return nil, nil, ctx.Err()
	}
	if e.err != nil {
		done()
		return nil, nil, &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: strPtr("model_load_failed"),
			Message: fmt.Sprintf("load model %q: %v", ck.Name(), e.err)}
	}
	return e, done, nil
}

// start returns ck's entry with one more user, starting to load it if it
// is not there.
func (r *registry) start(ck home.Checkpoint) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[ck.Name()]; ok {
		e.refs++
		return e
	}
	e := &entry{ck: ck, ready: make(chan struct{}), refs: 1}
	r.entries[ck.Name()] = e
	r.loads.Add(1)
	go r.load(e)
	return e
}

// preload starts loading ck without using it.
func (r *registry) preload(ck home.Checkpoint) {
	e := r.start(ck)
	r.mu.Lock()
	e.refs--
	r.mu.Unlock()
}

func (r *registry) load(e *entry) {
	defer r.loads.Done()
	m, err := r.open(r.baseCtx, e.ck)
	if err == nil && m == nil {
		err = fmt.Errorf("opener returned no model")
	}
	r.mu.Lock()
	if err != nil {
		e.err = err
		r.failed[e.ck.Name()] = err
		delete(r.entries, e.ck.Name()) // the next request tries again
	} else {
		e.model = m
		e.sched = newScheduler(r.capacity(m))
		delete(r.failed, e.ck.Name())
		r.ready = r.ready || e.ck.Name() == r.def
	}
	close(e.ready)
	evict := r.evictable(e)
	r.mu.Unlock()
	if err != nil {
		r.opts.logf("load %s: %v", e.ck.Name(), err)
		return
	}
	r.opts.logf("loaded %s (%s)", e.ck.Name(), m.Info().Device)
	for _, old := range evict {
		r.opts.logf("unload %s (keeping at most %d models loaded)", old.ck.Name(), r.opts.MaxLoaded)
		old.model.Close()
	}
}

// capacity is the scheduler's size for m: units are rows for a Batcher,
// requests otherwise.
func (r *registry) capacity(m llm.Model) (capacity, maxQueue int) {
	capacity = 1
	if b, ok := m.(Batcher); ok {
		capacity = max(b.BatchRows(), 1)
	}
	if r.opts.MaxConcurrent > 0 {
		capacity = r.opts.MaxConcurrent
	}
	return capacity, r.opts.MaxQueue
}

// evictable removes and returns the least recently used idle models beyond
// Options.MaxLoaded, never keep. r.mu must be held.
func (r *registry) evictable(keep *entry) []*entry {
	var out []*entry
	for {
		var loaded []*entry
		for _, e := range r.entries {
			if e.model != nil {
				loaded = append(loaded, e)
			}
		}
		if len(loaded) <= r.opts.MaxLoaded {
			return out
		}
		var lru *entry
		for _, e := range loaded {
			if e != keep && e.refs == 0 && (lru == nil || e.lastUsed.Before(lru.lastUsed)) {
				lru = e
			}
		}
		if lru == nil { // all busy: over the limit until they finish
			return out
		}
		delete(r.entries, lru.ck.Name())
		out = append(out, lru)
	}
}

// status reports the default model's state: "ok" (loaded, or unloaded to
// make room after loading once), "loading" (the first time) or "error"
// (its last load failed); e is its entry when it is loaded.
func (r *registry) status() (state string, e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e = r.entries[r.def]
	switch {
	case e != nil && e.model != nil:
		return "ok", e
	case e == nil && r.failed[r.def] != nil:
		return "error", nil
	case r.ready:
		return "ok", nil
	}
	return "loading", nil
}

// closeAll waits for loads in progress and closes every model.
func (r *registry) closeAll() error {
	r.loads.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	var first error
	for name, e := range r.entries {
		if e.model != nil {
			if err := e.model.Close(); err != nil && first == nil {
				first = err
			}
		}
		delete(r.entries, name)
	}
	return first
}
