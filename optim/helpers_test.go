package optim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// The step tests run an optimizer for three steps over two parameters, a
// 2×2 "W" and a 2-vector "b", with a different fixed gradient at every step,
// and compare every element after every step with a reference computed in
// float64, element by element, straight from the documented equations.

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

// testParams returns fresh W [2 2] and b [2] holding theta0.
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

// flat returns the six elements of params as float64.
func flat(params []*nn.Param) []float64 {
	var out []float64
	for _, p := range params {
		for _, v := range p.Data() {
			out = append(out, float64(v))
		}
	}
	return out
}

// setGrads sets the gradients of params to g (overwriting, as after
// ZeroGrad and one backward pass).
func setGrads(params []*nn.Param, g []float64) {
	k := 0
	for _, p := range params {
		d := p.GradData()
		for j := range d {
			d[j] = float32(g[k])
			k++
		}
	}
}

// trajectory builds an optimizer over fresh test parameters, runs the three
// steps and returns the six values after each step.
func trajectory(t *testing.T, build func([]*nn.Param) (Optimizer, error)) [][]float64 {
	t.Helper()
	params := testParams()
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
func checkAgainst(t *testing.T, got [][]float64, ref elemRef) {
	t.Helper()
	for e, th := range theta0 {
		gs := []float64{stepGrads[0][e], stepGrads[1][e], stepGrads[2][e]}
		want := ref(th, gs)
		for s := range want {
			// θ and the optimizer state are stored in float32.
			require.InDelta(t, want[s], got[s][e], 1e-6+1e-6*abs(want[s]),
				"element %d after step %d", e, s+1)
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

// BenchmarkStep measures one step over 1M parameters (a 1000×1000 matrix).
func BenchmarkStep(b *testing.B) {
	builds := []struct {
		name  string
		build func([]*nn.Param) (Optimizer, error)
	}{
		{"SGD", buildSGD(SGDConfig{LR: 0.01})},
		{"SGDMomentum", buildSGD(SGDConfig{LR: 0.01, Momentum: 0.9})},
		{"AdaGrad", buildAdaGrad(DefaultAdaGrad())},
		{"RMSprop", buildRMSprop(DefaultRMSprop())},
		{"AdaDelta", buildAdaDelta(DefaultAdaDelta())},
		{"Adam", buildAdam(DefaultAdam(), false)},
		{"AdamW", buildAdam(DefaultAdamW(), true)},
	}
	for _, c := range builds {
		b.Run(c.name, func(b *testing.B) {
			p := nn.NewParam("W", 1000, 1000)
			for i := range p.GradData() {
				p.GradData()[i] = float32(i%7) - 3
			}
			opt, err := c.build([]*nn.Param{p})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(4 * int64(p.Len()))
			for b.Loop() {
				opt.Step()
			}
		})
	}
}
