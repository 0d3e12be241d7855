package optim

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKernelsMatchPortable runs every element loop twice on the same random
// data, once with the AVX loops (where this build and CPU have them) and
// once with the portable Go loops only, and requires the same float32
// results, state included. Both perform the same operations in the same
// order, so they agree bit for bit; the length, 8·37 + 5, gives the AVX
// loops a long bulk and the Go loop a ragged tail. (Without AVX both runs
// take the Go loops.) The step tests check the loops against the float64
// reference; this test checks the AVX loops over many more values,
// including negative θ, large gradients and a v̂ that the AMSGrad maximum
// keeps.
//
// Built with GOAMD64=v3 the compiler may fuse a·b + c in the Go loops into
// one rounding, which the AVX loops do not; then the two may differ by the
// rounding of a product, amplified where centred RMSprop subtracts ḡ² from
// v (measured: 2.3e-5 relative), and the test allows 1e-4.
func TestKernelsMatchPortable(t *testing.T) {
	adamK := &adamScalars{b1: 0.9, c1: 0.1, b2: 0.999, c2: 0.001, step: 0.01, invBC2: 3.2, eps: 1e-3, decay: 0.999, l2: 0.2}
	rmsK := &rmsScalars{lr: 0.01, a: 0.9, c: 0.1, eps: 1e-4, wd: 0.05, mu: 0.8}
	cases := []struct {
		name  string
		slots int
		run   func(w, g []float32, s [][]float32)
	}{
		{"sgdPlain", 0, func(w, g []float32, s [][]float32) { sgdPlain(w, g, 0.1) }},
		{"sgdDecay", 0, func(w, g []float32, s [][]float32) { sgdDecay(w, g, 0.1, 0.3) }},
		{"sgdMomentum", 1, func(w, g []float32, s [][]float32) { sgdMomentum(w, g, s[0], 0.1, 0.9) }},
		{"sgdHeavy", 1, func(w, g []float32, s [][]float32) { sgdHeavy(w, g, s[0], 0.1, 0.3, 0.9, 0.7) }},
		{"sgdNesterov", 1, func(w, g []float32, s [][]float32) { sgdNesterov(w, g, s[0], 0.1, 0.3, 0.9) }},
		{"adamPlain", 2, func(w, g []float32, s [][]float32) { adamPlain(w, g, s[0], s[1], adamK) }},
		{"adam", 2, func(w, g []float32, s [][]float32) { adam(w, g, s[0], s[1], adamK) }},
		{"adamAMSGrad", 3, func(w, g []float32, s [][]float32) { adamAMSGrad(w, g, s[0], s[1], s[2], adamK) }},
		{"rmsprop", 1, func(w, g []float32, s [][]float32) { rmsprop(w, g, s[0], rmsK) }},
		{"rmspropMomentum", 2, func(w, g []float32, s [][]float32) { rmspropMomentum(w, g, s[0], s[1], rmsK) }},
		{"rmspropCentered", 2, func(w, g []float32, s [][]float32) { rmspropCentered(w, g, s[0], s[1], rmsK) }},
		{"rmspropCenteredMomentum", 3, func(w, g []float32, s [][]float32) {
			rmspropCenteredMomentum(w, g, s[0], s[1], s[2], rmsK)
		}},
		{"adagrad", 1, func(w, g []float32, s [][]float32) { adagrad(w, g, s[0], 0.1, 1e-3, 0.2) }},
		{"adadelta", 2, func(w, g []float32, s [][]float32) { adadelta(w, g, s[0], s[1], 0.5, 0.9, 0.1, 1e-3, 0.2) }},
	}
	const n = 8*37 + 5
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(avx bool) [][]float32 {
				defer func(old bool) { useAVX = old }(useAVX)
				useAVX = useAVX && avx
				rng := rand.New(rand.NewPCG(1, 2))
				vec := func() []float32 {
					x := make([]float32, n)
					for i := range x {
						x[i] = float32(rng.NormFloat64())
					}
					return x
				}
				w, s := vec(), make([][]float32, c.slots)
				for i := range s {
					s[i] = vec()
					for j := range s[i] {
						s[i][j] *= s[i][j] // ≥ 0, as second moments and sums are
					}
				}
				for step := range 3 {
					g := vec()
					for j := range g {
						g[j] *= float32(1 + 10*(step%2)) // large, then small
					}
					c.run(w, g, s)
				}
				return append([][]float32{w}, s...)
			}
			got, want := run(true), run(false)
			for i := range want {
				if !goFuses {
					require.Equal(t, want[i], got[i], "vector %d (0 is θ, then the state)", i)
					continue
				}
				for j := range want[i] {
					require.InDelta(t, want[i][j], got[i][j], 1e-4*max(1, abs(float64(want[i][j]))),
						"vector %d (0 is θ, then the state), element %d", i, j)
				}
			}
		})
	}
}

// goFuses reports whether the compiler fuses a·b + c into one FMA in this
// build: (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴ rounds to 1 + 2⁻¹¹ in float32, so
// the separately rounded sum below is 0 and the fused one 2⁻²⁴.
var goFuses = mulAdd(1+0x1p-12, 1+0x1p-12, -(1+0x1p-11)) != 0

//go:noinline
func mulAdd(a, b, c float32) float32 { return a*b + c }
