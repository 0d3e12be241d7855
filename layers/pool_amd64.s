//go:build amd64 && !purego

#include "textflag.h"

// The 2×2, stride-2 max-pooling loops of pool_amd64.go. In the Go
// assembler's operand order "VCMPPS $p, b, a, m" is m = a <p> b and
// "VBLENDVPS m, b, a, r" is r = m ? b : a (lane by lane).
//
// Both loops take 8 windows of a row at a time. Their elements are 16
// consecutive floats of each of the two input rows; VSHUFPS splits such 16
// into the even lanes (the windows' left column) and the odd lanes (the
// right column), in the order of windows 0 1 4 5 | 2 3 6 7 (VSHUFPS works
// within 128-bit halves), which VPERMQ $0xD8 (qwords 0 2 1 3) turns into
// 0 … 7 and back. VUNPCKLPS and VUNPCKHPS undo the split. A row whose
// width is not a multiple of 8 windows ends with its last 8 windows (if
// more than 4 are left), overlapping the ones before, or its last 4 with
// 128-bit vectors: windows computed twice get the same values.

// ROUND(a, b, m, t0): m = b > a || b ≠ b (the later element b wins),
// a = m ? b : a. t0 is scratch.
#define ROUND(a, b, m, t0) \
	VCMPPS    $0x1e, a, b, m; \
	VCMPPS    $3, b, b, t0;   \
	VORPS     t0, m, m;       \
	VBLENDVPS m, b, a, a

// func maxPool22AVX2(y *float32, k *uint8, x *float32, w, oh, ow int)
TEXT ·maxPool22AVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ k+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ w+24(FP), R8
	MOVQ oh+32(FP), R9
	MOVQ ow+40(FP), R10
	SHLQ $2, R8         // input row stride in bytes
	LEAQ -8(R10), R11   // the last group's first window

prow:
	XORQ AX, AX         // the group's first window

pgroup:
	CMPQ    AX, R11
	CMOVQGT R11, AX     // the last group overlaps the one before
	LEAQ    (DX)(AX*8), BX
	LEAQ    (BX)(R8*1), CX

	// a b / c d of 8 windows, in the order 0 1 4 5 | 2 3 6 7.
	VMOVUPS (BX), Y0
	VSHUFPS $0x88, 32(BX), Y0, Y1 // a
	VSHUFPS $0xdd, 32(BX), Y0, Y2 // b
	VMOVUPS (CX), Y0
	VSHUFPS $0x88, 32(CX), Y0, Y3 // c
	VSHUFPS $0xdd, 32(CX), Y0, Y4 // d

	ROUND(Y1, Y2, Y5, Y0) // Y1 = t, the winner of a b; Y5: b won
	ROUND(Y3, Y4, Y6, Y0) // Y3 = u, the winner of c d; Y6: d won
	ROUND(Y1, Y3, Y7, Y0) // Y1 = the window's winner; Y7: u won

	// k = 2·ki + kj: kj = (u won ? d won : b won), ki = u won.
	VBLENDVPS Y7, Y6, Y5, Y5
	VPSRLD    $31, Y5, Y5
	VPSUBD    Y7, Y5, Y5
	VPSUBD    Y7, Y5, Y5

	VPERMQ  $0xd8, Y1, Y1
	VMOVUPS Y1, (DI)(AX*4)
	VPERMQ       $0xd8, Y5, Y5
	VEXTRACTI128 $1, Y5, X6
	VPACKSSDW    X6, X5, X5
	VPACKUSWB    X5, X5, X5
	VMOVQ        X5, (SI)(AX*1)

	ADDQ $8, AX
	MOVQ R10, BX
	SUBQ AX, BX          // windows left in the row
	JLE  pnext
	CMPQ BX, $4
	JGT  pgroup

	// At most 4 windows left: the last 4 of the row, with 128-bit
	// vectors, in which VSHUFPS keeps the windows in order.
	LEAQ -4(R10), AX
	LEAQ (DX)(AX*8), BX
	LEAQ (BX)(R8*1), CX
	VMOVUPS (BX), X0
	VSHUFPS $0x88, 16(BX), X0, X1 // a
	VSHUFPS $0xdd, 16(BX), X0, X2 // b
	VMOVUPS (CX), X0
	VSHUFPS $0x88, 16(CX), X0, X3 // c
	VSHUFPS $0xdd, 16(CX), X0, X4 // d
	ROUND(X1, X2, X5, X0)
	ROUND(X3, X4, X6, X0)
	ROUND(X1, X3, X7, X0)
	VBLENDVPS X7, X6, X5, X5
	VPSRLD    $31, X5, X5
	VPSUBD    X7, X5, X5
	VPSUBD    X7, X5, X5
	VMOVUPS   X1, (DI)(AX*4)
	VPACKSSDW X5, X5, X5
	VPACKUSWB X5, X5, X5
	VMOVD     X5, (SI)(AX*1)

