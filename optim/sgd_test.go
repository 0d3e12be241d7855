package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// sgdRef is SGD's documented update, one element at a time, in float64.
func sgdRef(c SGDConfig) elemRef {
	return func(th float64, gs []float64) []float64 {
		var out []float64
		var b float64
		for t, g := range gs {
			g += c.WeightDecay * th
			if c.Momentum != 0 {
				if t == 0 {
					b = g
				} else {
					b = c.Momentum*b + (1-c.Dampening)*g
				}
				if c.Nesterov {
					g += c.Momentum * b
				} else {
					g = b
				}
			}
			th -= c.LR * g
			out = append(out, th)
		}
		return out
	}
}

func buildSGD(c SGDConfig) func([]*nn.Param) (Optimizer, error) {
	return func(p []*nn.Param) (Optimizer, error) { return NewSGD(p, c) }
}

func TestSGDSteps(t *testing.T) {
	cases := []struct {
		name string
		cfg  SGDConfig
	}{
		{"plain", SGDConfig{LR: 0.1}},
		{"momentum", SGDConfig{LR: 0.1, Momentum: 0.9}},
		{"dampening", SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.3}},
		{"nesterov", SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true}},
		{"weight decay", SGDConfig{LR: 0.1, WeightDecay: 0.2}},
		{"momentum and weight decay", SGDConfig{LR: 0.1, Momentum: 0.8, Dampening: 0.5, WeightDecay: 0.2}},
		{"nesterov and weight decay", SGDConfig{LR: 0.05, Momentum: 0.7, Nesterov: true, WeightDecay: 0.3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkAgainst(t, trajectory(t, buildSGD(c.cfg)), sgdRef(c.cfg))
		})
	}
}

// TestSGDMomentumUnrolled checks plain and Nesterov momentum against their
// definitions written out in closed form for three steps (τ = 0, λ = 0):
// the buffers are b₁ = g₁, b₂ = μg₁ + g₂, b₃ = μ²g₁ + μg₂ + g₃; heavy ball
// steps by −γbₜ, Nesterov by −γ(gₜ + μbₜ).
func TestSGDMomentumUnrolled(t *testing.T) {
	const lr, mu = 0.1, 0.9
	heavy := trajectory(t, buildSGD(SGDConfig{LR: lr, Momentum: mu}))
	nesterov := trajectory(t, buildSGD(SGDConfig{LR: lr, Momentum: mu, Nesterov: true}))
	for e, th0 := range theta0 {
		g1, g2, g3 := stepGrads[0][e], stepGrads[1][e], stepGrads[2][e]
		b1, b2, b3 := g1, mu*g1+g2, mu*mu*g1+mu*g2+g3
		wantHeavy := []float64{th0 - lr*b1, th0 - lr*(b1+b2), th0 - lr*(b1+b2+b3)}
		n1, n2, n3 := g1+mu*b1, g2+mu*b2, g3+mu*b3
		wantNesterov := []float64{th0 - lr*n1, th0 - lr*(n1+n2), th0 - lr*(n1+n2+n3)}
		for s := range 3 {
			require.InDelta(t, wantHeavy[s], heavy[s][e], 1e-6, "momentum, element %d step %d", e, s+1)
			require.InDelta(t, wantNesterov[s], nesterov[s][e], 1e-6, "Nesterov, element %d step %d", e, s+1)
		}
	}
	requireDiffers(t, heavy, nesterov, 0.05, "Nesterov must differ from plain momentum")
}

// TestSGDVariantsDiffer shows that each setting changes the trajectory, so
// the step tests above exercise every term.
func TestSGDVariantsDiffer(t *testing.T) {
	plain := trajectory(t, buildSGD(SGDConfig{LR: 0.1}))
	mom := trajectory(t, buildSGD(SGDConfig{LR: 0.1, Momentum: 0.9}))
	damp := trajectory(t, buildSGD(SGDConfig{LR: 0.1, Momentum: 0.9, Dampening: 0.3}))
	wd := trajectory(t, buildSGD(SGDConfig{LR: 0.1, WeightDecay: 0.2}))
	requireDiffers(t, plain, mom, 0.01, "momentum")
	requireDiffers(t, mom, damp, 0.01, "dampening")
	requireDiffers(t, plain, wd, 0.01, "weight decay")
}

