// Package nprand reproduces the one piece of numpy's random module that
// nanochat's task order depends on: numpy.random.default_rng(seed)
// .permutation(n), i.e. SeedSequence seeding, the PCG64 bit generator and
// the Fisher–Yates shuffle of Generator.shuffle. Upstream shuffles every
// evaluation dataset with seed 42 this way (HF datasets' shuffle does the
// same), so -x/--max-problems picks the first N rows of that order.
package nprand

import "math/bits"

// SeedSequence constants (numpy/random/bit_generator.pyx).
const (
	poolSize = 4
	initA    = 0x43b0d7e5
	multA    = 0x931e8875
	initB    = 0x8b51f9dd
	multB    = 0x58f38ded
	mixMultL = 0xca01f9dd
	mixMultR = 0x4973f715
	xshift   = 16
)

// seedPool is SeedSequence(entropy).pool for a non-negative integer seed
// and no spawn key.
func seedPool(seed uint64) [poolSize]uint32 {
	// _coerce_to_uint32_array: little-endian 32-bit words, [0] for 0.
	entropy := []uint32{uint32(seed)}
	if hi := uint32(seed >> 32); hi != 0 {
		entropy = append(entropy, hi)
	}
	hashConst := uint32(initA)
	hashmix := func(v uint32) uint32 {
		v ^= hashConst
		hashConst *= multA
		v *= hashConst
		return v ^ v>>xshift
	}
	mix := func(x, y uint32) uint32 {
		r := mixMultL*x - mixMultR*y
		return r ^ r>>xshift
	}
	var pool [poolSize]uint32
	for i := range pool {
		if i < len(entropy) {
			pool[i] = hashmix(entropy[i])
		} else {
			pool[i] = hashmix(0)
		}
	}
	for src := range pool {
		for dst := range pool {
			if src != dst {
				pool[dst] = mix(pool[dst], hashmix(pool[src]))
			}
		}
	}
	for src := poolSize; src < len(entropy); src++ {
		for dst := range pool {
			pool[dst] = mix(pool[dst], hashmix(entropy[src]))
		}
	}
	return pool
}

// generateState is SeedSequence.generate_state(n, np.uint64).
func generateState(pool [poolSize]uint32, n int) []uint64 {
	words := make([]uint32, 2*n)
	hashConst := uint32(initB)
	for i := range words {
		v := pool[i%poolSize]
		v ^= hashConst
		hashConst *= multB
		v *= hashConst
		words[i] = v ^ v>>xshift
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(words[2*i]) | uint64(words[2*i+1])<<32
	}
	return out
}

// PCG64 is numpy's default bit generator: a 128-bit LCG with the XSL-RR
// output function, plus numpy's one-word buffer for 32-bit draws.
type PCG64 struct {
	hi, lo       uint64 // state
	incHi, incLo uint64 // increment (odd)
	has32        bool
	buf32        uint32
}

// PCG_DEFAULT_MULTIPLIER_128.
const mulHi, mulLo = 2549297995355413924, 4865540595714422341

// NewPCG64 seeds like numpy.random.PCG64(seed) (through SeedSequence).
func NewPCG64(seed uint64) *PCG64 {
	s := generateState(seedPool(seed), 4)
	// pcg64_set_seed: PCG_128BIT_CONSTANT(high, low) = (s[0], s[1]),
	// inc = (s[2], s[3]); pcg_setseq_128_srandom_r.
	g := &PCG64{}
	g.incHi = s[2]<<1 | s[3]>>63
	g.incLo = s[3]<<1 | 1
	g.step()
	var c uint64
	g.lo, c = bits.Add64(g.lo, s[1], 0)
	g.hi, _ = bits.Add64(g.hi, s[0], c)
	g.step()
	return g
}

// step advances the LCG: state = state*mult + inc (mod 2^128).
func (g *PCG64) step() {
	h, l := bits.Mul64(g.lo, mulLo)
	h += g.hi*mulLo + g.lo*mulHi
	var c uint64
	g.lo, c = bits.Add64(l, g.incLo, 0)
	g.hi, _ = bits.Add64(h, g.incHi, c)
}

// Uint64 is pcg64_next64: step, then XSL-RR of the new state.
func (g *PCG64) Uint64() uint64 {
	g.step()
	return bits.RotateLeft64(g.hi^g.lo, -int(g.hi>>58))
}

// Uint32 is pcg64_next32: the low half of a 64-bit draw, the high half
// kept for the next call.
func (g *PCG64) Uint32() uint32 {
	if g.has32 {
		g.has32 = false
		return g.buf32
	}
	v := g.Uint64()
	g.has32, g.buf32 = true, uint32(v>>32)
	return uint32(v)
}

// Interval is numpy's random_interval(max): a uniform integer in [0, max]
// by masked rejection sampling, from 32-bit draws when max fits in 32 bits.
func (g *PCG64) Interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	mask |= mask >> 32
	if max <= 0xffffffff {
		for {
			if v := uint64(g.Uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		if v := g.Uint64() & mask; v <= max {
			return v
		}
	}
}

// Permutation is numpy.random.default_rng(seed).permutation(n): arange(n)
// shuffled by Generator.shuffle (for i = n-1 … 1: j = random_interval(i);
// swap a[i], a[j]).
func Permutation(seed uint64, n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	g := NewPCG64(seed)
	for i := n - 1; i >= 1; i-- {
		j := g.Interval(uint64(i))
		p[i], p[j] = p[j], p[i]
	}
	return p
}
