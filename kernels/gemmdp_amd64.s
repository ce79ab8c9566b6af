//go:build amd64 && !purego

#include "textflag.h"

// bf16 × bf16 GEMM tiles for MatMulBF16Fast, on the AVX512_BF16
// instruction VDPBF16PS (zmm1 += Σ over each pair of bf16 lanes of
// zmm2·zmm3, products exact, sums rounded to nearest even, denormal inputs
// taken as zero). The Go assembler does not know VDPBF16PS, so each one is
// spelled out as its EVEX bytes: 62 P0 P1 P2 52 ModRM with
// EVEX.512.F3.0F38.W0, zmm1 in ModRM.reg (+R, R'), zmm2 in vvvv (+V'),
// zmm3 in ModRM.rm (+B, X); the comment above each names its operands in
// Go order. x and w are bf16 (uint16), k is a positive multiple of 32,
// otherwise as the fp32 tiles in gemm_amd64.s.

#define HSUM4(Ya, Yb, Yc, Yd, Xa, Xt) \
	VHADDPS Yb, Ya, Ya; \
	VHADDPS Yd, Yc, Yc; \
	VHADDPS Yc, Ya, Ya; \
	VEXTRACTF128 $1, Ya, Xt; \
	VADDPS Xt, Xa, Xa

#define FOLD(Zs, Ys, Yd) \
	VEXTRACTF64X4 $1, Zs, Y31; \
	VADDPS Y31, Ys, Yd

#define STORE4(X, addr) \
	TESTQ AX, AX; \
	JEQ 2(PC); \
	VADDPS addr, X, X; \
	VMOVUPS X, addr

#define ZERO24 \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; VPXORD Z17, Z17, Z17; VPXORD Z18, Z18, Z18; VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; VPXORD Z21, Z21, Z21; VPXORD Z22, Z22, Z22; VPXORD Z23, Z23, Z23

#define STOREROW(Za, Zb, Zc, Zd, Ya, Yb, Yc, Yd, Xa, Xb) \
	FOLD(Za, Ya, Ya); FOLD(Zb, Yb, Yb); FOLD(Zc, Yc, Yc); FOLD(Zd, Yd, Yd); \
	HSUM4(Ya, Yb, Yc, Yd, Xa, Xb); \
	STORE4(Xa, (DI)); \
	ADDQ R10, DI

// func gemmDP6x4_512(k int, x *uint16, ldx int, w *uint16, ldw int, y *float32, ldy int, acc int)
TEXT ·gemmDP6x4_512(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), R8
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R10
	SHLQ $1, R8
	SHLQ $1, R10
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9
	LEAQ (DI)(R10*2), R11
	ADDQ R10, R11
	ZERO24

dp6loop:
	VMOVUPS (DI), Z24
	VMOVUPS (DI)(R10*1), Z25
	VMOVUPS (DI)(R10*2), Z26
	VMOVUPS (R11), Z27
	VMOVUPS (SI), Z28
	VMOVUPS (SI)(R8*1), Z29
	VMOVUPS (SI)(R8*2), Z30
	VMOVUPS (R9), Z31
	// VDPBF16PS Z24, Z28, Z0 (Z0 += bf16 pairs of Z28·Z24)
	BYTE $0x62; BYTE $0x92; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xc0
	// VDPBF16PS Z25, Z28, Z1 (Z1 += bf16 pairs of Z28·Z25)
	BYTE $0x62; BYTE $0x92; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xc9
	// VDPBF16PS Z26, Z28, Z2 (Z2 += bf16 pairs of Z28·Z26)
	BYTE $0x62; BYTE $0x92; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xd2
	// VDPBF16PS Z27, Z28, Z3 (Z3 += bf16 pairs of Z28·Z27)
	BYTE $0x62; BYTE $0x92; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xdb
	// VDPBF16PS Z24, Z29, Z4 (Z4 += bf16 pairs of Z29·Z24)
	BYTE $0x62; BYTE $0x92; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xe0
	// VDPBF16PS Z25, Z29, Z5 (Z5 += bf16 pairs of Z29·Z25)
	BYTE $0x62; BYTE $0x92; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xe9
	// VDPBF16PS Z26, Z29, Z6 (Z6 += bf16 pairs of Z29·Z26)
	BYTE $0x62; BYTE $0x92; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xf2
	// VDPBF16PS Z27, Z29, Z7 (Z7 += bf16 pairs of Z29·Z27)
	BYTE $0x62; BYTE $0x92; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xfb
	VMOVUPS (R9)(R8*1), Z28
	VMOVUPS (R9)(R8*2), Z29
	// VDPBF16PS Z24, Z30, Z8 (Z8 += bf16 pairs of Z30·Z24)
	BYTE $0x62; BYTE $0x12; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xc0
	// VDPBF16PS Z25, Z30, Z9 (Z9 += bf16 pairs of Z30·Z25)
	BYTE $0x62; BYTE $0x12; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xc9
	// VDPBF16PS Z26, Z30, Z10 (Z10 += bf16 pairs of Z30·Z26)
	BYTE $0x62; BYTE $0x12; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xd2
	// VDPBF16PS Z27, Z30, Z11 (Z11 += bf16 pairs of Z30·Z27)
	BYTE $0x62; BYTE $0x12; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xdb
	// VDPBF16PS Z24, Z31, Z12 (Z12 += bf16 pairs of Z31·Z24)
	BYTE $0x62; BYTE $0x12; BYTE $0x06; BYTE $0x40; BYTE $0x52; BYTE $0xe0
	// VDPBF16PS Z25, Z31, Z13 (Z13 += bf16 pairs of Z31·Z25)
	BYTE $0x62; BYTE $0x12; BYTE $0x06; BYTE $0x40; BYTE $0x52; BYTE $0xe9
	// VDPBF16PS Z26, Z31, Z14 (Z14 += bf16 pairs of Z31·Z26)
	BYTE $0x62; BYTE $0x12; BYTE $0x06; BYTE $0x40; BYTE $0x52; BYTE $0xf2
	// VDPBF16PS Z27, Z31, Z15 (Z15 += bf16 pairs of Z31·Z27)
	BYTE $0x62; BYTE $0x12; BYTE $0x06; BYTE $0x40; BYTE $0x52; BYTE $0xfb
	// VDPBF16PS Z24, Z28, Z16 (Z16 += bf16 pairs of Z28·Z24)
	BYTE $0x62; BYTE $0x82; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xc0
	// VDPBF16PS Z25, Z28, Z17 (Z17 += bf16 pairs of Z28·Z25)
	BYTE $0x62; BYTE $0x82; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xc9
	// VDPBF16PS Z26, Z28, Z18 (Z18 += bf16 pairs of Z28·Z26)
	BYTE $0x62; BYTE $0x82; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xd2
	// VDPBF16PS Z27, Z28, Z19 (Z19 += bf16 pairs of Z28·Z27)
	BYTE $0x62; BYTE $0x82; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xdb
	// VDPBF16PS Z24, Z29, Z20 (Z20 += bf16 pairs of Z29·Z24)
	BYTE $0x62; BYTE $0x82; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xe0
	// VDPBF16PS Z25, Z29, Z21 (Z21 += bf16 pairs of Z29·Z25)
	BYTE $0x62; BYTE $0x82; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xe9
	// VDPBF16PS Z26, Z29, Z22 (Z22 += bf16 pairs of Z29·Z26)
	BYTE $0x62; BYTE $0x82; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xf2
	// VDPBF16PS Z27, Z29, Z23 (Z23 += bf16 pairs of Z29·Z27)
	BYTE $0x62; BYTE $0x82; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xfb
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $64, DI
	ADDQ $64, R11
	SUBQ $32, CX
	JNZ  dp6loop

	MOVQ y+40(FP), DI
	MOVQ ldy+48(FP), R10
	SHLQ $2, R10
	MOVQ acc+56(FP), AX
	STOREROW(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1)
	STOREROW(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4, X5)
	STOREROW(Z8, Z9, Z10, Z11, Y8, Y9, Y10, Y11, X8, X9)
	STOREROW(Z12, Z13, Z14, Z15, Y12, Y13, Y14, Y15, X12, X13)
	FOLD(Z16, Y16, Y0)
	FOLD(Z17, Y17, Y1)
	FOLD(Z18, Y18, Y2)
	FOLD(Z19, Y19, Y3)
	HSUM4(Y0, Y1, Y2, Y3, X0, X1)
	STORE4(X0, (DI))
	ADDQ R10, DI
	FOLD(Z20, Y20, Y4)
	FOLD(Z21, Y21, Y5)
	FOLD(Z22, Y22, Y6)
	FOLD(Z23, Y23, Y7)
	HSUM4(Y4, Y5, Y6, Y7, X4, X5)
	STORE4(X4, (DI))
	VZEROUPPER
	RET

// func gemmDP2x4_512(k int, x *uint16, ldx int, w *uint16, ldw int, y *float32, ldy int, acc int)
TEXT ·gemmDP2x4_512(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), R8
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R10
	SHLQ $1, R8
	SHLQ $1, R10
	LEAQ (DI)(R10*2), R11
	ADDQ R10, R11
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7

dp2loop:
	VMOVUPS (DI), Z24
	VMOVUPS (DI)(R10*1), Z25
	VMOVUPS (DI)(R10*2), Z26
	VMOVUPS (R11), Z27
	VMOVUPS (SI), Z28
	VMOVUPS (SI)(R8*1), Z29
	// VDPBF16PS Z24, Z28, Z0 (Z0 += bf16 pairs of Z28·Z24)
	BYTE $0x62; BYTE $0x92; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xc0
	// VDPBF16PS Z25, Z28, Z1 (Z1 += bf16 pairs of Z28·Z25)
	BYTE $0x62; BYTE $0x92; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xc9
	// VDPBF16PS Z26, Z28, Z2 (Z2 += bf16 pairs of Z28·Z26)
	BYTE $0x62; BYTE $0x92; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xd2
	// VDPBF16PS Z27, Z28, Z3 (Z3 += bf16 pairs of Z28·Z27)
	BYTE $0x62; BYTE $0x92; BYTE $0x1e; BYTE $0x40; BYTE $0x52; BYTE $0xdb
	// VDPBF16PS Z24, Z29, Z4 (Z4 += bf16 pairs of Z29·Z24)
	BYTE $0x62; BYTE $0x92; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xe0
	// VDPBF16PS Z25, Z29, Z5 (Z5 += bf16 pairs of Z29·Z25)
	BYTE $0x62; BYTE $0x92; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xe9
	// VDPBF16PS Z26, Z29, Z6 (Z6 += bf16 pairs of Z29·Z26)
	BYTE $0x62; BYTE $0x92; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xf2
	// VDPBF16PS Z27, Z29, Z7 (Z7 += bf16 pairs of Z29·Z27)
	BYTE $0x62; BYTE $0x92; BYTE $0x16; BYTE $0x40; BYTE $0x52; BYTE $0xfb
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R11
	SUBQ $32, CX
	JNZ  dp2loop

	MOVQ y+40(FP), DI
	MOVQ ldy+48(FP), R10
	SHLQ $2, R10
	MOVQ acc+56(FP), AX
	STOREROW(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1)
	STOREROW(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4, X5)
	VZEROUPPER
	RET

// func dpLoop512(iters int)
// 12 independent zmm VDPBF16PS chains per iteration: each is 16 lanes of
// two bf16 products and their sums, 12·16·4 = 768 flops.
TEXT ·dpLoop512(SB), NOSPLIT, $0-8
	MOVQ iters+0(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	TESTQ CX, CX
	JLE  dploopdone

dploop:
	// VDPBF16PS Z31, Z30, Z0 (Z0 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x92; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xc7
	// VDPBF16PS Z31, Z30, Z1 (Z1 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x92; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xcf
	// VDPBF16PS Z31, Z30, Z2 (Z2 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x92; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xd7
	// VDPBF16PS Z31, Z30, Z3 (Z3 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x92; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xdf
	// VDPBF16PS Z31, Z30, Z4 (Z4 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x92; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xe7
	// VDPBF16PS Z31, Z30, Z5 (Z5 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x92; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xef
	// VDPBF16PS Z31, Z30, Z6 (Z6 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x92; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xf7
	// VDPBF16PS Z31, Z30, Z7 (Z7 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x92; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xff
	// VDPBF16PS Z31, Z30, Z8 (Z8 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x12; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xc7
	// VDPBF16PS Z31, Z30, Z9 (Z9 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x12; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xcf
	// VDPBF16PS Z31, Z30, Z10 (Z10 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x12; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xd7
	// VDPBF16PS Z31, Z30, Z11 (Z11 += bf16 pairs of Z30·Z31)
	BYTE $0x62; BYTE $0x12; BYTE $0x0e; BYTE $0x40; BYTE $0x52; BYTE $0xdf
	DECQ CX
	JNZ  dploop

dploopdone:
	VZEROUPPER
	RET
