//go:build cuda && cgo

package cuda

// GPU tests: each kernel against the CPU reference (package kernels) on
// random shapes. They need an NVIDIA GPU of compute capability ≥ 8.0 and
// skip, saying so, when the one they would use is unusable. (Where the
// driver is missing altogether the test binary cannot start:
// gorgonia.org/cu's init exits when cuInit fails; check.sh only compiles it
// there.) NANOCHAT_CUDA_DEVICE picks the GPU (default 0).

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/nanochat-go/nanochat/kernels"
)

var (
	testGPUOnce sync.Once
	testGPUDev  *gpu
	testGPUErr  error
)

func testDevice() int {
	n, _ := strconv.Atoi(os.Getenv("NANOCHAT_CUDA_DEVICE"))
	return n
}

// needGPU returns the shared test GPU with its context current on this
// (locked) thread, or skips.
func needGPU(t *testing.T) *gpu {
	t.Helper()
	testGPUOnce.Do(func() {
		devs, err := Devices()
		switch {
		case err != nil:
			testGPUErr = err
		case len(devs) <= testDevice():
			testGPUErr = errNoDevice(len(devs))
		default:
			testGPUDev, testGPUErr = openGPU(testDevice())
		}
	})
	if testGPUErr != nil {
		t.Skipf("no CUDA device: %v", testGPUErr)
	}
	t.Cleanup(testGPUDev.enter())
	return testGPUDev
}

type errNoDevice int

func (e errNoDevice) Error() string {
	return "the driver reports " + strconv.Itoa(int(e)) + " GPU(s); NANOCHAT_CUDA_DEVICE=" + strconv.Itoa(testDevice())
}

func randBF16(r *rand.Rand, n int, scale float64) []uint16 {
	out := make([]uint16, n)
	for i := range out {
		out[i] = kernels.F32ToBF16(float32(r.NormFloat64() * scale))
	}
	return out
}

func widen(b []uint16) []float32 {
	out := make([]float32, len(b))
	kernels.WidenBF16(out, b)
	return out
}

func mustUpload[T any](t *testing.T, g *gpu, host []T) cu.DevicePtr {
	t.Helper()
	p, err := upload(g, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cu.MemFree(p) })
	return p
}

func mustAlloc(t *testing.T, g *gpu, bytes int) cu.DevicePtr {
	t.Helper()
	p, err := g.alloc(int64(bytes))
	if err != nil {
		t.Fatal(err)
	}
	if err := cu.MemsetD8(p, 0, int64(bytes)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cu.MemFree(p) })
	return p
}

