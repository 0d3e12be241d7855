package optim

import "math"

// The element loops of every optimizer, in float32 as PyTorch computes
// them. Each function handles one combination of settings with no branch
// in its loop. It first re-slices its operands to the length of w (so the
// compiler drops the bounds checks, and a short slice panics up front),
// hands the bulk of the elements, a multiple of 8, to the AVX loop of the
// same name where the CPU has one (kernels_amd64.s), and runs the rest in
// Go, one element at a time. Both perform the same float32 operations in
// the same order. The per-step scalars (learning rate, bias corrections,
// 1 − β, …) are computed once per step by the caller, in float64, and
// rounded to float32.

// vecLen returns how many leading elements of an n-element loop the AVX
// loops take: n rounded down to a multiple of 8, or 0 without them.
func vecLen(n int) int {
	if !useAVX {
		return 0
	}
	return n &^ 7
}

// sqrt32 returns √x in float32. The conversions compile to one SQRTSS, and
// the result is the correctly rounded float32 root (rounding the float64
// root again to float32 gives the float32 root).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// nonNeg returns max(x, 0), keeping a NaN, as VMAXPS computes it.
func nonNeg(x float32) float32 {
	if 0 > x {
		return 0
	}
	return x
}

// sgdPlain: θ ← θ − γg.
func sgdPlain(w, g []float32, lr float32) {
	g = g[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		sgdPlainAVX(&w[0], &g[0], n, lr)
		w, g = w[n:], g[n:]
	}
	for j, gj := range g {
		w[j] -= lr * gj
	}
}

// sgdDecay: θ ← θ − γ(g + λθ).
func sgdDecay(w, g []float32, lr, wd float32) {
	g = g[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		sgdDecayAVX(&w[0], &g[0], n, lr, wd)
		w, g = w[n:], g[n:]
	}
	for j, gj := range g {
		w[j] -= lr * (gj + wd*w[j])
	}
}

// sgdFirst is the first momentum step, which fills the buffer:
// d = g + λθ; b ← d; θ ← θ − γ(d + μb) with Nesterov, θ ← θ − γb without.
// It runs once, so it has no AVX loop.
func sgdFirst(w, g, b []float32, lr, wd, mu float32, nesterov bool) {
	g, b = g[:len(w)], b[:len(w)]
	for j, gj := range g {
		d := gj + wd*w[j]
		b[j] = d
		if nesterov {
			d += mu * d
		}
		w[j] -= lr * d
	}
}

// sgdMomentum is heavy-ball momentum without dampening or weight decay:
// b ← μb + g; θ ← θ − γb.
func sgdMomentum(w, g, b []float32, lr, mu float32) {
	g, b = g[:len(w)], b[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		sgdMomentumAVX(&w[0], &g[0], &b[0], n, lr, mu)
		w, g, b = w[n:], g[n:], b[n:]
	}
	for j, gj := range g {
		bj := mu*b[j] + gj
		b[j] = bj
		w[j] -= lr * bj
	}
}

// sgdHeavy is heavy-ball momentum in general: d = g + λθ;
// b ← μb + (1 − τ)d; θ ← θ − γb.
func sgdHeavy(w, g, b []float32, lr, wd, mu, keep float32) {
	g, b = g[:len(w)], b[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		sgdHeavyAVX(&w[0], &g[0], &b[0], n, lr, wd, mu, keep)
		w, g, b = w[n:], g[n:], b[n:]
	}
	for j, gj := range g {
		d := gj + wd*w[j]
		bj := mu*b[j] + keep*d
		b[j] = bj
		w[j] -= lr * bj
	}
}

// sgdNesterov is Nesterov momentum (τ = 0): d = g + λθ; b ← μb + d;
// θ ← θ − γ(d + μb).
func sgdNesterov(w, g, b []float32, lr, wd, mu float32) {
	g, b = g[:len(w)], b[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		sgdNesterovAVX(&w[0], &g[0], &b[0], n, lr, wd, mu)
		w, g, b = w[n:], g[n:], b[n:]
	}
	for j, gj := range g {
		d := gj + wd*w[j]
		bj := mu*b[j] + d
		b[j] = bj
		w[j] -= lr * (d + mu*bj)
	}
}

// adamScalars are the per-step constants of an Adam step, in float32.
type adamScalars struct {
	b1, c1 float32 // β₁, 1 − β₁
	b2, c2 float32 // β₂, 1 − β₂
	step   float32 // γ / (1 − β₁ᵗ)
	invBC2 float32 // 1 / √(1 − β₂ᵗ)
	eps    float32 // ε
	decay  float32 // 1 − γλ for AdamW, else 1
	l2     float32 // λ for Adam, else 0
}

// adamPlain is Adam without weight decay or AMSGrad:
// m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
// θ ← θ − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
func adamPlain(w, g, m, v []float32, k *adamScalars) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		adamPlainAVX(&w[0], &g[0], &m[0], &v[0], n, k)
		w, g, m, v = w[n:], g[n:], m[n:], v[n:]
	}
	b1, c1, b2, c2, step, invBC2, eps := k.b1, k.c1, k.b2, k.c2, k.step, k.invBC2, k.eps
	for j, gj := range g {
		mj := b1*m[j] + c1*gj
		vj := b2*v[j] + c2*gj*gj
		m[j], v[j] = mj, vj
		w[j] -= step * mj / (sqrt32(vj)*invBC2 + eps)
	}
}

// adam is Adam with either weight decay, without AMSGrad:
// θ ← (1 − γλ)θ (AdamW) or g ← g + λθ (Adam), then as adamPlain.
func adam(w, g, m, v []float32, k *adamScalars) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		adamAVX(&w[0], &g[0], &m[0], &v[0], n, k)
		w, g, m, v = w[n:], g[n:], m[n:], v[n:]
	}
	b1, c1, b2, c2, step, invBC2, eps := k.b1, k.c1, k.b2, k.c2, k.step, k.invBC2, k.eps
	decay, l2 := k.decay, k.l2
	for j, gj := range g {
		th := decay * w[j]
		gj += l2 * th
		mj := b1*m[j] + c1*gj
		vj := b2*v[j] + c2*gj*gj
		m[j], v[j] = mj, vj
		w[j] = th - step*mj/(sqrt32(vj)*invBC2+eps)
	}
}

// adamAMSGrad is Adam with AMSGrad and either weight decay: as adam,
// dividing by the root of v̂ ← max(v̂, v).
func adamAMSGrad(w, g, m, v, vmax []float32, k *adamScalars) {
	g, m, v, vmax = g[:len(w)], m[:len(w)], v[:len(w)], vmax[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		adamAMSGradAVX(&w[0], &g[0], &m[0], &v[0], &vmax[0], n, k)
		w, g, m, v, vmax = w[n:], g[n:], m[n:], v[n:], vmax[n:]
	}
	b1, c1, b2, c2, step, invBC2, eps := k.b1, k.c1, k.b2, k.c2, k.step, k.invBC2, k.eps
	decay, l2 := k.decay, k.l2
	for j, gj := range g {
		th := decay * w[j]
		gj += l2 * th
		mj := b1*m[j] + c1*gj
		vj := b2*v[j] + c2*gj*gj
		m[j], v[j] = mj, vj
		if vm := vmax[j]; vm > vj { // max(v̂, v), as VMAXPS computes it
			vj = vm
		}
		vmax[j] = vj
		w[j] = th - step*mj/(sqrt32(vj)*invBC2+eps)
	}
}

// rmsScalars are the per-step constants of an RMSprop step, in float32.
type rmsScalars struct {
	lr, a, c float32 // γ, α, 1 − α
	eps, wd  float32 // ε, λ
	mu       float32 // μ
}

// rmsprop is RMSprop without centring or momentum: g ← g + λθ;
// v ← αv + (1 − α)g²; θ ← θ − γg/(√v + ε).
func rmsprop(w, g, v []float32, k *rmsScalars) {
	g, v = g[:len(w)], v[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		rmspropAVX(&w[0], &g[0], &v[0], n, k)
		w, g, v = w[n:], g[n:], v[n:]
	}
	lr, a, c, eps, wd := k.lr, k.a, k.c, k.eps, k.wd
	for j, gj := range g {
		th := w[j]
		gj += wd * th
		vj := a*v[j] + c*gj*gj
		v[j] = vj
		w[j] = th - lr*gj/(sqrt32(vj)+eps)
	}
}

