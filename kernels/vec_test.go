package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

var vecLens = []int{0, 1, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129, 1280, 1283}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{0, 0}, {1, 0x3f80}, {-2, 0xc000},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even below
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, even above
		{math.Float32frombits(0x3f808001), 0x3f81}, // above the tie
		{float32(math.Inf(1)), 0x7f80},
		{math.Float32frombits(0x7f7fffff), 0x7f80}, // rounds up to +Inf
		{math.Float32frombits(0x00000001), 0x0000}, // tiny denormal rounds to 0
	} {
		if got := F32ToBF16(c.f); got != c.want {
			t.Errorf("F32ToBF16(%#x) = %#x, want %#x", math.Float32bits(c.f), got, c.want)
		}
	}
	for _, nan := range []uint32{0x7fc00000, 0x7f800001, 0xffc00001, 0x7f810000} {
		b := F32ToBF16(math.Float32frombits(nan))
		if f := BF16ToF32(b); !math.IsNaN(float64(f)) {
			t.Errorf("F32ToBF16(NaN %#x) = %#x, not a NaN", nan, b)
		}
	}
	for b := range 1 << 16 {
		f := BF16ToF32(uint16(b))
		if math.IsNaN(float64(f)) {
			continue
		}
		if got := F32ToBF16(f); got != uint16(b) {
			t.Fatalf("F32ToBF16(BF16ToF32(%#x)) = %#x", b, got)
		}
	}
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, n := range vecLens {
			src := randBF16(r, n+1)[1:]
			dst := make([]float32, n+1)
			dst[n] = 7
			WidenBF16(dst, src)
			for i := range n {
				if dst[i] != BF16ToF32(src[i]) {
					t.Fatalf("WidenBF16 n=%d: dst[%d] = %g, want %g", n, i, dst[i], BF16ToF32(src[i]))
				}
			}
			if dst[n] != 7 {
				t.Fatalf("WidenBF16 n=%d wrote past src's length", n)
			}
			back := make([]uint16, n)
			RoundBF16(back, dst[:n])
			for i := range n {
				if back[i] != src[i] {
					t.Fatalf("RoundBF16 n=%d: [%d] = %#x, want %#x", n, i, back[i], src[i])
				}
			}
		}
	})
}

func TestVecOps(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, n := range vecLens {
			a, b := randSlice(r, n+1)[1:], randSlice(r, n)
			// Dot: |Δ| ≤ 1e-6·Σ|a·b| + 1e-7.
			var want, mag float64
			for i := range n {
				want += float64(a[i]) * float64(b[i])
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-6*mag+1e-7 {
				t.Errorf("Dot n=%d = %g, want %g", n, got, want)
			}
			// Axpy, Scale, ReLUSquared are exact elementwise (one rounding;
			// a fused multiply-add may differ from mul+add by 1 ulp).
			alpha := float32(0.37)
			y := append([]float32(nil), b...)
			Axpy(alpha, a, y)
			for i := range n {
				w := float64(b[i]) + float64(alpha)*float64(a[i])
				if math.Abs(float64(y[i])-w) > 1.2e-7*math.Abs(w)+1e-7*math.Abs(float64(alpha*a[i])) {
					t.Fatalf("Axpy n=%d: y[%d] = %g, want %g", n, i, y[i], w)
				}
			}
			y = append(y[:0], a...)
			Scale(alpha, y)
			for i := range n {
				if y[i] != alpha*a[i] {
					t.Fatalf("Scale n=%d: [%d] = %g, want %g", n, i, y[i], alpha*a[i])
				}
			}
			y = append(y[:0], a...)
			ReLUSquared(y)
			for i := range n {
				v := max(a[i], 0)
				if y[i] != v*v {
					t.Fatalf("ReLUSquared n=%d: [%d] = %g, want %g", n, i, y[i], v*v)
				}
			}
		}
		// A length that takes the parallel path.
		x := randSlice(r, 1<<17+5)
		y := append([]float32(nil), x...)
		ReLUSquared(y)
		for i := range x {
			v := max(x[i], 0)
			if y[i] != v*v {
				t.Fatalf("ReLUSquared n=%d: [%d] = %g, want %g", len(x), i, y[i], v*v)
			}
		}
	})
}

func TestRMSNorm(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, c := range [][2]int{{1, 1}, {3, 7}, {2, 16}, {5, 129}, {1, 1280}, {64, 1280}, {3, 5120}} {
			rows, n := c[0], c[1]
			x := randSlice(r, rows*n+1)[1:]
			for i := range x {
				x[i] *= float32(1 + i%5) // rows of different scales
			}
			want := make([]float32, rows*n)
			rmsNormRef(want, x, rows, n)
			got := make([]float32, rows*n)
			RMSNorm(got, x, rows, n)
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*math.Abs(float64(want[i]))+1e-30 {
					t.Fatalf("RMSNorm rows=%d n=%d: y[%d] = %g, want %g", rows, n, i, got[i], want[i])
				}
			}
			RMSNorm(x, x, rows, n) // in place
			for i := range x {
				if x[i] != got[i] {
					t.Fatalf("RMSNorm in place rows=%d n=%d: y[%d] = %g, want %g", rows, n, i, x[i], got[i])
				}
			}
		}
	})
	// Zeros stay zeros (eps keeps the scale finite).
	z := make([]float32, 8)
	RMSNorm(z, z, 1, 8)
	for _, v := range z {
		if v != 0 {
			t.Fatalf("RMSNorm of zeros = %v", z)
		}
	}
}

func TestSoftcap(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{1, 7, 8, 9, 100, 1<<14 + 3} {
			x := randSlice(r, n)
			for i := range x {
				switch i % 4 {
				case 0:
					x[i] *= 60
				case 1:
					x[i] *= 1e-3
				case 2:
					x[i] *= 1e-6
				}
			}
			if n > 8 {
				x[0], x[1], x[2], x[3], x[4] = 0, 1e-12, -300, float32(math.Inf(1)), float32(math.Inf(-1))
				x[5], x[6] = 15*0x1p-14, -15*0x1p-14*1.01
			}
			want := append([]float32(nil), x...)
			softcapRef(want, 15)
			Softcap(x, 15)
			for i := range x {
				// Within 1 ulp of the correctly rounded float32 tanh, times the cap.
				tol := 15 * math.Max(math.Abs(float64(want[i]/15))*0x1p-23, 0x1p-149)
				if d := math.Abs(float64(x[i] - want[i])); !(d <= tol) {
					t.Fatalf("Softcap n=%d: [%d] = %g, want %g", n, i, x[i], want[i])
				}
			}
		}
	})
}

func TestVecNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1280, 1 << 17} {
		x, y := randSlice(r, n), make([]float32, n)
		for name, f := range map[string]func(){
			"RMSNorm":     func() { RMSNorm(y, x, n/1280, 1280) },
			"ReLUSquared": func() { ReLUSquared(y) },
			"Softcap":     func() { Softcap(y, 15) },
		} {
			if a := testing.AllocsPerRun(10, f); a > 0 {
				t.Errorf("%s n=%d: %v allocations per call, want 0", name, n, a)
			}
		}
	}
}
