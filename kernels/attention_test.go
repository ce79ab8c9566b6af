package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The Attention tolerance: |Δ| ≤ 2e-6·max|v| + 1e-6 per output. The
// outputs are convex combinations of v rows; float32 online softmax errors
// stay a few ulps of max|v|.
func TestAttention(t *testing.T) {
	type tc struct{ T, pos0, nh, nkv, hd, win, pad int }
	var cs []tc
	for _, hd := range []int{1, 7, 16, 128} {
		for _, h := range [][2]int{{4, 1}, {4, 2}, {4, 4}} {
			for _, tp := range [][2]int{{1, 0}, {1, 9}, {3, 0}, {17, 5}, {70, 0}, {5, 130}} {
				for _, win := range []int{-1, 0, 3, 64, 200} {
					cs = append(cs, tc{tp[0], tp[1], h[0], h[1], hd, win, (hd + win) % 3})
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	type data struct {
		c       tc
		p       Attn
		q, k, v []float32
		want    []float32
		vmax    float64
	}
	var ds []data
	for _, c := range cs {
		p := Attn{T: c.T, Pos0: c.pos0, NHead: c.nh, NKV: c.nkv, HeadDim: c.hd, Window: c.win, Stride: c.nkv*c.hd + c.pad}
		n := c.pos0 + c.T
		d := data{c: c, p: p, q: randSlice(r, c.T*c.nh*c.hd+1)[1:],
			k: randSlice(r, n*p.Stride), v: randSlice(r, n*p.Stride)}
		for i := range d.q {
			d.q[i] *= 3 // peakier softmax
		}
		d.want = make([]float32, c.T*c.nh*c.hd)
		attentionRef(d.want, d.q, d.k, d.v, p)
		for _, x := range d.v {
			d.vmax = max(d.vmax, math.Abs(float64(x)))
		}
		ds = append(ds, d)
	}
	forEachISA(t, func(t *testing.T) {
		for _, d := range ds {
			out := make([]float32, len(d.want)+1)
			out[len(d.want)] = 99
			Attention(out, d.q, d.k, d.v, d.p)
			for i, w := range d.want {
				if diff := math.Abs(float64(out[i] - w)); !(diff <= 2e-6*d.vmax+1e-6) {
					t.Fatalf("Attention %+v: out[%d] = %g, want %g", d.p, i, out[i], w)
				}
			}
			if out[len(d.want)] != 99 {
				t.Fatalf("Attention %+v wrote past out", d.p)
			}
		}
	})
}

// TestAttentionWindow checks the visible key range directly: with v = key
// position and one-hot-ish scores, the output must stay within the window.
func TestAttentionWindow(t *testing.T) {
	const hd, T, pos0 = 4, 6, 10
	n := pos0 + T
	for _, win := range []int{-1, 0, 1, 3, 100} {
		k, v := make([]float32, n*hd), make([]float32, n*hd)
		for j := range n {
			for i := range hd {
				v[j*hd+i] = float32(j)
			}
		}
		q := make([]float32, T*hd) // all scores equal: uniform over visible keys
		out := make([]float32, T*hd)
		Attention(out, q, k, v, Attn{T: T, Pos0: pos0, NHead: 1, NKV: 1, HeadDim: hd, Window: win, Stride: hd})
		for t0 := range T {
			p := pos0 + t0
			lo := 0
			if win >= 0 {
				lo = max(0, p-win)
			}
			want := float32(lo+p) / 2 // mean of lo..p
			if got := out[t0*hd]; math.Abs(float64(got-want)) > 1e-5 {
				t.Errorf("window %d, query %d: mean visible position = %g, want %g", win, p, got, want)
			}
		}
	}
}

func TestAttentionNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, T := range []int{1, 64} {
		p := Attn{T: T, Pos0: 100, NHead: 4, NKV: 2, HeadDim: 128, Window: -1, Stride: 256}
		q, k, v := randSlice(r, T*512), randSlice(r, (100+T)*256), randSlice(r, (100+T)*256)
		out := make([]float32, T*512)
		t.Run(fmt.Sprint("T=", T), func(t *testing.T) {
			if a := testing.AllocsPerRun(20, func() { Attention(out, q, k, v, p) }); a > 0 {
				t.Errorf("Attention: %v allocations per call, want 0", a)
			}
		})
	}
}

func TestAttentionBadShape(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Attention with NHead not a multiple of NKV did not panic")
		}
	}()
	Attention(make([]float32, 12), make([]float32, 12), make([]float32, 12), make([]float32, 12),
		Attn{T: 1, NHead: 3, NKV: 2, HeadDim: 4, Stride: 8})
}

// TestExpSub checks the vector exp of the online softmax: within 2 ulp
// (relative 2.4e-7) of exp for arguments in [-87, 0], and small values
// far below that.
func TestExpSub(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		im := cur.Load()
		r := rand.New(rand.NewPCG(5, 6))
		const m = 3.5
		s := make([]float32, 4099)
		for i := range s {
			switch i % 4 {
			case 0:
				s[i] = m - float32(r.Float64()*87)
			case 1:
				s[i] = m - float32(r.Float64()*2)
			case 2:
				s[i] = m - float32(r.Float64()*1e-3)
			default:
				s[i] = m - float32(87+r.Float64()*1e6)
			}
		}
		s[0], s[1] = m, float32(math.Inf(-1))
		in := append([]float32(nil), s...)
		sum := im.expSub(s, m)
		var want float64
		for i, x := range in {
			e := math.Exp(float64(x - m))
			want += e
			if d := math.Abs(float64(s[i]) - e); d > 2.4e-7*e+1e-37 {
				t.Fatalf("exp(%g) = %g, want %g", x-m, s[i], e)
			}
		}
		if math.Abs(float64(sum)-want) > 1e-5*want {
			t.Fatalf("sum = %g, want %g", sum, want)
		}
	})
}

