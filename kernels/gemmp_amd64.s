//go:build amd64 && !purego

#include "textflag.h"

// The AVX2 panel GEMM tile (gemmPanels): 6 rows of x × 16 outputs in
// outer-product form, against weights packed as a panel [k][16] fp32.

// func gemmP6x16AVX2(k int, x *float32, ldx int, p *float32, y *float32, ldy int, acc int)
// For r < 6, c < 16: y[r*ldy+c] (+)= Σ_{i<k} x[r*ldx+i]·p[i*16+c], adding
// to y when acc != 0; k ≥ 1. Twelve accumulators (row r in Y2r, Y2r+1),
// each step one panel row (two loads) and six broadcasts of x: 12 FMAs
// to 8 loads, so the FMA ports are the limit.
TEXT ·gemmP6x16AVX2(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), R8
	MOVQ p+24(FP), DX
	MOVQ y+32(FP), DI
	MOVQ ldy+40(FP), R10
	SHLQ $2, R8
	SHLQ $2, R10
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

ploop:
	VMOVUPS (DX), Y12
	VMOVUPS 32(DX), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VBROADCASTSS (SI)(R8*1), Y15
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y3
	VBROADCASTSS (SI)(R8*2), Y14
	VFMADD231PS Y12, Y14, Y4
	VFMADD231PS Y13, Y14, Y5
	VBROADCASTSS (R9), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VBROADCASTSS (R9)(R8*1), Y14
	VFMADD231PS Y12, Y14, Y8
	VFMADD231PS Y13, Y14, Y9
	VBROADCASTSS (R9)(R8*2), Y15
	VFMADD231PS Y12, Y15, Y10
	VFMADD231PS Y13, Y15, Y11
	ADDQ $64, DX
	ADDQ $4, SI
	ADDQ $4, R9
	DECQ CX
	JNZ  ploop

	LEAQ (DI)(R10*2), R11
	ADDQ R10, R11
	MOVQ acc+48(FP), AX
	TESTQ AX, AX
	JEQ  pstore
	VADDPS (DI), Y0, Y0
	VADDPS 32(DI), Y1, Y1
	VADDPS (DI)(R10*1), Y2, Y2
	VADDPS 32(DI)(R10*1), Y3, Y3
	VADDPS (DI)(R10*2), Y4, Y4
	VADDPS 32(DI)(R10*2), Y5, Y5
	VADDPS (R11), Y6, Y6
	VADDPS 32(R11), Y7, Y7
	VADDPS (R11)(R10*1), Y8, Y8
	VADDPS 32(R11)(R10*1), Y9, Y9
	VADDPS (R11)(R10*2), Y10, Y10
	VADDPS 32(R11)(R10*2), Y11, Y11

pstore:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, (DI)(R10*1)
	VMOVUPS Y3, 32(DI)(R10*1)
	VMOVUPS Y4, (DI)(R10*2)
	VMOVUPS Y5, 32(DI)(R10*2)
	VMOVUPS Y6, (R11)
	VMOVUPS Y7, 32(R11)
	VMOVUPS Y8, (R11)(R10*1)
	VMOVUPS Y9, 32(R11)(R10*1)
	VMOVUPS Y10, (R11)(R10*2)
	VMOVUPS Y11, 32(R11)(R10*2)
	VZEROUPPER
	RET

// TRANSPOSE8 transposes the 8×8 fp32 block in Y0..Y7 (row r in Yr) and
// stores column q at off+64·q(DI); it uses Y8..Y15.
#define TRANSPOSE8(off) \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y14; \
	VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; \
	VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; \
	VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; \
	VSHUFPS $0xEE, Y14, Y12, Y5; \
	VSHUFPS $0x44, Y15, Y13, Y6; \
	VSHUFPS $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VPERM2F128 $0x20, Y5, Y1, Y9; \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x31, Y7, Y3, Y15; \
	VMOVUPS Y8, 0+off(DI); \
	VMOVUPS Y9, 64+off(DI); \
	VMOVUPS Y10, 128+off(DI); \
	VMOVUPS Y11, 192+off(DI); \
	VMOVUPS Y12, 256+off(DI); \
	VMOVUPS Y13, 320+off(DI); \
	VMOVUPS Y14, 384+off(DI); \
	VMOVUPS Y15, 448+off(DI)

