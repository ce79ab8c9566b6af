//go:build amd64 && !purego

#include "textflag.h"

// Matrix-vector kernels: for r < rows: y[r] = Σ_{i<k} x[i]·w[r*ldw+i].
// k is a positive multiple of 16. The weights are read strictly in order,
// one row after another: on this hardware one sequential stream reaches
// about twice the DRAM bandwidth of four interleaved row streams, and x
// (≤ 20 KB) stays in L1 for the repeated loads. bf16 weights are widened in
// registers (see gemvBF16_512).

// SUM4TOX0 adds Z0..Z3 and reduces the sum horizontally into X0.
#define SUM4TOX0 \
	VADDPS Z1, Z0, Z0; \
	VADDPS Z3, Z2, Z2; \
	VADDPS Z2, Z0, Z0; \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPS Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0

// func gemvBF16_512(y, xp *float32, w *uint16, k, ldw, rows int)
// xp is x with each block of 32 reordered evens then odds (permuteX), and k
// a multiple of 32: a dword load of weights holds w[2i] in its low and
// w[2i+1] in its high half, so a shift left by 16 gives the even weights as
// fp32 and a mask of the high half the odd ones, one op each, straight from
// memory.
TEXT ·gemvBF16_512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ xp+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), R9
	SHLQ $1, R8
	MOVQ CX, BX
	ANDQ $-64, BX
	MOVL $0xffff0000, AX
	VPBROADCASTD AX, Z30

b512row:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ AX, AX
	TESTQ BX, BX
	JEQ  b512tail

b512loop:
	VPSLLD $16, (DX)(AX*2), Z4
	VPANDD (DX)(AX*2), Z30, Z5
	VPSLLD $16, 64(DX)(AX*2), Z6
	VPANDD 64(DX)(AX*2), Z30, Z7
	VFMADD231PS (SI)(AX*4), Z4, Z0
	VFMADD231PS 64(SI)(AX*4), Z5, Z1
	VFMADD231PS 128(SI)(AX*4), Z6, Z2
	VFMADD231PS 192(SI)(AX*4), Z7, Z3
	ADDQ $64, AX
	CMPQ AX, BX
	JLT  b512loop

b512tail:
	CMPQ AX, CX
	JGE  b512sum
	VPSLLD $16, (DX)(AX*2), Z4
	VPANDD (DX)(AX*2), Z30, Z5
	VFMADD231PS (SI)(AX*4), Z4, Z0
	VFMADD231PS 64(SI)(AX*4), Z5, Z1

b512sum:
	SUM4TOX0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JNZ  b512row
	VZEROUPPER
	RET

// func gemvF32_512(y, x, w *float32, k, ldw, rows int)
TEXT ·gemvF32_512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), R9
	SHLQ $2, R8
	MOVQ CX, BX
	ANDQ $-64, BX

f512row:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ AX, AX
	TESTQ BX, BX
	JEQ  f512tail

f512loop:
	VMOVUPS (DX)(AX*4), Z4
	VMOVUPS 64(DX)(AX*4), Z5
	VMOVUPS 128(DX)(AX*4), Z6
	VMOVUPS 192(DX)(AX*4), Z7
	VFMADD231PS (SI)(AX*4), Z4, Z0
	VFMADD231PS 64(SI)(AX*4), Z5, Z1
	VFMADD231PS 128(SI)(AX*4), Z6, Z2
	VFMADD231PS 192(SI)(AX*4), Z7, Z3
	ADDQ $64, AX
	CMPQ AX, BX
	JLT  f512loop

f512tail:
	CMPQ AX, CX
	JGE  f512sum
	VMOVUPS (DX)(AX*4), Z4
	VFMADD231PS (SI)(AX*4), Z4, Z0
	ADDQ $16, AX
	JMP  f512tail

f512sum:
	SUM4TOX0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JNZ  f512row
	VZEROUPPER
	RET

// AVX2 versions, 32 elements per iteration in four ymm accumulators.

