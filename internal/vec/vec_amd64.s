//go:build amd64 && !purego

#include "textflag.h"

// The Go assembler writes operands in the reverse of Intel's order. DX is
// the byte offset of the current eight values, CX the byte length n·4.

// func reluAVX2(dst, src *float32, n int)
// dst[i] = max(src[i], 0) as Go's max computes it: +0 where x ≤ 0 (so −0
// gives +0), x where x > 0, and x with its sign bit cleared where x is NaN.
// "VCMPPS $6, a, b, c" is c = !(b <= a), true where either is NaN.
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ     dst+0(FP), DI
	MOVQ     src+8(FP), SI
	MOVQ     n+16(FP), CX
	SHLQ     $2, CX
	XORQ     DX, DX
	VXORPS   Y15, Y15, Y15 // +0
	VPCMPEQD Y14, Y14, Y14
	VPSRLD   $1, Y14, Y14  // 0x7fffffff: clears the sign bit

relu:
	VMOVUPS (SI)(DX*1), Y0
	VCMPPS  $6, Y15, Y0, Y1 // all ones where x > 0 or x is NaN
	VANDPS  Y14, Y0, Y0     // |x|
	VANDPS  Y1, Y0, Y0      // |x| there, +0 elsewhere
	VMOVUPS Y0, (DI)(DX*1)
	ADDQ    $32, DX
	CMPQ    DX, CX
	JLT     relu
	VZEROUPPER
	RET

// func reluGradAVX2(dst, grad, y *float32, n int)
// dst[i] = y[i]'s bits == 0 ? +0 : grad[i].
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  grad+8(FP), SI
	MOVQ  y+16(FP), R8
	MOVQ  n+24(FP), CX
	SHLQ  $2, CX
	XORQ  DX, DX
	VPXOR Y15, Y15, Y15

relugrad:
	VMOVUPS  (R8)(DX*1), Y1
	VPCMPEQD Y15, Y1, Y2          // all ones where y is +0
	VPANDN   (SI)(DX*1), Y2, Y3   // g with those lanes cleared
	VMOVUPS  Y3, (DI)(DX*1)
	ADDQ     $32, DX
	CMPQ     DX, CX
	JLT      relugrad
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int)
// dst[i] += src[i].
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ DX, DX

add:
	VMOVUPS (DI)(DX*1), Y0
	VADDPS  (SI)(DX*1), Y0, Y0
	VMOVUPS Y0, (DI)(DX*1)
	ADDQ    $32, DX
	CMPQ    DX, CX
	JLT     add
	VZEROUPPER
	RET

// func sum3AVX2(dst, a, b, c *float32, n int, acc bool)
// dst[i] = (a[i] + b[i]) + c[i], or dst[i] += that when acc is set.
TEXT ·sum3AVX2(SB), NOSPLIT, $0-41
	MOVQ   dst+0(FP), DI
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), R8
	MOVQ   c+24(FP), R9
	MOVQ   n+32(FP), CX
	MOVBLZX acc+40(FP), AX
	SHLQ   $2, CX
	XORQ   DX, DX
	TESTQ  AX, AX
	JNZ    sum3acc

sum3set:
	VMOVUPS (SI)(DX*1), Y0
	VADDPS  (R8)(DX*1), Y0, Y0 // a + b
	VADDPS  (R9)(DX*1), Y0, Y0 // (a + b) + c
	VMOVUPS Y0, (DI)(DX*1)
	ADDQ    $32, DX
	CMPQ    DX, CX
	JLT     sum3set
	VZEROUPPER
	RET

sum3acc:
	VMOVUPS (SI)(DX*1), Y0
	VADDPS  (R8)(DX*1), Y0, Y0 // a + b
	VADDPS  (R9)(DX*1), Y0, Y0 // (a + b) + c
	VMOVUPS (DI)(DX*1), Y1
	VADDPS  Y0, Y1, Y0         // dst + ((a + b) + c)
	VMOVUPS Y0, (DI)(DX*1)
	ADDQ    $32, DX
	CMPQ    DX, CX
	JLT     sum3acc
	VZEROUPPER
	RET

// func sumAVX2(x *float32, n int) float32
// Eight running sums s_l of x[8i + l], then ((s0 + s4) + (s2 + s6)) +
// ((s1 + s5) + (s3 + s7)), as Sum's portable loop adds them.
TEXT ·sumAVX2(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHLQ   $2, CX
	XORQ   DX, DX
	VXORPS Y0, Y0, Y0

sum:
	VADDPS (SI)(DX*1), Y0, Y0
	ADDQ   $32, DX
	CMPQ   DX, CX
	JLT    sum
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0 // s_l + s_{l+4}, l = 0 … 3
	VMOVHLPS     X0, X0, X1 // (s2 + s6, s3 + s7) in the low lanes
	VADDPS       X1, X0, X0 // (s0 + s4) + (s2 + s6), (s1 + s5) + (s3 + s7)
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET
