//go:build amd64 && !purego

#include "textflag.h"
#include "go_asm.h"

// Every loop below walks its vectors eight float32 at a time: DX is the
// byte offset of the current eight, CX the byte length n·4. Y8 and up hold
// the broadcast per-step constants, Y0..Y7 the working values. Each line
// mirrors one operation of the portable loop of the same name in
// kernels.go; in the Go assembler's operand order "VMULPS a, b, c" is
// c = b·a, "VSUBPS a, b, c" is c = b − a and "VDIVPS a, b, c" is c = b / a.

#define LOOP_SETUP \
	SHLQ $2, CX; \
	XORQ DX, DX

#define LOOP_NEXT(label) \
	ADDQ $32, DX; \
	CMPQ DX, CX;  \
	JLT  label;   \
	VZEROUPPER;   \
	RET

#define W (DI)(DX*1)
#define G (SI)(DX*1)
#define S1 (R8)(DX*1)
#define S2 (R9)(DX*1)
#define S3 (R10)(DX*1)

// LOAD_DECAYED_GRAD loads θ into Y0 and g + wd·θ into Y1, wd in reg.
#define LOAD_DECAYED_GRAD(wd) \
	VMOVUPS W, Y0;        \
	VMULPS  Y0, wd, Y1;   \
	VADDPS  G, Y1, Y1

// func sgdPlainAVX(w, grad *float32, n int, lr float32)
// θ ← θ − γg
TEXT ·sgdPlainAVX(SB), NOSPLIT, $0-28
	MOVQ         w+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS lr+24(FP), Y8
	LOOP_SETUP

sgdplain:
	VMULPS  G, Y8, Y1  // γg
	VMOVUPS W, Y0
	VSUBPS  Y1, Y0, Y0 // θ − γg
	VMOVUPS Y0, W
	LOOP_NEXT(sgdplain)

// func sgdDecayAVX(w, grad *float32, n int, lr, wd float32)
// θ ← θ − γ(g + λθ)
TEXT ·sgdDecayAVX(SB), NOSPLIT, $0-32
	MOVQ         w+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS lr+24(FP), Y8
	VBROADCASTSS wd+28(FP), Y9
	LOOP_SETUP

sgddecay:
	LOAD_DECAYED_GRAD(Y9)
	VMULPS  Y1, Y8, Y1 // γ(g + λθ)
	VSUBPS  Y1, Y0, Y0
	VMOVUPS Y0, W
	LOOP_NEXT(sgddecay)

// func sgdMomentumAVX(w, grad, b *float32, n int, lr, mu float32)
// b ← μb + g; θ ← θ − γb
TEXT ·sgdMomentumAVX(SB), NOSPLIT, $0-40
	MOVQ         w+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         b+16(FP), R8
	MOVQ         n+24(FP), CX
	VBROADCASTSS lr+32(FP), Y8
	VBROADCASTSS mu+36(FP), Y10
	LOOP_SETUP

sgdmomentum:
	VMULPS  S1, Y10, Y2 // μb
	VADDPS  G, Y2, Y2   // μb + g
	VMOVUPS Y2, S1
	VMULPS  Y2, Y8, Y2  // γb
	VMOVUPS W, Y0
	VSUBPS  Y2, Y0, Y0
	VMOVUPS Y0, W
	LOOP_NEXT(sgdmomentum)

// func sgdHeavyAVX(w, grad, b *float32, n int, lr, wd, mu, keep float32)
// d = g + λθ; b ← μb + (1 − τ)d; θ ← θ − γb
TEXT ·sgdHeavyAVX(SB), NOSPLIT, $0-48
	MOVQ         w+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         b+16(FP), R8
	MOVQ         n+24(FP), CX
	VBROADCASTSS lr+32(FP), Y8
	VBROADCASTSS wd+36(FP), Y9
	VBROADCASTSS mu+40(FP), Y10
	VBROADCASTSS keep+44(FP), Y11
	LOOP_SETUP

sgdheavy:
	LOAD_DECAYED_GRAD(Y9)
	VMULPS  S1, Y10, Y2 // μb
	VMULPS  Y1, Y11, Y1 // (1 − τ)d
	VADDPS  Y1, Y2, Y2  // b
	VMOVUPS Y2, S1
	VMULPS  Y2, Y8, Y2  // γb
	VSUBPS  Y2, Y0, Y0
	VMOVUPS Y0, W
	LOOP_NEXT(sgdheavy)

// func sgdNesterovAVX(w, grad, b *float32, n int, lr, wd, mu float32)
// d = g + λθ; b ← μb + d; θ ← θ − γ(d + μb)
TEXT ·sgdNesterovAVX(SB), NOSPLIT, $0-44
	MOVQ         w+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         b+16(FP), R8
	MOVQ         n+24(FP), CX
	VBROADCASTSS lr+32(FP), Y8
	VBROADCASTSS wd+36(FP), Y9
	VBROADCASTSS mu+40(FP), Y10
	LOOP_SETUP

