//go:build amd64 && !purego

#include "textflag.h"

// Softcap: x[i] = c·tanh(x[i]/c), with the division and the final product
// in float32 (as torch does) and tanh in float64, so that the float32
// result is correctly rounded in nearly all cases:
//   a = min(|z|, 20); e = 2^m·p(r) = exp(2a) with m = round(2a·log2 e),
//   r = 2a − m·ln2 (two-part ln2), p the degree-10 Taylor polynomial
//   (error < 3e-13 on |r| ≤ ln2/2); tanh a = (e−1)/(e+1), or a − a³/3 when
//   a < 2⁻¹⁴ (where e−1 would lose digits); then the sign of z.
// Constants are stored as four copies each (32 bytes) so that the AVX2
// code can use them as memory operands.

DATA tanhc<>+0(SB)/8, $0x7fffffffffffffff
DATA tanhc<>+8(SB)/8, $0x7fffffffffffffff
DATA tanhc<>+16(SB)/8, $0x7fffffffffffffff
DATA tanhc<>+24(SB)/8, $0x7fffffffffffffff
DATA tanhc<>+32(SB)/8, $0x8000000000000000
DATA tanhc<>+40(SB)/8, $0x8000000000000000
DATA tanhc<>+48(SB)/8, $0x8000000000000000
DATA tanhc<>+56(SB)/8, $0x8000000000000000
DATA tanhc<>+64(SB)/8, $0x4034000000000000
DATA tanhc<>+72(SB)/8, $0x4034000000000000
DATA tanhc<>+80(SB)/8, $0x4034000000000000
DATA tanhc<>+88(SB)/8, $0x4034000000000000
DATA tanhc<>+96(SB)/8, $0x3ff71547652b82fe
DATA tanhc<>+104(SB)/8, $0x3ff71547652b82fe
DATA tanhc<>+112(SB)/8, $0x3ff71547652b82fe
DATA tanhc<>+120(SB)/8, $0x3ff71547652b82fe
DATA tanhc<>+128(SB)/8, $0x3fe62e42fee00000
DATA tanhc<>+136(SB)/8, $0x3fe62e42fee00000
DATA tanhc<>+144(SB)/8, $0x3fe62e42fee00000
DATA tanhc<>+152(SB)/8, $0x3fe62e42fee00000
DATA tanhc<>+160(SB)/8, $0x3dea39ef35793c76
DATA tanhc<>+168(SB)/8, $0x3dea39ef35793c76
DATA tanhc<>+176(SB)/8, $0x3dea39ef35793c76
DATA tanhc<>+184(SB)/8, $0x3dea39ef35793c76
DATA tanhc<>+192(SB)/8, $0x3e927e4fb7789f5c
DATA tanhc<>+200(SB)/8, $0x3e927e4fb7789f5c
DATA tanhc<>+208(SB)/8, $0x3e927e4fb7789f5c
DATA tanhc<>+216(SB)/8, $0x3e927e4fb7789f5c
DATA tanhc<>+224(SB)/8, $0x3ec71de3a556c734
DATA tanhc<>+232(SB)/8, $0x3ec71de3a556c734
DATA tanhc<>+240(SB)/8, $0x3ec71de3a556c734
DATA tanhc<>+248(SB)/8, $0x3ec71de3a556c734
DATA tanhc<>+256(SB)/8, $0x3efa01a01a01a01a
DATA tanhc<>+264(SB)/8, $0x3efa01a01a01a01a
DATA tanhc<>+272(SB)/8, $0x3efa01a01a01a01a
DATA tanhc<>+280(SB)/8, $0x3efa01a01a01a01a
DATA tanhc<>+288(SB)/8, $0x3f2a01a01a01a01a
DATA tanhc<>+296(SB)/8, $0x3f2a01a01a01a01a
DATA tanhc<>+304(SB)/8, $0x3f2a01a01a01a01a
DATA tanhc<>+312(SB)/8, $0x3f2a01a01a01a01a
DATA tanhc<>+320(SB)/8, $0x3f56c16c16c16c17
DATA tanhc<>+328(SB)/8, $0x3f56c16c16c16c17
DATA tanhc<>+336(SB)/8, $0x3f56c16c16c16c17
DATA tanhc<>+344(SB)/8, $0x3f56c16c16c16c17
DATA tanhc<>+352(SB)/8, $0x3f81111111111111
DATA tanhc<>+360(SB)/8, $0x3f81111111111111
DATA tanhc<>+368(SB)/8, $0x3f81111111111111
DATA tanhc<>+376(SB)/8, $0x3f81111111111111
DATA tanhc<>+384(SB)/8, $0x3fa5555555555555
DATA tanhc<>+392(SB)/8, $0x3fa5555555555555
DATA tanhc<>+400(SB)/8, $0x3fa5555555555555
DATA tanhc<>+408(SB)/8, $0x3fa5555555555555
DATA tanhc<>+416(SB)/8, $0x3fc5555555555555
DATA tanhc<>+424(SB)/8, $0x3fc5555555555555
DATA tanhc<>+432(SB)/8, $0x3fc5555555555555
DATA tanhc<>+440(SB)/8, $0x3fc5555555555555
DATA tanhc<>+448(SB)/8, $0x3fe0000000000000
DATA tanhc<>+456(SB)/8, $0x3fe0000000000000
DATA tanhc<>+464(SB)/8, $0x3fe0000000000000
DATA tanhc<>+472(SB)/8, $0x3fe0000000000000
DATA tanhc<>+480(SB)/8, $0x3ff0000000000000
DATA tanhc<>+488(SB)/8, $0x3ff0000000000000
DATA tanhc<>+496(SB)/8, $0x3ff0000000000000
DATA tanhc<>+504(SB)/8, $0x3ff0000000000000
DATA tanhc<>+512(SB)/8, $0x3f10000000000000
DATA tanhc<>+520(SB)/8, $0x3f10000000000000
DATA tanhc<>+528(SB)/8, $0x3f10000000000000
DATA tanhc<>+536(SB)/8, $0x3f10000000000000
DATA tanhc<>+544(SB)/8, $0x3fd5555555555555
DATA tanhc<>+552(SB)/8, $0x3fd5555555555555
DATA tanhc<>+560(SB)/8, $0x3fd5555555555555
DATA tanhc<>+568(SB)/8, $0x3fd5555555555555
GLOBL tanhc<>(SB), RODATA|NOPTR, $576

