package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// scheduler admits requests to one model in arrival order. A request needs
// n units of capacity (the rows it decodes for a batching model, always 1
// for a model that runs one generation at a time); when the capacity is in
// use it waits in a bounded queue for at most a timeout. A waiter whose
// context ends leaves the queue at once; a finished request's release
// admits the next ones.
type scheduler struct {
	capacity int
	maxQueue int

	mu      sync.Mutex
	used    int
	running int
	queue   []*waiter
}

type waiter struct {
	n     int
	ready chan struct{} // closed when admitted
	done  bool          // admitted
}

func newScheduler(capacity, maxQueue int) *scheduler {
	return &scheduler{capacity: max(capacity, 1), maxQueue: max(maxQueue, 0)}
}

// acquire waits for n units (at most the capacity) and returns the function
// that gives them back; it must be called exactly once.
func (s *scheduler) acquire(ctx context.Context, n int, timeout time.Duration) (func(), error) {
	n = min(max(n, 1), s.capacity)
	s.mu.Lock()
	if len(s.queue) == 0 && s.used+n <= s.capacity {
		s.used += n
		s.running++
		s.mu.Unlock()
		return s.releaser(n), nil
	}
	if len(s.queue) >= s.maxQueue {
		q := len(s.queue)
		s.mu.Unlock()
		return nil, &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: strPtr("queue_full"),
			Message: fmt.Sprintf("server busy: %d requests running and %d queued (the limit); retry later", s.running, q)}
	}
	wt := &waiter{n: n, ready: make(chan struct{})}
	s.queue = append(s.queue, wt)
	s.mu.Unlock()

	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	var err error
	select {
	case <-wt.ready:
		return s.releaser(n), nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-expired:
		err = &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: strPtr("queue_timeout"),
			Message: fmt.Sprintf("server busy: no free slot within %v; retry later", timeout)}
	}
	s.mu.Lock()
	if wt.done { // admitted while giving up: hand the units back
		s.mu.Unlock()
		s.releaser(n)()
		return nil, err
	}
	for i, q := range s.queue {
		if q == wt {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	s.dispatch() // the head may have changed
	s.mu.Unlock()
	return nil, err
}

func (s *scheduler) releaser(n int) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.used -= n
			s.running--
			s.dispatch()
			s.mu.Unlock()
		})
	}
}

// dispatch admits waiters from the head of the queue while they fit.
// s.mu must be held.
func (s *scheduler) dispatch() {
	for len(s.queue) > 0 && s.used+s.queue[0].n <= s.capacity {
		wt := s.queue[0]
		s.queue = s.queue[1:]
		s.used += wt.n
		s.running++
		wt.done = true
		close(wt.ready)
	}
}

// load reports the running requests, the queued ones and the capacity in use.
func (s *scheduler) load() (running, queued, used int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running, len(s.queue), s.used
}
