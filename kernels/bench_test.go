package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// d20 (n_embd 1280) matmul shapes: q/k/v/o, MLP up, MLP down, lm_head.
var d20Shapes = [][2]int{{1280, 1280}, {1280, 5120}, {5120, 1280}, {1280, 65536}}

func benchISAs(b *testing.B, f func(b *testing.B)) {
	old := ISA()
	defer SetISA(old)
	for _, name := range ISAs() {
		SetISA(name)
		b.Run(name, f)
	}
}

func BenchmarkMatVecBF16(b *testing.B) {
	for _, s := range d20Shapes {
		in, out := s[0], s[1]
		r := rand.New(rand.NewPCG(1, 1))
		x, w, y := randSlice(r, in), randBF16(r, in*out), make([]float32, out)
		b.Run(fmt.Sprintf("in=%d,out=%d", in, out), func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				b.SetBytes(int64(2 * in * out))
				for b.Loop() {
					MatMulBF16(y, x, w, 1, in, out)
				}
			})
		})
	}
}

func BenchmarkMatVecF32(b *testing.B) {
	for _, s := range d20Shapes {
		in, out := s[0], s[1]
		r := rand.New(rand.NewPCG(1, 1))
		x, w, y := randSlice(r, in), randSlice(r, in*out), make([]float32, out)
		b.Run(fmt.Sprintf("in=%d,out=%d", in, out), func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				b.SetBytes(int64(4 * in * out))
				for b.Loop() {
					MatMul(y, x, w, 1, in, out)
				}
			})
		})
	}
}

func benchMatMul(b *testing.B, T int, bf16 bool) {
	for _, s := range d20Shapes {
		in, out := s[0], s[1]
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, T*in), make([]float32, T*out)
		var w []float32
		var wb []uint16
		if bf16 {
			wb = randBF16(r, in*out)
		} else {
			w = randSlice(r, in*out)
		}
		b.Run(fmt.Sprintf("T=%d,in=%d,out=%d", T, in, out), func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				for b.Loop() {
					if bf16 {
						MatMulBF16(y, x, wb, T, in, out)
					} else {
						MatMul(y, x, w, T, in, out)
					}
				}
				b.ReportMetric(2*float64(T*in*out)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}

func BenchmarkMatMul(b *testing.B)     { benchMatMul(b, 512, false) }
func BenchmarkMatMulBF16(b *testing.B) { benchMatMul(b, 512, true) }

// BenchmarkMatMulSmallT covers batched decode (T = a few rows).
func BenchmarkMatMulSmallT(b *testing.B) {
	for _, T := range []int{2, 3, 4, 6, 8, 16} {
		benchMatMulSmall(b, T)
	}
}

func benchMatMulSmall(b *testing.B, T int) {
	in, out := 1280, 5120
	r := rand.New(rand.NewPCG(1, 1))
	x, y, wb := randSlice(r, T*in), make([]float32, T*out), randBF16(r, in*out)
	b.Run(fmt.Sprintf("bf16,T=%d", T), func(b *testing.B) {
		benchISAs(b, func(b *testing.B) {
			b.SetBytes(int64(2 * in * out))
			for b.Loop() {
				MatMulBF16(y, x, wb, T, in, out)
			}
			b.ReportMetric(2*float64(T*in*out)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	})
}

func BenchmarkAttention(b *testing.B) {
	for _, c := range []struct{ T, pos0, window int }{{1, 1023, -1}, {1, 2047, 512}, {512, 0, -1}} {
		p := Attn{T: c.T, Pos0: c.pos0, NHead: 10, NKV: 10, HeadDim: 128, Window: c.window, Stride: 1280}
		r := rand.New(rand.NewPCG(1, 1))
		n := c.pos0 + c.T
		q, k, v := randSlice(r, c.T*1280), randSlice(r, n*1280), randSlice(r, n*1280)
		out := make([]float32, c.T*1280)
		b.Run(fmt.Sprintf("T=%d,ctx=%d,W=%d", c.T, n, c.window), func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				for b.Loop() {
					Attention(out, q, k, v, p)
				}
			})
		})
	}
}

// BenchmarkParallelOverhead is one fork-join of the pool with trivial work.
func BenchmarkParallelOverhead(b *testing.B) {
	var sink [64]int
	for b.Loop() {
		Parallel(Threads(), func(lo, hi int) { sink[lo*8]++ })
	}
}

// BenchmarkMeasure reports the machine limits the kernels are compared with.
func BenchmarkMeasure(b *testing.B) {
	benchISAs(b, func(b *testing.B) {
		for b.Loop() {
			b.ReportMetric(MeasureBandwidth(256<<20)/1e9, "GB/s")
			b.ReportMetric(MeasurePeakFLOPS()/1e9, "GFLOP/s")
		}
	})
}
