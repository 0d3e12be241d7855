//go:build amd64 && !purego

#include "textflag.h"

// The loops of winograd.go for eight neighbouring tiles of one tile row at
// a time, eight tiles to a YMM register. The Go assembler writes operands
// in the reverse of Intel's order: "VSUBPS a, b, c" is c = b − a.

// EVEN_ODD(lo, hi, e, o) sets e to the even-indexed and o to the
// odd-indexed floats of the 16 in lo (first 8) and hi: VSHUFPS picks them
// within each 128-bit half, VPERMPD puts the halves back in order.
#define EVEN_ODD(lo, hi, e, o) \
	VSHUFPS $0x88, hi, lo, e; \
	VSHUFPS $0xDD, hi, lo, o; \
	VPERMPD $0xD8, e, e;      \
	VPERMPD $0xD8, o, o

// func winoIn8AVX2(xp *float32, pw int, v *float32, vstride int)
// For the 4×4 input tiles at columns 2·u … 2·u + 3, u = 0 … 7, of the four
// rows of xp that are pw floats apart, writes the 16 values of Bᵀ d B of
// tile u to v[ξ·vstride + u]. Row i of a tile, d = (e, o, e', o') = (x[2u],
// x[2u+1], x[2u+2], x[2u+3]), becomes r_i = (e − e', o + e', e' − o, o − o')
// (d B), stored in the frame; then column j of those rows becomes ξ = j,
// 4 + j, 8 + j, 12 + j: r_0j − r_2j, r_1j + r_2j, r_2j − r_1j, r_1j − r_3j.
TEXT ·winoIn8AVX2(SB), NOSPLIT, $512-32
	MOVQ xp+0(FP), SI
	MOVQ pw+8(FP), BX
	MOVQ v+16(FP), DI
	MOVQ vstride+24(FP), R8
	SHLQ $2, BX // row stride in bytes
	SHLQ $2, R8 // ξ stride in bytes
	XORQ CX, CX // frame offset of row i's r: 128·i

inrow:
	VMOVUPS 0(SI), Y0  // x[0:8]
	VMOVUPS 32(SI), Y1 // x[8:16]
	VMOVUPS 8(SI), Y2  // x[2:10]
	VMOVUPS 40(SI), Y3 // x[10:18]
	EVEN_ODD(Y0, Y1, Y4, Y5) // e, o
	EVEN_ODD(Y2, Y3, Y6, Y7) // e', o'
	VSUBPS  Y6, Y4, Y8       // e − e'
	VADDPS  Y6, Y5, Y9       // o + e'
	VSUBPS  Y5, Y6, Y10      // e' − o
	VSUBPS  Y7, Y5, Y11      // o − o'
	VMOVUPS Y8, 0(SP)(CX*1)
	VMOVUPS Y9, 32(SP)(CX*1)
	VMOVUPS Y10, 64(SP)(CX*1)
	VMOVUPS Y11, 96(SP)(CX*1)
	ADDQ    BX, SI
	ADDQ    $128, CX
	CMPQ    CX, $512
	JLT     inrow

	// R9 = 4·vstride (bytes), R10 = 12·vstride: from ξ = j to 4 + j and
	// to 12 + j; 8 + j is (DI)(R9*2).
	LEAQ (R8)(R8*1), R9
	SHLQ $1, R9
	LEAQ (R9)(R9*2), R10
	XORQ CX, CX // 32·j

incol:
	VMOVUPS 0(SP)(CX*1), Y0   // r_0j
	VMOVUPS 128(SP)(CX*1), Y1 // r_1j
	VMOVUPS 256(SP)(CX*1), Y2 // r_2j
	VMOVUPS 384(SP)(CX*1), Y3 // r_3j
	VSUBPS  Y2, Y0, Y4        // r_0j − r_2j
	VADDPS  Y2, Y1, Y5        // r_1j + r_2j
	VSUBPS  Y1, Y2, Y6        // r_2j − r_1j
	VSUBPS  Y3, Y1, Y7        // r_1j − r_3j
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, (DI)(R9*1)
	VMOVUPS Y6, (DI)(R9*2)
	VMOVUPS Y7, (DI)(R10*1)
	ADDQ    R8, DI
	ADDQ    $32, CX
	CMPQ    CX, $128
	JLT     incol
	VZEROUPPER
	RET

// func winoOut8AVX2(m *float32, mstride int, y0, y1 *float32, bias float32)
// For tiles u = 0 … 7 with m[ξ·mstride + u] = M[ξ] of tile u, writes the
// 2×2 outputs Aᵀ M A + bias: y0[2u], y0[2u+1] (the tile's first row) and
// y1[2u], y1[2u+1]. Column j of M first: s_0j = (m_0j + m_1j) + m_2j,
// s_1j = (m_1j − m_2j) − m_3j (Aᵀ M); then each row a of s:
// y_a0 = ((s_a0 + s_a1) + s_a2) + bias, y_a1 = ((s_a1 − s_a2) − s_a3) + bias.
TEXT ·winoOut8AVX2(SB), NOSPLIT, $0-36
	MOVQ         m+0(FP), SI
	MOVQ         mstride+8(FP), R8
	MOVQ         y0+16(FP), DI
	MOVQ         y1+24(FP), DX
	VBROADCASTSS bias+32(FP), Y15
	SHLQ         $2, R8
	LEAQ         (R8)(R8*1), R9
	SHLQ         $1, R9         // 4·mstride bytes: ξ = j to 4 + j
	LEAQ         (R9)(R9*2), R10 // 12·mstride bytes

