package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The MatMul tolerance: |got - exact| ≤ 1e-5·Σ|x_i·w_i| + 1e-6 per output.
// float32 sums of up to ~100 terms per SIMD lane or accumulator stay well
// inside it; a wrong index or a missed tail term does not.
const mmRel, mmAbs = 1e-5, 1e-6

var (
	mmTs    = []int{1, 2, 3, 4, 5, 6, 7, 8, 17, 67}
	mmSizes = []int{1, 7, 15, 16, 17, 33, 63, 64, 65, 129}
	// Shapes that exercise the blocking: k blocks (in > gemmKC), row blocks
	// (out > gemmNC), GEMV row chunks, and in=1283 for a tail after them.
	mmBig = [][3]int{
		{1, 1280, 1280}, {2, 1280, 1280}, {3, 1283, 300}, {7, 1280, 1280},
		{67, 1280, 260}, {67, 1283, 129}, {17, 5120, 64}, {130, 257, 515},
		{1, 1312, 70}, {1, 1296, 9}, {1, 96, 5}, {2, 96, 5},
		{1, 5120, 64}, {1, 5123, 7}, {1, 3072, 1}, {1, 3104, 2}, // two-row GEMV (k ≥ gemvPairK)
	}
)

type mmCase struct{ T, in, out, off int }

func mmCases(short bool) []mmCase {
	var cs []mmCase
	for _, T := range mmTs {
		for _, in := range mmSizes {
			for _, out := range mmSizes {
				if short && (in*out*T > 20000) {
					continue
				}
				cs = append(cs, mmCase{T, in, out, (T + in + out) % 2})
			}
		}
	}
	for _, b := range mmBig {
		cs = append(cs, mmCase{b[0], b[1], b[2], 0}, mmCase{b[0], b[1], b[2], 1})
	}
	return cs
}

func checkMM(t *testing.T, name string, c mmCase, got []float32, want, mag []float64) {
	t.Helper()
	bad := 0
	for i := range want {
		d := float64(got[i]) - want[i]
		if !(d <= mmRel*mag[i]+mmAbs && -d <= mmRel*mag[i]+mmAbs) {
			if bad++; bad <= 3 {
				t.Errorf("%s T=%d in=%d out=%d off=%d: y[%d][%d] = %g, want %g (tol %g)",
					name, c.T, c.in, c.out, c.off, i/c.out, i%c.out, got[i], want[i], mmRel*mag[i]+mmAbs)
			}
		}
	}
}

type mmData struct {
	c         mmCase
	x, w      []float32
	wb        []uint16
	want, mag []float64
}

type mmMode int

const (
	mmF32  mmMode = iota // MatMul
	mmBF16               // MatMulBF16
	mmFast               // MatMulBF16Fast: exact sums of x rounded to bf16 times w
)

// mmTestData builds each case's inputs and exact outputs once for all ISAs.
func mmTestData(mode mmMode) []mmData {
	r := rand.New(rand.NewPCG(1, 2))
	var ds []mmData
	for _, c := range mmCases(testing.Short()) {
		// Unaligned starts when off = 1.
		d := mmData{c: c, x: randSlice(r, c.T*c.in+c.off)[c.off:]}
		wf := func(i int) float32 { return d.w[i] }
		if mode != mmF32 {
			d.wb = randBF16(r, c.out*c.in+c.off)[c.off:]
			wf = func(i int) float32 { return BF16ToF32(d.wb[i]) }
		} else {
			d.w = randSlice(r, c.out*c.in+c.off)[c.off:]
		}
		x := d.x
		if mode == mmFast {
			x = make([]float32, len(d.x))
			for i, v := range d.x {
				x[i] = BF16ToF32(F32ToBF16(v))
			}
		}
		d.want, d.mag = matMulExact(x, wf, c.T, c.in, c.out)
		ds = append(ds, d)
	}
	return ds
}

