//go:build amd64 && !purego

#include "textflag.h"

// int8 weight kernels (MatMulQ8): groups of 64 int8 weights, one fp32 scale
// each, widened in registers (VPMOVSXBD straight from memory, VCVTDQ2PS)
// and multiplied into fp32 x; each group's sum is scaled once.

// func gemvQ8AVX2(y, x *float32, q *int8, s *float32, k, rows int)
// For r < rows: y[r] = Σ_g s[g]·Σ_{i<64} x[64g+i]·q[64g+i] over the row's
// k/64 groups; rows are k bytes apart and their scales k/64 floats apart
// (both contiguous), so the weights stream strictly in order. k is a
// positive multiple of 64. Two accumulators (even and odd groups) keep the
// scaled adds off one dependency chain.
TEXT ·gemvQ8AVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ q+16(FP), DX
	MOVQ s+24(FP), R10
	MOVQ k+32(FP), CX
	MOVQ rows+40(FP), R9

q8row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	XORQ AX, AX

q8loop:
	VPMOVSXBD (DX)(AX*1), Y4
	VPMOVSXBD 8(DX)(AX*1), Y5
	VPMOVSXBD 16(DX)(AX*1), Y6
	VPMOVSXBD 24(DX)(AX*1), Y7
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VMULPS (SI)(AX*4), Y4, Y8
	VMULPS 32(SI)(AX*4), Y5, Y9
	VFMADD231PS 64(SI)(AX*4), Y6, Y8
	VFMADD231PS 96(SI)(AX*4), Y7, Y9
	VPMOVSXBD 32(DX)(AX*1), Y4
	VPMOVSXBD 40(DX)(AX*1), Y5
	VPMOVSXBD 48(DX)(AX*1), Y6
	VPMOVSXBD 56(DX)(AX*1), Y7
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VFMADD231PS 128(SI)(AX*4), Y4, Y8
	VFMADD231PS 160(SI)(AX*4), Y5, Y9
	VFMADD231PS 192(SI)(AX*4), Y6, Y8
	VFMADD231PS 224(SI)(AX*4), Y7, Y9
	VADDPS Y9, Y8, Y8
	VBROADCASTSS (R10), Y10
	VFMADD231PS Y10, Y8, Y0
	ADDQ $4, R10
	ADDQ $64, AX
	CMPQ AX, CX
	JGE  q8sum
	// The odd group, into Y1.
	VPMOVSXBD (DX)(AX*1), Y4
	VPMOVSXBD 8(DX)(AX*1), Y5
	VPMOVSXBD 16(DX)(AX*1), Y6
	VPMOVSXBD 24(DX)(AX*1), Y7
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VMULPS (SI)(AX*4), Y4, Y11
	VMULPS 32(SI)(AX*4), Y5, Y12
	VFMADD231PS 64(SI)(AX*4), Y6, Y11
	VFMADD231PS 96(SI)(AX*4), Y7, Y12
	VPMOVSXBD 32(DX)(AX*1), Y4
	VPMOVSXBD 40(DX)(AX*1), Y5
	VPMOVSXBD 48(DX)(AX*1), Y6
	VPMOVSXBD 56(DX)(AX*1), Y7
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VFMADD231PS 128(SI)(AX*4), Y4, Y11
	VFMADD231PS 160(SI)(AX*4), Y5, Y12
	VFMADD231PS 192(SI)(AX*4), Y6, Y11
	VFMADD231PS 224(SI)(AX*4), Y7, Y12
	VADDPS Y12, Y11, Y11
	VBROADCASTSS (R10), Y13
	VFMADD231PS Y13, Y11, Y1
	ADDQ $4, R10
	ADDQ $64, AX
	CMPQ AX, CX
	JLT  q8loop

q8sum:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ CX, DX
	DECQ R9
	JNZ  q8row
	VZEROUPPER
	RET

