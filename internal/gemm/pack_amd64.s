//go:build amd64 && !purego

#include "textflag.h"

// The packing routines copy operands into the micro-panel layouts the
// micro-kernel reads (see blocked.go). Rows of the source are addressed from
// a base register plus multiples of the row stride R8: R9 = 3·R8, R10 = 5·R8,
// R11 = 7·R8.

// func packA6N(k int, a *float32, lda int, dst *float32)
//
// dst[6p+r] = a[r·lda+p] for p < k, r < 6: six rows of A, interleaved.
// Eight columns at a time are transposed in registers.
TEXT ·packA6N(SB), NOSPLIT, $0-32
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	LEAQ (R8)(R8*4), R10
	MOVQ CX, BX
	SHRQ $3, BX
	ANDQ $7, CX
	TESTQ BX, BX
	JZ   a6ntail

a6nloop:
	VMOVUPS   (SI), Y0
	VMOVUPS   (SI)(R8*1), Y1
	VMOVUPS   (SI)(R8*2), Y2
	VMOVUPS   (SI)(R9*1), Y3
	VMOVUPS   (SI)(R8*4), Y4
	VMOVUPS   (SI)(R10*1), Y5
	VUNPCKLPS Y1, Y0, Y6  // r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]
	VUNPCKHPS Y1, Y0, Y7  // r0[2] r1[2] r0[3] r1[3] | r0[6] r1[6] r0[7] r1[7]
	VUNPCKLPS Y3, Y2, Y8
	VUNPCKHPS Y3, Y2, Y9
	VUNPCKLPS Y5, Y4, Y10 // r4[0] r5[0] r4[1] r5[1] | r4[4] r5[4] r4[5] r5[5]
	VUNPCKHPS Y5, Y4, Y11
	VSHUFPS   $0x44, Y8, Y6, Y0 // r0..r3 of column 0 | of column 4
	VSHUFPS   $0xEE, Y8, Y6, Y1 // column 1 | 5
	VSHUFPS   $0x44, Y9, Y7, Y2 // column 2 | 6
	VSHUFPS   $0xEE, Y9, Y7, Y3 // column 3 | 7

	// Columns 0..3 from the low lanes: 4 floats of rows 0..3, 2 of rows 4, 5.
	VMOVUPS X0, 0(DI)
	VMOVLPS X10, 16(DI)
	VMOVUPS X1, 24(DI)
	VMOVHPS X10, 40(DI)
	VMOVUPS X2, 48(DI)
	VMOVLPS X11, 64(DI)
	VMOVUPS X3, 72(DI)
	VMOVHPS X11, 88(DI)

	// Columns 4..7 from the high lanes.
	VEXTRACTF128 $1, Y0, X0
	VEXTRACTF128 $1, Y1, X1
	VEXTRACTF128 $1, Y2, X2
	VEXTRACTF128 $1, Y3, X3
	VEXTRACTF128 $1, Y10, X10
	VEXTRACTF128 $1, Y11, X11
	VMOVUPS      X0, 96(DI)
	VMOVLPS      X10, 112(DI)
	VMOVUPS      X1, 120(DI)
	VMOVHPS      X10, 136(DI)
	VMOVUPS      X2, 144(DI)
	VMOVLPS      X11, 160(DI)
	VMOVUPS      X3, 168(DI)
	VMOVHPS      X11, 184(DI)

	ADDQ $32, SI
	ADDQ $192, DI
	DECQ BX
	JNZ  a6nloop

a6ntail:
	TESTQ CX, CX
	JZ    a6ndone

a6ntloop:
	VMOVSS (SI), X0
	VMOVSS X0, 0(DI)
	VMOVSS (SI)(R8*1), X0
	VMOVSS X0, 4(DI)
	VMOVSS (SI)(R8*2), X0
	VMOVSS X0, 8(DI)
	VMOVSS (SI)(R9*1), X0
	VMOVSS X0, 12(DI)
	VMOVSS (SI)(R8*4), X0
	VMOVSS X0, 16(DI)
	VMOVSS (SI)(R10*1), X0
	VMOVSS X0, 20(DI)
	ADDQ   $4, SI
	ADDQ   $24, DI
	DECQ   CX
	JNZ    a6ntloop

a6ndone:
	VZEROUPPER
	RET