// ROWS16 points the registers at the 16 rows, R8 bytes apart from SI:
// rows 0-7 at (SI), (SI)(R8*1), (SI)(R8*2), (R9), (SI)(R8*4), (R9)(R8*2),
// (R11), (R11)(R8*1), and rows 8-15 likewise from R12, R13, R14.
#define ROWS16 \
	LEAQ (SI)(R8*2), R9; \
	ADDQ R8, R9; \
	LEAQ (R9)(R8*2), R11; \
	ADDQ R8, R11; \
	LEAQ (SI)(R8*8), R12; \
	LEAQ (R12)(R8*2), R13; \
	ADDQ R8, R13; \
	LEAQ (R13)(R8*2), R14; \
	ADDQ R8, R14

// ADVANCE16 moves the row registers on by n bytes.
#define ADVANCE16(n) \
	ADDQ n, SI; \
	ADDQ n, R9; \
	ADDQ n, R11; \
	ADDQ n, R12; \
	ADDQ n, R13; \
	ADDQ n, R14

// func packBF16x16AVX2(p *float32, w *uint16, ldw, steps int)
// The panel pack of 16 bf16 weight rows (ldw apart): for i < 8·steps and
// c < 16, p[i*16+c] = BF16ToF32(w[c*ldw+i]). Each step widens 8 columns of
// 8 rows at a time (VPMOVZXWD, VPSLLD) and transposes them in registers;
// in Go this pack cost more than the GEMM itself at T = 16.
TEXT ·packBF16x16AVX2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	MOVQ steps+24(FP), CX
	SHLQ $1, R8
	ROWS16

packBF16x16AVX2loop:
	VPMOVZXWD (SI), Y0
	VPSLLD $16, Y0, Y0
	VPMOVZXWD (SI)(R8*1), Y1
	VPSLLD $16, Y1, Y1
	VPMOVZXWD (SI)(R8*2), Y2
	VPSLLD $16, Y2, Y2
	VPMOVZXWD (R9), Y3
	VPSLLD $16, Y3, Y3
	VPMOVZXWD (SI)(R8*4), Y4
	VPSLLD $16, Y4, Y4
	VPMOVZXWD (R9)(R8*2), Y5
	VPSLLD $16, Y5, Y5
	VPMOVZXWD (R11), Y6
	VPSLLD $16, Y6, Y6
	VPMOVZXWD (R11)(R8*1), Y7
	VPSLLD $16, Y7, Y7
	TRANSPOSE8(0)
	VPMOVZXWD (R12), Y0
	VPSLLD $16, Y0, Y0
	VPMOVZXWD (R12)(R8*1), Y1
	VPSLLD $16, Y1, Y1
	VPMOVZXWD (R12)(R8*2), Y2
	VPSLLD $16, Y2, Y2
	VPMOVZXWD (R13), Y3
	VPSLLD $16, Y3, Y3
	VPMOVZXWD (R12)(R8*4), Y4
	VPSLLD $16, Y4, Y4
	VPMOVZXWD (R13)(R8*2), Y5
	VPSLLD $16, Y5, Y5
	VPMOVZXWD (R14), Y6
	VPSLLD $16, Y6, Y6
	VPMOVZXWD (R14)(R8*1), Y7
	VPSLLD $16, Y7, Y7
	TRANSPOSE8(32)
	ADVANCE16($16)
	ADDQ $512, DI
	DECQ CX
	JNZ  packBF16x16AVX2loop
	VZEROUPPER
	RET

// func packF32x16AVX2(p *float32, w *float32, ldw, steps int)
// packBF16x16AVX2 for fp32 rows: p[i*16+c] = w[c*ldw+i].
TEXT ·packF32x16AVX2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	MOVQ steps+24(FP), CX
	SHLQ $2, R8
	ROWS16

packF32x16AVX2loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (R9), Y3
	VMOVUPS (SI)(R8*4), Y4
	VMOVUPS (R9)(R8*2), Y5
	VMOVUPS (R11), Y6
	VMOVUPS (R11)(R8*1), Y7
	TRANSPOSE8(0)
	VMOVUPS (R12), Y0
	VMOVUPS (R12)(R8*1), Y1
	VMOVUPS (R12)(R8*2), Y2
	VMOVUPS (R13), Y3
	VMOVUPS (R12)(R8*4), Y4
	VMOVUPS (R13)(R8*2), Y5
	VMOVUPS (R14), Y6
	VMOVUPS (R14)(R8*1), Y7
	TRANSPOSE8(32)
	ADVANCE16($32)
	ADDQ $512, DI
	DECQ CX
	JNZ  packF32x16AVX2loop
	VZEROUPPER
	RET