#define OUTCOL(s0, s1) \
	VMOVUPS (SI), Y0;        \
	VMOVUPS (SI)(R9*1), Y1;  \
	VMOVUPS (SI)(R9*2), Y2;  \
	VMOVUPS (SI)(R10*1), Y3; \
	VADDPS  Y1, Y0, s0;      \
	VADDPS  Y2, s0, s0;      \
	VSUBPS  Y2, Y1, s1;      \
	VSUBPS  Y3, s1, s1;      \
	ADDQ    R8, SI

	OUTCOL(Y4, Y8)  // j = 0
	OUTCOL(Y5, Y9)  // j = 1
	OUTCOL(Y6, Y10) // j = 2
	OUTCOL(Y7, Y11) // j = 3

// OUTROW(s0, s1, s2, s3, dst) writes the 16 outputs of one row: the
// even-column values (s0 + s1) + s2 and the odd ones (s1 − s2) − s3,
// interleaved.
#define OUTROW(s0, s1, s2, s3, dst) \
	VADDPS     s1, s0, Y0;       \
	VADDPS     s2, Y0, Y0;       \
	VADDPS     Y15, Y0, Y0;      \
	VSUBPS     s2, s1, Y1;       \
	VSUBPS     s3, Y1, Y1;       \
	VADDPS     Y15, Y1, Y1;      \
	VUNPCKLPS  Y1, Y0, Y2;       \
	VUNPCKHPS  Y1, Y0, Y3;       \
	VPERM2F128 $0x20, Y3, Y2, Y0; \
	VPERM2F128 $0x31, Y3, Y2, Y1; \
	VMOVUPS    Y0, (dst);        \
	VMOVUPS    Y1, 32(dst)

	OUTROW(Y4, Y5, Y6, Y7, DI)
	OUTROW(Y8, Y9, Y10, Y11, DX)
	VZEROUPPER
	RET

// func winoOutGrad8AVX2(dy0, dy1, m *float32, mstride int)
// For tiles u = 0 … 7 with gradients d00 = dy0[2u], d01 = dy0[2u+1],
// d10 = dy1[2u], d11 = dy1[2u+1], writes m[ξ·mstride + u] = (A dY Aᵀ)[ξ]:
// columns first, c_i = (d0j, d0j + d1j, d0j − d1j, −d1j) for j = 0, 1,
// then each row i: (c_i0, c_i0 + c_i1, c_i0 − c_i1, −c_i1) at ξ = 4i … 4i+3.
TEXT ·winoOutGrad8AVX2(SB), NOSPLIT, $0-32
	MOVQ     dy0+0(FP), SI
	MOVQ     dy1+8(FP), DX
	MOVQ     m+16(FP), DI
	MOVQ     mstride+24(FP), R8
	SHLQ     $2, R8            // ξ stride in bytes
	VPCMPEQD Y15, Y15, Y15
	VPSLLD   $31, Y15, Y15     // sign bit: x XOR it is −x

	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	EVEN_ODD(Y0, Y1, Y2, Y3) // d00, d01
	VMOVUPS 0(DX), Y0
	VMOVUPS 32(DX), Y1
	EVEN_ODD(Y0, Y1, Y4, Y5) // d10, d11

	// c_ij in Y6 … Y13: i = 0 … 3, j = 0, 1.
	VMOVAPS Y2, Y6       // c00 = d00
	VMOVAPS Y3, Y7       // c01 = d01
	VADDPS  Y4, Y2, Y8   // c10 = d00 + d10
	VADDPS  Y5, Y3, Y9   // c11 = d01 + d11
	VSUBPS  Y4, Y2, Y10  // c20 = d00 − d10
	VSUBPS  Y5, Y3, Y11  // c21 = d01 − d11
	VXORPS  Y15, Y4, Y12 // c30 = −d10
	VXORPS  Y15, Y5, Y13 // c31 = −d11

// GRADROW(c0, c1) stores row i of the result at ξ = 4i … 4i + 3 and moves
// DI on to ξ = 4i + 4.
#define GRADROW(c0, c1) \
	VMOVUPS c0, (DI);         \
	ADDQ    R8, DI;           \
	VADDPS  c1, c0, Y0;       \
	VMOVUPS Y0, (DI);         \
	ADDQ    R8, DI;           \
	VSUBPS  c1, c0, Y0;       \
	VMOVUPS Y0, (DI);         \
	ADDQ    R8, DI;           \
	VXORPS  Y15, c1, Y0;      \
	VMOVUPS Y0, (DI);         \
	ADDQ    R8, DI

	GRADROW(Y6, Y7)
	GRADROW(Y8, Y9)
	GRADROW(Y10, Y11)
	GRADROW(Y12, Y13)
	VZEROUPPER
	RET
