package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// adamRef is Adam's (decoupled: AdamW's) documented update, one element at
// a time.
func adamRef(c AdamConfig, decoupled bool) elemRef {
	return func(th float64, gs []float64) []float64 {
		var out []float64
		var m, v, vmax float64
		for i, g := range gs {
			t := float64(i + 1)
			if decoupled {
				th -= c.LR * c.WeightDecay * th
			} else {
				g += c.WeightDecay * th
			}
			m = c.Beta1*m + (1-c.Beta1)*g
			v = c.Beta2*v + (1-c.Beta2)*g*g
			vhat := v
			if c.AMSGrad {
				vmax = math.Max(vmax, v)
				vhat = vmax
			}
			mHat := m / (1 - math.Pow(c.Beta1, t))
			th -= c.LR * mHat / (math.Sqrt(vhat/(1-math.Pow(c.Beta2, t))) + c.Eps)
			out = append(out, th)
		}
		return out
	}
}

func buildAdam(c AdamConfig, decoupled bool) func([]*nn.Param) (Optimizer, error) {
	return func(p []*nn.Param) (Optimizer, error) {
		if decoupled {
			return NewAdamW(p, c)
		}
		return NewAdam(p, c)
	}
}

func TestAdamSteps(t *testing.T) {
	adam := DefaultAdam()
	adam.LR = 0.1
	l2 := adam
	l2.WeightDecay = 0.5
	ams := AdamConfig{LR: 0.1, Beta1: 0.8, Beta2: 0.9, Eps: 1e-3, AMSGrad: true}
	adamw := DefaultAdamW()
	adamw.LR, adamw.WeightDecay = 0.1, 0.5
	amsw := ams
	amsw.WeightDecay = 0.3
	cases := []struct {
		name      string
		cfg       AdamConfig
		decoupled bool
	}{
		{"Adam", adam, false},
		{"Adam L2", l2, false},
		{"AMSGrad", ams, false},
		{"AdamW", adamw, true},
		{"AdamW AMSGrad", amsw, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkAgainst(t, trajectory(t, buildAdam(c.cfg, c.decoupled)), adamRef(c.cfg, c.decoupled))
		})
	}
	base := trajectory(t, buildAdam(adam, false))
	requireDiffers(t, base, trajectory(t, buildAdam(l2, false)), 1e-3, "L2 weight decay")
	requireDiffers(t, trajectory(t, buildAdam(l2, false)), trajectory(t, buildAdam(adamw, true)), 1e-3, "AdamW vs Adam L2")
	noAMS := ams
	noAMS.AMSGrad = false
	requireDiffers(t, trajectory(t, buildAdam(ams, false)), trajectory(t, buildAdam(noAMS, false)), 1e-3, "AMSGrad maximum")
}

func TestAdamState(t *testing.T) {
	params := testParams()
	cfg := DefaultAdam()
	cfg.AMSGrad = true
	opt, err := NewAdam(params, cfg)
	require.NoError(t, err)
	var names []string
	for _, s := range opt.State() {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"W.exp_avg", "W.exp_avg_sq", "W.max_exp_avg_sq", "b.exp_avg", "b.exp_avg_sq", "b.max_exp_avg_sq"}, names)
	setGrads(params, stepGrads[0])
	opt.Step()
	g := stepGrads[0][0]
	require.InDelta(t, 0.1*g, float64(opt.State()[0].Value.Float32s()[0]), 1e-9)
	require.InDelta(t, 0.001*g*g, float64(opt.State()[1].Value.Float32s()[0]), 1e-10)

	// Restoring state and step count into a fresh optimizer continues the
	// same trajectory: the bias correction depends on the step count.
	fresh := testParams()
	copy(fresh[0].Data(), params[0].Data())
	copy(fresh[1].Data(), params[1].Data())
	o2, err := NewAdam(fresh, cfg)
	require.NoError(t, err)
	for i, s := range opt.State() {
		copy(o2.State()[i].Value.Float32s(), s.Value.Float32s())
	}
	o2.SetSteps(opt.Steps())
	setGrads(params, stepGrads[1])
	setGrads(fresh, stepGrads[1])
	opt.Step()
	o2.Step()
	require.Equal(t, flat(params), flat(fresh))
}

func TestAdamDefaults(t *testing.T) {
	require.Equal(t, AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, DefaultAdam())
	require.Equal(t, AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}, DefaultAdamW())
}

func TestAdamErrors(t *testing.T) {
	p := testParams()
	adam := func(mod func(*AdamConfig)) error {
		c := DefaultAdam()
		mod(&c)
		_, err := NewAdam(p, c)
		return err
	}
	adamw := func(mod func(*AdamConfig)) error {
		c := DefaultAdamW()
		mod(&c)
		_, err := NewAdamW(p, c)
		return err
	}
	checkErrCases(t, []errCase{
		{"zero lr", adam(func(c *AdamConfig) { c.LR = 0 }), "optim: Adam: learning rate 0"},
		{"NaN lr", adamw(func(c *AdamConfig) { c.LR = math.NaN() }), "optim: AdamW: learning rate NaN"},
		{"beta1 1", adam(func(c *AdamConfig) { c.Beta1 = 1 }), "beta1 1 must be in [0, 1)"},
		{"beta1 negative", adam(func(c *AdamConfig) { c.Beta1 = -0.1 }), "beta1 -0.1"},
		{"beta2 above 1", adamw(func(c *AdamConfig) { c.Beta2 = 1.5 }), "beta2 1.5"},
		{"beta2 NaN", adam(func(c *AdamConfig) { c.Beta2 = math.NaN() }), "beta2 NaN"},
		{"eps", adam(func(c *AdamConfig) { c.Eps = -1e-8 }), "eps -1e-08"},
		{"weight decay", adamw(func(c *AdamConfig) { c.WeightDecay = -0.01 }), "weight decay -0.01"},
	})
	checkBadParams(t, func(ps []*nn.Param) error { _, err := NewAdam(ps, DefaultAdam()); return err })
	checkBadParams(t, func(ps []*nn.Param) error { _, err := NewAdamW(ps, DefaultAdamW()); return err })
}

func TestAdamNoAllocs(t *testing.T) {
	for _, c := range []struct {
		cfg       AdamConfig
		decoupled bool
	}{
		{DefaultAdam(), false},
		{AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-4, AMSGrad: true}, false},
		{DefaultAdamW(), true},
	} {
		opt, err := buildAdam(c.cfg, c.decoupled)(allocParams())
		require.NoError(t, err)
		requireNoStepAllocs(t, opt)
	}
}
