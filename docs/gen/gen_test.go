package main

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSurfaceGradients compares each surface's gradient with central
// differences of its function: the trajectories are only as right as these.
func TestSurfaceGradients(t *testing.T) {
	const h = 1e-6
	for _, s := range []surface{rosenbrock, saddle} {
		for _, p := range [][2]float64{{-1.2, 1}, {0.3, -0.7}, {1, 1}, {1.7, 2.2}} {
			gx, gy := s.grad(p[0], p[1])
			nx := (s.f(p[0]+h, p[1]) - s.f(p[0]-h, p[1])) / (2 * h)
			ny := (s.f(p[0], p[1]+h) - s.f(p[0], p[1]-h)) / (2 * h)
			require.InDelta(t, nx, gx, 1e-4*(1+math.Abs(nx)), "%s at %v", s.name, p)
			require.InDelta(t, ny, gy, 1e-4*(1+math.Abs(ny)), "%s at %v", s.name, p)
		}
	}
}

// TestContourSegmentsLieOnTheLevel checks the marching squares: every
// segment end lies on an edge where f crosses the level, so f there is the
// level up to the interpolation error of one small cell.
func TestContourSegmentsLieOnTheLevel(t *testing.T) {
	bowl := surface{f: func(x, y float64) float64 { return x*x + y*y }, x0: -2, x1: 2, y0: -2, y1: 2, levels: []float64{1}}
	g := newContours(bowl, 101)
	n, length := 0, 0.0
	g.segments(1, func(x0, y0, x1, y1 float64) {
		n++
		length += math.Hypot(x1-x0, y1-y0)
		require.InDelta(t, 1, bowl.f(x0, y0), 2e-3)
		require.InDelta(t, 1, bowl.f(x1, y1), 2e-3)
	})
	require.Greater(t, n, 50)
	require.InDelta(t, 2*math.Pi, length, 0.01, "the unit circle's circumference")
	g.segments(9, func(_, _, _, _ float64) { t.Fatal("no point of the box has f = 9") })
}

// TestLearningRateThreshold checks the claim of learning-rate.png: batch
// gradient descent on the linear regression converges just below
// 2/λ_max and diverges just above it.
func TestLearningRateThreshold(t *testing.T) {
	d, err := linearData(regressionSamples)
	require.NoError(t, err)
	crit := 2 / hessianMax(d)
	below, err := descend(d, 0.95*crit, regressionSamples, 300, 1)
	require.NoError(t, err)
	above, err := descend(d, 1.05*crit, regressionSamples, 300, 1)
	require.NoError(t, err)
	require.Less(t, below[len(below)-1].Y, 0.02, "0.95·2/λ_max converges to the noise floor")
	require.Greater(t, above[len(above)-1].Y, 1e3*above[0].Y, "1.05·2/λ_max diverges")
}

// TestBestLR checks that the Rosenbrock race picks a rate from its grid
// and that Adam, at its best rate, reaches the minimum.
func TestBestLR(t *testing.T) {
	lr, f, err := bestLR(rosenbrock, racers[6])
	require.NoError(t, err)
	require.Contains(t, tuneGrid, lr)
	require.Less(t, f, 1e-6)
	pts, err := trajectory(rosenbrock, racers[6], lr)
	require.NoError(t, err)
	require.Len(t, pts, rosenbrock.steps+1)
	require.InDelta(t, 1, pts[len(pts)-1].X, 1e-3)
}

// TestDecades checks the logarithmic ticks: labels on powers of ten only.
func TestDecades(t *testing.T) {
	var labels []string
	for _, tk := range (decades{}).Ticks(0.05, 2e4) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	require.Equal(t, []string{"0.1", "1", "10", "100", "1000", "1e4"}, labels)
	labels = nil
	for _, tk := range (decades{}).Ticks(0.15, 3) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	require.Equal(t, []string{"0.2", "0.5", "1", "2"}, labels)
}
