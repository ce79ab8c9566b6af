package cuda

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/model"
)

// These tests need no GPU: they check the host-side planning and that the
// committed fatbin matches its sources.

func TestPlanGEMM(t *testing.T) {
	for _, tc := range []struct {
		M, N, K, sms int
		kernel       string
		grid         [3]int
	}{
		{1, 1280, 1280, 132, "nc_gemv_bf16_m1", [3]int{320, 1, 1}},
		{3, 65536, 1280, 132, "nc_gemv_bf16_m4", [3]int{16384, 1, 1}},
		{8, 5120, 1280, 132, "nc_gemv_bf16_m8", [3]int{1280, 1, 1}},
		{9, 1280, 1280, 132, "nc_gemm_bf16_64x64", [3]int{20, 1, 1}},
		{512, 1280, 1280, 132, "nc_gemm_bf16_64x64", [3]int{20, 8, 1}},
		{2048, 5120, 1280, 132, "nc_gemm_bf16_128x128", [3]int{40, 16, 1}},
		{100, 2000, 64, 48, "nc_gemm_bf16_64x64", [3]int{32, 2, 1}},
	} {
		l, err := PlanGEMM(tc.M, tc.N, tc.K, tc.sms)
		if err != nil {
			t.Fatalf("PlanGEMM(%d,%d,%d): %v", tc.M, tc.N, tc.K, err)
		}
		if l.Kernel != tc.kernel || l.Grid != tc.grid {
			t.Errorf("PlanGEMM(%d,%d,%d) = %v, want %s grid %v", tc.M, tc.N, tc.K, l, tc.kernel, tc.grid)
		}
		if l.Smem > MaxSmem {
			t.Errorf("%v: %d B of shared memory > %d", l, l.Smem, MaxSmem)
		}
		// Every output tile is covered.
		if strings.HasPrefix(l.Kernel, "nc_gemm") {
			bm, bn := 64, 64
			if strings.HasSuffix(l.Kernel, "128x128") {
				bm, bn = 128, 128
			}
			if l.Grid[0]*bn < tc.N || l.Grid[1]*bm < tc.M {
				t.Errorf("%v does not cover %d×%d", l, tc.M, tc.N)
			}
		} else if l.Grid[0]*4 < tc.N {
			t.Errorf("%v does not cover %d columns", l, tc.N)
		}
	}
	if _, err := PlanGEMM(4, 64, 20, 10); err == nil {
		t.Error("PlanGEMM with K=20: got no error, want one (K must be a multiple of 8)")
	}
	if gemmSmem(128, 128) != 61440 || gemmSmem(64, 64) != 30720 {
		t.Errorf("gemm smem: got %d and %d, want 61440 and 30720", gemmSmem(128, 128), gemmSmem(64, 64))
	}
}

func TestPlanAttentionPrefill(t *testing.T) {
	for _, hd := range PrefillHeadDims {
		p, err := PlanAttention(Attn{B: 2, T: 100, H: 8, KV: 2, HD: hd, MaxKeys: 1024, SMs: 132})
		if err != nil {
			t.Fatal(err)
		}
		if p.Combine != nil || p.Main.Kernel != fmt.Sprintf("nc_attn_prefill_hd%d", hd) {
			t.Errorf("hd %d: got %v, want the prefill kernel", hd, p.Main)
		}
		if p.Main.Grid != [3]int{2, 8, 2} || p.Main.Block != 128 {
			t.Errorf("hd %d: got %v, want grid (2,8,2) of 128 threads", hd, p.Main)
		}
		if p.Main.Smem > MaxSmem {
			t.Errorf("hd %d: prefill smem %d > %d", hd, p.Main.Smem, MaxSmem)
		}
	}
	if got := PrefillSmem(128); got != 87040 {
		t.Errorf("PrefillSmem(128) = %d, want 87040", got)
	}
	// Head dims without a tensor-core kernel take split-KV with one slice.
	p, err := PlanAttention(Attn{B: 1, T: 37, H: 4, KV: 4, HD: 48, MaxKeys: 256, SMs: 132})
	if err != nil || p.Combine == nil || p.Splits != 1 || p.Main.Grid != [3]int{1, 4, 37} {
		t.Errorf("hd 48 prefill: got %+v %v, want split-KV with 1 slice, grid (1,4,37)", p, err)
	}
}