// func softcap512(x *float32, n int, c float32)
// n is a multiple of 8.
TEXT ·softcap512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS c+16(FP), Y15
	VBROADCASTSD tanhc<>+0(SB), Z16
	VBROADCASTSD tanhc<>+32(SB), Z17
	VBROADCASTSD tanhc<>+64(SB), Z18
	VBROADCASTSD tanhc<>+96(SB), Z19
	VBROADCASTSD tanhc<>+192(SB), Z20
	VBROADCASTSD tanhc<>+224(SB), Z21
	VBROADCASTSD tanhc<>+256(SB), Z22
	VBROADCASTSD tanhc<>+288(SB), Z23
	VBROADCASTSD tanhc<>+320(SB), Z24
	VBROADCASTSD tanhc<>+352(SB), Z25
	VBROADCASTSD tanhc<>+384(SB), Z26
	VBROADCASTSD tanhc<>+416(SB), Z27
	VBROADCASTSD tanhc<>+448(SB), Z28
	VBROADCASTSD tanhc<>+480(SB), Z29
	VBROADCASTSD tanhc<>+512(SB), Z30
	VBROADCASTSD tanhc<>+544(SB), Z31
	VBROADCASTSD tanhc<>+128(SB), Z13
	VBROADCASTSD tanhc<>+160(SB), Z14
	XORQ AX, AX

