//go:build amd64 && !purego

#include "textflag.h"

// STEP multiplies one column of the packed A micro-panel (6 values at
// ao(SI)) by one row of the packed B micro-panel (16 values at bo(DI)) and
// adds the outer product to the 6×16 accumulator tile Y4..Y15 (two YMM
// registers per row): Y0, Y1 hold the B row, Y2, Y3 the broadcast A values.
#define STEP(ao, bo) \
	VMOVUPS      bo(DI), Y0;      \
	VMOVUPS      bo+32(DI), Y1;   \
	VBROADCASTSS ao(SI), Y2;      \
	VBROADCASTSS ao+4(SI), Y3;    \
	VFMADD231PS  Y0, Y2, Y4;      \
	VFMADD231PS  Y1, Y2, Y5;      \
	VFMADD231PS  Y0, Y3, Y6;      \
	VFMADD231PS  Y1, Y3, Y7;      \
	VBROADCASTSS ao+8(SI), Y2;    \
	VBROADCASTSS ao+12(SI), Y3;   \
	VFMADD231PS  Y0, Y2, Y8;      \
	VFMADD231PS  Y1, Y2, Y9;      \
	VFMADD231PS  Y0, Y3, Y10;     \
	VFMADD231PS  Y1, Y3, Y11;     \
	VBROADCASTSS ao+16(SI), Y2;   \
	VBROADCASTSS ao+20(SI), Y3;   \
	VFMADD231PS  Y0, Y2, Y12;     \
	VFMADD231PS  Y1, Y2, Y13;     \
	VFMADD231PS  Y0, Y3, Y14;     \
	VFMADD231PS  Y1, Y3, Y15

// STOREROW stores alpha·(lo, hi), alpha in Y0, into the 16 floats at (DX);
// ADDROW adds it to them. Both then move DX to the next row of C.
#define STOREROW(lo, hi) \
	VMULPS  Y0, lo, lo;  \
	VMULPS  Y0, hi, hi;  \
	VMOVUPS lo, (DX);    \
	VMOVUPS hi, 32(DX);  \
	ADDQ    R8, DX

#define ADDROW(lo, hi)             \
	VFMADD213PS (DX), Y0, lo;   \
	VFMADD213PS 32(DX), Y0, hi; \
	VMOVUPS     lo, (DX);       \
	VMOVUPS     hi, 32(DX);     \
	ADDQ        R8, DX

// EDGEADD adds alpha·(lo, hi) to the first nb floats at (DX), through the
// masks Y1 (columns 0..7) and Y2 (columns 8..15); EDGESTORE stores it there.
// Masked-off lanes are neither read nor written.
#define EDGEADD(lo, hi)              \
	VMASKMOVPS  (DX), Y1, Y3;     \
	VFMADD213PS Y3, Y0, lo;       \
	VMASKMOVPS  lo, Y1, (DX);     \
	VMASKMOVPS  32(DX), Y2, Y3;   \
	VFMADD213PS Y3, Y0, hi;       \
	VMASKMOVPS  hi, Y2, 32(DX);   \
	ADDQ        R8, DX

#define EDGESTORE(lo, hi)            \
	VMULPS     Y0, lo, lo;        \
	VMULPS     Y0, hi, hi;        \
	VMASKMOVPS lo, Y1, (DX);      \
	VMASKMOVPS hi, Y2, 32(DX);    \
	ADDQ       R8, DX

// masks<>: 16 lanes set, then 16 clear. The 8 lanes starting at lane 16-nb
// select the first nb columns, those at 24-nb the first nb-8 of the second
// half.
DATA masks<>+0(SB)/8, $-1
DATA masks<>+8(SB)/8, $-1
DATA masks<>+16(SB)/8, $-1
DATA masks<>+24(SB)/8, $-1
DATA masks<>+32(SB)/8, $-1
DATA masks<>+40(SB)/8, $-1
DATA masks<>+48(SB)/8, $-1
DATA masks<>+56(SB)/8, $-1
DATA masks<>+64(SB)/8, $0
DATA masks<>+72(SB)/8, $0
DATA masks<>+80(SB)/8, $0
DATA masks<>+88(SB)/8, $0
DATA masks<>+96(SB)/8, $0
DATA masks<>+104(SB)/8, $0
DATA masks<>+112(SB)/8, $0
DATA masks<>+120(SB)/8, $0
GLOBL masks<>(SB), RODATA|NOPTR, $128

// func kernel6x16(k int, a, b, c *float32, ldc int, alpha float32, acc int, mb, nb int)
TEXT ·kernel6x16(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	MOVQ acc+48(FP), R9
	SHLQ $2, R8

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

	MOVQ CX, BX
	SHRQ $2, BX
	ANDQ $3, CX
	TESTQ BX, BX
	JZ   tail

loop4:
	STEP(0, 0)
	STEP(24, 64)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ BX
	JNZ  loop4

tail:
	TESTQ CX, CX
	JZ    store

loop1:
	STEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop1

store:
	VBROADCASTSS alpha+40(FP), Y0
	MOVQ         mb+56(FP), R10
	MOVQ         nb+64(FP), R11
	CMPQ         R10, $6
	JNE          edge
	CMPQ         R11, $16
	JNE          edge
	TESTQ        R9, R9
	JZ           overwrite
	ADDROW(Y4, Y5)
	ADDROW(Y6, Y7)
	ADDROW(Y8, Y9)
	ADDROW(Y10, Y11)
	ADDROW(Y12, Y13)
	ADDROW(Y14, Y15)
	VZEROUPPER
	RET

overwrite:
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	STOREROW(Y8, Y9)
	STOREROW(Y10, Y11)
	STOREROW(Y12, Y13)
	STOREROW(Y14, Y15)
	VZEROUPPER
	RET

	// A ragged tile: only its first mb rows and nb columns lie inside C.
edge:
	LEAQ    masks<>(SB), R12
	MOVQ    $16, R13
	SUBQ    R11, R13
	VMOVUPS (R12)(R13*4), Y1
	VMOVUPS 32(R12)(R13*4), Y2
	TESTQ   R9, R9
	JZ      edgestore
	EDGEADD(Y4, Y5)
	DECQ    R10
	JZ      edgedone
	EDGEADD(Y6, Y7)
	DECQ    R10
	JZ      edgedone
	EDGEADD(Y8, Y9)
	DECQ    R10
	JZ      edgedone
	EDGEADD(Y10, Y11)
	DECQ    R10
	JZ      edgedone
	EDGEADD(Y12, Y13)
	DECQ    R10
	JZ      edgedone
	EDGEADD(Y14, Y15)
	JMP     edgedone

edgestore:
	EDGESTORE(Y4, Y5)
	DECQ R10
	JZ   edgedone
	EDGESTORE(Y6, Y7)
	DECQ R10
	JZ   edgedone
	EDGESTORE(Y8, Y9)
	DECQ R10
	JZ   edgedone
	EDGESTORE(Y10, Y11)
	DECQ R10
	JZ   edgedone
	EDGESTORE(Y12, Y13)
	DECQ R10
	JZ   edgedone
	EDGESTORE(Y14, Y15)

edgedone:
	VZEROUPPER
	RET
