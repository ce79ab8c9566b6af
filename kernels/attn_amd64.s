//go:build amd64 && !purego

#include "textflag.h"

// Attention block kernels. hd is a positive multiple of 16; stride is the
// distance between consecutive key (value) rows, in elements.

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

// func attnAccum512(o, v, e *float32, hd, stride, n int)
// o[i] += Σ_{j<n} e[j]·v[j*stride+i] for i < hd: 64 columns of o at a time
// held in registers while the n value rows stream past.
TEXT ·attnAccum512(SB), NOSPLIT, $0-48
	MOVQ o+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ e+16(FP), DX
	MOVQ hd+24(FP), CX
	MOVQ stride+32(FP), R8
	MOVQ n+40(FP), R9
	SHLQ $2, R8
	XORQ R10, R10               // column offset in bytes
	SHLQ $2, CX

aa64:
	MOVQ CX, BX
	SUBQ R10, BX
	CMPQ BX, $256
	JLT  aa16
	VMOVUPS (DI)(R10*1), Z0
	VMOVUPS 64(DI)(R10*1), Z1
	VMOVUPS 128(DI)(R10*1), Z2
	VMOVUPS 192(DI)(R10*1), Z3
	LEAQ (SI)(R10*1), R11
	XORQ AX, AX

aa64loop:
	VBROADCASTSS (DX)(AX*4), Z8
	VFMADD231PS (R11), Z8, Z0
	VFMADD231PS 64(R11), Z8, Z1
	VFMADD231PS 128(R11), Z8, Z2
	VFMADD231PS 192(R11), Z8, Z3
	ADDQ R8, R11
	INCQ AX
	CMPQ AX, R9
	JLT  aa64loop

	VMOVUPS Z0, (DI)(R10*1)
	VMOVUPS Z1, 64(DI)(R10*1)
	VMOVUPS Z2, 128(DI)(R10*1)
	VMOVUPS Z3, 192(DI)(R10*1)
	ADDQ $256, R10
	JMP  aa64

aa16:
	CMPQ R10, CX
	JGE  aadone
	VMOVUPS (DI)(R10*1), Z0
	LEAQ (SI)(R10*1), R11
	XORQ AX, AX

aa16loop:
	VBROADCASTSS (DX)(AX*4), Z8
	VFMADD231PS (R11), Z8, Z0
	ADDQ R8, R11
	INCQ AX
	CMPQ AX, R9
	JLT  aa16loop

	VMOVUPS Z0, (DI)(R10*1)
	ADDQ $64, R10
	JMP  aa16

aadone:
	VZEROUPPER
	RET

// Constants for exp: e^x = 2^m · p(r), m = round(x·log2 e),
// r = x − m·ln2 (ln2 split in two for accuracy), p a degree-7 Taylor
// polynomial (relative error < 6e-9 on |r| ≤ ln2/2).
DATA expc<>+0(SB)/4, $0x3fb8aa3b   // log2 e
DATA expc<>+4(SB)/4, $0x3f317200   // ln2 hi (exact in 16 bits)
DATA expc<>+8(SB)/4, $0x35bfbe8e   // ln2 lo
DATA expc<>+12(SB)/4, $0x39500d01  // 1/5040
DATA expc<>+16(SB)/4, $0x3ab60b61  // 1/720
DATA expc<>+20(SB)/4, $0x3c088889  // 1/120
DATA expc<>+24(SB)/4, $0x3d2aaaab  // 1/24
DATA expc<>+28(SB)/4, $0x3e2aaaab  // 1/6
DATA expc<>+32(SB)/4, $0x3f000000  // 1/2
DATA expc<>+36(SB)/4, $0x3f800000  // 1
DATA expc<>+40(SB)/4, $0xc2b00000  // -88: below this e^x is (nearly) 0
GLOBL expc<>(SB), RODATA|NOPTR, $44

// func expSub512(s *float32, n int, m float32) float32
// s[j] = exp(s[j] − m) for j < n (n a multiple of 16, s[j] ≤ m), and
// returns Σ s[j].
TEXT ·expSub512(SB), NOSPLIT, $0-28
	MOVQ s+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Z31
	VBROADCASTSS expc<>+0(SB), Z20
	VBROADCASTSS expc<>+4(SB), Z21
	VBROADCASTSS expc<>+8(SB), Z22
	VBROADCASTSS expc<>+12(SB), Z23
	VBROADCASTSS expc<>+16(SB), Z24
	VBROADCASTSS expc<>+20(SB), Z25
	VBROADCASTSS expc<>+24(SB), Z26
	VBROADCASTSS expc<>+28(SB), Z27
	VBROADCASTSS expc<>+32(SB), Z28
	VBROADCASTSS expc<>+36(SB), Z29
	VBROADCASTSS expc<>+40(SB), Z30
	VPXORD Z0, Z0, Z0           // sum
	XORQ AX, AX

