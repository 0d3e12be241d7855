package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// adadeltaRef is AdaDelta's documented update, one element at a time.
func adadeltaRef(c AdaDeltaConfig) elemRef {
	return func(th float64, gs []float64) []float64 {
		var out []float64
		var v, u float64
		for _, g := range gs {
			g += c.WeightDecay * th
			v = c.Rho*v + (1-c.Rho)*g*g
			delta := math.Sqrt(u+c.Eps) / math.Sqrt(v+c.Eps) * g
			u = c.Rho*u + (1-c.Rho)*delta*delta
			th -= c.LR * delta
			out = append(out, th)
		}
		return out
	}
}

func buildAdaDelta(c AdaDeltaConfig) func([]*nn.Param) (Optimizer, error) {
	return func(p []*nn.Param) (Optimizer, error) { return NewAdaDelta(p, c) }
}

func TestAdaDeltaSteps(t *testing.T) {
	all := AdaDeltaConfig{LR: 0.5, Rho: 0.8, Eps: 1e-2, WeightDecay: 0.3}
	cases := []struct {
		name string
		cfg  AdaDeltaConfig
	}{
		{"defaults", DefaultAdaDelta()},
		{"all settings", all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkAgainst(t, trajectory(t, buildAdaDelta(c.cfg)), adadeltaRef(c.cfg))
		})
	}
	noWD := all
	noWD.WeightDecay = 0
	requireDiffers(t, trajectory(t, buildAdaDelta(all)), trajectory(t, buildAdaDelta(noWD)), 1e-3, "weight decay")
}

func TestAdaDeltaState(t *testing.T) {
	params := testParams()
	opt, err := NewAdaDelta(params, DefaultAdaDelta())
	require.NoError(t, err)
	st := opt.State()
	require.Len(t, st, 4)
	require.Equal(t, "W.square_avg", st[0].Name)
	require.Equal(t, "W.acc_delta", st[1].Name)
	require.Equal(t, "b.square_avg", st[2].Name)
	require.Equal(t, 1.0, opt.LR())
}

func TestAdaDeltaErrors(t *testing.T) {
	p := testParams()
	ad := func(mod func(*AdaDeltaConfig)) error {
		c := DefaultAdaDelta()
		mod(&c)
		_, err := NewAdaDelta(p, c)
		return err
	}
	checkErrCases(t, []errCase{
		{"zero lr", ad(func(c *AdaDeltaConfig) { c.LR = 0 }), "learning rate 0"},
		{"rho 1", ad(func(c *AdaDeltaConfig) { c.Rho = 1 }), "rho 1 must be in [0, 1)"},
		{"negative eps", ad(func(c *AdaDeltaConfig) { c.Eps = -1 }), "eps -1"},
		{"zero eps", ad(func(c *AdaDeltaConfig) { c.Eps = 0 }), "eps must be > 0"},
		{"weight decay", ad(func(c *AdaDeltaConfig) { c.WeightDecay = -1 }), "weight decay -1"},
	})
	checkBadParams(t, func(ps []*nn.Param) error { _, err := NewAdaDelta(ps, DefaultAdaDelta()); return err })
}

func TestAdaDeltaNoAllocs(t *testing.T) {
	opt, err := NewAdaDelta(allocParams(), AdaDeltaConfig{LR: 1, Rho: 0.9, Eps: 1e-6, WeightDecay: 1e-4})
	require.NoError(t, err)
	requireNoStepAllocs(t, opt)
}
