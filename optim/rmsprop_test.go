package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// rmspropRef is RMSprop's documented update, one element at a time.
func rmspropRef(c RMSpropConfig) elemRef {
	return func(th float64, gs []float64) []float64 {
		var out []float64
		var v, gbar, b float64
		for _, g := range gs {
			g += c.WeightDecay * th
			v = c.Alpha*v + (1-c.Alpha)*g*g
			d := math.Sqrt(v) + c.Eps
			if c.Centered {
				gbar = c.Alpha*gbar + (1-c.Alpha)*g
				d = math.Sqrt(v-gbar*gbar) + c.Eps
			}
			if c.Momentum > 0 {
				b = c.Momentum*b + g/d
				th -= c.LR * b
			} else {
				th -= c.LR * g / d
			}
			out = append(out, th)
		}
		return out
	}
}

func buildRMSprop(c RMSpropConfig) func([]*nn.Param) (Optimizer, error) {
	return func(p []*nn.Param) (Optimizer, error) { return NewRMSprop(p, c) }
}

func TestRMSpropSteps(t *testing.T) {
	plain := RMSpropConfig{LR: 0.01, Alpha: 0.9, Eps: 1e-8}
	centered := plain
	centered.Centered = true
	momentum := plain
	momentum.Momentum = 0.8
	all := RMSpropConfig{LR: 0.01, Alpha: 0.8, Eps: 1e-4, WeightDecay: 0.2, Momentum: 0.7, Centered: true}
	cases := []struct {
		name string
		cfg  RMSpropConfig
	}{
		{"defaults", DefaultRMSprop()},
		{"plain", plain},
		{"centered", centered},
		{"momentum", momentum},
		{"centered, momentum and weight decay", all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkAgainst(t, trajectory(t, buildRMSprop(c.cfg)), rmspropRef(c.cfg))
		})
	}
	p := trajectory(t, buildRMSprop(plain))
	requireDiffers(t, p, trajectory(t, buildRMSprop(centered)), 1e-3, "centered")
	requireDiffers(t, p, trajectory(t, buildRMSprop(momentum)), 1e-3, "momentum")
	noWD := all
	noWD.WeightDecay = 0
	requireDiffers(t, trajectory(t, buildRMSprop(all)), trajectory(t, buildRMSprop(noWD)), 1e-4, "weight decay")
}

func TestRMSpropState(t *testing.T) {
	params := testParams()
	cfg := DefaultRMSprop()
	cfg.Centered, cfg.Momentum = true, 0.9
	opt, err := NewRMSprop(params, cfg)
	require.NoError(t, err)
	var names []string
	for _, s := range opt.State() {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"W.square_avg", "W.grad_avg", "W.momentum_buffer", "b.square_avg", "b.grad_avg", "b.momentum_buffer"}, names)
	setGrads(params, stepGrads[0])
	opt.Step()
	// square_avg of b[0] = (1 − α)g², grad_avg = (1 − α)g.
	g := stepGrads[0][4]
	require.InDelta(t, 0.01*g*g, float64(opt.State()[3].Value.Float32s()[0]), 1e-9)
	require.InDelta(t, 0.01*g, float64(opt.State()[4].Value.Float32s()[0]), 1e-9)
}

func TestRMSpropErrors(t *testing.T) {
	p := testParams()
	rms := func(mod func(*RMSpropConfig)) error {
		c := DefaultRMSprop()
		mod(&c)
		_, err := NewRMSprop(p, c)
		return err
	}
	checkErrCases(t, []errCase{
		{"zero lr", rms(func(c *RMSpropConfig) { c.LR = 0 }), "learning rate 0"},
		{"alpha 1", rms(func(c *RMSpropConfig) { c.Alpha = 1 }), "alpha 1 must be in [0, 1)"},
		{"negative alpha", rms(func(c *RMSpropConfig) { c.Alpha = -0.1 }), "alpha -0.1"},
		{"eps", rms(func(c *RMSpropConfig) { c.Eps = -1 }), "eps -1"},
		{"weight decay", rms(func(c *RMSpropConfig) { c.WeightDecay = -1 }), "weight decay -1"},
		{"momentum", rms(func(c *RMSpropConfig) { c.Momentum = -1 }), "momentum -1"},
	})
	checkBadParams(t, func(ps []*nn.Param) error { _, err := NewRMSprop(ps, DefaultRMSprop()); return err })
}

func TestRMSpropNoAllocs(t *testing.T) {
	for _, c := range []RMSpropConfig{
		DefaultRMSprop(),
		{LR: 0.01, Alpha: 0.9, Eps: 1e-8, WeightDecay: 1e-4, Momentum: 0.9, Centered: true},
	} {
		opt, err := NewRMSprop(allocParams(), c)
		require.NoError(t, err)
		requireNoStepAllocs(t, opt)
	}
}
