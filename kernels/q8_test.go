package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuantizeQ8 checks every ISA against the reference loop bit for bit,
// on random groups and on the edge cases: an all-zero group, a group with
// one big weight, denormal groups whose scale rounds (to 0, or to below
// max/127, so that a quotient exceeds 127 and is clamped), ±127 exactly
// and ties; and that NaN and ±Inf are refused.
func TestQuantizeQ8(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	w := randSlice(r, 64*QGroup)
	for i := range QGroup {
		w[i] = 0
		w[QGroup+i] *= 1e-3
		w[2*QGroup+i] = math.Float32frombits(uint32(r.IntN(190))) // denormals up to 190·2⁻¹⁴⁹
		w[3*QGroup+i] = float32(i-32) * 0.125                     // ties at the scale 0.25
	}
	w[QGroup+5] = 40
	w[2*QGroup+7] = math.Float32frombits(190)
	w[2*QGroup+8] = -math.Float32frombits(190)
	w[3*QGroup] = -31.75 // the scale 0.25, so -127 exactly
	wantQ, wantS := make([]int8, len(w)), make([]float32, len(w)/QGroup)
	quantizeQ8Ref(wantQ, wantS, w)
	forEachISA(t, func(t *testing.T) {
		q, s := make([]int8, len(w)), make([]float32, len(w)/QGroup)
		if err := QuantizeQ8(q, s, w); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s, wantS) {
			t.Fatalf("scales differ from the reference loop")
		}
		for i := range q {
			if q[i] != wantQ[i] {
				t.Fatalf("q[%d] = %d for %g (scale %g), reference %d", i, q[i], w[i], s[i/QGroup], wantQ[i])
			}
		}
		for i, v := range w[QGroup:] { // the denormal group's quotients may exceed 127 (clamped)
			i += QGroup
			if i/QGroup == 2 {
				continue
			}
			if d := math.Abs(float64(s[i/QGroup]*float32(q[i]) - v)); d > float64(s[i/QGroup])/2*(1+1e-6) {
				t.Fatalf("weight %d: %v quantized to %v·%d, error %g > s/2", i, v, s[i/QGroup], q[i], d)
			}
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			wb := slices.Clone(w)
			wb[5*QGroup+7] = bad
			if err := QuantizeQ8(q, s, wb); err == nil {
				t.Fatalf("QuantizeQ8 accepted %v", bad)
			}
		}
		if err := QuantizeQ8(q, s, w[:QGroup+1]); err == nil {
			t.Fatal("QuantizeQ8 accepted a length that is not a multiple of QGroup")
		}
	})
}

// TestMatMulQ8 checks the GEMV (T = 1) and the GEMM (T > 1) of every ISA
// against exact sums with the dequantized weights, within the tolerance
// MatMulQ8's doc comment states, and the reference loop likewise.
func TestMatMulQ8(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		for _, sh := range [][3]int{{1, 64, 1}, {1, 128, 37}, {1, 1280, 300}, {1, 5120, 67}, {2, 64, 5}, {3, 192, 9}, {7, 1280, 41}, {13, 2560, 130}, {64, 1344, 70}} {
			T, in, out := sh[0], sh[1], sh[2]
			t.Run(fmt.Sprintf("T=%d,in=%d,out=%d", T, in, out), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(T), uint64(in*out)))
				x, w := randSlice(r, T*in), randSlice(r, in*out)
				if in >= 2*QGroup { // a group of x with one outlier: the int16 x's worst case
					for i := range QGroup {
						x[QGroup+i] *= 1e-3
					}
					x[QGroup+9] = 3e3
				}
				q, s := make([]int8, len(w)), make([]float32, len(w)/QGroup)
				if err := QuantizeQ8(q, s, w); err != nil {
					t.Fatal(err)
				}
				y, ref := make([]float32, T*out), make([]float32, T*out)
				for i := range y {
					y[i] = float32(math.NaN()) // overwritten, never read
				}
				MatMulQ8(y, x, q, s, T, in, out)
				matMulQ8Ref(ref, x, q, s, T, in, out)
				want, mag := matMulExact(x, func(i int) float32 { return s[i/QGroup] * float32(q[i]) }, T, in, out)
				xq := x16Bound(x, q, s, T, in, out)
				for i := range y {
					tol := 1e-5*mag[i] + 1e-6
					if T <= rowsMax {
						tol += xq[i]
					}
					if d := math.Abs(float64(y[i]) - want[i]); !(d <= tol) {
						t.Fatalf("y[%d] = %v, want %v (|Δ| %g > %g)", i, y[i], want[i], d, tol)
					}
					if d := math.Abs(float64(ref[i]) - want[i]); !(d <= tol) {
						t.Fatalf("reference y[%d] = %v, want %v", i, ref[i], want[i])
					}
				}
			})
		}
	})
}

