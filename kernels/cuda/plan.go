package cuda

import (
	"fmt"
	"slices"
)

// This file is the host-side planning of every launch: which kernel, grid,
// block and dynamic shared memory. It is pure Go, built in every
// configuration, and unit-tested without a GPU (plan_test.go). The numbers
// mirror the #defines in csrc/*.cuh; a change on one side needs the other.

const (
	// MaxSmem is the dynamic shared memory any kernel may ask for: 99 KiB,
	// the per-block opt-in limit of sm_86/sm_89/sm_12x (sm_80 and sm_90
	// allow more). Kernels over DefaultSmem need cuFuncSetAttribute.
	MaxSmem = 99 * 1024
	// DefaultSmem is what a launch gets without opting in.
	DefaultSmem = 48 * 1024
)

// Epilogues of the GEMM kernels (EPI_* in csrc/common.cuh).
const (
	EpiStoreF32   = 0 // C[m][n] = acc
	EpiAddF32     = 1 // C[m][n] += acc
	EpiReLU2BF16  = 2 // C[m][n] = bf16(max(acc, 0)²)
	EpiSoftcapF32 = 3 // n < nValid: C[m][n] = cap·tanh(acc/cap)
)

// Launch is one kernel launch's geometry.
type Launch struct {
	Kernel string
	Grid   [3]int
	Block  int
	Smem   int // dynamic shared memory in bytes
}

func (l Launch) String() string {
	return fmt.Sprintf("%s<<<(%d,%d,%d), %d, %d B>>>", l.Kernel, l.Grid[0], l.Grid[1], l.Grid[2], l.Block, l.Smem)
}

// Blocks is the number of thread blocks.
func (l Launch) Blocks() int { return l.Grid[0] * l.Grid[1] * l.Grid[2] }

const (
	gemmBK     = 32
	gemmStages = 3
	gemmLDS    = gemmBK + 8
	// gemvMaxM is the largest M the GEMV kernels take (decode batch rows).
	gemvMaxM = 8
)

// gemmSmem is the shared memory of a BM×BN tile kernel: 3 stages of A and W
// tiles, rows padded to 40 bf16.
func gemmSmem(bm, bn int) int { return gemmStages * (bm + bn) * gemmLDS * 2 }

// PlanGEMM picks the kernel for y[M][N] = x[M][K]·W[N][K]ᵀ on a GPU with
// sms multiprocessors: the GEMV for M ≤ 8 (decode; one warp per output
// column, weights streamed once), 128×128 tensor-core tiles when they fill
// the GPU, 64×64 tiles otherwise.
func PlanGEMM(M, N, K, sms int) (Launch, error) {
	switch {
	case M <= 0 || N <= 0 || K <= 0:
		return Launch{}, fmt.Errorf("gemm: empty shape M=%d N=%d K=%d", M, N, K)
	case K%8 != 0:
		return Launch{}, fmt.Errorf("gemm: K=%d is not a multiple of 8 (16-byte rows)", K)
	}
	if M <= gemvMaxM {
		mr := 1
		for mr < M {
			mr *= 2
		}
		return Launch{Kernel: gemvNames[mr], Grid: [3]int{ceilDiv(N, 4), 1, 1}, Block: 128}, nil
	}
	if ceilDiv(M, 128)*ceilDiv(N, 128) >= sms {
		return Launch{Kernel: "nc_gemm_bf16_128x128", Grid: [3]int{ceilDiv(N, 128), ceilDiv(M, 128), 1},
			Block: 256, Smem: gemmSmem(128, 128)}, nil
	}
	return Launch{Kernel: "nc_gemm_bf16_64x64", Grid: [3]int{ceilDiv(N, 64), ceilDiv(M, 64), 1},
		Block: 128, Smem: gemmSmem(64, 64)}, nil
}

