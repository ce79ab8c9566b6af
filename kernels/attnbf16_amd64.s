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

// func attnScores4BAVX2(s, q *float32, qstride int, k *uint16, hd, kstride, n int, scale float32)
// Four queries (rows qstride apart) against n keys of a bf16 cache (rows
// kstride apart), each key widened once for the four: s[j*4+r] =
// scale·Σ_{i<hd} q_r[i]·k_j[i], key-major. Two keys at a time (eight
// accumulators), then one.
TEXT ·attnScores4BAVX2(SB), NOSPLIT, $0-60
	MOVQ s+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ qstride+16(FP), R10
	MOVQ k+24(FP), DX
	MOVQ hd+32(FP), CX
	MOVQ kstride+40(FP), R8
	MOVQ n+48(FP), R9
	VBROADCASTSS scale+56(FP), X15
	SHLQ $2, R10
	SHLQ $1, R8
	LEAQ (SI)(R10*1), R12
	LEAQ (SI)(R10*2), R13
	LEAQ (R12)(R10*2), R11

s4pair:
	CMPQ R9, $2
	JLT  s4one
	LEAQ (DX)(R8*1), R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ AX, AX

s4pairloop:
	VPMOVZXWD (DX)(AX*2), Y4
	VPMOVZXWD (R14)(AX*2), Y12
	VPSLLD $16, Y4, Y4
	VPSLLD $16, Y12, Y12
	VMOVUPS (SI)(AX*4), Y5
	VFMADD231PS Y5, Y4, Y0
	VFMADD231PS Y5, Y12, Y8
	VMOVUPS (R12)(AX*4), Y5
	VFMADD231PS Y5, Y4, Y1
	VFMADD231PS Y5, Y12, Y9
	VMOVUPS (R13)(AX*4), Y5
	VFMADD231PS Y5, Y4, Y2
	VFMADD231PS Y5, Y12, Y10
	VMOVUPS (R11)(AX*4), Y5
	VFMADD231PS Y5, Y4, Y3
	VFMADD231PS Y5, Y12, Y11
	ADDQ $8, AX
	CMPQ AX, CX
	JLT  s4pairloop

	HSUM4(Y0, Y1, Y2, Y3, X0, X1)
	HSUM4(Y8, Y9, Y10, Y11, X8, X9)
	VMULPS X15, X0, X0
	VMULPS X15, X8, X8
	VMOVUPS X0, (DI)
	VMOVUPS X8, 16(DI)
	ADDQ $32, DI
	LEAQ (DX)(R8*2), DX
	SUBQ $2, R9
	JMP  s4pair

s4one:
	TESTQ R9, R9
	JEQ  s4done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

s4oneloop:
	VPMOVZXWD (DX)(AX*2), Y4
	VPSLLD $16, Y4, Y4
	VFMADD231PS (SI)(AX*4), Y4, Y0
	VFMADD231PS (R12)(AX*4), Y4, Y1
	VFMADD231PS (R13)(AX*4), Y4, Y2
	VFMADD231PS (R11)(AX*4), Y4, Y3
	ADDQ $8, AX
	CMPQ AX, CX
	JLT  s4oneloop

	HSUM4(Y0, Y1, Y2, Y3, X0, X1)
	VMULPS X15, X0, X0
	VMOVUPS X0, (DI)

s4done:
	VZEROUPPER
	RET

// func attnAccum4BAVX2(o *float32, ostride int, v *uint16, e *float32, hd, vstride, n int)
// Four queries' outputs (rows ostride apart) += the weights e (key-major,
// e[j*4+r]) times n values of a bf16 cache (rows vstride apart): o_r[i] +=
// Σ_j e[j*4+r]·v_j[i]. Sixteen dimensions at a time for all keys, eight
// accumulators, each value widened once for the four.
TEXT ·attnAccum4BAVX2(SB), NOSPLIT, $0-56
	MOVQ o+0(FP), DI
	MOVQ ostride+8(FP), R10
	MOVQ v+16(FP), DX
	MOVQ e+24(FP), BX
	MOVQ hd+32(FP), CX
	MOVQ vstride+40(FP), R8
	MOVQ n+48(FP), R9
	SHLQ $2, R10
	SHLQ $1, R8
	LEAQ (DI)(R10*1), R12
	LEAQ (DI)(R10*2), R13
	LEAQ (R12)(R10*2), R11
	XORQ AX, AX
	TESTQ R9, R9
	JEQ  a4done

a4chunk:
	VMOVUPS (DI)(AX*4), Y0
	VMOVUPS 32(DI)(AX*4), Y8
	VMOVUPS (R12)(AX*4), Y1
	VMOVUPS 32(R12)(AX*4), Y9
	VMOVUPS (R13)(AX*4), Y2
	VMOVUPS 32(R13)(AX*4), Y10
	VMOVUPS (R11)(AX*4), Y3
	VMOVUPS 32(R11)(AX*4), Y11
	LEAQ (DX)(AX*2), R10
	MOVQ BX, SI
	MOVQ R9, R14

a4key:
	VPMOVZXWD (R10), Y4
	VPMOVZXWD 16(R10), Y12
	VPSLLD $16, Y4, Y4
	VPSLLD $16, Y12, Y12
	VBROADCASTSS (SI), Y5
	VFMADD231PS Y5, Y4, Y0
	VFMADD231PS Y5, Y12, Y8
	VBROADCASTSS 4(SI), Y6
	VFMADD231PS Y6, Y4, Y1
	VFMADD231PS Y6, Y12, Y9
	VBROADCASTSS 8(SI), Y7
	VFMADD231PS Y7, Y4, Y2
	VFMADD231PS Y7, Y12, Y10
	VBROADCASTSS 12(SI), Y13
	VFMADD231PS Y13, Y4, Y3
	VFMADD231PS Y13, Y12, Y11
	ADDQ R8, R10
	ADDQ $16, SI
	DECQ R14
	JNZ  a4key

	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y8, 32(DI)(AX*4)
	VMOVUPS Y1, (R12)(AX*4)
	VMOVUPS Y9, 32(R12)(AX*4)
	VMOVUPS Y2, (R13)(AX*4)
	VMOVUPS Y10, 32(R13)(AX*4)
	VMOVUPS Y3, (R11)(AX*4)
	VMOVUPS Y11, 32(R11)(AX*4)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT  a4chunk

a4done:
	VZEROUPPER
	RET