esloop:
	CMPQ AX, CX
	JGE  esdone
	VMOVUPS (DI)(AX*4), Z1
	VSUBPS Z31, Z1, Z1          // x = s − m
	VMAXPS Z30, Z1, Z1          // clamp at −88
	VMULPS Z20, Z1, Z2
	VRNDSCALEPS $0, Z2, Z2      // m = round(x·log2 e)
	VMOVAPS Z1, Z3
	VFNMADD231PS Z21, Z2, Z3    // r = x − m·ln2hi
	VFNMADD231PS Z22, Z2, Z3    //     − m·ln2lo
	VMOVAPS Z23, Z4             // p = 1/5040
	VFMADD213PS Z24, Z3, Z4     // p = p·r + 1/720
	VFMADD213PS Z25, Z3, Z4
	VFMADD213PS Z26, Z3, Z4
	VFMADD213PS Z27, Z3, Z4
	VFMADD213PS Z28, Z3, Z4
	VFMADD213PS Z29, Z3, Z4     // p·r + 1
	VFMADD213PS Z29, Z3, Z4     // p·r + 1
	VSCALEFPS Z2, Z4, Z4        // p·2^m
	VMOVUPS Z4, (DI)(AX*4)
	VADDPS Z4, Z0, Z0
	ADDQ $16, AX
	JMP  esloop

esdone:
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// AVX2 versions.

// func attnScoresAVX2(s, q, k *float32, hd, stride, n int, scale float32)
TEXT ·attnScoresAVX2(SB), NOSPLIT, $0-52
	MOVQ s+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ k+16(FP), DX
	MOVQ hd+24(FP), CX
	MOVQ stride+32(FP), R8
	MOVQ n+40(FP), R9
	VBROADCASTSS scale+48(FP), X15
	SHLQ $2, R8
	SHLQ $2, CX

bs4:
	CMPQ R9, $4
	JLT  bs1
	LEAQ (DX)(R8*1), R11
	LEAQ (DX)(R8*2), R12
	LEAQ (R11)(R8*2), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

bs4loop:
	VMOVUPS (SI)(AX*1), Y8
	VFMADD231PS (DX)(AX*1), Y8, Y0
	VFMADD231PS (R11)(AX*1), Y8, Y1
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS (R13)(AX*1), Y8, Y3
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  bs4loop

	HSUM4(Y0, Y1, Y2, Y3, X0, X1)
	VMULPS X15, X0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	SUBQ $4, R9
	JMP  bs4

bs1:
	TESTQ R9, R9
	JEQ  bsdone
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

bs1loop:
	VMOVUPS (SI)(AX*1), Y8
	VFMADD231PS (DX)(AX*1), Y8, Y0
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  bs1loop

	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMULSS X15, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ R9
	JMP  bs1

bsdone:
	VZEROUPPER
	RET

// func attnAccumAVX2(o, v, e *float32, hd, stride, n int)
TEXT ·attnAccumAVX2(SB), NOSPLIT, $0-48
	MOVQ o+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ e+16(FP), DX
	MOVQ hd+24(FP), CX
	MOVQ stride+32(FP), R8
	MOVQ n+40(FP), R9
	SHLQ $2, R8
	XORQ R10, R10
	SHLQ $2, CX

ba32:
	MOVQ CX, BX
	SUBQ R10, BX
	CMPQ BX, $128
	JLT  ba16
	VMOVUPS (DI)(R10*1), Y0
	VMOVUPS 32(DI)(R10*1), Y1
	VMOVUPS 64(DI)(R10*1), Y2
	VMOVUPS 96(DI)(R10*1), Y3
	LEAQ (SI)(R10*1), R11
	XORQ AX, AX

ba32loop:
	VBROADCASTSS (DX)(AX*4), Y8
	VFMADD231PS (R11), Y8, Y0
	VFMADD231PS 32(R11), Y8, Y1
	VFMADD231PS 64(R11), Y8, Y2
	VFMADD231PS 96(R11), Y8, Y3
	ADDQ R8, R11
	INCQ AX
	CMPQ AX, R9
	JLT  ba32loop

	VMOVUPS Y0, (DI)(R10*1)
	VMOVUPS Y1, 32(DI)(R10*1)
	VMOVUPS Y2, 64(DI)(R10*1)
	VMOVUPS Y3, 96(DI)(R10*1)
	ADDQ $128, R10
	JMP  ba32

