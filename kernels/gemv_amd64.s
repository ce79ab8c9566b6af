//go:build amd64 && !purego

#include "textflag.h"

// Matrix-vector kernels: for r < rows: y[r] = Σ_{i<k} x[i]·w[r*ldw+i].
// k is a positive multiple of 16. Rows go four at a time (one x load feeds
// four weight rows), then one at a time. bf16 weights are widened in
// registers: zero-extend to 32 bits, shift left 16.

// HSUM4 leaves in Xa the horizontal sums of the ymm registers a, b, c, d
// (all in Y0..Y15): Xa = [Σa, Σb, Σc, Σd]. Clobbers b, c and Xt.
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

// BF16ROW512 multiplies 32 bf16 weights at (base)(AX*2) by x in Z8, Z9 into
// accumulators A0, A1, using T0, T1 as temporaries.
#define BF16ROW512(base, A0, A1, T0, T1) \
	VPMOVZXWD (base)(AX*2), T0; \
	VPMOVZXWD 32(base)(AX*2), T1; \
	VPSLLD $16, T0, T0; \
	VPSLLD $16, T1, T1; \
	VFMADD231PS Z8, T0, A0; \
	VFMADD231PS Z9, T1, A1

#define BF16ROW512H(base, A0, T0) \
	VPMOVZXWD (base)(AX*2), T0; \
	VPSLLD $16, T0, T0; \
	VFMADD231PS Z8, T0, A0

// func gemvBF16_512(y, x *float32, w *uint16, k, ldw, rows int)
TEXT ·gemvBF16_512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), R9
	SHLQ $1, R8
	MOVQ CX, BX
	ANDQ $-32, BX

b512rows4:
	CMPQ R9, $4
	JLT  b512rows1
	LEAQ (DX)(R8*1), R11
	LEAQ (DX)(R8*2), R12
	LEAQ (R11)(R8*2), R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	TESTQ BX, BX
	JEQ  b512r4half

b512r4loop:
	VMOVUPS (SI)(AX*4), Z8
	VMOVUPS 64(SI)(AX*4), Z9
	BF16ROW512(DX, Z0, Z1, Z10, Z11)
	BF16ROW512(R11, Z2, Z3, Z12, Z13)
	BF16ROW512(R12, Z4, Z5, Z14, Z15)
	BF16ROW512(R13, Z6, Z7, Z16, Z17)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT  b512r4loop

b512r4half:
	CMPQ AX, CX
	JGE  b512r4sum
	VMOVUPS (SI)(AX*4), Z8
	BF16ROW512H(DX, Z0, Z10)
	BF16ROW512H(R11, Z2, Z12)
	BF16ROW512H(R12, Z4, Z14)
	BF16ROW512H(R13, Z6, Z16)

b512r4sum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	FOLD(Z0, Y0, Y0)
	FOLD(Z2, Y2, Y2)
	FOLD(Z4, Y4, Y4)
	FOLD(Z6, Y6, Y6)
	HSUM4(Y0, Y2, Y4, Y6, X0, X1)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	SUBQ $4, R9
	JMP  b512rows4

b512rows1:
	TESTQ R9, R9
	JEQ  b512done
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	XORQ AX, AX
	TESTQ BX, BX
	JEQ  b512r1half

b512r1loop:
	VMOVUPS (SI)(AX*4), Z8
	VMOVUPS 64(SI)(AX*4), Z9
	BF16ROW512(DX, Z0, Z1, Z10, Z11)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT  b512r1loop

b512r1half:
	CMPQ AX, CX
	JGE  b512r1sum
	VMOVUPS (SI)(AX*4), Z8
	BF16ROW512H(DX, Z0, Z10)

b512r1sum:
	VADDPS Z1, Z0, Z0
	FOLD(Z0, Y0, Y0)
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JMP  b512rows1

b512done:
	VZEROUPPER
	RET

// F32ROW512 multiplies 32 fp32 weights at (base)(AX*4) by x in Z8, Z9.
#define F32ROW512(base, A0, A1) \
	VFMADD231PS (base)(AX*4), Z8, A0; \
	VFMADD231PS 64(base)(AX*4), Z9, A1

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
	ANDQ $-32, BX

f512rows4:
	CMPQ R9, $4
	JLT  f512rows1
	LEAQ (DX)(R8*1), R11
	LEAQ (DX)(R8*2), R12
	LEAQ (R11)(R8*2), R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	TESTQ BX, BX
	JEQ  f512r4half

f512r4loop:
	VMOVUPS (SI)(AX*4), Z8
	VMOVUPS 64(SI)(AX*4), Z9
	F32ROW512(DX, Z0, Z1)
	F32ROW512(R11, Z2, Z3)
	F32ROW512(R12, Z4, Z5)
	F32ROW512(R13, Z6, Z7)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT  f512r4loop

