package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// rosenbrockGrad returns the gradient of f(x, y) = (1 − x)² + 100(y − x²)²:
//
//	∂f/∂x = −2(1 − x) − 400x(y − x²)
//	∂f/∂y = 200(y − x²)
//
// whose minimum is f(1, 1) = 0.
func rosenbrockGrad(x, y float64) (gx, gy float64) {
	return -2*(1-x) - 400*x*(y-x*x), 200 * (y - x*x)
}

// quadraticGrad returns the gradient of the convex, ill-conditioned (and
// non-separable) quadratic f(x, y) = ½(x − 1)² + 5(y − 1)² + (x − 1)(y − 1)/2,
// whose minimum is also at (1, 1):
//
//	∂f/∂x = (x − 1) + (y − 1)/2
//	∂f/∂y = 10(y − 1) + (x − 1)/2
func quadraticGrad(x, y float64) (gx, gy float64) {
	return (x - 1) + (y-1)/2, 10*(y-1) + (x-1)/2
}

// minimise runs iters steps of the optimizer built by build on a parameter
// of shape [2] starting at (−1.5, 2), with the gradient of grad, and returns
// the final point.
func minimise(t *testing.T, build func([]*nn.Param) (Optimizer, error), grad func(x, y float64) (float64, float64), iters int) (x, y float64) {
	t.Helper()
	p := nn.NewParam("xy", 2)
	p.Data()[0], p.Data()[1] = -1.5, 2
	opt, err := build([]*nn.Param{p})
	require.NoError(t, err)
	xy, g := p.Data(), p.GradData()
	for range iters {
		gx, gy := grad(float64(xy[0]), float64(xy[1]))
		g[0], g[1] = float32(gx), float32(gy)
		opt.Step()
	}
	return float64(xy[0]), float64(xy[1])
}

func TestConvergence(t *testing.T) {
	rosen, quad := rosenbrockGrad, quadraticGrad
	cases := []struct {
		name  string
		build func([]*nn.Param) (Optimizer, error)
		grad  func(x, y float64) (float64, float64)
		iters int
	}{
		{"SGD", buildSGD(SGDConfig{LR: 1e-3}), rosen, 30000},
		{"SGD momentum", buildSGD(SGDConfig{LR: 2e-4, Momentum: 0.9}), rosen, 10000},
		{"SGD Nesterov", buildSGD(SGDConfig{LR: 2e-4, Momentum: 0.9, Nesterov: true}), rosen, 10000},
		// RMSprop's steps stay near γ in size, so it needs a small γ to settle.
		{"RMSprop", buildRMSprop(RMSpropConfig{LR: 2e-4, Alpha: 0.99, Eps: 1e-8}), rosen, 40000},
		{"RMSprop centered momentum", buildRMSprop(RMSpropConfig{LR: 1e-4, Alpha: 0.99, Eps: 1e-8, Momentum: 0.9, Centered: true}), rosen, 10000},
		{"Adam", buildAdam(AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, false), rosen, 10000},
		{"AMSGrad", buildAdam(AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, AMSGrad: true}, false), rosen, 10000},
		// A decoupled decay moves the minimum away from (1, 1); a tiny λ keeps it within the tolerance.
		{"AdamW", buildAdam(AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-7}, true), rosen, 10000},
		{"AdaGrad", buildAdaGrad(AdaGradConfig{LR: 0.5, Eps: 1e-10}), rosen, 20000},
		// AdaDelta crawls along Rosenbrock's curved valley (with γ = 0.01 it
		// is still 1.4e-3 away after 40 000 steps; larger γ oscillates or
		// diverges), so it is tested on a convex quadratic. Near a minimum
		// its step tends to γg (u and v both shrink towards 0), plain
		// gradient descent, so γ must stay below 2 / (largest curvature ≈ 10).
		{"AdaDelta", buildAdaDelta(AdaDeltaConfig{LR: 0.1, Rho: 0.9, Eps: 1e-6}), quad, 5000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, y := minimise(t, c.build, c.grad, c.iters)
			require.Less(t, math.Hypot(x-1, y-1), 1e-3, "ended at (%g, %g)", x, y)
		})
	}
}
