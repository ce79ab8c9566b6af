//go:build amd64 && !purego

package kernels

// cpuid executes the CPUID instruction with the given leaf and sub-leaf.
//
//go:noescape
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// xgetbv0 returns XCR0, the OS-enabled register state mask.
//
//go:noescape
func xgetbv0() (eax, edx uint32)

// cpuFeatures reports what the CPU and the OS together allow.
type cpuFeatures struct {
	avx2, fma  bool
	avx512     bool // F, BW, VL, DQ together
	avx512bf16 bool
}

func detectCPU() cpuFeatures {
	var f cpuFeatures
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return f
	}
	_, _, ecx1, _ := cpuid(1, 0)
	osxsave := ecx1&(1<<27) != 0
	avx := ecx1&(1<<28) != 0
	fma := ecx1&(1<<12) != 0
	if !osxsave || !avx {
		return f
	}
	xcr0, _ := xgetbv0()
	if xcr0&0x6 != 0x6 { // SSE and AVX state
		return f
	}
	eax7, ebx7, _, _ := cpuid(7, 0)
	f.fma = fma
	f.avx2 = ebx7&(1<<5) != 0 && fma
	const f512, dq, bw, vl = 1 << 16, 1 << 17, 1 << 30, 1 << 31
	if ebx7&(f512|dq|bw|vl) == f512|dq|bw|vl && xcr0&0xe0 == 0xe0 && f.avx2 {
		f.avx512 = true
		if eax7 >= 1 {
			eax71, _, _, _ := cpuid(7, 1)
			f.avx512bf16 = eax71&(1<<5) != 0
		}
	}
	return f
}