f512r4half:
	CMPQ AX, CX
	JGE  f512r4sum
	VMOVUPS (SI)(AX*4), Z8
	VFMADD231PS (DX)(AX*4), Z8, Z0
	VFMADD231PS (R11)(AX*4), Z8, Z2
	VFMADD231PS (R12)(AX*4), Z8, Z4
	VFMADD231PS (R13)(AX*4), Z8, Z6

f512r4sum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	FOLD(Z0, Y0, Y0)
	FOLD(Z2, Y2, Y2)
	FOLD(Z4, Y4, Y4)
	FOLD(Z6, Y6, Y6)
	HSUM4(Y0, Y2, Y4, Y6, X0, X1)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	SUBQ $4, R9
	JMP  f512rows4

f512rows1:
	TESTQ R9, R9
	JEQ  f512done
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	XORQ AX, AX
	TESTQ BX, BX
	JEQ  f512r1half

f512r1loop:
	VMOVUPS (SI)(AX*4), Z8
	VMOVUPS 64(SI)(AX*4), Z9
	F32ROW512(DX, Z0, Z1)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT  f512r1loop

f512r1half:
	CMPQ AX, CX
	JGE  f512r1sum
	VMOVUPS (SI)(AX*4), Z8
	VFMADD231PS (DX)(AX*4), Z8, Z0

f512r1sum:
	VADDPS Z1, Z0, Z0
	FOLD(Z0, Y0, Y0)
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JMP  f512rows1

f512done:
	VZEROUPPER
	RET

// AVX2 versions: 16 elements per step as two ymm halves per row.

#define BF16ROW2(base, A0, A1, T0, T1) \
	VPMOVZXWD (base)(AX*2), T0; \
	VPMOVZXWD 16(base)(AX*2), T1; \
	VPSLLD $16, T0, T0; \
	VPSLLD $16, T1, T1; \
	VFMADD231PS Y8, T0, A0; \
	VFMADD231PS Y9, T1, A1

// func gemvBF16AVX2(y, x *float32, w *uint16, k, ldw, rows int)
TEXT ·gemvBF16AVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), R9
	SHLQ $1, R8

b2rows4:
	CMPQ R9, $4
	JLT  b2rows1
	LEAQ (DX)(R8*1), R11
	LEAQ (DX)(R8*2), R12
	LEAQ (R11)(R8*2), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX

b2r4loop:
	VMOVUPS (SI)(AX*4), Y8
	VMOVUPS 32(SI)(AX*4), Y9
	BF16ROW2(DX, Y0, Y1, Y10, Y11)
	BF16ROW2(R11, Y2, Y3, Y12, Y13)
	BF16ROW2(R12, Y4, Y5, Y10, Y11)
	BF16ROW2(R13, Y6, Y7, Y12, Y13)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT  b2r4loop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	HSUM4(Y0, Y2, Y4, Y6, X0, X1)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	SUBQ $4, R9
	JMP  b2rows4

b2rows1:
	TESTQ R9, R9
	JEQ  b2done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	XORQ AX, AX

b2r1loop:
	VMOVUPS (SI)(AX*4), Y8
	VMOVUPS 32(SI)(AX*4), Y9
	BF16ROW2(DX, Y0, Y1, Y10, Y11)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT  b2r1loop

	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JMP  b2rows1

b2done:
	VZEROUPPER
	RET

#define F32ROW2(base, A0, A1) \
	VFMADD231PS (base)(AX*4), Y8, A0; \
	VFMADD231PS 32(base)(AX*4), Y9, A1

// func gemvF32AVX2(y, x, w *float32, k, ldw, rows int)
TEXT ·gemvF32AVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldw+32(FP), R8
	MOVQ rows+40(FP), R9
	SHLQ $2, R8

f2rows4:
	CMPQ R9, $4
	JLT  f2rows1
	LEAQ (DX)(R8*1), R11
	LEAQ (DX)(R8*2), R12
	LEAQ (R11)(R8*2), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX

f2r4loop:
	VMOVUPS (SI)(AX*4), Y8
	VMOVUPS 32(SI)(AX*4), Y9
	F32ROW2(DX, Y0, Y1)
	F32ROW2(R11, Y2, Y3)
	F32ROW2(R12, Y4, Y5)
	F32ROW2(R13, Y6, Y7)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT  f2r4loop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	HSUM4(Y0, Y2, Y4, Y6, X0, X1)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	SUBQ $4, R9
	JMP  f2rows4

f2rows1:
	TESTQ R9, R9
	JEQ  f2done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	XORQ AX, AX

f2r1loop:
	VMOVUPS (SI)(AX*4), Y8
	VMOVUPS 32(SI)(AX*4), Y9
	F32ROW2(DX, Y0, Y1)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT  f2r1loop

	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JMP  f2rows1

f2done:
	VZEROUPPER
	RET