ba16:
	CMPQ R10, CX
	JGE  badone
	VMOVUPS (DI)(R10*1), Y0
	VMOVUPS 32(DI)(R10*1), Y1
	LEAQ (SI)(R10*1), R11
	XORQ AX, AX

ba16loop:
	VBROADCASTSS (DX)(AX*4), Y8
	VFMADD231PS (R11), Y8, Y0
	VFMADD231PS 32(R11), Y8, Y1
	ADDQ R8, R11
	INCQ AX
	CMPQ AX, R9
	JLT  ba16loop

	VMOVUPS Y0, (DI)(R10*1)
	VMOVUPS Y1, 32(DI)(R10*1)
	ADDQ $64, R10
	JMP  ba16

badone:
	VZEROUPPER
	RET

// func expSubAVX2(s *float32, n int, m float32) float32
// As expSub512; 2^m is built in the exponent bits, so x is clamped at −87
// to keep m ≥ −126.
TEXT ·expSubAVX2(SB), NOSPLIT, $0-28
	MOVQ s+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y15
	VBROADCASTSS expc<>+0(SB), Y14  // log2 e
	VBROADCASTSS expc<>+4(SB), Y13  // ln2 hi
	VBROADCASTSS expc<>+8(SB), Y12  // ln2 lo
	VBROADCASTSS expc<>+36(SB), Y11 // 1
	VBROADCASTSS expc87<>+0(SB), Y10
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

e2loop:
	CMPQ AX, CX
	JGE  e2done
	VMOVUPS (DI)(AX*4), Y1
	VSUBPS Y15, Y1, Y1
	VMAXPS Y10, Y1, Y1
	VMULPS Y14, Y1, Y2
	VROUNDPS $0, Y2, Y2
	VMOVAPS Y1, Y3
	VFNMADD231PS Y13, Y2, Y3
	VFNMADD231PS Y12, Y2, Y3
	VBROADCASTSS expc<>+12(SB), Y4
	VBROADCASTSS expc<>+16(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expc<>+20(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expc<>+24(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expc<>+28(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expc<>+32(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VFMADD213PS Y11, Y3, Y4
	VFMADD213PS Y11, Y3, Y4
	VCVTPS2DQ Y2, Y2
	VPSLLD $23, Y2, Y2
	VPADDD Y11, Y2, Y2          // add m to the exponent of 1.0
	VMULPS Y2, Y4, Y4
	VMOVUPS Y4, (DI)(AX*4)
	VADDPS Y4, Y0, Y0
	ADDQ $8, AX
	JMP  e2loop

e2done:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

DATA expc87<>+0(SB)/4, $0xc2ae0000 // -87
GLOBL expc87<>(SB), RODATA|NOPTR, $4

// func attnAccum128_512(o, v, e *float32, stride, n int)
// attnAccum512 for hd = 128: o[0:128] += Σ_{j<n} e[j]·v[j*stride : j*stride+128],
// with o held in eight registers so each v row is read once, in order (one
// memory stream instead of one per 64-column slice).
TEXT ·attnAccum128_512(SB), NOSPLIT, $0-40
	MOVQ o+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ e+16(FP), DX
	MOVQ stride+24(FP), R8
	MOVQ n+32(FP), R9
	SHLQ $2, R8
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	VMOVUPS 256(DI), Z4
	VMOVUPS 320(DI), Z5
	VMOVUPS 384(DI), Z6
	VMOVUPS 448(DI), Z7
	XORQ AX, AX
	TESTQ R9, R9
	JEQ  a128done

a128loop:
	VBROADCASTSS (DX)(AX*4), Z8
	VFMADD231PS (SI), Z8, Z0
	VFMADD231PS 64(SI), Z8, Z1
	VFMADD231PS 128(SI), Z8, Z2
	VFMADD231PS 192(SI), Z8, Z3
	VFMADD231PS 256(SI), Z8, Z4
	VFMADD231PS 320(SI), Z8, Z5
	VFMADD231PS 384(SI), Z8, Z6
	VFMADD231PS 448(SI), Z8, Z7
	ADDQ R8, SI
	INCQ AX
	CMPQ AX, R9
	JLT  a128loop

a128done:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	VZEROUPPER
	RET