pnext:
	LEAQ (DX)(R8*2), DX  // the next pair of input rows
	LEAQ (DI)(R10*4), DI
	ADDQ R10, SI
	DECQ R9
	JNZ  prow
	VZEROUPPER
	RET

// func maxUnpool22AVX2(dst *float32, k *uint8, dy *float32, w, oh, ow int)
TEXT ·maxUnpool22AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ k+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ w+24(FP), R8
	MOVQ oh+32(FP), R9
	MOVQ ow+40(FP), R10
	SHLQ $2, R8         // dx row stride in bytes
	LEAQ -8(R10), R11   // the last group's first window

	// The positions 0 … 3 in every lane: Y12 = 0, Y13 = 1, Y14 = 2, Y15 = 3.
	VPXOR    Y12, Y12, Y12
	VPCMPEQD Y13, Y13, Y13
	VPSRLD   $31, Y13, Y13
	VPADDD   Y13, Y13, Y14
	VPADDD   Y13, Y14, Y15

urow:
	XORQ AX, AX

ugroup:
	CMPQ    AX, R11
	CMOVQGT R11, AX
	LEAQ    (DI)(AX*8), BX
	LEAQ    (BX)(R8*1), CX

	// g and k of 8 windows, in the order 0 1 4 5 | 2 3 6 7.
	VPERMQ    $0xd8, (DX)(AX*4), Y0
	VADDPS    Y12, Y0, Y0 // 0 + g, the sum clearing dx and adding g gave
	VPMOVZXBD (SI)(AX*1), Y1
	VPERMQ    $0xd8, Y1, Y1

	VPCMPEQD Y12, Y1, Y2
	VANDPS   Y0, Y2, Y2 // at a
	VPCMPEQD Y13, Y1, Y3
	VANDPS   Y0, Y3, Y3 // at b
	VPCMPEQD Y14, Y1, Y4
	VANDPS   Y0, Y4, Y4 // at c
	VPCMPEQD Y15, Y1, Y5
	VANDPS   Y0, Y5, Y5 // at d

	VUNPCKLPS Y3, Y2, Y6
	VUNPCKHPS Y3, Y2, Y7
	VMOVUPS   Y6, (BX)
	VMOVUPS   Y7, 32(BX)
	VUNPCKLPS Y5, Y4, Y6
	VUNPCKHPS Y5, Y4, Y7
	VMOVUPS   Y6, (CX)
	VMOVUPS   Y7, 32(CX)

	ADDQ $8, AX
	MOVQ R10, BX
	SUBQ AX, BX // windows left in the row
	JLE  unext
	CMPQ BX, $4
	JGT  ugroup

	// At most 4 windows left: the last 4 of the row, with 128-bit vectors.
	LEAQ      -4(R10), AX
	LEAQ      (DI)(AX*8), BX
	LEAQ      (BX)(R8*1), CX
	VMOVUPS   (DX)(AX*4), X0
	VADDPS    X12, X0, X0
	VPMOVZXBD (SI)(AX*1), X1
	VPCMPEQD  X12, X1, X2
	VANDPS    X0, X2, X2
	VPCMPEQD  X13, X1, X3
	VANDPS    X0, X3, X3
	VPCMPEQD  X14, X1, X4
	VANDPS    X0, X4, X4
	VPCMPEQD  X15, X1, X5
	VANDPS    X0, X5, X5
	VUNPCKLPS X3, X2, X6
	VUNPCKHPS X3, X2, X7
	VMOVUPS   X6, (BX)
	VMOVUPS   X7, 16(BX)
	VUNPCKLPS X5, X4, X6
	VUNPCKHPS X5, X4, X7
	VMOVUPS   X6, (CX)
	VMOVUPS   X7, 16(CX)

unext:
	LEAQ (DI)(R8*2), DI // the next pair of dx rows
	LEAQ (DX)(R10*4), DX
	ADDQ R10, SI
	DECQ R9
	JNZ  urow
	VZEROUPPER
	RET