// func packA6T(k int, a *float32, lda int, dst *float32)
//
// dst[6p+r] = a[p·lda+r] for p < k, r < 6: six consecutive values of each
// of k rows.
TEXT ·packA6T(SB), NOSPLIT, $0-32
	MOVQ  k+0(FP), CX
	MOVQ  a+8(FP), SI
	MOVQ  lda+16(FP), R8
	MOVQ  dst+24(FP), DI
	SHLQ  $2, R8
	TESTQ CX, CX
	JZ    a6tdone

a6tloop:
	VMOVUPS (SI), X0
	VMOVQ   16(SI), X1
	VMOVUPS X0, (DI)
	VMOVQ   X1, 16(DI)
	ADDQ    R8, SI
	ADDQ    $24, DI
	DECQ    CX
	JNZ     a6tloop

a6tdone:
	RET

// func packB16N(k int, b *float32, ldb int, dst *float32, nb int)
//
// dst[16p+c] = b[p·ldb+c] for p < k, c < nb ≤ 16, and 0 for c ≥ nb:
// the first nb consecutive values of each of k rows. Ragged panels
// (nb < 16) read through masks, so nothing past column nb is touched.
TEXT ·packB16N(SB), NOSPLIT, $0-40
	MOVQ  k+0(FP), CX
	MOVQ  b+8(FP), SI
	MOVQ  ldb+16(FP), R8
	MOVQ  dst+24(FP), DI
	MOVQ  nb+32(FP), R11
	SHLQ  $2, R8
	TESTQ CX, CX
	JZ    b16ndone
	CMPQ  R11, $16
	JNE   b16nmasked

b16nloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    R8, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     b16nloop
	JMP     b16ndone

b16nmasked:
	LEAQ    packmasks<>(SB), R12
	MOVQ    $16, R13
	SUBQ    R11, R13
	VMOVUPS (R12)(R13*4), Y2
	VMOVUPS 32(R12)(R13*4), Y3

b16nmloop:
	VMASKMOVPS (SI), Y2, Y0
	VMASKMOVPS 32(SI), Y3, Y1
	VMOVUPS    Y0, (DI)
	VMOVUPS    Y1, 32(DI)
	ADDQ       R8, SI
	ADDQ       $64, DI
	DECQ       CX
	JNZ        b16nmloop

b16ndone:
	VZEROUPPER
	RET

// packmasks<>: 16 lanes set, then 16 clear (as masks<> in kernel_amd64.s).
DATA packmasks<>+0(SB)/8, $-1
DATA packmasks<>+8(SB)/8, $-1
DATA packmasks<>+16(SB)/8, $-1
DATA packmasks<>+24(SB)/8, $-1
DATA packmasks<>+32(SB)/8, $-1
DATA packmasks<>+40(SB)/8, $-1
DATA packmasks<>+48(SB)/8, $-1
DATA packmasks<>+56(SB)/8, $-1
DATA packmasks<>+64(SB)/8, $0
DATA packmasks<>+72(SB)/8, $0
DATA packmasks<>+80(SB)/8, $0
DATA packmasks<>+88(SB)/8, $0
DATA packmasks<>+96(SB)/8, $0
DATA packmasks<>+104(SB)/8, $0
DATA packmasks<>+112(SB)/8, $0
DATA packmasks<>+120(SB)/8, $0
GLOBL packmasks<>(SB), RODATA|NOPTR, $128

