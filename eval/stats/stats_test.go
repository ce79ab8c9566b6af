package stats

import (
	"math"
	"slices"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestWilson(t *testing.T) {
	// Reference values: the closed form (2np + z² ± z√(z² + 4np(1−p)))/(2(n + z²)),
	// evaluated in Python.
	tests := []struct {
		passed, n int
		lo, hi    float64
	}{
		{0, 10, 0, 0.27753279},
		{10, 10, 0.72246721, 1},
		{5, 10, 0.23659309, 0.76340691},
		{81, 263, 0.25528852, 0.36620958},
		{1, 1, 0.20654931, 1},
	}
	for _, tt := range tests {
		lo, hi := Wilson(tt.passed, tt.n, Z95)
		if !near(lo, tt.lo, 1e-6) || !near(hi, tt.hi, 1e-6) {
			t.Errorf("Wilson(%d, %d) = [%.8f, %.8f], want [%.8f, %.8f]", tt.passed, tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
	if lo, hi := Wilson(0, 0, Z95); lo != 0 || hi != 1 {
		t.Errorf("Wilson(0, 0) = [%v, %v], want [0, 1]", lo, hi)
	}
}

// binom is C(n, k) in float64 for the cross-check.
func binom(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

func TestPassAtK(t *testing.T) {
	for n := 1; n <= 12; n++ {
		for c := 0; c <= n; c++ {
			for k := 1; k <= n; k++ {
				want := 1 - binom(n-c, k)/binom(n, k)
				if got := PassAtK(n, c, k); !near(got, want, 1e-12) {
					t.Fatalf("PassAtK(%d, %d, %d) = %v, want %v", n, c, k, got, want)
				}
			}
		}
	}
	// pass@1 is the fraction of passing samples; pass@n is any-of-n.
	if got := PassAtK(10, 3, 1); !near(got, 0.3, 1e-15) {
		t.Errorf("PassAtK(10, 3, 1) = %v, want 0.3", got)
	}
	if got := PassAtK(10, 1, 10); got != 1 {
		t.Errorf("PassAtK(10, 1, 10) = %v, want 1", got)
	}
	if got := PassAtK(10, 0, 10); got != 0 {
		t.Errorf("PassAtK(10, 0, 10) = %v, want 0", got)
	}
	if got := PassAtK(2, 1, 3); !math.IsNaN(got) {
		t.Errorf("PassAtK(2, 1, 3) = %v, want NaN", got)
	}
	// Chen et al. example values (n=200): numerically stable for large n.
	if got := PassAtK(200, 13, 100); !near(got, 1-binom(187, 100)/binom(200, 100), 1e-9) {
		t.Errorf("PassAtK(200, 13, 100) = %v", got)
	}
}

func TestKs(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want []int
	}{{1, []int{1}}, {5, []int{1, 5}}, {10, []int{1, 10}}, {20, []int{1, 10, 20}}, {100, []int{1, 10, 100}}} {
		if got := Ks(tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("Ks(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestChatCORE(t *testing.T) {
	// Upstream README (d20 SFT): ARC-E 0.3876, ARC-C 0.2807, MMLU 0.3151,
	// GSM8K 0.0455, HumanEval 0.0854 → ChatCORE 0.0884.
	got := ChatCORE([]float64{0.3876, 0.2807, 0.3151, 0.0455, 0.0854}, []float64{0.25, 0.25, 0.25, 0, 0})
	if !near(got, 0.0884, 5e-5) {
		t.Errorf("ChatCORE = %.5f, want 0.0884", got)
	}
	if got := ChatCORE(nil, nil); !math.IsNaN(got) {
		t.Errorf("ChatCORE(empty) = %v, want NaN", got)
	}
}
