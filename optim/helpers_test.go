package optim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// The step tests run an optimizer for three steps with a different fixed
// gradient at every step, and compare every element after every step with a
// reference computed in float64, element by element, straight from the
// documented equations. Six elements carry the pattern (theta0, stepGrads);
// the parameters the step tests optimise repeat it over a [5 7] "W" and a
// [13] "b", long enough that the vectorised loops run on their bulk and the
// scalar loops on their ragged tails (35 = 4·8 + 3, 13 = 8 + 5).

// Initial values of the six elements (W then b). One is 0 so that sign(0)
// and decoupled decay of 0 are covered.
var theta0 = []float64{0.5, -1.25, 2, 0, 0.75, -0.1}

// Gradients at steps 1, 2, 3. They change sign and size from step to step;
// element 3 gets a zero gradient once, and element 2 a large gradient followed
// by small ones (so that AMSGrad's maximum matters).
var stepGrads = [][]float64{
	{0.1, -0.3, 0.8, 0.25, -0.5, 0.05},
	{-0.2, 0.4, 0.05, 0, -0.45, 0.6},
	{0.3, 0.1, -0.02, -0.7, 0.2, -0.05},
}

// elemRef returns the trajectory θ₁, θ₂, θ₃ of one element that starts at
// theta and receives gradients gs[0], gs[1], gs[2].
type elemRef func(theta float64, gs []float64) []float64

// testParams returns fresh W [2 2] and b [2] holding theta0, for the state
// tests.
func testParams() []*nn.Param {
	w := nn.NewParam("W", 2, 2)
	b := nn.NewParam("b", 2)
	for i, v := range theta0 {
		if i < 4 {
			w.Data()[i] = float32(v)
		} else {
			b.Data()[i-4] = float32(v)
		}
	}
	return []*nn.Param{w, b}
}

// wideParams returns fresh W [5 7] and b [13] whose element k (counting
// through W, then b) holds theta0[k mod 6].
func wideParams() []*nn.Param {
	w := nn.NewParam("W", 5, 7)
	b := nn.NewParam("b", 13)
	k := 0
	for _, p := range []*nn.Param{w, b} {
		for j := range p.Data() {
			p.Data()[j] = float32(theta0[k%len(theta0)])
			k++
		}
	}
	return []*nn.Param{w, b}
}

// flat returns the elements of params as float64.
func flat(params []*nn.Param) []float64 {
	var out []float64
	for _, p := range params {
		for _, v := range p.Data() {
			out = append(out, float64(v))
		}
	}
	return out
}

// setGrads sets the gradients of params to g, repeated as often as needed
// (overwriting, as after ZeroGrad and one backward pass).
func setGrads(params []*nn.Param, g []float64) {
	k := 0
	for _, p := range params {
		d := p.GradData()
		for j := range d {
			d[j] = float32(g[k%len(g)])
			k++
		}
	}
}

// trajectory builds an optimizer over fresh wide test parameters, runs the
// three steps and returns every value after each step; element k follows
// the pattern of element k mod 6.
func trajectory(t *testing.T, build func([]*nn.Param) (Optimizer, error)) [][]float64 {
	t.Helper()
	params := wideParams()
	opt, err := build(params)
	require.NoError(t, err)
	var out [][]float64
	for _, g := range stepGrads {
		setGrads(params, g)
		opt.Step()
		out = append(out, flat(params))
	}
	return out
}

// checkAgainst compares a trajectory with the element-wise reference.
//
// The optimizers compute in float32 (24-bit significand, relative rounding
// error at most 2⁻²⁴ ≈ 6e-8 per operation), the reference in float64 from
// the exact decimal inputs. Each step rounds θ (|θ| ≤ 2.5 here) once and
// its update Δ after a dozen operations, and the float32 inputs themselves
// are off by up to 2⁻²⁴ relative, so after three steps the error is a few
// units in the last place of the largest value involved: ulp(2.5) ≈ 2.4e-7
// (the largest error measured is 2.4e-7). The tolerance 1e-6 + 1e-6·|θ|
// leaves a margin of about four, while every term of every update changes
// some θ here by more than 1e-4 (see the requireDiffers checks), so a wrong
// or missing term fails.
func checkAgainst(t *testing.T, got [][]float64, ref elemRef) {
	t.Helper()
	for e, th := range theta0 {
		gs := []float64{stepGrads[0][e], stepGrads[1][e], stepGrads[2][e]}
		want := ref(th, gs)
		for s := range want {
			for k := e; k < len(got[s]); k += len(theta0) {
				require.InDelta(t, want[s], got[s][k], 1e-6+1e-6*abs(want[s]),
					"element %d (pattern %d) after step %d", k, e, s+1)
			}
		}
	}
}

// requireDiffers asserts that two trajectories differ somewhere by more than
// tol, to show that a variant's extra term is active in the test.
func requireDiffers(t *testing.T, a, b [][]float64, tol float64, msg string) {
	t.Helper()
	var d float64
	for s := range a {
		for e := range a[s] {
			d = max(d, abs(a[s][e]-b[s][e]))
		}
	}
	require.Greater(t, d, tol, msg)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// requireNoStepAllocs checks that Step allocates nothing after the first.
func requireNoStepAllocs(t *testing.T, opt Optimizer) {
	t.Helper()
	for i, p := range opt.Params() {
		for j := range p.GradData() {
			p.GradData()[j] = float32(i+j)*0.01 - 0.02
		}
	}
	opt.Step()
	allocs := testing.AllocsPerRun(20, opt.Step)
	require.Zero(t, allocs, "%T.Step allocates", opt)
}

// allocParams returns parameters of awkward sizes for the allocation tests.
func allocParams() []*nn.Param {
	return []*nn.Param{nn.NewParam("W", 7, 5), nn.NewParam("b", 5), nn.NewParam("s", 1)}
}

// badParams lists parameter lists every constructor must reject, with a
// fragment of the expected message.
func badParams() []struct {
	name   string
	params []*nn.Param
	msg    string
} {
	ok := nn.NewParam("W", 2, 2)
	short := nn.NewParam("v", 3)
	short.Grad = nn.NewTensor(2)
	return []struct {
		name   string
		params []*nn.Param
		msg    string
	}{
		{"empty", nil, "no parameters"},
		{"nil param", []*nn.Param{ok, nil}, "parameter 1 is nil"},
		{"nil grad", []*nn.Param{ok, nn.NewState("mean", 3)}, "parameter 1 (mean[3]) has no gradient"},
		{"grad size", []*nn.Param{short}, "gradient of shape [2]"},
		{"duplicate", []*nn.Param{ok, ok}, "parameter 1 (W[2 2]) is parameter 0 listed again"},
	}
}

// checkBadParams runs build on every bad parameter list.
func checkBadParams(t *testing.T, build func([]*nn.Param) error) {
	t.Helper()
	for _, c := range badParams() {
		err := build(c.params)
		require.Error(t, err, c.name)
		require.Contains(t, err.Error(), c.msg, c.name)
	}
}

// errCase is a configuration that a constructor must reject.
type errCase struct {
	name string
	err  error
	msg  string
}

func checkErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Error(t, c.err)
			require.Contains(t, c.err.Error(), c.msg)
		})
	}
}
