package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
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

// streamCopies is how many copies of a weight matrix of the given size the
// GEMV benchmarks rotate through, so that they stream from DRAM (≥ 128 MiB
// in all, 4× the L3) as a decode step does, rather than from cache.
func streamCopies(bytes int) int { return max(1, (128<<20+bytes-1)/bytes) }

// BenchmarkMatVecBF16 is the decode GEMV: MB/s is weight bytes read per
// second; compare with BenchmarkMeasure's GB/s.
func BenchmarkMatVecBF16(b *testing.B) {
	for _, s := range d20Shapes {
		in, out := s[0], s[1]
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, in), make([]float32, out)
		ws := make([][]uint16, streamCopies(2*in*out))
		ws[0] = randBF16(r, in*out)
		for i := 1; i < len(ws); i++ {
			ws[i] = append([]uint16(nil), ws[0]...)
		}
		b.Run(fmt.Sprintf("in=%d,out=%d", in, out), func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				b.SetBytes(int64(2 * in * out))
				i := 0
				for b.Loop() {
					MatMulBF16(y, x, ws[i%len(ws)], 1, in, out)
					i++
				}
			})
		})
	}
}

func BenchmarkMatVecF32(b *testing.B) {
	for _, s := range d20Shapes {
		in, out := s[0], s[1]
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, in), make([]float32, out)
		ws := make([][]float32, streamCopies(4*in*out))
		ws[0] = randSlice(r, in*out)
		for i := 1; i < len(ws); i++ {
			ws[i] = append([]float32(nil), ws[0]...)
		}
		b.Run(fmt.Sprintf("in=%d,out=%d", in, out), func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				b.SetBytes(int64(4 * in * out))
				i := 0
				for b.Loop() {
					MatMul(y, x, ws[i%len(ws)], 1, in, out)
					i++
				}
			})
		})
	}
}

func benchMatMul(b *testing.B, T int, mode mmMode) {
	for _, s := range d20Shapes {
		in, out := s[0], s[1]
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, T*in), make([]float32, T*out)
		var w []float32
		var wb []uint16
		if mode != mmF32 {
			wb = randBF16(r, in*out)
		} else {
			w = randSlice(r, in*out)
		}
		b.Run(fmt.Sprintf("T=%d,in=%d,out=%d", T, in, out), func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				if ISA() == "go" && T*in*out > 1<<30 {
					b.Skip("pure Go: too slow for this shape")
				}
				for b.Loop() {
					switch mode {
					case mmF32:
						MatMul(y, x, w, T, in, out)
					case mmBF16:
						MatMulBF16(y, x, wb, T, in, out)
					case mmFast:
						MatMulBF16Fast(y, x, wb, T, in, out)
					}
				}
				b.ReportMetric(2*float64(T*in*out)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}

func BenchmarkMatMul(b *testing.B)         { benchMatMul(b, 512, mmF32) }
func BenchmarkMatMulBF16(b *testing.B)     { benchMatMul(b, 512, mmBF16) }
func BenchmarkMatMulBF16Fast(b *testing.B) { benchMatMul(b, 512, mmFast) }

// BenchmarkMatMulSmallT covers batched decode (T = a few rows, weights
// streamed from DRAM as in BenchmarkMatVecBF16).
func BenchmarkMatMulSmallT(b *testing.B) {
	for _, T := range []int{2, 3, 4, 6, 8, 16} {
		benchMatMulSmall(b, T)
	}
}

func benchMatMulSmall(b *testing.B, T int) {
	in, out := 1280, 5120
	r := rand.New(rand.NewPCG(1, 1))
	x, y := randSlice(r, T*in), make([]float32, T*out)
	ws := make([][]uint16, streamCopies(2*in*out))
	ws[0] = randBF16(r, in*out)
	for i := 1; i < len(ws); i++ {
		ws[i] = append([]uint16(nil), ws[0]...)
	}
	b.Run(fmt.Sprintf("bf16,T=%d", T), func(b *testing.B) {
		benchISAs(b, func(b *testing.B) {
			b.SetBytes(int64(2 * in * out))
			i := 0
			for b.Loop() {
				MatMulBF16(y, x, ws[i%len(ws)], T, in, out)
				i++
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

// BenchmarkSoftcap is the logits softcap of one decode step (vocab 65536).
func BenchmarkSoftcap(b *testing.B) {
	x := randSlice(rand.New(rand.NewPCG(1, 1)), 65536)
	for b.Loop() {
		Softcap(x, 15)
	}
}

// BenchmarkRMSNorm is one prefill-sized RMSNorm (512 rows of 1280).
func BenchmarkRMSNorm(b *testing.B) {
	x := randSlice(rand.New(rand.NewPCG(1, 1)), 512*1280)
	y := make([]float32, len(x))
	benchISAs(b, func(b *testing.B) {
		for b.Loop() {
			RMSNorm(y, x, 512, 1280)
		}
	})
}

// BenchmarkMatVecQ8 is the int8 decode GEMV: MB/s counts the int8 weights
// and their fp32 scales (1.0625 bytes per weight).
func BenchmarkMatVecQ8(b *testing.B) {
	for _, s := range d20Shapes {
		in, out := s[0], s[1]
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, in), make([]float32, out)
		w := randSlice(r, in*out)
		q0, s0 := make([]int8, in*out), make([]float32, in*out/QGroup)
		if err := QuantizeQ8(q0, s0, w); err != nil {
			b.Fatal(err)
		}
		bytes := in*out + 4*len(s0)
		qs, ss := make([][]int8, streamCopies(bytes)), make([][]float32, streamCopies(bytes))
		for i := range qs {
			qs[i], ss[i] = slices.Clone(q0), slices.Clone(s0)
		}
		b.Run(fmt.Sprintf("in=%d,out=%d", in, out), func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				b.SetBytes(int64(bytes))
				i := 0
				for b.Loop() {
					MatMulQ8(y, x, qs[i%len(qs)], ss[i%len(ss)], 1, in, out)
					i++
				}
			})
		})
	}
}

// BenchmarkAttentionBF16 is attention over a bf16 cache (the layout
// model.Cache uses: head-major), read in place ("direct"; for prefill
// also "one", without the four-query kernels) against the
// widen-a-block-then-attend path ("widen"), with the current ISA.
func BenchmarkAttentionBF16(b *testing.B) {
	for _, c := range []struct{ T, pos0, window int }{{1, 1023, -1}, {1, 2047, 512}, {64, 448, -1}, {128, 1024, -1}} {
		n := c.pos0 + c.T
		p := Attn{T: c.T, Pos0: c.pos0, NHead: 10, NKV: 10, HeadDim: 128, Window: c.window, Stride: 128, HeadStride: n * 128}
		r := rand.New(rand.NewPCG(1, 1))
		q := randSlice(r, c.T*1280)
		k, v := make([]uint16, n*1280), make([]uint16, n*1280)
		RoundBF16(k, randSlice(r, len(k)))
		RoundBF16(v, randSlice(r, len(v)))
		out := make([]float32, c.T*1280)
		// direct: as the model runs; one: the four-query in-place kernels
		// off (prefill one query at a time); widen: no in-place kernels.
		for _, mode := range []string{"direct", "one", "widen"} {
			if mode == "one" && (c.T < 4 || cur.Load().attnScores4B == nil) {
				continue
			}
			b.Run(fmt.Sprintf("T=%d,ctx=%d,W=%d/%s", c.T, n, c.window, mode), func(b *testing.B) {
				im := *cur.Load()
				if mode != "direct" {
					im.attnScores4B, im.attnAccum4B = nil, nil
				}
				if mode == "widen" {
					im.attnScoresB, im.attnAccumB = nil, nil
				}
				old := cur.Swap(&im)
				defer cur.Store(old)
				keys := n
				if c.window >= 0 {
					keys = min(n, c.window+1)
				}
				b.SetBytes(int64(4 * keys * 1280)) // k and v (bf16) the last query reads
				for b.Loop() {
					AttentionBF16(out, q, k, v, p)
				}
			})
		}
	}
}

// BenchmarkQuantizeQ8 is the int8 quantization done at load
// (--precision int8): MB/s counts the fp32 weights read.
func BenchmarkQuantizeQ8(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	w := randSlice(r, 1<<24)
	q, s := make([]int8, len(w)), make([]float32, len(w)/QGroup)
	benchISAs(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(w)))
		for b.Loop() {
			if err := QuantizeQ8(q, s, w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkQuantizeX16 is the int16 quantization of x that every int8
// GEMV call does first (serially), at the d20 input widths.
func BenchmarkQuantizeX16(b *testing.B) {
	for _, in := range []int{1280, 5120} {
		r := rand.New(rand.NewPCG(1, 1))
		x := randSlice(r, in)
		q, s := make([]int16, in), make([]float32, in/QGroup)
		b.Run(fmt.Sprintf("in=%d", in), func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				im := cur.Load()
				b.SetBytes(int64(4 * in))
				for b.Loop() {
					im.quantX16(q, s, x)
				}
			})
		})
	}
}