// YSUM4TOX0 adds Y0..Y3 and reduces the sum horizontally into X0.
#define YSUM4TOX0 \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0

// func gemvBF16AVX2(y, xp *float32, w *uint16, k, ldw, rows int)
// As gemvBF16_512 with blocks of 16 (VPSLLD cannot take memory in AVX2, so
// each 16 weights are loaded once and split in registers).
TEXT ·gemvBF16AVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ xp+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), R9
	SHLQ $1, R8
	MOVQ CX, BX
	ANDQ $-32, BX
	MOVL $0xffff0000, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15

b2row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
	TESTQ BX, BX
	JEQ  b2tail

b2loop:
	// Ask for the line 1 KiB ahead: +3-12% of GB/s on Zen 3, 2 threads
	// (512 or 2048 did no better).
	PREFETCHT0 1024(DX)(AX*2)
	VMOVDQU (DX)(AX*2), Y4
	VMOVDQU 32(DX)(AX*2), Y7
	VPSLLD $16, Y4, Y5
	VPAND Y15, Y4, Y6
	VPSLLD $16, Y7, Y8
	VPAND Y15, Y7, Y9
	VFMADD231PS (SI)(AX*4), Y5, Y0
	VFMADD231PS 32(SI)(AX*4), Y6, Y1
	VFMADD231PS 64(SI)(AX*4), Y8, Y2
	VFMADD231PS 96(SI)(AX*4), Y9, Y3
	ADDQ $32, AX
	CMPQ AX, BX
	JLT  b2loop

b2tail:
	CMPQ AX, CX
	JGE  b2sum
	VMOVDQU (DX)(AX*2), Y4
	VPSLLD $16, Y4, Y5
	VPAND Y15, Y4, Y6
	VFMADD231PS (SI)(AX*4), Y5, Y0
	VFMADD231PS 32(SI)(AX*4), Y6, Y1

b2sum:
	YSUM4TOX0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JNZ  b2row
	VZEROUPPER
	RET

