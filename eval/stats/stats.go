// Package stats holds the small statistics of an evaluation: Wilson score
// intervals for accuracies, the unbiased pass@k estimator and ChatCORE.
package stats

import "math"

// Z95 is the two-sided 95% normal quantile.
const Z95 = 1.959963984540054

// Wilson returns the Wilson score interval for passed successes out of n
// trials at normal quantile z (use Z95). n = 0 gives [0, 1].
func Wilson(passed, n int, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	p := float64(passed) / float64(n)
	nn := float64(n)
	z2 := z * z
	den := 1 + z2/nn
	center := (p + z2/(2*nn)) / den
	half := z / den * math.Sqrt(p*(1-p)/nn+z2/(4*nn*nn))
	return math.Max(0, center-half), math.Min(1, center+half)
}

// PassAtK is the unbiased estimator of pass@k (Chen et al. 2021, "Evaluating
// Large Language Models Trained on Code") for one problem with n samples of
// which c passed: 1 − C(n−c, k)/C(n, k), computed as the numerically stable
// product 1 − Π_{i=n−c+1}^{n} (1 − k/i). It is NaN when k > n.
func PassAtK(n, c, k int) float64 {
	if k <= 0 || k > n || c < 0 || c > n {
		return math.NaN()
	}
	if n-c < k {
		return 1
	}
	prod := 1.0
	for i := n - c + 1; i <= n; i++ {
		prod *= 1 - float64(k)/float64(i)
	}
	return 1 - prod
}

// Ks lists the k for which pass@k is reported with n samples per problem:
// 1, the powers of ten below n and n itself.
func Ks(n int) []int {
	var ks []int
	for k := 1; k < n; k *= 10 {
		ks = append(ks, k)
	}
	return append(ks, n)
}

// Centered maps an accuracy to (acc − baseline)/(1 − baseline): 0 at chance,
// 1 at perfect.
func Centered(acc, baseline float64) float64 {
	return (acc - baseline) / (1 - baseline)
}

// ChatCORE is upstream's metric: the mean over tasks of the centered
// accuracy. accs and baselines are parallel; NaN when empty.
func ChatCORE(accs, baselines []float64) float64 {
	if len(accs) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for i, a := range accs {
		sum += Centered(a, baselines[i])
	}
	return sum / float64(len(accs))
}