const (
	faBlock   = 64 // queries per prefill block and keys per K/V tile
	skTile    = 64 // keys per split-KV tile
	skThreads = 128
	skMaxU    = 16  // accumulators per split-KV thread: qpb·hd ≤ 128·16
	qkvMaxHD  = 256 // nc_qkv_post's per-warp head buffer
	// MaxSplits bounds the split-KV slices of one decode query.
	MaxSplits = 32
	maxGridYZ = 65535 // CUDA's limit on gridDim.y and gridDim.z
)

// PrefillHeadDims are the head dims with a tensor-core prefill kernel
// (nc_attn_prefill_hd*); others take the split-KV kernel.
var PrefillHeadDims = []int{16, 32, 64, 96, 128}

// PrefillSmem is nc_attn_prefill's shared memory: the Q tile and two
// buffers each of K and V, 64 rows of hd+8 bf16.
func PrefillSmem(hd int) int { return (faBlock + 4*faBlock) * (hd + 8) * 2 }

// SplitKVSmem is nc_attn_splitkv's shared memory for qpb queries per block.
func SplitKVSmem(hd, qpb int) int {
	return 2*skTile*(hd+8)*2 + qpb*hd*4 + qpb*skTile*4 + 3*qpb*4
}

// Attn is the shape of one attention call.
type Attn struct {
	B, T        int // launch entries (one cache row each), new positions per entry
	H, KV, HD   int // query heads, KV heads, head dim
	MaxKeys     int // most keys one query can see: min(cache capacity, window+1)
	SMs         int
	ForceSplitK bool // take the split-KV kernel even where a prefill kernel exists (tests)
}

// AttnPlan is how one attention call runs: a prefill launch, or a split-KV
// launch followed by the combine launch.
type AttnPlan struct {
	Main    Launch
	Combine *Launch
	Splits  int // split-KV slices per query (1 for prefill)
	QPB     int // query heads per split-KV block
}

// CheckHeadDim reports whether the CUDA kernels support head dim hd.
func CheckHeadDim(hd int) error {
	if hd%8 != 0 || hd < 8 || hd > qkvMaxHD {
		return fmt.Errorf("head_dim %d: the CUDA kernels need a multiple of 8 up to %d", hd, qkvMaxHD)
	}
	return nil
}

// PlanAttention plans one attention call. Prefill (T > 1) with a supported
// head dim runs the FA2 kernel, one block per 64 queries of one head. All
// else runs split-KV: one block per (slice, KV head and query chunk, query
// position), with enough slices for decode (T = 1) to give every SM two
// blocks, a slice never shorter than one 64-key tile. The slice count is
// fixed by MaxKeys (the cache capacity), not the current length, so a
// captured decode graph stays valid as the cache fills; the kernel spreads
// the keys present at run time evenly over the slices.
func PlanAttention(a Attn) (AttnPlan, error) {
	if err := CheckHeadDim(a.HD); err != nil {
		return AttnPlan{}, err
	}
	if a.B < 1 || a.T < 1 || a.KV < 1 || a.H%a.KV != 0 {
		return AttnPlan{}, fmt.Errorf("attention: bad shape %+v", a)
	}
	if a.T > 1 && !a.ForceSplitK && slices.Contains(PrefillHeadDims, a.HD) {
		return AttnPlan{Main: Launch{Kernel: prefillName(a.HD),
			Grid: [3]int{ceilDiv(a.T, faBlock), a.H, a.B}, Block: 128, Smem: PrefillSmem(a.HD)}, Splits: 1}, nil
	}
	if a.B*a.T > maxGridYZ {
		return AttnPlan{}, fmt.Errorf("attention: %d rows × %d positions exceed the %d query blocks of one split-KV launch", a.B, a.T, maxGridYZ)
	}
	g := a.H / a.KV
	qpb := min(g, skMaxU*skThreads/a.HD)
	qchunks := ceilDiv(g, qpb)
	base := a.B * a.T * a.KV * qchunks
	splits := 1
	if a.T == 1 {
		splits = max(1, min(ceilDiv(2*max(a.SMs, 1), base), ceilDiv(max(a.MaxKeys, 1), skTile), MaxSplits))
	}
	comb := Launch{Kernel: "nc_attn_combine", Grid: [3]int{a.B * a.T * a.H, 1, 1}, Block: min(256, roundUp(a.HD, 32))}
	return AttnPlan{
		Main: Launch{Kernel: "nc_attn_splitkv", Grid: [3]int{splits, a.KV * qchunks, a.B * a.T},
			Block: skThreads, Smem: SplitKVSmem(a.HD, qpb)},
		Combine: &comb, Splits: splits, QPB: qpb,
	}, nil
}