func TestSGDState(t *testing.T) {
	params := testParams()
	opt, err := NewSGD(params, SGDConfig{LR: 0.1, Momentum: 0.9})
	require.NoError(t, err)
	st := opt.State()
	require.Len(t, st, 2)
	require.Equal(t, "W.momentum_buffer", st[0].Name)
	require.Equal(t, []int{2, 2}, []int(st[0].Value.Shape()))
	require.Equal(t, "b.momentum_buffer", st[1].Name)
	setGrads(params, stepGrads[0])
	opt.Step()
	require.Equal(t, 1, opt.Steps())
	// After the first step the buffer holds the gradient.
	require.InDelta(t, stepGrads[0][4], float64(st[1].Value.Float32s()[0]), 1e-7)

	plain, err := NewSGD(params, DefaultSGD())
	require.NoError(t, err)
	require.Empty(t, plain.State())
	require.Equal(t, 1e-3, plain.LR())
	plain.SetLR(0.5)
	require.Equal(t, 0.5, plain.LR())
	require.Panics(t, func() { plain.SetLR(-1) })
	require.Panics(t, func() { plain.SetLR(math.NaN()) })
	require.Panics(t, func() { plain.SetSteps(-1) })
}

// TestSGDRestore checks that copying the state and step count into a fresh
// optimizer continues exactly where the first one was.
func TestSGDRestore(t *testing.T) {
	cfg := SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true}
	a := testParams()
	oa, err := NewSGD(a, cfg)
	require.NoError(t, err)
	setGrads(a, stepGrads[0])
	oa.Step()

	b := testParams()
	for i := range a {
		copy(b[i].Data(), a[i].Data())
	}
	ob, err := NewSGD(b, cfg)
	require.NoError(t, err)
	for i, s := range oa.State() {
		copy(ob.State()[i].Value.Float32s(), s.Value.Float32s())
	}
	ob.SetSteps(oa.Steps())
	setGrads(a, stepGrads[1])
	setGrads(b, stepGrads[1])
	oa.Step()
	ob.Step()
	require.Equal(t, flat(a), flat(b))
}

func TestSGDErrors(t *testing.T) {
	p := testParams()
	sgd := func(c SGDConfig) error { _, err := NewSGD(p, c); return err }
	checkErrCases(t, []errCase{
		{"zero lr", sgd(SGDConfig{}), "learning rate 0 must be positive"},
		{"negative lr", sgd(SGDConfig{LR: -0.1}), "learning rate -0.1"},
		{"NaN lr", sgd(SGDConfig{LR: math.NaN()}), "learning rate NaN"},
		{"Inf lr", sgd(SGDConfig{LR: math.Inf(1)}), "learning rate +Inf"},
		{"negative momentum", sgd(SGDConfig{LR: 1, Momentum: -0.5}), "momentum -0.5"},
		{"dampening", sgd(SGDConfig{LR: 1, Momentum: 0.5, Dampening: 1.5}), "dampening 1.5 must be in [0, 1]"},
		{"weight decay", sgd(SGDConfig{LR: 1, WeightDecay: -1}), "weight decay -1"},
		{"nesterov without momentum", sgd(SGDConfig{LR: 1, Nesterov: true}), "Nesterov momentum needs momentum > 0"},
		{"nesterov with dampening", sgd(SGDConfig{LR: 1, Momentum: 0.9, Dampening: 0.1, Nesterov: true}), "dampening = 0"},
	})
	checkBadParams(t, func(ps []*nn.Param) error { _, err := NewSGD(ps, DefaultSGD()); return err })
}

func TestSGDNoAllocs(t *testing.T) {
	for _, c := range []SGDConfig{
		{LR: 0.1},
		{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4},
		{LR: 0.1, Momentum: 0.9, Nesterov: true},
	} {
		opt, err := NewSGD(allocParams(), c)
		require.NoError(t, err)
		requireNoStepAllocs(t, opt)
	}
}
