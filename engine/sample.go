package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Sampling controls how the next token is drawn from the logits.
type Sampling struct {
	// Temperature ≥ 0; 0 means argmax (first maximum), ignoring TopK/TopP.
	Temperature float64
	// TopK > 0 keeps the K largest logits (0 disables, as upstream).
	TopK int
	// TopP in (0, 1] keeps the smallest set of most likely tokens whose
	// probability reaches TopP (1 or 0 disables).
	TopP float64
	// Seed makes sampling reproducible: same seed and inputs, same tokens.
	Seed uint64
}

// Validate reports out-of-range settings.
func (s Sampling) Validate() error {
	switch {
	case s.Temperature < 0 || math.IsNaN(s.Temperature) || math.IsInf(s.Temperature, 0):
		return fmt.Errorf("temperature %v: want ≥ 0", s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("top-k %d: want ≥ 0 (0 disables)", s.TopK)
	case s.TopP < 0 || s.TopP > 1 || math.IsNaN(s.TopP):
		return fmt.Errorf("top-p %v: want 0 < p ≤ 1 (0 or 1 disables)", s.TopP)
	}
	return nil
}

// sampler draws tokens; it owns its scratch so sampling never allocates.
type sampler struct {
	s     Sampling
	rng   *rand.Rand
	idx   []int
	probs []float64
}

func newSampler(s Sampling, vocab int) *sampler {
	return &sampler{s: s, rng: rand.New(rand.NewPCG(s.Seed, 0x6e616e6f63686174)),
		idx: make([]int, vocab), probs: make([]float64, vocab)}
}

// Argmax returns the index of the first maximum of logits.
func Argmax(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// next samples one token from logits (one row).
func (sp *sampler) next(logits []float32) int {
	s := sp.s
	if s.Temperature == 0 {
		return Argmax(logits)
	}
	// Candidate set: all ids, or the top-k (ties broken by lower id).
	n := len(logits)
	idx := sp.idx[:n]
	for i := range idx {
		idx[i] = i
	}
	less := func(a, b int) bool {
		if logits[a] != logits[b] {
			return logits[a] > logits[b]
		}
		return a < b
	}
	if s.TopK > 0 && s.TopK < n {
		selectTop(idx, s.TopK, less)
		n = s.TopK
		idx = idx[:n]
	}
	usesTopP := s.TopP > 0 && s.TopP < 1
	if usesTopP {
		sort.Slice(idx, func(i, j int) bool { return less(idx[i], idx[j]) })
	}
	// Softmax over the candidates at the temperature, in float64.
	mx := float64(math.Inf(-1))
	for _, id := range idx {
		mx = math.Max(mx, float64(logits[id]))
	}
	probs := sp.probs[:n]
	var sum float64
	for i, id := range idx {
		p := math.Exp((float64(logits[id]) - mx) / s.Temperature)
		probs[i] = p
		sum += p
	}
	if usesTopP {
		var cum float64
		for i := range probs {
			cum += probs[i] / sum
			if cum >= s.TopP {
				n = i + 1
				break
			}
		}
		probs, idx = probs[:n], idx[:n]
		sum = 0
		for _, p := range probs {
			sum += p
		}
	}
	r := sp.rng.Float64() * sum
	for i, p := range probs {
		r -= p
		if r < 0 {
			return idx[i]
		}
	}
	return idx[len(idx)-1]
}

// selectTop partially orders idx so its first k elements are the k best
// (by less), using quickselect: O(n) on average.
func selectTop(idx []int, k int, less func(a, b int) bool) {
	lo, hi := 0, len(idx)-1
	for lo < hi {
		p := idx[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for less(idx[i], p) {
				i++
			}
			for less(p, idx[j]) {
				j--
			}
			if i <= j {
				idx[i], idx[j] = idx[j], idx[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