// rmspropMomentum is RMSprop with momentum, not centred: as rmsprop, then
// b ← μb + g/(√v + ε); θ ← θ − γb.
func rmspropMomentum(w, g, v, b []float32, k *rmsScalars) {
	g, v, b = g[:len(w)], v[:len(w)], b[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		rmspropMomentumAVX(&w[0], &g[0], &v[0], &b[0], n, k)
		w, g, v, b = w[n:], g[n:], v[n:], b[n:]
	}
	lr, a, c, eps, wd, mu := k.lr, k.a, k.c, k.eps, k.wd, k.mu
	for j, gj := range g {
		th := w[j]
		gj += wd * th
		vj := a*v[j] + c*gj*gj
		v[j] = vj
		bj := mu*b[j] + gj/(sqrt32(vj)+eps)
		b[j] = bj
		w[j] = th - lr*bj
	}
}

// rmspropCentered is centred RMSprop without momentum: as rmsprop, with
// ḡ ← αḡ + (1 − α)g and θ ← θ − γg/(√max(v − ḡ², 0) + ε).
func rmspropCentered(w, g, v, ga []float32, k *rmsScalars) {
	g, v, ga = g[:len(w)], v[:len(w)], ga[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		rmspropCenteredAVX(&w[0], &g[0], &v[0], &ga[0], n, k)
		w, g, v, ga = w[n:], g[n:], v[n:], ga[n:]
	}
	lr, a, c, eps, wd := k.lr, k.a, k.c, k.eps, k.wd
	for j, gj := range g {
		th := w[j]
		gj += wd * th
		vj := a*v[j] + c*gj*gj
		gm := a*ga[j] + c*gj
		v[j], ga[j] = vj, gm
		w[j] = th - lr*gj/(sqrt32(nonNeg(vj-gm*gm))+eps)
	}
}

// rmspropCenteredMomentum is centred RMSprop with momentum:
// b ← μb + g/(√max(v − ḡ², 0) + ε); θ ← θ − γb.
func rmspropCenteredMomentum(w, g, v, ga, b []float32, k *rmsScalars) {
	g, v, ga, b = g[:len(w)], v[:len(w)], ga[:len(w)], b[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		rmspropCenteredMomentumAVX(&w[0], &g[0], &v[0], &ga[0], &b[0], n, k)
		w, g, v, ga, b = w[n:], g[n:], v[n:], ga[n:], b[n:]
	}
	lr, a, c, eps, wd, mu := k.lr, k.a, k.c, k.eps, k.wd, k.mu
	for j, gj := range g {
		th := w[j]
		gj += wd * th
		vj := a*v[j] + c*gj*gj
		gm := a*ga[j] + c*gj
		v[j], ga[j] = vj, gm
		bj := mu*b[j] + gj/(sqrt32(nonNeg(vj-gm*gm))+eps)
		b[j] = bj
		w[j] = th - lr*bj
	}
}

// adagrad: g ← g + λθ; s ← s + g²; θ ← θ − γₜg/(√s + ε).
func adagrad(w, g, s []float32, lr, eps, wd float32) {
	g, s = g[:len(w)], s[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		adagradAVX(&w[0], &g[0], &s[0], n, lr, eps, wd)
		w, g, s = w[n:], g[n:], s[n:]
	}
	for j, gj := range g {
		th := w[j]
		gj += wd * th
		sj := s[j] + gj*gj
		s[j] = sj
		w[j] = th - lr*gj/(sqrt32(sj)+eps)
	}
}

// adadelta: g ← g + λθ; v ← ρv + (1 − ρ)g²; Δ = √(u + ε)/√(v + ε)·g (in
// PyTorch's order); u ← ρu + (1 − ρ)Δ²; θ ← θ − γΔ.
func adadelta(w, g, v, u []float32, lr, rho, c, eps, wd float32) {
	g, v, u = g[:len(w)], v[:len(w)], u[:len(w)]
	if n := vecLen(len(w)); n > 0 {
		adadeltaAVX(&w[0], &g[0], &v[0], &u[0], n, lr, rho, c, eps, wd)
		w, g, v, u = w[n:], g[n:], v[n:], u[n:]
	}
	for j, gj := range g {
		th := w[j]
		gj += wd * th
		vj := rho*v[j] + c*gj*gj
		uj := u[j]
		d := sqrt32(uj+eps) / sqrt32(vj+eps) * gj
		v[j], u[j] = vj, rho*uj+c*d*d
		w[j] = th - lr*d
	}
}