// func gemvBF16x4AVX2(y *float32, ldy int, xp *float32, w *uint16, k, ldw, rows int)
// gemvBF16AVX2 for four rows of x at once (xp: four permuted rows, k
// apart), streaming the weights once: y[t·ldy+r] = Σ_{i<k} x_t[i]·w[r][i]
// for t < 4, r < rows. Each 32 weights are loaded and widened once for the
// four rows; two accumulators a row (even and odd lanes), so the sums are
// not those of gemvBF16AVX2 bit for bit.
TEXT ·gemvBF16x4AVX2(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ ldy+8(FP), R10
	SHLQ $2, R10
	LEAQ (R10)(R10*2), R14
	MOVQ xp+16(FP), SI
	MOVQ w+24(FP), DX
	MOVQ k+32(FP), CX
	MOVQ ldw+40(FP), R8
	MOVQ rows+48(FP), R9
	SHLQ $1, R8
	LEAQ (SI)(CX*4), R11
	LEAQ (R11)(CX*4), R12
	LEAQ (R12)(CX*4), R13
	MOVQ CX, BX
	ANDQ $-32, BX
	MOVL $0xffff0000, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15

b4row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	TESTQ BX, BX
	JEQ  b4tail

b4loop:
	PREFETCHT0 1024(DX)(AX*2)
	VMOVDQU (DX)(AX*2), Y11
	VMOVDQU 32(DX)(AX*2), Y12
	VPSLLD $16, Y11, Y13
	VPAND Y15, Y11, Y11
	VPSLLD $16, Y12, Y14
	VPAND Y15, Y12, Y12
	VFMADD231PS (SI)(AX*4), Y13, Y0
	VFMADD231PS 32(SI)(AX*4), Y11, Y1
	VFMADD231PS 64(SI)(AX*4), Y14, Y0
	VFMADD231PS 96(SI)(AX*4), Y12, Y1
	VFMADD231PS (R11)(AX*4), Y13, Y2
	VFMADD231PS 32(R11)(AX*4), Y11, Y3
	VFMADD231PS 64(R11)(AX*4), Y14, Y2
	VFMADD231PS 96(R11)(AX*4), Y12, Y3
	VFMADD231PS (R12)(AX*4), Y13, Y4
	VFMADD231PS 32(R12)(AX*4), Y11, Y5
	VFMADD231PS 64(R12)(AX*4), Y14, Y4
	VFMADD231PS 96(R12)(AX*4), Y12, Y5
	VFMADD231PS (R13)(AX*4), Y13, Y6
	VFMADD231PS 32(R13)(AX*4), Y11, Y7
	VFMADD231PS 64(R13)(AX*4), Y14, Y6
	VFMADD231PS 96(R13)(AX*4), Y12, Y7
	ADDQ $32, AX
	CMPQ AX, BX
	JLT  b4loop

b4tail:
	CMPQ AX, CX
	JGE  b4sum
	VMOVDQU (DX)(AX*2), Y11
	VPSLLD $16, Y11, Y13
	VPAND Y15, Y11, Y11
	VFMADD231PS (SI)(AX*4), Y13, Y0
	VFMADD231PS 32(SI)(AX*4), Y11, Y1
	VFMADD231PS (R11)(AX*4), Y13, Y2
	VFMADD231PS 32(R11)(AX*4), Y11, Y3
	VFMADD231PS (R12)(AX*4), Y13, Y4
	VFMADD231PS 32(R12)(AX*4), Y11, Y5
	VFMADD231PS (R13)(AX*4), Y13, Y6
	VFMADD231PS 32(R13)(AX*4), Y11, Y7

b4sum:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X10
	VADDPS X10, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DI)
	VADDPS Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X10
	VADDPS X10, X2, X2
	VHADDPS X2, X2, X2
	VHADDPS X2, X2, X2
	VMOVSS X2, (DI)(R10*1)
	VADDPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X10
	VADDPS X10, X4, X4
	VHADDPS X4, X4, X4
	VHADDPS X4, X4, X4
	VMOVSS X4, (DI)(R10*2)
	VADDPS Y7, Y6, Y6
	VEXTRACTF128 $1, Y6, X10
	VADDPS X10, X6, X6
	VHADDPS X6, X6, X6
	VHADDPS X6, X6, X6
	VMOVSS X6, (DI)(R14*1)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JNZ  b4row
	VZEROUPPER
	RET

// func gemvF32AVX2(y, x, w *float32, k, ldw, rows int)
TEXT ·gemvF32AVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), R9
	SHLQ $2, R8
	MOVQ CX, BX
	ANDQ $-32, BX

f2row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
	TESTQ BX, BX
	JEQ  f2tail

f2loop:
	VMOVUPS (DX)(AX*4), Y4
	VMOVUPS 32(DX)(AX*4), Y5
	VMOVUPS 64(DX)(AX*4), Y6
	VMOVUPS 96(DX)(AX*4), Y7
	VFMADD231PS (SI)(AX*4), Y4, Y0
	VFMADD231PS 32(SI)(AX*4), Y5, Y1
	VFMADD231PS 64(SI)(AX*4), Y6, Y2
	VFMADD231PS 96(SI)(AX*4), Y7, Y3
	ADDQ $32, AX
	CMPQ AX, BX
	JLT  f2loop

f2tail:
	CMPQ AX, CX
	JGE  f2sum
	VMOVUPS (DX)(AX*4), Y4
	VMOVUPS 32(DX)(AX*4), Y5
	VFMADD231PS (SI)(AX*4), Y4, Y0
	VFMADD231PS 32(SI)(AX*4), Y5, Y1

f2sum:
	YSUM4TOX0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JNZ  f2row
	VZEROUPPER
	RET

