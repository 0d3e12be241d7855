package layers_test

import (
	"math/rand/v2"
	"testing"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

func BenchmarkZZConv1(b *testing.B) {
	for _, relu := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(13, 14))
		var opts []layers.ConvOption
		if relu {
			opts = append(opts, layers.WithReLU())
		}
		conv := layers.NewConv2D(1, 32, 3, opts...)
		conv.Build(nn.Shape{1, 28, 28}, rng)
		x := convTestRand(rng, 64, 1, 28, 28)
		dy := convTestRand(rng, conv.Forward(x, true).Shape()...)
		name := map[bool]string{false: "plain", true: "relu"}[relu]
		b.Run(name+"/fw", func(b *testing.B) {
			for b.Loop() {
				conv.Forward(x, true)
			}
		})
		b.Run(name+"/bwp", func(b *testing.B) {
			for b.Loop() {
				conv.BackwardParams(dy)
			}
		})
	}
}