// TRANSPOSE8 transposes the 8×8 block of the eight rows at base (stride R8)
// and stores its 8 columns as rows at off(DI), off+64(DI), …, off+448(DI).
#define TRANSPOSE8(base, off) \
	VMOVUPS    (base), Y0;             \
	VMOVUPS    (base)(R8*1), Y1;       \
	VMOVUPS    (base)(R8*2), Y2;       \
	VMOVUPS    (base)(R9*1), Y3;       \
	VMOVUPS    (base)(R8*4), Y4;       \
	VMOVUPS    (base)(R10*1), Y5;      \
	VMOVUPS    (base)(R9*2), Y6;       \
	VMOVUPS    (base)(R11*1), Y7;      \
	VUNPCKLPS  Y1, Y0, Y8;             \
	VUNPCKHPS  Y1, Y0, Y9;             \
	VUNPCKLPS  Y3, Y2, Y10;            \
	VUNPCKHPS  Y3, Y2, Y11;            \
	VUNPCKLPS  Y5, Y4, Y12;            \
	VUNPCKHPS  Y5, Y4, Y13;            \
	VUNPCKLPS  Y7, Y6, Y14;            \
	VUNPCKHPS  Y7, Y6, Y15;            \
	VSHUFPS    $0x44, Y10, Y8, Y0;     \
	VSHUFPS    $0xEE, Y10, Y8, Y1;     \
	VSHUFPS    $0x44, Y11, Y9, Y2;     \
	VSHUFPS    $0xEE, Y11, Y9, Y3;     \
	VSHUFPS    $0x44, Y14, Y12, Y4;    \
	VSHUFPS    $0xEE, Y14, Y12, Y5;    \
	VSHUFPS    $0x44, Y15, Y13, Y6;    \
	VSHUFPS    $0xEE, Y15, Y13, Y7;    \
	VPERM2F128 $0x20, Y4, Y0, Y8;      \
	VPERM2F128 $0x20, Y5, Y1, Y9;      \
	VPERM2F128 $0x20, Y6, Y2, Y10;     \
	VPERM2F128 $0x20, Y7, Y3, Y11;     \
	VPERM2F128 $0x31, Y4, Y0, Y12;     \
	VPERM2F128 $0x31, Y5, Y1, Y13;     \
	VPERM2F128 $0x31, Y6, Y2, Y14;     \
	VPERM2F128 $0x31, Y7, Y3, Y15;     \
	VMOVUPS    Y8, off(DI);            \
	VMOVUPS    Y9, off+64(DI);         \
	VMOVUPS    Y10, off+128(DI);       \
	VMOVUPS    Y11, off+192(DI);       \
	VMOVUPS    Y12, off+256(DI);       \
	VMOVUPS    Y13, off+320(DI);       \
	VMOVUPS    Y14, off+384(DI);       \
	VMOVUPS    Y15, off+448(DI)

// COPY8 copies one value from each of the eight rows at base (stride R8) to
// the 8 floats at off(DI).
#define COPY8(base, off) \
	VMOVSS (base), X0;         \
	VMOVSS X0, off(DI);        \
	VMOVSS (base)(R8*1), X0;   \
	VMOVSS X0, off+4(DI);      \
	VMOVSS (base)(R8*2), X0;   \
	VMOVSS X0, off+8(DI);      \
	VMOVSS (base)(R9*1), X0;   \
	VMOVSS X0, off+12(DI);     \
	VMOVSS (base)(R8*4), X0;   \
	VMOVSS X0, off+16(DI);     \
	VMOVSS (base)(R10*1), X0;  \
	VMOVSS X0, off+20(DI);     \
	VMOVSS (base)(R9*2), X0;   \
	VMOVSS X0, off+24(DI);     \
	VMOVSS (base)(R11*1), X0;  \
	VMOVSS X0, off+28(DI)

// func packB16T(k int, b *float32, ldb int, dst *float32)
//
// dst[16p+c] = b[c·ldb+p] for p < k, c < 16: sixteen rows of the stored B
// become the sixteen columns of the panel, by 8×8 transposes.
TEXT ·packB16T(SB), NOSPLIT, $0-32
	MOVQ k+0(FP), CX
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	LEAQ (R8)(R8*4), R10
	LEAQ (R9)(R8*4), R11
	LEAQ (SI)(R8*8), R12 // row 8
	MOVQ CX, BX
	SHRQ $3, BX
	ANDQ $7, CX
	TESTQ BX, BX
	JZ   b16ttail

b16tloop:
	TRANSPOSE8(SI, 0)
	TRANSPOSE8(R12, 32)
	ADDQ $32, SI
	ADDQ $32, R12
	ADDQ $512, DI
	DECQ BX
	JNZ  b16tloop

b16ttail:
	TESTQ CX, CX
	JZ    b16tdone

b16ttloop:
	COPY8(SI, 0)
	COPY8(R12, 32)
	ADDQ $4, SI
	ADDQ $4, R12
	ADDQ $64, DI
	DECQ CX
	JNZ  b16ttloop

b16tdone:
	VZEROUPPER
	RET