func TestPlanAttentionDecode(t *testing.T) {
	for _, tc := range []struct {
		name               string
		a                  Attn
		splits, qpb, grid1 int
	}{
		// d20: 10 heads of 128, no GQA, 2048-token cache on an H100.
		{"d20", Attn{B: 1, T: 1, H: 10, KV: 10, HD: 128, MaxKeys: 2048, SMs: 132}, 27, 1, 10},
		// A short window caps the slices at one per 64-key tile.
		{"window", Attn{B: 1, T: 1, H: 10, KV: 10, HD: 128, MaxKeys: 129, SMs: 132}, 3, 1, 10},
		// Batch 8 already fills the GPU: fewer slices.
		{"batch", Attn{B: 8, T: 1, H: 16, KV: 16, HD: 128, MaxKeys: 4096, SMs: 132}, 3, 1, 16},
		// MQA: all 16 query heads share each K/V load.
		{"mqa", Attn{B: 1, T: 1, H: 16, KV: 1, HD: 128, MaxKeys: 2048, SMs: 48}, 32, 16, 1},
		// GQA with wide heads: query heads split into chunks.
		{"gqa256", Attn{B: 1, T: 1, H: 32, KV: 2, HD: 256, MaxKeys: 8192, SMs: 170}, 32, 8, 4},
		// The golden checkpoints: head dim 16, 4 heads over 1 KV head.
		{"golden", Attn{B: 1, T: 1, H: 4, KV: 1, HD: 16, MaxKeys: 1024, SMs: 132}, 16, 4, 1},
	} {
		p, err := PlanAttention(tc.a)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if p.Main.Kernel != "nc_attn_splitkv" || p.Combine == nil {
			t.Fatalf("%s: got %v, want split-KV + combine", tc.name, p.Main)
		}
		if p.Splits != tc.splits || p.QPB != tc.qpb || p.Main.Grid[1] != tc.grid1 {
			t.Errorf("%s: splits %d qpb %d grid %v, want %d %d y=%d", tc.name, p.Splits, p.QPB, p.Main.Grid, tc.splits, tc.qpb, tc.grid1)
		}
		if p.Splits > MaxSplits || p.Splits*skTile > max(tc.a.MaxKeys, skTile)+skTile-1 {
			t.Errorf("%s: %d slices for %d keys", tc.name, p.Splits, tc.a.MaxKeys)
		}
		if p.QPB*tc.a.HD > skMaxU*skThreads {
			t.Errorf("%s: %d queries × hd %d exceed the %d accumulators of a block", tc.name, p.QPB, tc.a.HD, skMaxU*skThreads)
		}
		if p.Main.Smem > MaxSmem {
			t.Errorf("%s: split-KV smem %d > %d", tc.name, p.Main.Smem, MaxSmem)
		}
		if p.Combine.Block < tc.a.HD && p.Combine.Block != 256 {
			t.Errorf("%s: combine block %d < hd %d", tc.name, p.Combine.Block, tc.a.HD)
		}
		if p.Combine.Grid[0] != tc.a.B*tc.a.T*tc.a.H {
			t.Errorf("%s: combine grid %v, want one block per (row, head)", tc.name, p.Combine.Grid)
		}
	}
}

// Every supported head dim fits the shared-memory budget with the largest
// query chunk the plan can pick.
func TestSplitKVSmemBudget(t *testing.T) {
	for hd := 8; hd <= qkvMaxHD; hd += 8 {
		qpb := min(64, skMaxU*skThreads/hd)
		if s := SplitKVSmem(hd, qpb); s > MaxSmem {
			t.Errorf("hd %d qpb %d: %d B > %d", hd, qpb, s, MaxSmem)
		}
	}
	for _, hd := range []int{0, 4, 20, 264} {
		if err := CheckHeadDim(hd); err == nil {
			t.Errorf("CheckHeadDim(%d): got no error", hd)
		}
	}
	if _, err := PlanAttention(Attn{B: 2, T: 40000, H: 4, KV: 4, HD: 48}); err == nil {
		t.Error("PlanAttention with 80000 split-KV query rows: got no error")
	}
	if _, err := PlanAttention(Attn{B: 1, T: 1, H: 6, KV: 4, HD: 64}); err == nil {
		t.Error("PlanAttention with H=6, KV=4: got no error")
	}
}

func TestMaxKeys(t *testing.T) {
	for _, tc := range []struct{ cap, w, want int }{{2048, -1, 2048}, {2048, 512, 513}, {100, 512, 100}, {1024, 1024, 1024}} {
		if got := MaxKeys(tc.cap, tc.w); got != tc.want {
			t.Errorf("MaxKeys(%d, %d) = %d, want %d", tc.cap, tc.w, got, tc.want)
		}
	}
	if StepWords(2, 5) != 16 {
		t.Errorf("StepWords(2, 5) = %d, want 16 (2 rows, 2 positions, 2 previous tokens, 10 tokens)", StepWords(2, 5))
	}
}

