package backprop

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// toyBug selects a deliberate mistake in toyLayer's backward pass.
type toyBug int

const (
	bugNone       toyBug = iota
	bugScaleW            // dW off by 10 %
	bugTransposed        // dX uses W[j,i] instead of W[i,j]
	bugNoAccumB          // db assigned per row instead of accumulated
)

// toyLayer computes Y = tanh(X·W + b), written out by hand so that the
// checker is tested independently of the layers package.
type toyLayer struct {
	in, out int
	bug     toyBug
	w, b    *nn.Param
	x       *tensor.Dense
	y, dx   nn.Buffer
	yt      *tensor.Dense
}

func (t *toyLayer) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	t.w = nn.NewParam("W", t.in, t.out)
	t.b = nn.NewParam("b", t.out)
	nn.GlorotUniform(t.w.Data(), t.in, t.out, rng)
	for i := range t.b.Data() {
		t.b.Data()[i] = float32(rng.Float64() - 0.5)
	}
	return nn.Shape{t.out}, nil
}

func (t *toyLayer) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	n := nn.CheckInput("toy", x, nn.Shape{t.in})
	y := t.y.Get(n, t.out)
	xs, ys, w, b := x.Float32s(), y.Float32s(), t.w.Data(), t.b.Data()
	for r := 0; r < n; r++ {
		for j := 0; j < t.out; j++ {
			z := b[j]
			for i := 0; i < t.in; i++ {
				z += xs[r*t.in+i] * w[i*t.out+j]
			}
			ys[r*t.out+j] = float32(math.Tanh(float64(z)))
		}
	}
	t.x, t.yt = x, y
	return y
}

// Backward: dZ = dY ⊙ (1 − Y²); dW += Xᵀ·dZ; db += Σ_rows dZ; dX = dZ·Wᵀ.
func (t *toyLayer) Backward(dy *tensor.Dense) *tensor.Dense {
	nn.CheckGrad("toy", dy, t.yt)
	n := dy.Shape()[0]
	dx := t.dx.Zeroed(n, t.in)
	g, ys, xs, w := dy.Float32s(), t.yt.Float32s(), t.x.Float32s(), t.w.Data()
	dw, db, dxs := t.w.GradData(), t.b.GradData(), dx.Float32s()
	for r := 0; r < n; r++ {
		for j := 0; j < t.out; j++ {
			y := ys[r*t.out+j]
			dz := g[r*t.out+j] * (1 - y*y)
			if t.bug == bugNoAccumB {
				db[j] = dz
			} else {
				db[j] += dz
			}
			for i := 0; i < t.in; i++ {
				gw := xs[r*t.in+i] * dz
				if t.bug == bugScaleW {
					gw *= 1.1
				}
				dw[i*t.out+j] += gw
				if t.bug == bugTransposed {
					dxs[r*t.in+i] += dz * w[j*t.out+i]
				} else {
					dxs[r*t.in+i] += dz * w[i*t.out+j]
				}
			}
		}
	}
	return dx
}

func (t *toyLayer) Params() []*nn.Param { return []*nn.Param{t.w, t.b} }
func (t *toyLayer) Spec() nn.Spec       { return nn.Spec{Kind: "Toy"} }

func newToy(t *testing.T, in, out int, bug toyBug, seed uint64) (*toyLayer, *tensor.Dense) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	l := &toyLayer{in: in, out: out, bug: bug}
	_, err := l.Build(nn.Shape{in}, rng)
	require.NoError(t, err)
	x := nn.NewTensor(3, in)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(rng.NormFloat64())
	}
	return l, x
}

func TestCheckLayerToy(t *testing.T) {
	tests := []struct {
		name      string
		bug       toyBug
		in, out   int
		wantPass  bool
		wherePref string
	}{
		{"correct", bugNone, 5, 3, true, ""},
		{"correct square", bugNone, 4, 4, true, ""},
		{"dW scaled by 1.1", bugScaleW, 5, 3, false, "param W["},
		{"dX transposed index", bugTransposed, 4, 4, false, "input["},
		{"db not accumulated", bugNoAccumB, 5, 3, false, "param b["},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, x := newToy(t, tc.in, tc.out, tc.bug, 7)
			res := CheckLayer(l, x, true, CheckOptions{Seed: 3})
			require.Equal(t, x.Shape()[0]*tc.in+tc.in*tc.out+tc.out, res.Checked)
			if tc.wantPass {
				require.Less(t, res.MaxRelErr, 1e-2, res.String())
				return
			}
			require.Greater(t, res.MaxRelErr, 3e-2, res.String())
			require.True(t, strings.HasPrefix(res.Where, tc.wherePref), res.String())
		})
	}
}

func TestCheckLayerRestoresValuesAndSamples(t *testing.T) {
	l, x := newToy(t, 6, 4, bugNone, 11)
	x0 := slices.Clone(x.Float32s())
	w0 := slices.Clone(l.w.Data())
	b0 := slices.Clone(l.b.Data())
	calls := 0
	res := CheckLayer(l, x, true, CheckOptions{Seed: 5, MaxPerTensor: 4, BeforeForward: func() { calls++ }})
	require.Less(t, res.MaxRelErr, 1e-2, res.String())
	// 4 from x (18 values), 4 from W (24), 4 from b (exactly 4).
	require.Equal(t, 12, res.Checked)
	// One forward to size the projection, one for the analytic pass, two
	// per checked element.
	require.Equal(t, 2+2*12, calls)
	require.Equal(t, x0, x.Float32s())
	require.Equal(t, w0, l.w.Data())
	require.Equal(t, b0, l.b.Data())
}

func TestCheckLayerSeedIsDeterministic(t *testing.T) {
	l, x := newToy(t, 5, 3, bugScaleW, 2)
	a := CheckLayer(l, x, true, CheckOptions{Seed: 9, MaxPerTensor: 5})
	b := CheckLayer(l, x, true, CheckOptions{Seed: 9, MaxPerTensor: 5})
	require.Equal(t, a, b)
}

func TestRelErr(t *testing.T) {
	tests := []struct {
		a, n, want float64
	}{
		{1, 1, 0},
		{1.1, 1, 0.1 / 2.1},
		{1, -1, 1},
		{0, 0, 0},
		{1e-5, 0, 1e-5 / DefaultCheckFloor},
		{math.NaN(), 1, math.Inf(1)},
		{1, math.Inf(-1), math.Inf(1)},
	}
	for _, tc := range tests {
		require.InDelta(t, tc.want, relErr(tc.a, tc.n, DefaultCheckFloor), 1e-15, "a=%g n=%g", tc.a, tc.n)
	}
}

func TestCheckResultString(t *testing.T) {
	r := CheckResult{MaxRelErr: 0.05, Where: "param W[3]", Analytic: 1.1, Numeric: 1, Checked: 7}
	require.Equal(t, "max rel err 0.05 at param W[3] (analytic 1.1, numeric 1; 7 elements checked)", r.String())
}
