package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The worker pool: Threads()-1 persistent helper goroutines plus the calling
// goroutine share each Parallel call. A call publishes a job; helpers claim
// chunks of it with an atomic counter, and the caller works on its own job
// too, so a call always completes even when every helper is busy with another
// caller's job. Idle helpers spin briefly (a decode step issues ~200 calls
// back to back), then park on a channel.

// runner is the work of one job: run(lo, hi) handles [lo, hi).
type runner interface{ run(lo, hi int) }

type funcRunner func(lo, hi int)

func (f funcRunner) run(lo, hi int) { f(lo, hi) }

type job struct {
	r      runner
	n      int
	chunk  int
	nchunk int64
	next   atomic.Int64  // next chunk to claim
	taken  int           // helpers that took the job; guarded by pool.mu
	done   chan struct{} // one token per helper that took the job
}

func (j *job) work() {
	for {
		c := j.next.Add(1) - 1
		if c >= j.nchunk {
			return
		}
		lo := int(c) * j.chunk
		j.r.run(lo, min(lo+j.chunk, j.n))
	}
}

const (
	maxThreads  = 256
	spinTime    = 200 * time.Microsecond // how long an idle helper spins before parking
	chunksPerTh = 8                      // chunks per thread, for load balance
)

type pool struct {
	mu       sync.Mutex
	jobs     []*job // published jobs that may have chunks left
	threads  atomic.Int32
	helpers  atomic.Int32 // helper goroutines running; changed under mu
	gen      atomic.Uint64
	sleeping atomic.Int32
	wake     chan struct{}
	jobPool  sync.Pool
}

var thePool = sync.OnceValue(func() *pool {
	p := &pool{wake: make(chan struct{}, maxThreads)}
	p.jobPool.New = func() any { return &job{done: make(chan struct{}, maxThreads)} }
	p.setThreads(runtime.GOMAXPROCS(0))
	return p
})

// Threads returns the number of threads Parallel splits work across (the
// caller plus Threads()-1 helper goroutines).
func Threads() int { return int(thePool().threads.Load()) }

// SetThreads sets the number of threads Parallel uses; n < 1 means 1 and the
// default is runtime.GOMAXPROCS(0). Helpers beyond the new count exit when
// idle.
func SetThreads(n int) { thePool().setThreads(n) }

func (p *pool) setThreads(n int) {
	n = max(1, min(n, maxThreads))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.threads.Store(int32(n))
	for int(p.helpers.Load()) < n-1 {
		p.helpers.Add(1)
		go p.helper()
	}
	// Wake sleepers so that surplus ones notice and exit.
	p.gen.Add(1)
	for range p.sleeping.Load() {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// Parallel calls fn on disjoint chunks [lo, hi) covering [0, n), on up to
// Threads() goroutines, and returns when all are done. The calling
// goroutine takes part. It is safe for concurrent use, and fn may itself
// call Parallel. With n <= 0 it returns at once.
func Parallel(n int, fn func(lo, hi int)) {
	parallel(n, 1, funcRunner(fn))
}

// parallel is Parallel with chunk boundaries at multiples of grain (except
// the last, at n).
func parallel(n, grain int, r runner) {
	if n <= 0 {
		return
	}
	p := thePool()
	nt := int(p.threads.Load())
	units := (n + grain - 1) / grain
	if nt <= 1 || units <= 1 {
		r.run(0, n)
		return
	}
	nchunk := min(units, nt*chunksPerTh)
	chunk := (units + nchunk - 1) / nchunk * grain
	nchunk = (n + chunk - 1) / chunk

	j := p.jobPool.Get().(*job)
	j.r, j.n, j.chunk, j.nchunk, j.taken = r, n, chunk, int64(nchunk), 0
	j.next.Store(0)

	p.mu.Lock()
	p.jobs = append(p.jobs, j)
	p.mu.Unlock()
	p.gen.Add(1)
	if s := int(p.sleeping.Load()); s > 0 {
		for range min(s, nchunk-1) {
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}

	j.work()

	p.mu.Lock()
	for i, x := range p.jobs {
		if x == j {
			last := len(p.jobs) - 1
			p.jobs[i] = p.jobs[last]
			p.jobs[last] = nil
			p.jobs = p.jobs[:last]
			break
		}
	}
	taken := j.taken
	p.mu.Unlock()
	for range taken {
		for spin := 0; len(j.done) == 0 && spin < 1<<14; spin++ {
		}
		<-j.done
	}
	j.r = nil
	p.jobPool.Put(j)
}

// pick returns a published job with chunks left, counting the caller as one
// of its helpers, or nil.
func (p *pool) pick() *job {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, j := range p.jobs {
		if j.next.Load() < j.nchunk {
			j.taken++
			return j
		}
	}
	return nil
}

func (p *pool) helper() {
	for {
		g := p.gen.Load()
		if j := p.pick(); j != nil {
			j.work()
			j.done <- struct{}{}
			continue
		}
		if p.helpers.Load() > p.threads.Load()-1 {
			p.mu.Lock()
			if p.helpers.Load() > p.threads.Load()-1 {
				p.helpers.Add(-1)
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
		}
		if p.spin(g) {
			continue
		}
		p.sleeping.Add(1)
		if p.gen.Load() != g {
			p.sleeping.Add(-1)
			continue
		}
		<-p.wake
		p.sleeping.Add(-1)
	}
}

// spin waits up to spinTime for gen to move past g and reports whether it did.
func (p *pool) spin(g uint64) bool {
	var start time.Time
	for i := 1; ; i++ {
		if p.gen.Load() != g {
			return true
		}
		if i&255 == 0 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spinTime {
				return false
			}
			runtime.Gosched()
		}
	}
}