// func gemvBF16x2_512(y, xp *float32, w *uint16, k, ldw, rows int)
// gemvBF16_512 for an even number of rows, two at a time: every load of x
// feeds both rows, which halves the x traffic when x (k ≥ 4096 floats) no
// longer fits in L1 beside the weight stream. k is a multiple of 32.
TEXT ·gemvBF16x2_512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ xp+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), R9
	SHLQ $1, R8
	SHRQ $1, R9
	MOVL $0xffff0000, AX
	VPBROADCASTD AX, Z30

x2row:
	LEAQ (DX)(R8*1), R10
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ AX, AX

x2loop:
	VMOVUPS (SI)(AX*4), Z8
	VMOVUPS 64(SI)(AX*4), Z9
	VPSLLD $16, (DX)(AX*2), Z4
	VPANDD (DX)(AX*2), Z30, Z5
	VPSLLD $16, (R10)(AX*2), Z6
	VPANDD (R10)(AX*2), Z30, Z7
	VFMADD231PS Z8, Z4, Z0
	VFMADD231PS Z9, Z5, Z1
	VFMADD231PS Z8, Z6, Z2
	VFMADD231PS Z9, Z7, Z3
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  x2loop

	VADDPS Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DI)
	VADDPS Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z2, Y3
	VADDPS Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPS X3, X2, X2
	VHADDPS X2, X2, X2
	VHADDPS X2, X2, X2
	VMOVSS X2, 4(DI)
	ADDQ $8, DI
	LEAQ (DX)(R8*2), DX
	DECQ R9
	JNZ  x2row
	VZEROUPPER
	RET


// HSUMTO2 reduces za + zb horizontally into the low lane of xd (yd, xd are
// za's lower halves). Clobbers Y8 and X9.
#define HSUMTO2(za, zb, yd, xd) \
	VADDPS zb, za, za; \
	VEXTRACTF64X4 $1, za, Y8; \
	VADDPS Y8, yd, yd; \
	VEXTRACTF128 $1, yd, X9; \
	VADDPS X9, xd, xd; \
	VHADDPS xd, xd, xd; \
	VHADDPS xd, xd, xd

// func gemvBF16x4_512(y, xp *float32, w *uint16, k, ldw, rows int)
// gemvBF16x2_512 with four rows at a time (rows a multiple of 4): each x
// load feeds four rows.
TEXT ·gemvBF16x4_512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ xp+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), R9
	SHLQ $1, R8
	SHRQ $2, R9
	MOVL $0xffff0000, AX
	VPBROADCASTD AX, Z30

x4row:
	LEAQ (DX)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX

x4loop:
	VMOVUPS (SI)(AX*4), Z8
	VMOVUPS 64(SI)(AX*4), Z9
	VPSLLD $16, (DX)(AX*2), Z10
	VPANDD (DX)(AX*2), Z30, Z11
	VPSLLD $16, (R10)(AX*2), Z12
	VPANDD (R10)(AX*2), Z30, Z13
	VPSLLD $16, (R11)(AX*2), Z14
	VPANDD (R11)(AX*2), Z30, Z15
	VPSLLD $16, (R12)(AX*2), Z16
	VPANDD (R12)(AX*2), Z30, Z17
	VFMADD231PS Z8, Z10, Z0
	VFMADD231PS Z9, Z11, Z1
	VFMADD231PS Z8, Z12, Z2
	VFMADD231PS Z9, Z13, Z3
	VFMADD231PS Z8, Z14, Z4
	VFMADD231PS Z9, Z15, Z5
	VFMADD231PS Z8, Z16, Z6
	VFMADD231PS Z9, Z17, Z7
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  x4loop

	HSUMTO2(Z0, Z1, Y0, X0)
	VMOVSS X0, (DI)
	HSUMTO2(Z2, Z3, Y2, X2)
	VMOVSS X2, 4(DI)
	HSUMTO2(Z4, Z5, Y4, X4)
	VMOVSS X4, 8(DI)
	HSUMTO2(Z6, Z7, Y6, X6)
	VMOVSS X6, 12(DI)
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	DECQ R9
	JNZ  x4row
	VZEROUPPER
	RET
