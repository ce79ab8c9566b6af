//go:build amd64 && !purego

#include "textflag.h"

// Attention block kernels over a bf16 KV cache, read in place: each key or
// value element is widened exactly in registers (VPMOVZXWD from memory,
// then a shift left by 16), with no widened copy of the block. hd is a
// positive multiple of 16; stride is in elements.

// HSUM4 leaves in Xa the horizontal sums of ymm a, b, c, d:
// Xa = [Σa, Σb, Σc, Σd]. Clobbers b, c and Xt.
#define HSUM4(Ya, Yb, Yc, Yd, Xa, Xt) \
	VHADDPS Yb, Ya, Ya; \
	VHADDPS Yd, Yc, Yc; \
	VHADDPS Yc, Ya, Ya; \
	VEXTRACTF128 $1, Ya, Xt; \
	VADDPS Xt, Xa, Xa

// func attnScoresBF16AVX2(s, q *float32, k *uint16, hd, stride, n int, scale float32)
// s[j] = scale·Σ_{i<hd} q[i]·k[j*stride+i] for j < n, four keys at a time.
TEXT ·attnScoresBF16AVX2(SB), NOSPLIT, $0-52
	MOVQ s+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ k+16(FP), DX
	MOVQ hd+24(FP), CX
	MOVQ stride+32(FP), R8
	MOVQ n+40(FP), R9
	VBROADCASTSS scale+48(FP), X15
	SHLQ $1, R8

hs4:
	CMPQ R9, $4
	JLT  hs1
	LEAQ (DX)(R8*1), R11
	LEAQ (DX)(R8*2), R12
	LEAQ (R11)(R8*2), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

hs4loop:
	VMOVUPS (SI)(AX*4), Y8
	VPMOVZXWD (DX)(AX*2), Y4
	VPMOVZXWD (R11)(AX*2), Y5
	VPMOVZXWD (R12)(AX*2), Y6
	VPMOVZXWD (R13)(AX*2), Y7
	VPSLLD $16, Y4, Y4
	VPSLLD $16, Y5, Y5
	VPSLLD $16, Y6, Y6
	VPSLLD $16, Y7, Y7
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y8, Y5, Y1
	VFMADD231PS Y8, Y6, Y2
	VFMADD231PS Y8, Y7, Y3
	ADDQ $8, AX
	CMPQ AX, CX
	JLT  hs4loop

	HSUM4(Y0, Y1, Y2, Y3, X0, X1)
	VMULPS X15, X0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	SUBQ $4, R9
	JMP  hs4

hs1:
	TESTQ R9, R9
	JEQ  hsdone
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

hs1loop:
	VPMOVZXWD (DX)(AX*2), Y4
	VPSLLD $16, Y4, Y4
	VFMADD231PS (SI)(AX*4), Y4, Y0
	ADDQ $8, AX
	CMPQ AX, CX
	JLT  hs1loop

	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMULSS X15, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JMP  hs1

hsdone:
	VZEROUPPER
	RET

// func attnAccumBF16AVX2(o *float32, v *uint16, e *float32, hd, stride, n int)
// o[i] += Σ_{j<n} e[j]·v[j*stride+i] for i < hd: 32 (then 16) columns of o
// held in registers while the n value rows stream past.
TEXT ·attnAccumBF16AVX2(SB), NOSPLIT, $0-48
	MOVQ o+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ e+16(FP), DX
	MOVQ hd+24(FP), CX
	MOVQ stride+32(FP), R8
	MOVQ n+40(FP), R9
	SHLQ $1, R8
	XORQ R10, R10

ha32:
	MOVQ CX, BX
	SUBQ R10, BX
	CMPQ BX, $32
	JLT  ha16
	VMOVUPS (DI)(R10*4), Y0
	VMOVUPS 32(DI)(R10*4), Y1
	VMOVUPS 64(DI)(R10*4), Y2
	VMOVUPS 96(DI)(R10*4), Y3
	LEAQ (SI)(R10*2), R11
	XORQ AX, AX

ha32loop:
	VBROADCASTSS (DX)(AX*4), Y8
	VPMOVZXWD (R11), Y4
	VPMOVZXWD 16(R11), Y5
	VPMOVZXWD 32(R11), Y6
	VPMOVZXWD 48(R11), Y7
	VPSLLD $16, Y4, Y4
	VPSLLD $16, Y5, Y5
	VPSLLD $16, Y6, Y6
	VPSLLD $16, Y7, Y7
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y8, Y5, Y1
	VFMADD231PS Y8, Y6, Y2
	VFMADD231PS Y8, Y7, Y3
	ADDQ R8, R11
	INCQ AX
	CMPQ AX, R9
	JLT  ha32loop

	VMOVUPS Y0, (DI)(R10*4)
	VMOVUPS Y1, 32(DI)(R10*4)
	VMOVUPS Y2, 64(DI)(R10*4)
	VMOVUPS Y3, 96(DI)(R10*4)
	ADDQ $32, R10
	JMP  ha32

ha16:
	CMPQ R10, CX
	JGE  hadone
	VMOVUPS (DI)(R10*4), Y0
	VMOVUPS 32(DI)(R10*4), Y1
	LEAQ (SI)(R10*2), R11
	XORQ AX, AX

ha16loop:
	VBROADCASTSS (DX)(AX*4), Y8
	VPMOVZXWD (R11), Y4
	VPMOVZXWD 16(R11), Y5
	VPSLLD $16, Y4, Y4
	VPSLLD $16, Y5, Y5
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y8, Y5, Y1
	ADDQ R8, R11
	INCQ AX
	CMPQ AX, R9
	JLT  ha16loop

	VMOVUPS Y0, (DI)(R10*4)
	VMOVUPS Y1, 32(DI)(R10*4)
	ADDQ $16, R10
	JMP  ha16

hadone:
	VZEROUPPER
	RET