// A head-major cache ([NKV][positions][HeadDim]) gives exactly what the
// position-major one gives, on every ISA.
func TestAttentionHeadMajor(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, isa := range ISAs() {
		if err := SetISA(isa); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ T, pos0, nh, nkv, hd, win, maxLen int }{
			{1, 40, 4, 2, 64, -1, 64}, {5, 10, 4, 1, 32, 3, 20}, {9, 0, 6, 3, 16, 100, 9}, {1, 300, 2, 2, 128, 128, 512},
		} {
			n := c.pos0 + c.T
			kd, vd := randSlice(r, n*c.nkv*c.hd), randSlice(r, n*c.nkv*c.hd)
			kh, vh := make([]float32, c.nkv*c.maxLen*c.hd), make([]float32, c.nkv*c.maxLen*c.hd)
			for j := 0; j < n; j++ {
				for g := 0; g < c.nkv; g++ {
					copy(kh[(g*c.maxLen+j)*c.hd:], kd[(j*c.nkv+g)*c.hd:(j*c.nkv+g+1)*c.hd])
					copy(vh[(g*c.maxLen+j)*c.hd:], vd[(j*c.nkv+g)*c.hd:(j*c.nkv+g+1)*c.hd])
				}
			}
			q := randSlice(r, c.T*c.nh*c.hd)
			want, got := make([]float32, len(q)), make([]float32, len(q))
			p := Attn{T: c.T, Pos0: c.pos0, NHead: c.nh, NKV: c.nkv, HeadDim: c.hd, Window: c.win, Stride: c.nkv * c.hd}
			Attention(want, q, kd, vd, p)
			p.Stride, p.HeadStride = c.hd, c.maxLen*c.hd
			Attention(got, q, kh, vh, p)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s %+v: out[%d] head-major %v, position-major %v", isa, c, i, got[i], want[i])
				}
			}
		}
	}
	SetISA(ISAs()[0])
}

// AttentionBF16 equals Attention on the widened cache, bit for bit, for
// decode and prefill (four-query) shapes, both cache layouts, every ISA.
func TestAttentionBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, isa := range ISAs() {
		if err := SetISA(isa); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ T, pos0, nh, nkv, hd, win int }{
			{1, 200, 4, 2, 128, -1}, {1, 70, 2, 2, 64, 16}, {9, 100, 4, 1, 128, 40}, {13, 0, 4, 4, 32, -1}, {3, 5, 2, 1, 24, 2},
			{8, 300, 4, 2, 128, 100}, {17, 130, 2, 2, 64, -1}, {6, 61, 2, 1, 16, 3},
		} {
			n := c.pos0 + c.T
			kb, vb := make([]uint16, n*c.nkv*c.hd), make([]uint16, n*c.nkv*c.hd)
			RoundBF16(kb, randSlice(r, len(kb)))
			RoundBF16(vb, randSlice(r, len(vb)))
			kf, vf := make([]float32, len(kb)), make([]float32, len(vb))
			WidenBF16(kf, kb)
			WidenBF16(vf, vb)
			q := randSlice(r, c.T*c.nh*c.hd)
			want, got := make([]float32, len(q)), make([]float32, len(q))
			p := Attn{T: c.T, Pos0: c.pos0, NHead: c.nh, NKV: c.nkv, HeadDim: c.hd, Window: c.win, Stride: c.nkv * c.hd}
			Attention(want, q, kf, vf, p)
			AttentionBF16(got, q, kb, vb, p)
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-6 {
					t.Fatalf("%s %+v: out[%d] bf16 %v, fp32 %v", isa, c, i, got[i], want[i])
				}
			}
		}
	}
	SetISA(ISAs()[0])
}