func testMatMul(t *testing.T, mode mmMode) {
	ds := mmTestData(mode)
	forEachISA(t, func(t *testing.T) {
		for _, d := range ds {
			c := d.c
			// A guard value after y catches writes past the end.
			y := make([]float32, c.T*c.out+c.off+1)[c.off:]
			for i := range y {
				y[i] = 12345
			}
			var name string
			switch mode {
			case mmF32:
				name = "MatMul"
				MatMul(y, d.x, d.w, c.T, c.in, c.out)
			case mmBF16:
				name = "MatMulBF16"
				MatMulBF16(y, d.x, d.wb, c.T, c.in, c.out)
			case mmFast:
				name = "MatMulBF16Fast"
				MatMulBF16Fast(y, d.x, d.wb, c.T, c.in, c.out)
			}
			checkMM(t, name, c, y, d.want, d.mag)
			if y[c.T*c.out] != 12345 {
				t.Fatalf("%s T=%d in=%d out=%d wrote past y", name, c.T, c.in, c.out)
			}
			if t.Failed() {
				return
			}
		}
	})
}

func TestMatMul(t *testing.T)         { testMatMul(t, mmF32) }
func TestMatMulBF16(t *testing.T)     { testMatMul(t, mmBF16) }
func TestMatMulBF16Fast(t *testing.T) { testMatMul(t, mmFast) }

// TestMatMulRef pins the reference loops themselves to the exact sums.
func TestMatMulRef(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []mmCase{{3, 65, 17, 0}, {5, 129, 33, 0}} {
		x, w, wb := randSlice(r, c.T*c.in), randSlice(r, c.out*c.in), randBF16(r, c.out*c.in)
		y := make([]float32, c.T*c.out)
		want, mag := matMulExact(x, func(i int) float32 { return w[i] }, c.T, c.in, c.out)
		matMulRef(y, x, w, c.T, c.in, c.out)
		checkMM(t, "matMulRef", c, y, want, mag)
		want, mag = matMulExact(x, func(i int) float32 { return BF16ToF32(wb[i]) }, c.T, c.in, c.out)
		matMulBF16Ref(y, x, wb, c.T, c.in, c.out)
		checkMM(t, "matMulBF16Ref", c, y, want, mag)
	}
}

// TestMatMulThreads runs the blocked paths under different pool sizes,
// including more threads than blocks.
func TestMatMulThreads(t *testing.T) {
	defer SetThreads(Threads())
	r := rand.New(rand.NewPCG(7, 8))
	c := mmCase{T: 37, in: 1283, out: 300}
	x, w, wb := randSlice(r, c.T*c.in), randSlice(r, c.out*c.in), randBF16(r, c.out*c.in)
	want, mag := matMulExact(x, func(i int) float32 { return w[i] }, c.T, c.in, c.out)
	wantB, magB := matMulExact(x, func(i int) float32 { return BF16ToF32(wb[i]) }, c.T, c.in, c.out)
	for _, n := range []int{1, 2, 3, 7} {
		SetThreads(n)
		forEachISA(t, func(t *testing.T) {
			for _, T := range []int{1, 3, c.T} {
				cc := c
				cc.T = T
				y := make([]float32, T*c.out)
				MatMul(y, x, w, T, c.in, c.out)
				checkMM(t, fmt.Sprintf("MatMul threads=%d", n), cc, y, want[:T*c.out], mag)
				MatMulBF16(y, x, wb, T, c.in, c.out)
				checkMM(t, fmt.Sprintf("MatMulBF16 threads=%d", n), cc, y, wantB[:T*c.out], magB)
			}
		})
	}
}

func TestMatMulNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	r := rand.New(rand.NewPCG(9, 10))
	in, out := 256, 512
	x, w, wb := randSlice(r, 64*in), randSlice(r, out*in), randBF16(r, out*in)
	y := make([]float32, 64*out)
	forEachISA(t, func(t *testing.T) {
		for _, T := range []int{1, 64} {
			if a := testing.AllocsPerRun(20, func() { MatMul(y, x, w, T, in, out) }); a > 0 {
				t.Errorf("MatMul T=%d: %v allocations per call, want 0", T, a)
			}
			if a := testing.AllocsPerRun(20, func() { MatMulBF16(y, x, wb, T, in, out) }); a > 0 {
				t.Errorf("MatMulBF16 T=%d: %v allocations per call, want 0", T, a)
			}
			if a := testing.AllocsPerRun(20, func() { MatMulBF16Fast(y, x, wb, T, in, out) }); a > 0 {
				t.Errorf("MatMulBF16Fast T=%d: %v allocations per call, want 0", T, a)
			}
		}
	})
}

func TestMatMulPanicsOnShortSlices(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MatMul with a short w did not panic")
		}
	}()
	MatMul(make([]float32, 4), make([]float32, 4), make([]float32, 3), 2, 2, 2)
}
