package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
)

// checkCover runs Parallel(n) and checks that every index is visited once.
func checkCover(t *testing.T, n int) {
	t.Helper()
	seen := make([]atomic.Int32, n)
	var calls atomic.Int32
	Parallel(n, func(lo, hi int) {
		calls.Add(1)
		if lo < 0 || hi > n || lo >= hi {
			t.Errorf("Parallel(%d): bad chunk [%d, %d)", n, lo, hi)
			return
		}
		for i := lo; i < hi; i++ {
			seen[i].Add(1)
		}
	})
	for i := range seen {
		if c := seen[i].Load(); c != 1 {
			t.Fatalf("Parallel(%d): index %d visited %d times", n, i, c)
		}
	}
	if n == 0 && calls.Load() != 0 {
		t.Fatalf("Parallel(0) called fn %d times", calls.Load())
	}
}

func TestPoolCover(t *testing.T) {
	defer SetThreads(Threads())
	for _, th := range []int{1, 2, 3, 8} {
		SetThreads(th)
		if Threads() != th {
			t.Fatalf("SetThreads(%d): Threads() = %d", th, Threads())
		}
		for _, n := range []int{0, 1, 2, 3, 7, 8, 100, 1000} {
			checkCover(t, n)
		}
	}
	SetThreads(0)
	if Threads() != 1 {
		t.Fatalf("SetThreads(0): Threads() = %d, want 1", Threads())
	}
}

func TestPoolConcurrent(t *testing.T) {
	defer SetThreads(Threads())
	SetThreads(4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				checkCover(t, (g*37+i)%50)
			}
		}()
	}
	wg.Wait()
}

func TestPoolNested(t *testing.T) {
	var total atomic.Int64
	Parallel(8, func(lo, hi int) {
		for range hi - lo {
			Parallel(10, func(lo, hi int) { total.Add(int64(hi - lo)) })
		}
	})
	if total.Load() != 80 {
		t.Fatalf("nested Parallel covered %d indices, want 80", total.Load())
	}
}

func TestPoolSetThreadsWhileBusy(t *testing.T) {
	defer SetThreads(Threads())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				checkCover(t, 64)
			}
		}
	}()
	for _, n := range []int{1, 5, 2, 3, 1, 2} {
		SetThreads(n)
	}
	close(stop)
	wg.Wait()
}