// x16Bound is, per output, the error MatMulQ8's doc allows the GEMV for
// quantizing x to int16: Σ_g max|x_g|/65534 · Σ_{i∈g} |w_i|.
func x16Bound(x []float32, q []int8, s []float32, T, in, out int) []float64 {
	b := make([]float64, T*out)
	for t := range T {
		for o := range out {
			for g := range in / QGroup {
				var a, sw float64
				for i := g * QGroup; i < (g+1)*QGroup; i++ {
					a = max(a, math.Abs(float64(x[t*in+i])))
					sw += math.Abs(float64(s[(o*in+i)/QGroup] * float32(q[o*in+i])))
				}
				b[t*out+o] += a / 65534 * sw
			}
		}
	}
	return b
}

// TestMatMulQ8NotFinite checks that a NaN or an infinity in x reaches the
// output, as in the loop MatMulQ8 stands for, although the GEMV quantizes
// x to int16 (which cannot hold one).
func TestMatMulQ8NotFinite(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 9))
		in, out := 256, 8
		w := randSlice(r, in*out)
		q, s := make([]int8, len(w)), make([]float32, len(w)/QGroup)
		if err := QuantizeQ8(q, s, w); err != nil {
			t.Fatal(err)
		}
		for _, T := range []int{1, 3} {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
				x, y := randSlice(r, T*in), make([]float32, T*out)
				x[(T-1)*in+100] = bad
				MatMulQ8(y, x, q, s, T, in, out)
				for i, v := range y[(T-1)*out:] {
					if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) && q[i*in+100] != 0 {
						t.Fatalf("T=%d, x[%d] = %v: y[%d] = %v, want it not finite", T, (T-1)*in+100, bad, i, v)
					}
				}
			}
		}
	})
}

func TestDequantizeQ8(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 5))
		w := randSlice(r, 5*QGroup)
		q, s := make([]int8, len(w)), make([]float32, len(w)/QGroup)
		if err := QuantizeQ8(q, s, w); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(w))
		DequantizeQ8(got, q, s)
		for i := range got {
			if want := s[i/QGroup] * float32(q[i]); got[i] != want {
				t.Fatalf("dst[%d] = %v, want %v", i, got[i], want)
			}
		}
	})
}

// TestQuantizeX16 checks every ISA's int16 quantization of x (the int8
// GEMV's input) against quantizeX16 bit for bit, edge cases included, and
// its error bound: each value within max|x_g|/65534 of x.
func TestQuantizeX16(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	x := randSlice(r, 8*QGroup)
	for i := range QGroup {
		x[i] = 0                                                  // an all-zero group
		x[QGroup+i] = math.Float32frombits(uint32(r.IntN(40000))) // denormals: the scale rounds
		x[2*QGroup+i] = float32(i-32) * 0.5                       // ties after scaling
		x[3*QGroup+i] *= 1e-3                                     // one outlier below
	}
	x[2*QGroup] = 32767.0 / 64
	x[3*QGroup+9] = 3e3
	wantQ, wantS := make([]int16, len(x)), make([]float32, len(x)/QGroup)
	if !quantizeX16(wantQ, wantS, x) {
		t.Fatal("quantizeX16 refused finite x")
	}
	forEachISA(t, func(t *testing.T) {
		im := cur.Load()
		q, s := make([]int16, len(x)), make([]float32, len(x)/QGroup)
		if !im.quantX16(q, s, x) {
			t.Fatal("refused finite x")
		}
		if !slices.Equal(s, wantS) || !slices.Equal(q, wantQ) {
			for i := range q {
				if q[i] != wantQ[i] {
					t.Fatalf("xq[%d] = %d for %g, quantizeX16 %d", i, q[i], x[i], wantQ[i])
				}
			}
			t.Fatal("scales differ from quantizeX16")
		}
		for i, v := range x {
			if i/QGroup == 1 {
				continue // denormal scales are rounded: only the clamp holds
			}
			g := i / QGroup
			if d := math.Abs(float64(s[g])*float64(q[i]) - float64(v)); d > float64(s[g])/2*(1+1e-6) {
				t.Fatalf("x[%d] = %g: %g·%d is %g off", i, v, s[g], q[i], d)
			}
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
			xb := slices.Clone(x)
			xb[5*QGroup+3] = bad
			if im.quantX16(q, s, xb) {
				t.Fatalf("accepted %v", bad)
			}
		}
	})
}