sc512loop:
	CMPQ AX, CX
	JGE  sc512done
	VMOVUPS (DI)(AX*4), Y0
	VDIVPS Y15, Y0, Y0          // z = x/c in float32
	VCVTPS2PD Y0, Z1            // z
	VANDPD Z16, Z1, Z2          // a = |z|
	VMINPD Z18, Z2, Z2          // a = min(a, 20)
	VADDPD Z2, Z2, Z3           // 2a
	VMULPD Z19, Z3, Z4
	VRNDSCALEPD $0, Z4, Z4      // m
	VMOVAPD Z3, Z6
	VFNMADD231PD Z13, Z4, Z6    // r = 2a − m·ln2hi
	VFNMADD231PD Z14, Z4, Z6    //       − m·ln2lo
	VMOVAPD Z20, Z7             // p = 1/10!
	VFMADD213PD Z21, Z6, Z7
	VFMADD213PD Z22, Z6, Z7
	VFMADD213PD Z23, Z6, Z7
	VFMADD213PD Z24, Z6, Z7
	VFMADD213PD Z25, Z6, Z7
	VFMADD213PD Z26, Z6, Z7
	VFMADD213PD Z27, Z6, Z7
	VFMADD213PD Z28, Z6, Z7
	VFMADD213PD Z29, Z6, Z7     // p·r + 1
	VFMADD213PD Z29, Z6, Z7     // p·r + 1 = e^r
	VSCALEFPD Z4, Z7, Z7        // e = 2^m·e^r
	VSUBPD Z29, Z7, Z8          // e − 1
	VADDPD Z29, Z7, Z9          // e + 1
	VDIVPD Z9, Z8, Z8           // tanh a
	VMULPD Z2, Z2, Z10
	VMULPD Z2, Z10, Z10         // a³
	VMOVAPD Z2, Z11
	VFNMADD231PD Z31, Z10, Z11  // a − a³/3
	VCMPPD $1, Z30, Z2, K1      // a < 2^-14
	VMOVAPD Z11, K1, Z8
	VANDPD Z17, Z1, Z12         // sign of z
	VORPD Z12, Z8, Z8
	VCVTPD2PS Z8, Y8
	VMULPS Y15, Y8, Y8          // c·tanh
	VMOVUPS Y8, (DI)(AX*4)
	ADDQ $8, AX
	JMP  sc512loop

sc512done:
	VZEROUPPER
	RET

// func softcapAVX2(x *float32, n int, c float32)
// n is a multiple of 4; 2^m is built in the exponent bits (0 ≤ m ≤ 58).
TEXT ·softcapAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS c+16(FP), X15
	VMOVUPD tanhc<>+480(SB), Y14
	VMOVUPD tanhc<>+0(SB), Y13
	XORQ AX, AX

sc2loop:
	CMPQ AX, CX
	JGE  sc2done
	VMOVUPS (DI)(AX*4), X0
	VDIVPS X15, X0, X0
	VCVTPS2PD X0, Y1            // z
	VANDPD Y13, Y1, Y2          // a
	VMINPD tanhc<>+64(SB), Y2, Y2
	VADDPD Y2, Y2, Y3           // 2a
	VMULPD tanhc<>+96(SB), Y3, Y4
	VROUNDPD $0, Y4, Y4         // m
	VMOVAPD Y3, Y6
	VFNMADD231PD tanhc<>+128(SB), Y4, Y6
	VFNMADD231PD tanhc<>+160(SB), Y4, Y6
	VMOVUPD tanhc<>+192(SB), Y7
	VFMADD213PD tanhc<>+224(SB), Y6, Y7
	VFMADD213PD tanhc<>+256(SB), Y6, Y7
	VFMADD213PD tanhc<>+288(SB), Y6, Y7
	VFMADD213PD tanhc<>+320(SB), Y6, Y7
	VFMADD213PD tanhc<>+352(SB), Y6, Y7
	VFMADD213PD tanhc<>+384(SB), Y6, Y7
	VFMADD213PD tanhc<>+416(SB), Y6, Y7
	VFMADD213PD tanhc<>+448(SB), Y6, Y7
	VFMADD213PD Y14, Y6, Y7
	VFMADD213PD Y14, Y6, Y7     // e^r
	VCVTPD2DQY Y4, X4
	VPMOVSXDQ X4, Y4
	VPSLLQ $52, Y4, Y4
	VPADDQ Y14, Y4, Y4          // 2^m
	VMULPD Y4, Y7, Y7           // e
	VSUBPD Y14, Y7, Y8
	VADDPD Y14, Y7, Y9
	VDIVPD Y9, Y8, Y8           // tanh a
	VMULPD Y2, Y2, Y10
	VMULPD Y2, Y10, Y10
	VMOVAPD Y2, Y11
	VFNMADD231PD tanhc<>+544(SB), Y10, Y11 // a − a³/3
	VCMPPD $1, tanhc<>+512(SB), Y2, Y12    // a < 2^-14
	VBLENDVPD Y12, Y11, Y8, Y8
	VANDNPD Y1, Y13, Y12        // sign of z
	VORPD Y12, Y8, Y8
	VCVTPD2PSY Y8, X8
	VMULPS X15, X8, X8
	VMOVUPS X8, (DI)(AX*4)
	ADDQ $4, AX
	JMP  sc2loop

sc2done:
	VZEROUPPER
	RET