func download[T any](t *testing.T, g *gpu, p cu.DevicePtr, n int) []T {
	t.Helper()
	if err := g.stream.Synchronize(); err != nil {
		t.Fatalf("kernel failed: %v", err)
	}
	out := make([]T, n)
	var zero T
	if n > 0 {
		if err := cu.MemcpyDtoH(unsafe.Pointer(&out[0]), p, int64(n)*int64(unsafe.Sizeof(zero))); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func mustLaunch(t *testing.T, g *gpu, l Launch) {
	t.Helper()
	if err := g.launch(l); err != nil {
		t.Fatal(err)
	}
}

// TestGEMM runs every GEMM kernel on shapes with M, N and K tails and
// every epilogue. Tolerance: 1e-3 of Σ|x·w| (fp32 accumulation in another
// order than the float64 reference); 1/128 relative after bf16 rounding.
func TestGEMM(t *testing.T) {
	g := needGPU(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, sh := range []struct{ M, N, K int }{
		{1, 64, 64}, {3, 200, 136}, {8, 1000, 1280}, {9, 130, 64}, {77, 2000, 64}, {300, 257, 520}, {129, 1280, 1280},
	} {
		M, N, K := sh.M, sh.N, sh.K
		a, w := randBF16(r, M*K, 1), randBF16(r, N*K, 0.05)
		af, wf := widen(a), widen(w)
		ref, mag := make([]float64, M*N), make([]float64, M*N)
		for m := 0; m < M; m++ {
			for n := 0; n < N; n++ {
				var s, ab float64
				for k := 0; k < K; k++ {
					p := float64(af[m*K+k]) * float64(wf[n*K+k])
					s += p
					ab += math.Abs(p)
				}
				ref[m*N+n], mag[m*N+n] = s, ab
			}
		}
		dA, dW := mustUpload(t, g, a), mustUpload(t, g, w)
		launches := []Launch{
			{Kernel: "nc_gemm_bf16_64x64", Grid: [3]int{ceilDiv(N, 64), ceilDiv(M, 64), 1}, Block: 128, Smem: gemmSmem(64, 64)},
			{Kernel: "nc_gemm_bf16_128x128", Grid: [3]int{ceilDiv(N, 128), ceilDiv(M, 128), 1}, Block: 256, Smem: gemmSmem(128, 128)},
		}
		if M <= gemvMaxM {
			l, _ := PlanGEMM(M, N, K, 1)
			launches = append(launches, l)
		}
		for _, l := range launches {
			for _, epi := range []int{EpiStoreF32, EpiAddF32, EpiReLU2BF16, EpiSoftcapF32} {
				ldc, nValid, softcap := N, N, float32(15)
				if epi == EpiSoftcapF32 {
					ldc, nValid = N-3, N-3
				}
				base := make([]float32, M*ldc)
				if epi == EpiAddF32 {
					for i := range base {
						base[i] = float32(r.NormFloat64())
					}
				}
				var out cu.DevicePtr
				if epi == EpiReLU2BF16 {
					out = mustAlloc(t, g, 2*M*ldc)
				} else {
					out = mustUpload(t, g, base)
				}
				g.args.reset().ptr(dA).ptr(dW).ptr(out).i32(M).i32(N).i32(K).i32(ldc).i32(epi).i32(nValid).f32(softcap)
				mustLaunch(t, g, l)
				var got []float32
				if epi == EpiReLU2BF16 {
					got = widen(download[uint16](t, g, out, M*ldc))
				} else {
					got = download[float32](t, g, out, M*ldc)
				}
				bad := 0
				for m := 0; m < M && bad < 3; m++ {
					for n := 0; n < nValid && bad < 3; n++ {
						v, tol := ref[m*N+n], 1e-3*mag[m*N+n]+1e-5
						switch epi {
						case EpiAddF32:
							v += float64(base[m*ldc+n])
						case EpiReLU2BF16:
							v = math.Max(v, 0)
							tol = 2*v*tol + v*v/128 + 1e-6
							v *= v
						case EpiSoftcapF32:
							v = 15 * math.Tanh(v/15)
						}
						if d := math.Abs(float64(got[m*ldc+n]) - v); d > tol || math.IsNaN(d) {
							bad++
							t.Errorf("%s M=%d N=%d K=%d epi %d: C[%d][%d] = %g, want %g (|Δ| %.3g > %.3g)",
								l.Kernel, M, N, K, epi, m, n, got[m*ldc+n], v, d, tol)
						}
					}
				}
			}
		}
	}
}

// TestAttention checks the prefill and split-KV kernels against
// kernels.Attention on tails, sliding windows, GQA/MQA and decode, with
// every launch entry on its own cache row (not the entry's index) at its
// own position. Tolerance: 0.02 + 1% of |out| (bf16 q, k, v, P and output
// rounding).
func TestAttention(t *testing.T) {
	g := needGPU(t)
	r := rand.New(rand.NewPCG(3, 4))
	type tc struct{ B, T, pos0, H, KV, hd, window int }
	var cases []tc
	for _, hd := range []int{16, 64, 128, 48} {
		for _, hk := range [][2]int{{4, 4}, {8, 2}, {4, 1}} {
			for _, tp := range [][2]int{{1, 0}, {1, 300}, {5, 37}, {64, 0}, {130, 70}} {
				for _, w := range []int{-1, 0, 17, 100} {
					cases = append(cases, tc{1 + r.IntN(3), tp[0], tp[1], hk[0], hk[1], hd, w})
				}
			}
		}
	}
	for _, c := range cases {
		// Entry b runs on cache row B−b (row 0 stays unused) at position
		// pos0 + 13·b mod 29.
		rows, pos := make([]int, c.B), make([]int, c.B)
		maxLen := 0
		for b := range rows {
			rows[b], pos[b] = c.B-b, c.pos0+(13*b)%29
			maxLen = max(maxLen, pos[b]+c.T)
		}
		maxLen += r.IntN(3)
		R, kvd := c.B+1, c.KV*c.hd
		kc, vc := randBF16(r, R*maxLen*kvd, 1), randBF16(r, R*maxLen*kvd, 1)
		q := randBF16(r, c.B*c.T*c.H*c.hd, 1)
		kf, vf, qf := widen(kc), widen(vc), widen(q)
		ref := make([]float32, len(q))
		for b := 0; b < c.B; b++ {
			o, n, k0 := b*c.T*c.H*c.hd, c.T*c.H*c.hd, rows[b]*maxLen*kvd
			kernels.Attention(ref[o:o+n], qf[o:o+n], kf[k0:k0+maxLen*kvd], vf[k0:k0+maxLen*kvd],
				kernels.Attn{T: c.T, Pos0: pos[b], NHead: c.H, NKV: c.KV, HeadDim: c.hd, Window: c.window, Stride: kvd})
		}
		step := make([]int32, StepWords(c.B, c.T))
		for b := range rows {
			step[b], step[c.B+b] = int32(rows[b]), int32(pos[b])
		}
		dStep, dK, dV, dQ := mustUpload(t, g, step), mustUpload(t, g, kc), mustUpload(t, g, vc), mustUpload(t, g, q)
		for _, force := range []bool{false, true} {
			p, err := PlanAttention(Attn{B: c.B, T: c.T, H: c.H, KV: c.KV, HD: c.hd,
				MaxKeys: MaxKeys(maxLen, c.window), SMs: g.info.SMs, ForceSplitK: force})
			if err != nil {
				t.Fatal(err)
			}
			if force && p.Combine != nil && !slicesContains(PrefillHeadDims, c.hd) {
				continue // the first pass already ran split-KV
			}
			out := mustAlloc(t, g, 2*len(q))
			scale := float32(1/math.Sqrt(float64(c.hd))) * math.Log2E
			if p.Combine == nil {
				g.args.reset().ptr(dQ).ptr(dK).ptr(dV).ptr(out).ptr(dStep).i32(c.B).i32(c.T).i32(c.H).i32(c.KV).
					i32(maxLen).i32(c.window).f32(scale)
				mustLaunch(t, g, p.Main)
			} else {
				parts := c.B * c.T * c.H * p.Splits
				opart, lse := mustAlloc(t, g, 4*parts*c.hd), mustAlloc(t, g, 4*parts)
				g.args.reset().ptr(dQ).ptr(dK).ptr(dV).ptr(opart).ptr(lse).ptr(dStep).i32(c.B).i32(c.T).i32(c.H).
					i32(c.KV).i32(c.hd).i32(maxLen).i32(c.window).f32(scale).i32(p.Splits).i32(p.QPB)
				mustLaunch(t, g, p.Main)
				g.args.reset().ptr(opart).ptr(lse).ptr(out).i32(c.hd).i32(p.Splits)
				mustLaunch(t, g, *p.Combine)
			}
			got := widen(download[uint16](t, g, out, len(q)))
			for i := range ref {
				if d := math.Abs(float64(got[i] - ref[i])); d > 0.02+0.01*math.Abs(float64(ref[i])) || math.IsNaN(d) {
					t.Errorf("%s %+v (rows %v, positions %v, maxLen %d, %d splits): out[%d] = %g, want %g",
						p.Main.Kernel, c, rows, pos, maxLen, p.Splits, i, got[i], ref[i])
					break
				}
			}
		}
	}
}

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