sgdnesterov:
	LOAD_DECAYED_GRAD(Y9)
	VMULPS  S1, Y10, Y2 // μb
	VADDPS  Y1, Y2, Y2  // b = μb + d
	VMOVUPS Y2, S1
	VMULPS  Y2, Y10, Y3 // μb
	VADDPS  Y3, Y1, Y3  // d + μb
	VMULPS  Y3, Y8, Y3  // γ(d + μb)
	VSUBPS  Y3, Y0, Y0
	VMOVUPS Y0, W
	LOOP_NEXT(sgdnesterov)

// ADAM_CONSTS loads the adamScalars at AX: Y8 β₁, Y9 1 − β₁, Y10 β₂,
// Y11 1 − β₂, Y12 step, Y13 invBC2, Y14 ε, Y15 decay, Y7 l2.
#define ADAM_CONSTS \
	VBROADCASTSS adamScalars_b1(AX), Y8;      \
	VBROADCASTSS adamScalars_c1(AX), Y9;      \
	VBROADCASTSS adamScalars_b2(AX), Y10;     \
	VBROADCASTSS adamScalars_c2(AX), Y11;     \
	VBROADCASTSS adamScalars_step(AX), Y12;   \
	VBROADCASTSS adamScalars_invBC2(AX), Y13; \
	VBROADCASTSS adamScalars_eps(AX), Y14;    \
	VBROADCASTSS adamScalars_decay(AX), Y15;  \
	VBROADCASTSS adamScalars_l2(AX), Y7

// ADAM_MOMENTS takes g in Y1 and updates m ← β₁m + (1 − β₁)g (kept in Y2)
// and v ← β₂v + (1 − β₂)g² (kept in Y4).
#define ADAM_MOMENTS \
	VMULPS  S1, Y8, Y2;   \
	VMULPS  Y1, Y9, Y3;   \
	VADDPS  Y3, Y2, Y2;   \
	VMOVUPS Y2, S1;       \
	VMULPS  Y1, Y11, Y3;  \
	VMULPS  Y1, Y3, Y3;   \
	VMULPS  S2, Y10, Y4;  \
	VADDPS  Y3, Y4, Y4;   \
	VMOVUPS Y4, S2

// ADAM_UPDATE takes m in Y2, v̂ in Y4 and θ in Y0, and stores
// θ − step·m / (√v̂·invBC2 + ε).
#define ADAM_UPDATE \
	VSQRTPS Y4, Y4;       \
	VMULPS  Y13, Y4, Y4;  \
	VADDPS  Y14, Y4, Y4;  \
	VMULPS  Y12, Y2, Y2;  \
	VDIVPS  Y4, Y2, Y2;   \
	VSUBPS  Y2, Y0, Y0;   \
	VMOVUPS Y0, W

// func adamPlainAVX(w, grad, m, v *float32, n int, k *adamScalars)
TEXT ·adamPlainAVX(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	ADAM_CONSTS
	LOOP_SETUP

adamplain:
	VMOVUPS G, Y1
	ADAM_MOMENTS
	VMOVUPS W, Y0
	ADAM_UPDATE
	LOOP_NEXT(adamplain)

// func adamAVX(w, grad, m, v *float32, n int, k *adamScalars)
// θ ← decay·θ; g ← g + l2·θ; then as adamPlainAVX.
TEXT ·adamAVX(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	ADAM_CONSTS
	LOOP_SETUP

adam:
	VMULPS W, Y15, Y0  // θ = decay·θ
	VMULPS Y0, Y7, Y1  // l2·θ
	VADDPS G, Y1, Y1   // g + l2·θ
	ADAM_MOMENTS
	ADAM_UPDATE
	LOOP_NEXT(adam)

// func adamAMSGradAVX(w, grad, m, v, vmax *float32, n int, k *adamScalars)
// As adamAVX, dividing by the root of v̂ ← max(v̂, v).
TEXT ·adamAMSGradAVX(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ vmax+32(FP), R10
	MOVQ n+40(FP), CX
	MOVQ k+48(FP), AX
	ADAM_CONSTS
	LOOP_SETUP

adamams:
	VMULPS  W, Y15, Y0
	VMULPS  Y0, Y7, Y1
	VADDPS  G, Y1, Y1
	ADAM_MOMENTS
	VMOVUPS S3, Y5
	VMAXPS  Y4, Y5, Y4 // v̂ > v ? v̂ : v
	VMOVUPS Y4, S3
	ADAM_UPDATE
	LOOP_NEXT(adamams)

// RMS_CONSTS loads the rmsScalars at AX: Y8 γ, Y9 α, Y10 1 − α, Y11 ε,
// Y12 λ, Y13 μ, and zero in Y7.
#define RMS_CONSTS \
	VBROADCASTSS rmsScalars_lr(AX), Y8;   \
	VBROADCASTSS rmsScalars_a(AX), Y9;    \
	VBROADCASTSS rmsScalars_c(AX), Y10;   \
	VBROADCASTSS rmsScalars_eps(AX), Y11; \
	VBROADCASTSS rmsScalars_wd(AX), Y12;  \
	VBROADCASTSS rmsScalars_mu(AX), Y13;  \
	VXORPS       Y7, Y7, Y7

// RMS_SQUARE takes g in Y1, stores v ← αv + (1 − α)g² (kept in Y4) and
// leaves (1 − α)g in Y3.
#define RMS_SQUARE \
	VMULPS  S1, Y9, Y4;  \
	VMULPS  Y1, Y10, Y3; \
	VMULPS  Y1, Y3, Y6;  \
	VADDPS  Y6, Y4, Y4;  \
	VMOVUPS Y4, S1

// RMS_CENTER takes v in Y4 and (1 − α)g in Y3, stores ḡ ← αḡ + (1 − α)g
// and leaves the denominator √max(v − ḡ², 0) + ε in Y4.
#define RMS_CENTER \
	VMULPS  S2, Y9, Y5; \
	VADDPS  Y3, Y5, Y5; \
	VMOVUPS Y5, S2;     \
	VMULPS  Y5, Y5, Y6; \
	VSUBPS  Y6, Y4, Y4; \
	VMAXPS  Y4, Y7, Y4; \
	VSQRTPS Y4, Y4;     \
	VADDPS  Y11, Y4, Y4

// RMS_STEP takes the denominator in Y4, g in Y1 and θ in Y0 and stores
// θ − γg/d.
#define RMS_STEP \
	VMULPS  Y1, Y8, Y2; \
	VDIVPS  Y4, Y2, Y2; \
	VSUBPS  Y2, Y0, Y0; \
	VMOVUPS Y0, W

// RMS_MOMENTUM_STEP takes the denominator in Y4, g in Y1 and θ in Y0,
// stores b ← μb + g/d (b at mem) and θ − γb.
#define RMS_MOMENTUM_STEP(mem) \
	VDIVPS  Y4, Y1, Y2;  \
	VMULPS  mem, Y13, Y3; \
	VADDPS  Y2, Y3, Y3;  \
	VMOVUPS Y3, mem;     \
	VMULPS  Y3, Y8, Y3;  \
	VSUBPS  Y3, Y0, Y0;  \
	VMOVUPS Y0, W

// func rmspropAVX(w, grad, v *float32, n int, k *rmsScalars)
TEXT ·rmspropAVX(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ v+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), AX
	RMS_CONSTS
	LOOP_SETUP

rmsprop:
	LOAD_DECAYED_GRAD(Y12)
	RMS_SQUARE
	VSQRTPS Y4, Y4
	VADDPS  Y11, Y4, Y4 // √v + ε
	RMS_STEP
	LOOP_NEXT(rmsprop)

// func rmspropMomentumAVX(w, grad, v, b *float32, n int, k *rmsScalars)
TEXT ·rmspropMomentumAVX(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ v+16(FP), R8
	MOVQ b+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	RMS_CONSTS
	LOOP_SETUP

rmspropmom:
	LOAD_DECAYED_GRAD(Y12)
	RMS_SQUARE
	VSQRTPS Y4, Y4
	VADDPS  Y11, Y4, Y4
	RMS_MOMENTUM_STEP(S2)
	LOOP_NEXT(rmspropmom)

// func rmspropCenteredAVX(w, grad, v, ga *float32, n int, k *rmsScalars)
TEXT ·rmspropCenteredAVX(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ v+16(FP), R8
	MOVQ ga+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	RMS_CONSTS
	LOOP_SETUP

rmspropctr:
	LOAD_DECAYED_GRAD(Y12)
	RMS_SQUARE
	RMS_CENTER
	RMS_STEP
	LOOP_NEXT(rmspropctr)

// func rmspropCenteredMomentumAVX(w, grad, v, ga, b *float32, n int, k *rmsScalars)
TEXT ·rmspropCenteredMomentumAVX(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ v+16(FP), R8
	MOVQ ga+24(FP), R9
	MOVQ b+32(FP), R10
	MOVQ n+40(FP), CX
	MOVQ k+48(FP), AX
	RMS_CONSTS
	LOOP_SETUP

rmspropctrmom:
	LOAD_DECAYED_GRAD(Y12)
	RMS_SQUARE
	RMS_CENTER
	RMS_MOMENTUM_STEP(S3)
	LOOP_NEXT(rmspropctrmom)

// func adagradAVX(w, grad, s *float32, n int, lr, eps, wd float32)
// g ← g + λθ; s ← s + g²; θ ← θ − γₜg/(√s + ε)
TEXT ·adagradAVX(SB), NOSPLIT, $0-44
	MOVQ         w+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         s+16(FP), R8
	MOVQ         n+24(FP), CX
	VBROADCASTSS lr+32(FP), Y8
	VBROADCASTSS eps+36(FP), Y9
	VBROADCASTSS wd+40(FP), Y10
	LOOP_SETUP

adagrad:
	LOAD_DECAYED_GRAD(Y10)
	VMULPS  Y1, Y1, Y2 // g²
	VADDPS  S1, Y2, Y2 // s + g²
	VMOVUPS Y2, S1
	VSQRTPS Y2, Y2
	VADDPS  Y9, Y2, Y2 // √s + ε
	VMULPS  Y1, Y8, Y3 // γₜg
	VDIVPS  Y2, Y3, Y3
	VSUBPS  Y3, Y0, Y0
	VMOVUPS Y0, W
	LOOP_NEXT(adagrad)

// func adadeltaAVX(w, grad, v, u *float32, n int, lr, rho, c, eps, wd float32)
// g ← g + λθ; v ← ρv + (1 − ρ)g²; Δ = √(u + ε)/√(v + ε)·g;
// u ← ρu + (1 − ρ)Δ²; θ ← θ − γΔ
TEXT ·adadeltaAVX(SB), NOSPLIT, $0-60
	MOVQ         w+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         v+16(FP), R8
	MOVQ         u+24(FP), R9
	MOVQ         n+32(FP), CX
	VBROADCASTSS lr+40(FP), Y8
	VBROADCASTSS rho+44(FP), Y9
	VBROADCASTSS c+48(FP), Y10
	VBROADCASTSS eps+52(FP), Y11
	VBROADCASTSS wd+56(FP), Y12
	LOOP_SETUP

adadelta:
	LOAD_DECAYED_GRAD(Y12)
	VMULPS  S1, Y9, Y4  // ρv
	VMULPS  Y1, Y10, Y3 // (1 − ρ)g
	VMULPS  Y1, Y3, Y3  // (1 − ρ)g²
	VADDPS  Y3, Y4, Y4  // v
	VMOVUPS Y4, S1
	VMOVUPS S2, Y5      // u
	VADDPS  Y11, Y5, Y6
	VSQRTPS Y6, Y6      // √(u + ε)
	VADDPS  Y11, Y4, Y4
	VSQRTPS Y4, Y4      // √(v + ε)
	VDIVPS  Y4, Y6, Y6
	VMULPS  Y1, Y6, Y6  // Δ
	VMULPS  Y5, Y9, Y5  // ρu
	VMULPS  Y6, Y10, Y3 // (1 − ρ)Δ
	VMULPS  Y6, Y3, Y3  // (1 − ρ)Δ²
	VADDPS  Y3, Y5, Y5
	VMOVUPS Y5, S2
	VMULPS  Y6, Y8, Y6  // γΔ
	VSUBPS  Y6, Y0, Y0
	VMOVUPS Y0, W
	LOOP_NEXT(adadelta)

// func allFiniteAVX(x *float32, n int) bool
// Σ (x − x) over the first n elements (n a positive multiple of 32), in
// four sums of eight lanes: every term is 0 for a finite x and NaN for NaN
// and ±Inf, so the sums are all zero exactly when every element is finite.
TEXT ·allFiniteAVX(SB), NOSPLIT, $0-17
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	SHLQ   $2, CX
	XORQ   DX, DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

finiteLoop:
	VMOVUPS (SI)(DX*1), Y4
	VMOVUPS 32(SI)(DX*1), Y5
	VMOVUPS 64(SI)(DX*1), Y6
	VMOVUPS 96(SI)(DX*1), Y7
	VSUBPS  Y4, Y4, Y4
	VSUBPS  Y5, Y5, Y5
	VSUBPS  Y6, Y6, Y6
	VSUBPS  Y7, Y7, Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	ADDQ    $128, DX
	CMPQ    DX, CX
	JLT     finiteLoop

	VADDPS    Y1, Y0, Y0
	VADDPS    Y3, Y2, Y2
	VADDPS    Y2, Y0, Y0
	VCMPPS    $3, Y0, Y0, Y0 // unordered: all ones in each NaN lane
	VMOVMSKPS Y0, AX
	TESTL     AX, AX
	SETEQ     ret+16(FP)
	VZEROUPPER
	RET
