//go:build amd64 && !purego

package optim

import "golang.org/x/sys/cpu"

// useAVX selects the AVX loops of kernels_amd64.s where the CPU has them;
// tests turn it off to compare them with the portable loops.
var useAVX = cpu.X86.HasAVX

// The AVX loops below update the first n elements (n a positive multiple
// of 8) of the vectors at the given pointers, eight at a time, with the
// operations of the portable loop of the same name in kernels.go in the
// same order (no fused multiply-add), so both give the same float32
// results.

//go:noescape
func allFiniteAVX(x *float32, n int) bool

//go:noescape
func sgdPlainAVX(w, grad *float32, n int, lr float32)

//go:noescape
func sgdDecayAVX(w, grad *float32, n int, lr, wd float32)

//go:noescape
func sgdMomentumAVX(w, grad, b *float32, n int, lr, mu float32)

//go:noescape
func sgdHeavyAVX(w, grad, b *float32, n int, lr, wd, mu, keep float32)

//go:noescape
func sgdNesterovAVX(w, grad, b *float32, n int, lr, wd, mu float32)

//go:noescape
func adamPlainAVX(w, grad, m, v *float32, n int, k *adamScalars)

//go:noescape
func adamAVX(w, grad, m, v *float32, n int, k *adamScalars)

//go:noescape
func adamAMSGradAVX(w, grad, m, v, vmax *float32, n int, k *adamScalars)

//go:noescape
func rmspropAVX(w, grad, v *float32, n int, k *rmsScalars)

//go:noescape
func rmspropMomentumAVX(w, grad, v, b *float32, n int, k *rmsScalars)

//go:noescape
func rmspropCenteredAVX(w, grad, v, ga *float32, n int, k *rmsScalars)

//go:noescape
func rmspropCenteredMomentumAVX(w, grad, v, ga, b *float32, n int, k *rmsScalars)

//go:noescape
func adagradAVX(w, grad, s *float32, n int, lr, eps, wd float32)

//go:noescape
func adadeltaAVX(w, grad, v, u *float32, n int, lr, rho, c, eps, wd float32)
