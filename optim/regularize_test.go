package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// regParams returns W [2 2] = [1 −2; 0 0.5] with gradient [0.1 0.1; 0.1 0.1]
// and b [2] = [3 −1] with zero gradient.
func regParams() []*nn.Param {
	w := nn.NewParam("W", 2, 2)
	copy(w.Data(), []float32{1, -2, 0, 0.5})
	copy(w.GradData(), []float32{0.1, 0.1, 0.1, 0.1})
	b := nn.NewParam("b", 2)
	copy(b.Data(), []float32{3, -1})
	return []*nn.Param{w, b}
}

func TestL1(t *testing.T) {
	ps := regParams()
	penalty := L1(ps, 0.01)
	// 0.01 · (1 + 2 + 0 + 0.5 + 3 + 1)
	require.InDelta(t, 0.075, penalty, 1e-12)
	require.InDeltaSlice(t, []float32{0.11, 0.09, 0.1, 0.11}, ps[0].GradData(), 1e-7)
	require.InDeltaSlice(t, []float32{0.01, -0.01}, ps[1].GradData(), 1e-7)
}

func TestL2(t *testing.T) {
	ps := regParams()
	penalty := L2(ps, 0.1)
	// 0.1/2 · (1 + 4 + 0 + 0.25 + 9 + 1)
	require.InDelta(t, 0.7625, penalty, 1e-12)
	require.InDeltaSlice(t, []float32{0.2, -0.1, 0.1, 0.15}, ps[0].GradData(), 1e-7)
	require.InDeltaSlice(t, []float32{0.3, -0.1}, ps[1].GradData(), 1e-7)
}

// TestL2IsWeightDecay checks the documented equivalence: an SGD step after
// L2(λ) equals an SGD step with weight decay λ.
func TestL2IsWeightDecay(t *testing.T) {
	a, b := regParams(), regParams()
	L2(a, 0.3)
	oa, err := NewSGD(a, SGDConfig{LR: 0.1})
	require.NoError(t, err)
	ob, err := NewSGD(b, SGDConfig{LR: 0.1, WeightDecay: 0.3})
	require.NoError(t, err)
	oa.Step()
	ob.Step()
	require.Equal(t, flat(a), flat(b))
}

func TestRegularizeSkipsState(t *testing.T) {
	s := nn.NewState("mean", 2)
	copy(s.Data(), []float32{5, 5})
	require.Zero(t, L1([]*nn.Param{s}, 1))
	require.Zero(t, L2([]*nn.Param{s}, 1))
	require.Panics(t, func() { L1(regParams(), -1) })
	require.Panics(t, func() { L2(regParams(), math.NaN()) })
}

func TestWeights(t *testing.T) {
	w := nn.NewParam("W", 784, 10)
	b := nn.NewParam("b", 10)
	k := nn.NewParam("K", 8, 1, 3, 3)
	gamma := nn.NewParam("gamma", 8)
	beta := nn.NewParam("beta", 8)
	got := Weights([]*nn.Param{w, b, k, gamma, beta})
	require.Equal(t, []*nn.Param{w, k}, got)
	require.Empty(t, Weights([]*nn.Param{b, gamma}))
}