// X16GROUP adds one group of 64 to acc: the products of int16 x and int8
// weights summed exactly in int32, converted once, scaled by s·xs.
#define X16GROUP(acc) \
	PREFETCHT0 1024(DX)(AX*1); \
	VPMOVSXBW (DX)(AX*1), Y4; \
	VPMOVSXBW 16(DX)(AX*1), Y5; \
	VPMOVSXBW 32(DX)(AX*1), Y6; \
	VPMOVSXBW 48(DX)(AX*1), Y7; \
	VPMADDWD (SI)(AX*2), Y4, Y4; \
	VPMADDWD 32(SI)(AX*2), Y5, Y5; \
	VPMADDWD 64(SI)(AX*2), Y6, Y6; \
	VPMADDWD 96(SI)(AX*2), Y7, Y7; \
	VPADDD Y5, Y4, Y4; \
	VPADDD Y7, Y6, Y6; \
	VPADDD Y6, Y4, Y4; \
	VCVTDQ2PS Y4, Y4; \
	VMOVSS (R10), X8; \
	VMULSS (R11)(BX*1), X8, X8; \
	VBROADCASTSS X8, Y8; \
	VFMADD231PS Y8, Y4, acc; \
	ADDQ $4, R10; \
	ADDQ $4, BX; \
	ADDQ $64, AX; \
	CMPQ AX, CX

