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
//
// At most Options.MaxLoaded models are resident (loading, loaded, or
// evicted but still serving requests). A load waits for room: the least
// recently used model (idle ones first) leaves the cache, so no new request
// reaches it, and is closed when its last request ends; only then does the
// new model load, so two never share the device's memory beyond the limit.
// Loads run one at a time so that each evicts only what it needs.
type registry struct {
	list    []home.Checkpoint
	def     string
	open    Opener
	opts    *Options
	baseCtx context.Context
	loadOne chan struct{} // held by the load making room and opening

	mu       sync.Mutex
	entries  map[string]*entry
	failed   map[string]error // last load error per model, for /health
	ready    bool             // the default model has loaded once
	resident int              // models holding memory, see above
	draining int              // of those, evicted ones waiting for their requests
	freed    chan struct{}    // closed (and replaced) when resident drops
	loads    sync.WaitGroup
}

// newRegistry serves list, opening models with open until baseCtx ends.
func newRegistry(baseCtx context.Context, list []home.Checkpoint, open Opener, opts *Options) *registry {
	return &registry{list: list, open: open, opts: opts, baseCtx: baseCtx, loadOne: make(chan struct{}, 1),
		entries: map[string]*entry{}, failed: map[string]error{}, freed: make(chan struct{})}
}

// entry is one model, loading or loaded.
type entry struct {
	ck    home.Checkpoint
	ready chan struct{} // closed when loading ends; then model or err is set
	model llm.Model
	err   error
	sched *scheduler

	refs     int  // requests using it (guarded by registry.mu)
	evicted  bool // out of entries: the last request closes the model
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
	done := func() { r.leave(e) }
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

// leave ends one use of e; the last use of an evicted entry unloads it.
func (r *registry) leave(e *entry) {
	r.mu.Lock()
	e.refs--
	e.lastUsed = time.Now()
	last := e.evicted && e.refs == 0
	r.mu.Unlock()
	if last {
		r.unload(e)
	}
}

// preload starts loading ck without using it.
func (r *registry) preload(ck home.Checkpoint) {
	r.leave(r.start(ck))
}

func (r *registry) load(e *entry) {
	defer r.loads.Done()
	m, err := r.openWithRoom(e)
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
	r.mu.Unlock()
	if err != nil {
		r.opts.logf("load %s: %v", e.ck.Name(), err)
		return
	}
	r.opts.logf("loaded %s (%s)", e.ck.Name(), m.Info().Device)
}

// openWithRoom opens e's model once there is room for it (makeRoom), one
// load at a time.
func (r *registry) openWithRoom(e *entry) (llm.Model, error) {
	select {
	case r.loadOne <- struct{}{}:
	case <-r.baseCtx.Done():
		return nil, r.baseCtx.Err()
	}
	defer func() { <-r.loadOne }()
	if err := r.makeRoom(e); err != nil {
		return nil, err
	}
	m, err := r.open(r.baseCtx, e.ck)
	if err == nil && m == nil {
		err = fmt.Errorf("opener returned no model")
	}
	if err != nil {
		r.mu.Lock()
		r.resident--
		r.wakeLocked()
		r.mu.Unlock()
	}
	return m, err
}

// makeRoom waits until fewer than MaxLoaded models are resident and counts
// keep's. While the cache is full and no evicted model is on its way out,
// it evicts the least recently used one: an idle model is closed at once,
// a busy one when its last request ends.
func (r *registry) makeRoom(keep *entry) error {
	r.mu.Lock()
	for r.resident >= r.opts.MaxLoaded {
		var idle *entry
		if v := r.lru(keep); v != nil && r.draining == 0 {
			delete(r.entries, v.ck.Name())
			v.evicted = true
			r.draining++
			if v.refs == 0 {
				idle = v
				r.opts.logf("unload %s (keeping at most %d models loaded)", v.ck.Name(), r.opts.MaxLoaded)
			} else {
				r.opts.logf("unload %s when its %d requests end (keeping at most %d models loaded)", v.ck.Name(), v.refs, r.opts.MaxLoaded)
			}
		}
		freed := r.freed
		r.mu.Unlock()
		if idle != nil {
			r.unload(idle)
		}
		select {
		case <-freed:
		case <-r.baseCtx.Done():
			return r.baseCtx.Err()
		}
		r.mu.Lock()
	}
	r.resident++
	r.mu.Unlock()
	return nil
}

// lru is the least recently used loaded model other than keep, idle ones
// first; nil if there is none. r.mu must be held.
func (r *registry) lru(keep *entry) *entry {
	var best *entry
	for _, e := range r.entries {
		if e == keep || e.model == nil {
			continue
		}
		switch idle, bestIdle := e.refs == 0, best != nil && best.refs == 0; {
		case best == nil, idle && !bestIdle:
			best = e
		case idle == bestIdle && e.lastUsed.Before(best.lastUsed):
			best = e
		}
	}
	return best
}

// unload closes an evicted model nobody uses any more and frees its room.
func (r *registry) unload(e *entry) {
	if err := e.model.Close(); err != nil {
		r.opts.logf("unload %s: %v", e.ck.Name(), err)
	}
	r.mu.Lock()
	e.model = nil // keep no reference to a closed model
	r.resident--
	r.draining--
	r.wakeLocked()
	r.mu.Unlock()
}

// wakeLocked tells loads waiting for room that resident dropped. r.mu must
// be held.
func (r *registry) wakeLocked() {
	close(r.freed)
	r.freed = make(chan struct{})
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