func TestImage(t *testing.T) {
	for _, tc := range []struct {
		major, minor, driver int
		want, err            string
	}{
		{8, 0, 12020, "sm_80 cubin", ""},
		{8, 7, 12020, "sm_86 cubin", ""}, // Jetson Orin runs the sm_86 cubin
		{8, 9, 12040, "sm_89 cubin", ""},
		{9, 0, 12040, "sm_90 cubin", ""},
		{10, 0, 12080, "sm_100 cubin", ""},
		{10, 3, 12090, "sm_100 cubin", ""}, // B300
		{12, 0, 12080, "sm_120 cubin", ""}, // RTX 50xx
		{12, 1, 13000, "sm_121 cubin", ""}, // GB10 / DGX Spark
		{11, 0, 13000, "compute_80 PTX (JIT)", ""},
		{11, 0, 12080, "", "older than the CUDA 12.9 PTX"},
		{7, 5, 12090, "", "needs 8.0 or newer"},
	} {
		got, err := Image(tc.major, tc.minor, tc.driver)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Image(%d.%d, %d): got %q, %v; want an error containing %q", tc.major, tc.minor, tc.driver, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Image(%d.%d, %d) = %q, %v; want %q", tc.major, tc.minor, tc.driver, got, err, tc.want)
		}
	}
}

// TestKernelNames checks that every kernel the Go side launches is defined
// in csrc (directly or through its instantiation macro).
func TestKernelNames(t *testing.T) {
	var src strings.Builder
	files, _ := filepath.Glob("csrc/*.cu*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	s := src.String()
	for _, k := range Kernels() {
		found := strings.Contains(s, k+"(")
		if n, ok := strings.CutPrefix(k, "nc_gemv_bf16_m"); ok {
			found = strings.Contains(s, "NC_GEMV("+n+")")
		}
		if n, ok := strings.CutPrefix(k, "nc_attn_prefill_hd"); ok {
			found = strings.Contains(s, "NC_ATTN_PREFILL("+n+")")
		}
		if !found {
			t.Errorf("kernel %s is not defined in csrc", k)
		}
	}
}

// sourcesHash is build.sh's and check.sh's hash of the fatbin's inputs:
// sha256 over "path\n" + contents of each input, in sorted path order.
func sourcesHash(t *testing.T) string {
	t.Helper()
	var paths []string
	for _, pat := range []string{"csrc/*.cu", "csrc/*.cuh", "tools/fatbuild.c", "build.sh"} {
		m, _ := filepath.Glob(pat)
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s\n", p)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestFatbinUpToDate is the GPU-free half of check.sh: the committed
// kernels.fatbin was built from the committed sources, for the
// architectures the Go side expects.
func TestFatbinUpToDate(t *testing.T) {
	man, err := os.ReadFile("kernels.fatbin.sum")
	if err != nil {
		t.Fatalf("read manifest: %v (run kernels/cuda/build.sh)", err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(man), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	if got, want := fields["sources-sha256"], sourcesHash(t); got != want {
		t.Errorf("kernels.fatbin is stale: sources hash %s, manifest says %s (run kernels/cuda/build.sh)", want, got)
	}
	fb, err := os.ReadFile("kernels.fatbin")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(fb, []byte{0x50, 0xed, 0x55, 0xba}) {
		t.Errorf("kernels.fatbin does not start with the fatbin magic 0xBA55ED50")
	}
	sum := sha256.Sum256(fb)
	if got := fields["fatbin-sha256"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("kernels.fatbin hash %x, manifest says %s", sum, got)
	}
	var want []string
	for _, a := range CubinArchs {
		want = append(want, "sm_"+strconv.Itoa(a))
	}
	if got := fields["cubins"]; got != strings.Join(want, " ") {
		t.Errorf("manifest cubins %q, want %q", got, strings.Join(want, " "))
	}
	if got := fields["ptx"]; got != "compute_"+strconv.Itoa(PTXArch) {
		t.Errorf("manifest ptx %q, want compute_%d", got, PTXArch)
	}
	if got := fields["toolkit"]; !strings.HasPrefix(got, versionString(ToolkitVersion)+" ") {
		t.Errorf("manifest toolkit %q, want CUDA %s", got, versionString(ToolkitVersion))
	}
}

// The GPU holds bf16 matrices only: int8 is refused with a message naming
// the way out, the other precisions pass.
func TestCheckPrecision(t *testing.T) {
	if err := CheckPrecision(model.Int8); err == nil || !strings.Contains(err.Error(), "CPU-only") {
		t.Fatalf("int8: %v, want a CPU-only error", err)
	}
	for _, p := range []model.Precision{model.BF16, model.Exact} {
		if err := CheckPrecision(p); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
}
