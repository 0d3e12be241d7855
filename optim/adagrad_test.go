package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// adagradRef is AdaGrad's documented update, one element at a time.
func adagradRef(c AdaGradConfig) elemRef {
	return func(th float64, gs []float64) []float64 {
		var out []float64
		sum := c.InitialAccumulator
		for i, g := range gs {
			t := float64(i + 1)
			g += c.WeightDecay * th
			sum += g * g
			th -= c.LR / (1 + (t-1)*c.LRDecay) * g / (math.Sqrt(sum) + c.Eps)
			out = append(out, th)
		}
		return out
	}
}

func buildAdaGrad(c AdaGradConfig) func([]*nn.Param) (Optimizer, error) {
	return func(p []*nn.Param) (Optimizer, error) { return NewAdaGrad(p, c) }
}

func TestAdaGradSteps(t *testing.T) {
	def := DefaultAdaGrad()
	def.LR = 0.5
	cases := []struct {
		name string
		cfg  AdaGradConfig
	}{
		{"defaults", def},
		{"all settings", AdaGradConfig{LR: 0.5, LRDecay: 0.3, WeightDecay: 0.2, InitialAccumulator: 0.1, Eps: 1e-3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkAgainst(t, trajectory(t, buildAdaGrad(c.cfg)), adagradRef(c.cfg))
		})
	}
	// Each setting is active in the test above.
	all := cases[1].cfg
	base := trajectory(t, buildAdaGrad(all))
	for _, mod := range []func(*AdaGradConfig){
		func(c *AdaGradConfig) { c.LRDecay = 0 },
		func(c *AdaGradConfig) { c.WeightDecay = 0 },
		func(c *AdaGradConfig) { c.InitialAccumulator = 0 },
	} {
		c := all
		mod(&c)
		requireDiffers(t, base, trajectory(t, buildAdaGrad(c)), 1e-3, "setting inactive")
	}
}

func TestAdaGradState(t *testing.T) {
	params := testParams()
	opt, err := NewAdaGrad(params, AdaGradConfig{LR: 0.1, InitialAccumulator: 0.25})
	require.NoError(t, err)
	st := opt.State()
	require.Len(t, st, 2)
	require.Equal(t, "W.sum", st[0].Name)
	require.Equal(t, []float32{0.25, 0.25, 0.25, 0.25}, st[0].Value.Float32s())
	setGrads(params, stepGrads[0])
	opt.Step()
	require.InDelta(t, 0.25+0.5*0.5, float64(st[1].Value.Float32s()[0]), 1e-7)
	require.Equal(t, 1, opt.Steps())
}

func TestAdaGradErrors(t *testing.T) {
	p := testParams()
	ada := func(mod func(*AdaGradConfig)) error {
		c := DefaultAdaGrad()
		mod(&c)
		_, err := NewAdaGrad(p, c)
		return err
	}
	checkErrCases(t, []errCase{
		{"zero lr", ada(func(c *AdaGradConfig) { c.LR = 0 }), "learning rate 0"},
		{"lr decay", ada(func(c *AdaGradConfig) { c.LRDecay = -1 }), "learning-rate decay -1"},
		{"weight decay", ada(func(c *AdaGradConfig) { c.WeightDecay = -1 }), "weight decay -1"},
		{"accumulator", ada(func(c *AdaGradConfig) { c.InitialAccumulator = -1 }), "initial accumulator -1"},
		{"eps", ada(func(c *AdaGradConfig) { c.Eps = math.NaN() }), "eps NaN"},
	})
	checkBadParams(t, func(ps []*nn.Param) error { _, err := NewAdaGrad(ps, DefaultAdaGrad()); return err })
}

func TestAdaGradNoAllocs(t *testing.T) {
	opt, err := NewAdaGrad(allocParams(), AdaGradConfig{LR: 0.1, LRDecay: 0.01, WeightDecay: 1e-4, Eps: 1e-10})
	require.NoError(t, err)
	requireNoStepAllocs(t, opt)
}