// func gemvQ8X16AVX2(y *float32, xq *int16, xs *float32, q *int8, s *float32, k, rows int)
// For r < rows: y[r] = Σ_g (s[g]·xs[g])·float32(Σ_{i<64} xq[64g+i]·q[64g+i])
// over the row's k/64 groups: x quantized to int16 with a scale per group
// (quantizeX16), each group's products summed exactly in int32 (VPMADDWD:
// |sum| ≤ 64·127·32767 < 2³¹), converted once and scaled by the product of
// the two scales; the line 1 KiB ahead is prefetched. Against gemvQ8AVX2 in
// one run on Zen 3 (2 threads, d20 shapes): 27-32 GB/s vs 23-26. Rows as
// in gemvQ8AVX2; k a positive multiple of 64. Even and odd groups go to
// two accumulators.
TEXT ·gemvQ8X16AVX2(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ xq+8(FP), SI
	MOVQ xs+16(FP), R11
	MOVQ q+24(FP), DX
	MOVQ s+32(FP), R10
	MOVQ k+40(FP), CX
	MOVQ rows+48(FP), R9

x16row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	XORQ AX, AX
	XORQ BX, BX

x16loop:
	X16GROUP(Y0)
	JGE  x16sum
	X16GROUP(Y1)
	JLT  x16loop

x16sum:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ CX, DX
	DECQ R9
	JNZ  x16row
	VZEROUPPER
	RET

// X16ROW adds one row's group to acc: its four blocks of 16 int16 x at
// off(SI) against the widened weights Y4..Y7, scaled by s·xs (xs at sx(R11)).
#define X16ROW(off, sx, acc) \
	VPMADDWD off(SI), Y4, Y8; \
	VPMADDWD 32+off(SI), Y5, Y9; \
	VPADDD Y9, Y8, Y8; \
	VPMADDWD 64+off(SI), Y6, Y9; \
	VPADDD Y9, Y8, Y8; \
	VPMADDWD 96+off(SI), Y7, Y9; \
	VPADDD Y9, Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	VMULSS sx(R11), X10, X11; \
	VBROADCASTSS X11, Y11; \
	VFMADD231PS Y11, Y8, acc

// X16GROUP4 adds one group of 64 to the four rows' accumulators a0..a3:
// the weights widened to int16 once, then X16GROUP's arithmetic for each
// row of x (x interleaved per group: row t at SI + 128·t).
#define X16GROUP4(a0, a1, a2, a3) \
	PREFETCHT0 1024(DX)(AX*1); \
	VPMOVSXBW (DX)(AX*1), Y4; \
	VPMOVSXBW 16(DX)(AX*1), Y5; \
	VPMOVSXBW 32(DX)(AX*1), Y6; \
	VPMOVSXBW 48(DX)(AX*1), Y7; \
	VMOVSS (R10), X10; \
	X16ROW(0, 0, a0); \
	X16ROW(128, 4, a1); \
	X16ROW(256, 8, a2); \
	X16ROW(384, 12, a3); \
	ADDQ $4, R10; \
	ADDQ $16, R11; \
	ADDQ $512, SI; \
	ADDQ $64, AX; \
	CMPQ AX, CX

// HSUMSTORE stores the sum of the lanes of even+odd at addr (the order of
// gemvQ8X16AVX2's x16sum).
#define HSUMSTORE(even, odd, xeven, addr) \
	VADDPS odd, even, even; \
	VEXTRACTF128 $1, even, X8; \
	VADDPS X8, xeven, xeven; \
	VHADDPS xeven, xeven, xeven; \
	VHADDPS xeven, xeven, xeven; \
	VMOVSS xeven, addr

// func gemvQ8X16x4AVX2(y *float32, ldy int, xq *int16, xs *float32, q *int8, s *float32, k, rows int)
// gemvQ8X16AVX2 for four rows of x at once, streaming the weights once:
// for r < rows and t < 4, y[t·ldy+r] is what gemvQ8X16AVX2 computes for
// row t of x, bit for bit (the group sums are exact integers and every
// float operation is the same, in the same order). x is interleaved per
// group, xq[(4g+t)·64+i] and xs[4g+t].
TEXT ·gemvQ8X16x4AVX2(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ ldy+8(FP), R12
	SHLQ $2, R12
	LEAQ (R12)(R12*2), R13
	MOVQ q+32(FP), DX
	MOVQ s+40(FP), R10
	MOVQ k+48(FP), CX
	MOVQ rows+56(FP), R9

x4row:
	MOVQ xq+16(FP), SI
	MOVQ xs+24(FP), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	XORQ AX, AX

x4loop:
	X16GROUP4(Y0, Y1, Y2, Y3)
	JGE  x4sum
	X16GROUP4(Y12, Y13, Y14, Y15)
	JLT  x4loop

x4sum:
	HSUMSTORE(Y0, Y12, X0, (DI))
	HSUMSTORE(Y1, Y13, X1, (DI)(R12*1))
	HSUMSTORE(Y2, Y14, X2, (DI)(R12*2))
	HSUMSTORE(Y3, Y15, X3, (DI)(R13*1))
	ADDQ $4, DI
	ADDQ CX, DX
	DECQ R9
	JNZ  x4row
	VZEROUPPER
	RET

// func dequantQ8AVX2(dst *float32, q *int8, s *float32, n int)
// dst[i] = s[i/64]·q[i] for i < n, n a positive multiple of 64.
TEXT ·dequantQ8AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ s+16(FP), R10
	MOVQ n+24(FP), CX
	XORQ AX, AX

dqloop:
	VBROADCASTSS (R10), Y15
	VPMOVSXBD (SI)(AX*1), Y0
	VPMOVSXBD 8(SI)(AX*1), Y1
	VPMOVSXBD 16(SI)(AX*1), Y2
	VPMOVSXBD 24(SI)(AX*1), Y3
	VPMOVSXBD 32(SI)(AX*1), Y4
	VPMOVSXBD 40(SI)(AX*1), Y5
	VPMOVSXBD 48(SI)(AX*1), Y6
	VPMOVSXBD 56(SI)(AX*1), Y7
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VMULPS Y15, Y0, Y0
	VMULPS Y15, Y1, Y1
	VMULPS Y15, Y2, Y2
	VMULPS Y15, Y3, Y3
	VMULPS Y15, Y4, Y4
	VMULPS Y15, Y5, Y5
	VMULPS Y15, Y6, Y6
	VMULPS Y15, Y7, Y7
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	VMOVUPS Y4, 128(DI)(AX*4)
	VMOVUPS Y5, 160(DI)(AX*4)
	VMOVUPS Y6, 192(DI)(AX*4)
	VMOVUPS Y7, 224(DI)(AX*4)
	ADDQ $4, R10
	ADDQ $64, AX
	CMPQ AX, CX
	JLT  dqloop
	VZEROUPPER
	RET

// ABSMAXSETUP loads ABSMAX64's constants: Y15 the |v| mask, Y14 the
// largest finite |v|, and clears Y12.
#define ABSMAXSETUP \
	MOVL $0x7fffffff, AX; \
	VMOVD AX, X15; \
	VPBROADCASTD X15, Y15; \
	MOVL $0x7f7fffff, AX; \
	VMOVD AX, X14; \
	VPBROADCASTD X14, Y14; \
	VPXOR Y12, Y12, Y12

// ABSMAX64 leaves in X10 (every lane) the largest |v| of the 64 floats at
// SI and ORs into Y12 a nonzero lane for every v that is not finite (|v|
// bits above Y14's 0x7f7fffff; Y15 holds the |v| mask). It uses Y8..Y10.
#define ABSMAX64 \
	VPXOR Y10, Y10, Y10; \
	VANDPS 0(SI), Y15, Y9; \
	VPCMPGTD Y14, Y9, Y8; \
	VPOR Y8, Y12, Y12; \
	VMAXPS Y9, Y10, Y10; \
	VANDPS 32(SI), Y15, Y9; \
	VPCMPGTD Y14, Y9, Y8; \
	VPOR Y8, Y12, Y12; \
	VMAXPS Y9, Y10, Y10; \
	VANDPS 64(SI), Y15, Y9; \
	VPCMPGTD Y14, Y9, Y8; \
	VPOR Y8, Y12, Y12; \
	VMAXPS Y9, Y10, Y10; \
	VANDPS 96(SI), Y15, Y9; \
	VPCMPGTD Y14, Y9, Y8; \
	VPOR Y8, Y12, Y12; \
	VMAXPS Y9, Y10, Y10; \
	VANDPS 128(SI), Y15, Y9; \
	VPCMPGTD Y14, Y9, Y8; \
	VPOR Y8, Y12, Y12; \
	VMAXPS Y9, Y10, Y10; \
	VANDPS 160(SI), Y15, Y9; \
	VPCMPGTD Y14, Y9, Y8; \
	VPOR Y8, Y12, Y12; \
	VMAXPS Y9, Y10, Y10; \
	VANDPS 192(SI), Y15, Y9; \
	VPCMPGTD Y14, Y9, Y8; \
	VPOR Y8, Y12, Y12; \
	VMAXPS Y9, Y10, Y10; \
	VANDPS 224(SI), Y15, Y9; \
	VPCMPGTD Y14, Y9, Y8; \
	VPOR Y8, Y12, Y12; \
	VMAXPS Y9, Y10, Y10; \
	VEXTRACTF128 $1, Y10, X9; \
	VMAXPS X9, X10, X10; \
	VPERMILPS $0x4e, X10, X9; \
	VMAXPS X9, X10, X10; \
	VPERMILPS $0xb1, X10, X9; \
	VMAXPS X9, X10, X10

// func quantQ8AVX2(q *int8, s *float32, w *float32, groups int) int
// quantizeQ8Groups over groups whole groups of 64: s[g] = max|w_g|/127 (in
// float32, as in Go), q = RoundToEven(float64(w)/float64(s[g])) clamped to
// ±127 (VCVTPS2PD, VDIVPD, VCVTPD2DQ under the default round-to-nearest-
// even, VPACKSS*, VPMAXSB), 0 for an all-zero group. It returns nonzero
// when some weight is not finite (its absolute bits above 0x7f7fffff).
TEXT ·quantQ8AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), DI
	MOVQ s+8(FP), R10
	MOVQ w+16(FP), SI
	MOVQ groups+24(FP), CX
	ABSMAXSETUP
	MOVL $0x81818181, AX
	VMOVD AX, X13
	VPBROADCASTD X13, X13 // -127 in every byte
	MOVL $0x42fe0000, AX // 127.0
	VMOVD AX, X11
	TESTQ CX, CX
	JEQ  qdone

qgroup:
	ABSMAX64
	VDIVSS X11, X10, X10 // s = max/127
	VMOVSS X10, (R10)
	VXORPS X9, X9, X9
	VUCOMISS X9, X10
	JNE  qscale
	VPXOR Y9, Y9, Y9
	VMOVDQU Y9, (DI)
	VMOVDQU Y9, 32(DI)
	JMP  qnext

qscale:
	VCVTSS2SD X10, X10, X10
	VBROADCASTSD X10, Y10
	VCVTPS2PD 0(SI), Y0
	VDIVPD Y10, Y0, Y0
	VCVTPD2DQY Y0, X0
	VCVTPS2PD 16(SI), Y1
	VDIVPD Y10, Y1, Y1
	VCVTPD2DQY Y1, X1
	VCVTPS2PD 32(SI), Y2
	VDIVPD Y10, Y2, Y2
	VCVTPD2DQY Y2, X2
	VCVTPS2PD 48(SI), Y3
	VDIVPD Y10, Y3, Y3
	VCVTPD2DQY Y3, X3
	VCVTPS2PD 64(SI), Y4
	VDIVPD Y10, Y4, Y4
	VCVTPD2DQY Y4, X4
	VCVTPS2PD 80(SI), Y5
	VDIVPD Y10, Y5, Y5
	VCVTPD2DQY Y5, X5
	VCVTPS2PD 96(SI), Y6
	VDIVPD Y10, Y6, Y6
	VCVTPD2DQY Y6, X6
	VCVTPS2PD 112(SI), Y7
	VDIVPD Y10, Y7, Y7
	VCVTPD2DQY Y7, X7
	VPACKSSDW X1, X0, X0
	VPACKSSDW X3, X2, X2
	VPACKSSDW X5, X4, X4
	VPACKSSDW X7, X6, X6
	VPACKSSWB X2, X0, X0
	VPACKSSWB X6, X4, X4
	VPMAXSB X13, X0, X0
	VPMAXSB X13, X4, X4
	VMOVDQU X0, 0(DI)
	VMOVDQU X4, 16(DI)
	VCVTPS2PD 128(SI), Y0
	VDIVPD Y10, Y0, Y0
	VCVTPD2DQY Y0, X0
	VCVTPS2PD 144(SI), Y1
	VDIVPD Y10, Y1, Y1
	VCVTPD2DQY Y1, X1
	VCVTPS2PD 160(SI), Y2
	VDIVPD Y10, Y2, Y2
	VCVTPD2DQY Y2, X2
	VCVTPS2PD 176(SI), Y3
	VDIVPD Y10, Y3, Y3
	VCVTPD2DQY Y3, X3
	VCVTPS2PD 192(SI), Y4
	VDIVPD Y10, Y4, Y4
	VCVTPD2DQY Y4, X4
	VCVTPS2PD 208(SI), Y5
	VDIVPD Y10, Y5, Y5
	VCVTPD2DQY Y5, X5
	VCVTPS2PD 224(SI), Y6
	VDIVPD Y10, Y6, Y6
	VCVTPD2DQY Y6, X6
	VCVTPS2PD 240(SI), Y7
	VDIVPD Y10, Y7, Y7
	VCVTPD2DQY Y7, X7
	VPACKSSDW X1, X0, X0
	VPACKSSDW X3, X2, X2
	VPACKSSDW X5, X4, X4
	VPACKSSDW X7, X6, X6
	VPACKSSWB X2, X0, X0
	VPACKSSWB X6, X4, X4
	VPMAXSB X13, X0, X0
	VPMAXSB X13, X4, X4
	VMOVDQU X0, 32(DI)
	VMOVDQU X4, 48(DI)

qnext:
	ADDQ $256, SI
	ADDQ $64, DI
	ADDQ $4, R10
	DECQ CX
	JNZ  qgroup

qdone:
	VPTEST Y12, Y12
	SETNE AX
	MOVBQZX AX, AX
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET

// func quantX16AVX2(xq *int16, xs *float32, x *float32, groups int) int
// quantizeX16 over groups whole groups of 64, bit for bit: xs[g] =
// max|x_g|/32767 in float32, xq = RoundToEven(float64(x)·(1/float64(xs[g])))
// clamped to ±32767, 0 for an all-zero group. It returns nonzero when some
// x is not finite.
TEXT ·quantX16AVX2(SB), NOSPLIT, $0-40
	MOVQ xq+0(FP), DI
	MOVQ xs+8(FP), R10
	MOVQ x+16(FP), SI
	MOVQ groups+24(FP), CX
	ABSMAXSETUP
	MOVL $32767, AX
	VMOVD AX, X13
	VPBROADCASTD X13, X13 // 32767 in every dword
	MOVL $-32767, AX
	VMOVD AX, X11
	VPBROADCASTD X11, X11 // -32767 in every dword
	MOVL $0x46fffe00, AX
	VMOVD AX, X4 // 32767.0
	MOVQ $0x3ff0000000000000, AX
	VMOVQ AX, X5 // 1.0 (float64)
	TESTQ CX, CX
	JEQ  xdone

xgroup:
	ABSMAX64
	VDIVSS X4, X10, X10 // s = max/32767
	VMOVSS X10, (R10)
	VXORPS X9, X9, X9
	VUCOMISS X9, X10
	JNE  xscale
	VPXOR Y9, Y9, Y9
	VMOVDQU Y9, (DI)
	VMOVDQU Y9, 32(DI)
	VMOVDQU Y9, 64(DI)
	VMOVDQU Y9, 96(DI)
	JMP  xnext

xscale:
	VCVTSS2SD X10, X10, X10
	VDIVSD X10, X5, X10 // 1/s in float64
	VBROADCASTSD X10, Y10
	VCVTPS2PD 0(SI), Y0
	VMULPD Y10, Y0, Y0
	VCVTPD2DQY Y0, X0
	VPMINSD X13, X0, X0
	VPMAXSD X11, X0, X0
	VCVTPS2PD 16(SI), Y1
	VMULPD Y10, Y1, Y1
	VCVTPD2DQY Y1, X1
	VPMINSD X13, X1, X1
	VPMAXSD X11, X1, X1
	VCVTPS2PD 32(SI), Y2
	VMULPD Y10, Y2, Y2
	VCVTPD2DQY Y2, X2
	VPMINSD X13, X2, X2
	VPMAXSD X11, X2, X2
	VCVTPS2PD 48(SI), Y3
	VMULPD Y10, Y3, Y3
	VCVTPD2DQY Y3, X3
	VPMINSD X13, X3, X3
	VPMAXSD X11, X3, X3
	VPACKSSDW X1, X0, X0
	VPACKSSDW X3, X2, X2
	VMOVDQU X0, 0(DI)
	VMOVDQU X2, 16(DI)
	VCVTPS2PD 64(SI), Y0
	VMULPD Y10, Y0, Y0
	VCVTPD2DQY Y0, X0
	VPMINSD X13, X0, X0
	VPMAXSD X11, X0, X0
	VCVTPS2PD 80(SI), Y1
	VMULPD Y10, Y1, Y1
	VCVTPD2DQY Y1, X1
	VPMINSD X13, X1, X1
	VPMAXSD X11, X1, X1
	VCVTPS2PD 96(SI), Y2
	VMULPD Y10, Y2, Y2
	VCVTPD2DQY Y2, X2
	VPMINSD X13, X2, X2
	VPMAXSD X11, X2, X2
	VCVTPS2PD 112(SI), Y3
	VMULPD Y10, Y3, Y3
	VCVTPD2DQY Y3, X3
	VPMINSD X13, X3, X3
	VPMAXSD X11, X3, X3
	VPACKSSDW X1, X0, X0
	VPACKSSDW X3, X2, X2
	VMOVDQU X0, 32(DI)
	VMOVDQU X2, 48(DI)
	VCVTPS2PD 128(SI), Y0
	VMULPD Y10, Y0, Y0
	VCVTPD2DQY Y0, X0
	VPMINSD X13, X0, X0
	VPMAXSD X11, X0, X0
	VCVTPS2PD 144(SI), Y1
	VMULPD Y10, Y1, Y1
	VCVTPD2DQY Y1, X1
	VPMINSD X13, X1, X1
	VPMAXSD X11, X1, X1
	VCVTPS2PD 160(SI), Y2
	VMULPD Y10, Y2, Y2
	VCVTPD2DQY Y2, X2
	VPMINSD X13, X2, X2
	VPMAXSD X11, X2, X2
	VCVTPS2PD 176(SI), Y3
	VMULPD Y10, Y3, Y3
	VCVTPD2DQY Y3, X3
	VPMINSD X13, X3, X3
	VPMAXSD X11, X3, X3
	VPACKSSDW X1, X0, X0
	VPACKSSDW X3, X2, X2
	VMOVDQU X0, 64(DI)
	VMOVDQU X2, 80(DI)
	VCVTPS2PD 192(SI), Y0
	VMULPD Y10, Y0, Y0
	VCVTPD2DQY Y0, X0
	VPMINSD X13, X0, X0
	VPMAXSD X11, X0, X0
	VCVTPS2PD 208(SI), Y1
	VMULPD Y10, Y1, Y1
	VCVTPD2DQY Y1, X1
	VPMINSD X13, X1, X1
	VPMAXSD X11, X1, X1
	VCVTPS2PD 224(SI), Y2
	VMULPD Y10, Y2, Y2
	VCVTPD2DQY Y2, X2
	VPMINSD X13, X2, X2
	VPMAXSD X11, X2, X2
	VCVTPS2PD 240(SI), Y3
	VMULPD Y10, Y3, Y3
	VCVTPD2DQY Y3, X3
	VPMINSD X13, X3, X3
	VPMAXSD X11, X3, X3
	VPACKSSDW X1, X0, X0
	VPACKSSDW X3, X2, X2
	VMOVDQU X0, 96(DI)
	VMOVDQU X2, 112(DI)

xnext:
	ADDQ $256, SI
	ADDQ $128, DI
	ADDQ $4, R10
	DECQ CX
	JNZ  xgroup

xdone:
	VPTEST Y12, Y12
	SETNE AX
	MOVBQZX AX, AX
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET
