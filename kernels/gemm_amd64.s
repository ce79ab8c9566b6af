//go:build amd64 && !purego

#include "textflag.h"

// GEMM microkernels in dot-product form. One call computes a full tile
//   y[r*ldy+c] (+)= Σ_{i<k} x[r*ldx+i]·w[c*ldw+i]
// keeping one vector accumulator per output, all running along k, and sums
// each accumulator horizontally at the end. k is a positive multiple of 16;
// ldx, ldw, ldy are in elements; acc != 0 adds to y instead of storing.

// HSUM4 leaves in Xa the horizontal sums of ymm a, b, c, d (all in
// Y0..Y15): Xa = [Σa, Σb, Σc, Σd]. Clobbers b, c and Xt.
#define HSUM4(Ya, Yb, Yc, Yd, Xa, Xt) \
	VHADDPS Yb, Ya, Ya; \
	VHADDPS Yd, Yc, Yc; \
	VHADDPS Yc, Ya, Ya; \
	VEXTRACTF128 $1, Ya, Xt; \
	VADDPS Xt, Xa, Xa

// FOLD adds the upper half of Zs to its lower half, into Yd. Clobbers Y31.
#define FOLD(Zs, Ys, Yd) \
	VEXTRACTF64X4 $1, Zs, Y31; \
	VADDPS Y31, Ys, Yd

// STORE4 stores (AX == 0) or adds (AX != 0) the four floats of X at addr.
#define STORE4(X, addr) \
	TESTQ AX, AX; \
	JEQ 2(PC); \
	VADDPS addr, X, X; \
	VMOVUPS X, addr

// ROW4 multiplies x row chunk Zx into the four accumulators of one row.
#define ROW4(Zx, A0, A1, A2, A3) \
	VFMADD231PS Z24, Zx, A0; \
	VFMADD231PS Z25, Zx, A1; \
	VFMADD231PS Z26, Zx, A2; \
	VFMADD231PS Z27, Zx, A3

// WIDEN4 loads 16 bf16 weights from each of the four w rows (DI, DI+R10,
// DI+2·R10, R11) and widens them to fp32 in Z24..Z27.
#define WIDEN4 \
	VPMOVZXWD (DI), Z24; \
	VPMOVZXWD (DI)(R10*1), Z25; \
	VPMOVZXWD (DI)(R10*2), Z26; \
	VPMOVZXWD (R11), Z27; \
	VPSLLD $16, Z24, Z24; \
	VPSLLD $16, Z25, Z25; \
	VPSLLD $16, Z26, Z26; \
	VPSLLD $16, Z27, Z27

// ZERO24 clears the accumulators Z0..Z23.
#define ZERO24 \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; VPXORD Z17, Z17, Z17; VPXORD Z18, Z18, Z18; VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; VPXORD Z21, Z21, Z21; VPXORD Z22, Z22, Z22; VPXORD Z23, Z23, Z23

// STORE6x4 sums the 24 accumulators of a 6×4 tile and stores (or adds)
// them at y (arg y+40, ldy+48, acc+56).
#define STORE6x4 \
	MOVQ y+40(FP), DI; \
	MOVQ ldy+48(FP), R10; \
	SHLQ $2, R10; \
	MOVQ acc+56(FP), AX; \
	FOLD(Z0, Y0, Y0); FOLD(Z1, Y1, Y1); FOLD(Z2, Y2, Y2); FOLD(Z3, Y3, Y3); \
	HSUM4(Y0, Y1, Y2, Y3, X0, X1); \
	STORE4(X0, (DI)); \
	ADDQ R10, DI; \
	FOLD(Z4, Y4, Y4); FOLD(Z5, Y5, Y5); FOLD(Z6, Y6, Y6); FOLD(Z7, Y7, Y7); \
	HSUM4(Y4, Y5, Y6, Y7, X4, X5); \
	STORE4(X4, (DI)); \
	ADDQ R10, DI; \
	FOLD(Z8, Y8, Y8); FOLD(Z9, Y9, Y9); FOLD(Z10, Y10, Y10); FOLD(Z11, Y11, Y11); \
	HSUM4(Y8, Y9, Y10, Y11, X8, X9); \
	STORE4(X8, (DI)); \
	ADDQ R10, DI; \
	FOLD(Z12, Y12, Y12); FOLD(Z13, Y13, Y13); FOLD(Z14, Y14, Y14); FOLD(Z15, Y15, Y15); \
	HSUM4(Y12, Y13, Y14, Y15, X12, X13); \
	STORE4(X12, (DI)); \
	ADDQ R10, DI; \
	FOLD(Z16, Y16, Y0); FOLD(Z17, Y17, Y1); FOLD(Z18, Y18, Y2); FOLD(Z19, Y19, Y3); \
	HSUM4(Y0, Y1, Y2, Y3, X0, X1); \
	STORE4(X0, (DI)); \
	ADDQ R10, DI; \
	FOLD(Z20, Y20, Y4); FOLD(Z21, Y21, Y5); FOLD(Z22, Y22, Y6); FOLD(Z23, Y23, Y7); \
	HSUM4(Y4, Y5, Y6, Y7, X4, X5); \
	STORE4(X4, (DI))

// STORE2x4 sums the 8 accumulators Z0..Z7 of a 2×4 tile into y.
#define STORE2x4 \
	MOVQ y+40(FP), DI; \
	MOVQ ldy+48(FP), R10; \
	SHLQ $2, R10; \
	MOVQ acc+56(FP), AX; \
	FOLD(Z0, Y0, Y0); FOLD(Z1, Y1, Y1); FOLD(Z2, Y2, Y2); FOLD(Z3, Y3, Y3); \
	HSUM4(Y0, Y1, Y2, Y3, X0, X1); \
	STORE4(X0, (DI)); \
	ADDQ R10, DI; \
	FOLD(Z4, Y4, Y4); FOLD(Z5, Y5, Y5); FOLD(Z6, Y6, Y6); FOLD(Z7, Y7, Y7); \
	HSUM4(Y4, Y5, Y6, Y7, X4, X5); \
	STORE4(X4, (DI))

#define ZERO8 \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7

// func gemm6x4_512(k int, x *float32, ldx int, w *float32, ldw int, y *float32, ldy int, acc int)
// 6 rows of x × 4 rows of w: 24 zmm accumulators Z0..Z23 (row r, column c
// in Z(4r+c)), w in Z24..Z27, x in Z28..Z31.
TEXT ·gemm6x4_512(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), R8
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R10
	SHLQ $2, R8
	SHLQ $2, R10
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9                 // x row 3
	LEAQ (DI)(R10*2), R11
	ADDQ R10, R11               // w row 3
	ZERO24

g6loop:
	VMOVUPS (DI), Z24
	VMOVUPS (DI)(R10*1), Z25
	VMOVUPS (DI)(R10*2), Z26
	VMOVUPS (R11), Z27
	VMOVUPS (SI), Z28
	VMOVUPS (SI)(R8*1), Z29
	VMOVUPS (SI)(R8*2), Z30
	VMOVUPS (R9), Z31
	ROW4(Z28, Z0, Z1, Z2, Z3)
	ROW4(Z29, Z4, Z5, Z6, Z7)
	VMOVUPS (R9)(R8*1), Z28
	VMOVUPS (R9)(R8*2), Z29
	ROW4(Z30, Z8, Z9, Z10, Z11)
	ROW4(Z31, Z12, Z13, Z14, Z15)
	ROW4(Z28, Z16, Z17, Z18, Z19)
	ROW4(Z29, Z20, Z21, Z22, Z23)
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $64, DI
	ADDQ $64, R11
	SUBQ $16, CX
	JNZ  g6loop

	STORE6x4
	VZEROUPPER
	RET

// func gemmB6x4_512(k int, x *float32, ldx int, w *uint16, ldw int, y *float32, ldy int, acc int)
// gemm6x4_512 with bf16 weights, widened in registers.
TEXT ·gemmB6x4_512(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), R8
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R10
	SHLQ $2, R8
	SHLQ $1, R10
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9
	LEAQ (DI)(R10*2), R11
	ADDQ R10, R11
	ZERO24

gb6loop:
	WIDEN4
	VMOVUPS (SI), Z28
	VMOVUPS (SI)(R8*1), Z29
	VMOVUPS (SI)(R8*2), Z30
	VMOVUPS (R9), Z31
	ROW4(Z28, Z0, Z1, Z2, Z3)
	ROW4(Z29, Z4, Z5, Z6, Z7)
	VMOVUPS (R9)(R8*1), Z28
	VMOVUPS (R9)(R8*2), Z29
	ROW4(Z30, Z8, Z9, Z10, Z11)
	ROW4(Z31, Z12, Z13, Z14, Z15)
	ROW4(Z28, Z16, Z17, Z18, Z19)
	ROW4(Z29, Z20, Z21, Z22, Z23)
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $32, DI
	ADDQ $32, R11
	SUBQ $16, CX
	JNZ  gb6loop

	STORE6x4
	VZEROUPPER
	RET

// func gemm2x4_512(k int, x *float32, ldx int, w *float32, ldw int, y *float32, ldy int, acc int)
// 2 rows of x × 4 rows of w, for small T and the last rows of x.
TEXT ·gemm2x4_512(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), R8
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R10
	SHLQ $2, R8
	SHLQ $2, R10
	LEAQ (DI)(R10*2), R11
	ADDQ R10, R11
	ZERO8

g2loop:
	VMOVUPS (DI), Z24
	VMOVUPS (DI)(R10*1), Z25
	VMOVUPS (DI)(R10*2), Z26
	VMOVUPS (R11), Z27
	VMOVUPS (SI), Z28
	VMOVUPS (SI)(R8*1), Z29
	ROW4(Z28, Z0, Z1, Z2, Z3)
	ROW4(Z29, Z4, Z5, Z6, Z7)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R11
	SUBQ $16, CX
	JNZ  g2loop

	STORE2x4
	VZEROUPPER
	RET

// func gemmB2x4_512(k int, x *float32, ldx int, w *uint16, ldw int, y *float32, ldy int, acc int)
TEXT ·gemmB2x4_512(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), R8
	MOVQ w+24(FP), DI
	MOVQ ldw+32(FP), R10
	SHLQ $2, R8
	SHLQ $1, R10
	LEAQ (DI)(R10*2), R11
	ADDQ R10, R11
	ZERO8

gb2loop:
	WIDEN4
	VMOVUPS (SI), Z28
	VMOVUPS (SI)(R8*1), Z29
	ROW4(Z28, Z0, Z1, Z2, Z3)
	ROW4(Z29, Z4, Z5, Z6, Z7)
	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, R11
	SUBQ $16, CX
	JNZ  gb2loop

	STORE2x4
	VZEROUPPER
	RET
