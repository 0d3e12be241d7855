//go:build !amd64 || purego

package optim

// useAVX is false where there are no AVX loops (not amd64, or built with
// the purego tag): every element goes through the portable loops, and the
// stand-ins below, which keep the dispatch compiling, are never called.
var useAVX = false

const noAVX = "optim: no AVX loops in this build"

func allFiniteAVX(x *float32, n int) bool                                { panic(noAVX) }
func sgdPlainAVX(w, grad *float32, n int, lr float32)                    { panic(noAVX) }
func sgdMomentumAVX(w, grad, b *float32, n int, lr, mu float32)          { panic(noAVX) }
func adamPlainAVX(w, grad, m, v *float32, n int, k *adamScalars)         { panic(noAVX) }
func sgdDecayAVX(w, grad *float32, n int, lr, wd float32)                { panic(noAVX) }
func sgdHeavyAVX(w, grad, b *float32, n int, lr, wd, mu, keep float32)   { panic(noAVX) }
func sgdNesterovAVX(w, grad, b *float32, n int, lr, wd, mu float32)      { panic(noAVX) }
func adamAVX(w, grad, m, v *float32, n int, k *adamScalars)              { panic(noAVX) }
func adamAMSGradAVX(w, grad, m, v, vmax *float32, n int, k *adamScalars) { panic(noAVX) }
func rmspropAVX(w, grad, v *float32, n int, k *rmsScalars)               { panic(noAVX) }
func rmspropMomentumAVX(w, grad, v, b *float32, n int, k *rmsScalars)    { panic(noAVX) }
func rmspropCenteredAVX(w, grad, v, ga *float32, n int, k *rmsScalars)   { panic(noAVX) }
func rmspropCenteredMomentumAVX(w, grad, v, ga, b *float32, n int, k *rmsScalars) {
	panic(noAVX)
}
func adagradAVX(w, grad, s *float32, n int, lr, eps, wd float32)             { panic(noAVX) }
func adadeltaAVX(w, grad, v, u *float32, n int, lr, rho, c, eps, wd float32) { panic(noAVX) }