// MaxKeys is the most keys a query sees in a cache of capacity maxLen with
// window w (w < 0: unbounded).
func MaxKeys(maxLen, w int) int {
	if w < 0 {
		return maxLen
	}
	return min(maxLen, w+1)
}

// StepWords is the length of the int32 step block the host uploads before
// each launch sequence of B entries of T tokens (csrc/common.cuh): the cache
// row of each entry, its position, the token before its chunk, then the
// B·T new tokens.
func StepWords(B, T int) int { return 3*B + B*T }

var gemvNames = map[int]string{1: "nc_gemv_bf16_m1", 2: "nc_gemv_bf16_m2", 4: "nc_gemv_bf16_m4", 8: "nc_gemv_bf16_m8"}

var prefillNames = map[int]string{16: "nc_attn_prefill_hd16", 32: "nc_attn_prefill_hd32", 64: "nc_attn_prefill_hd64",
	96: "nc_attn_prefill_hd96", 128: "nc_attn_prefill_hd128"}

func prefillName(hd int) string { return prefillNames[hd] }

// Kernels lists every entry point of kernels.fatbin.
func Kernels() []string {
	ks := []string{"nc_embed", "nc_mix_norm", "nc_final_norm", "nc_qkv_post",
		"nc_gemm_bf16_128x128", "nc_gemm_bf16_64x64", "nc_attn_splitkv", "nc_attn_combine"}
	for _, m := range []int{1, 2, 4, 8} {
		ks = append(ks, fmt.Sprintf("nc_gemv_bf16_m%d", m))
	}
	for _, hd := range PrefillHeadDims {
		ks = append(ks, fmt.Sprintf("nc_attn_prefill_hd%d", hd))
	}
	return ks
}

// CubinArchs are the real architectures kernels.fatbin holds cubins for;
// PTXArch is the virtual architecture of its PTX (JIT-compiled by the
// driver for any newer GPU).
var (
	CubinArchs = []int{80, 86, 89, 90, 100, 120, 121}
	PTXArch    = 80
)

// ToolkitVersion is the CUDA version kernels.fatbin is built with
// (build.sh pins it); the driver must be at least this new to JIT its PTX.
const ToolkitVersion = 12090

// Image tells which image of kernels.fatbin a GPU of compute capability
// major.minor runs with a driver of version driver (cuDriverGetVersion,
// e.g. 12090): a cubin of the same major and the highest minor ≤ minor, or
// the compute_80 PTX through the driver's JIT. It fails where neither
// works, with the reason.
func Image(major, minor, driver int) (string, error) {
	cc := major*10 + minor
	if cc < PTXArch {
		return "", fmt.Errorf("compute capability %d.%d: the CUDA backend needs 8.0 or newer (bf16 mma.sync)", major, minor)
	}
	best := -1
	for _, a := range CubinArchs {
		if a/10 == major && a%10 <= minor && a > best {
			best = a
		}
	}
	if best >= 0 {
		return fmt.Sprintf("sm_%d cubin", best), nil
	}
	if driver < ToolkitVersion {
		return "", fmt.Errorf("compute capability %d.%d has no cubin in kernels.fatbin and the driver (CUDA %s) is older than the CUDA %s PTX it would JIT: update the NVIDIA driver",
			major, minor, versionString(driver), versionString(ToolkitVersion))
	}
	return fmt.Sprintf("compute_%d PTX (JIT)", PTXArch), nil
}

func versionString(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }
