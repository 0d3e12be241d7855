package optim

import (
	"testing"

	"github.com/descent-ml/descent/nn"
)

// The Step benchmarks run one optimizer over two realistic parameter sets
// and report the cost per parameter value (ns/value):
//
//   - bow: a bag-of-words logistic regression over a 200 000-word
//     vocabulary with two outputs, W [200000 2] and b [2]: 400 002 values.
//   - cnn: the MNIST conv net of PyTorch's examples (conv 32, conv 64,
//     dense 9216→128, dense 128→10): 1 199 882 values in eight tensors.
//
// Run them with
//
//	go test -run '^$' -bench Step -benchmem ./optim/
var benchSets = []struct {
	name   string
	shapes [][]int
}{
	{"bow-400k", [][]int{{200000, 2}, {2}}},
	{"cnn-1.2M", [][]int{{32, 1, 3, 3}, {32}, {64, 32, 3, 3}, {64}, {9216, 128}, {128}, {128, 10}, {10}}},
}

// benchStep benchmarks build's Step over every parameter set.
func benchStep(b *testing.B, build func([]*nn.Param) (Optimizer, error)) {
	for _, set := range benchSets {
		b.Run(set.name, func(b *testing.B) {
			var params []*nn.Param
			k := 0
			for i, s := range set.shapes {
				p := nn.NewParam(string(rune('a'+i)), s...)
				w, g := p.Data(), p.GradData()
				for j := range g {
					// Varied signs and sizes, none zero, none tiny.
					w[j] = float32(k%13)*0.01 - 0.06
					g[j] = float32(k%7)*0.1 - 0.35
					k++
				}
				params = append(params, p)
			}
			opt, err := build(params)
			if err != nil {
				b.Fatal(err)
			}
			opt.Step() // past the first step, as in training
			n := nn.NumParams(params)
			b.SetBytes(4 * int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				opt.Step()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/value")
		})
	}
}

func BenchmarkSGDStep(b *testing.B) { benchStep(b, buildSGD(SGDConfig{LR: 0.01})) }

func BenchmarkSGDMomentumStep(b *testing.B) {
	benchStep(b, buildSGD(SGDConfig{LR: 0.01, Momentum: 0.9}))
}

func BenchmarkSGDNesterovStep(b *testing.B) {
	benchStep(b, buildSGD(SGDConfig{LR: 0.01, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4}))
}

func BenchmarkAdamStep(b *testing.B) { benchStep(b, buildAdam(DefaultAdam(), false)) }

func BenchmarkAdamWStep(b *testing.B) { benchStep(b, buildAdam(DefaultAdamW(), true)) }

func BenchmarkAMSGradStep(b *testing.B) {
	c := DefaultAdam()
	c.AMSGrad, c.WeightDecay = true, 1e-4
	benchStep(b, buildAdam(c, false))
}

func BenchmarkRMSpropStep(b *testing.B) { benchStep(b, buildRMSprop(DefaultRMSprop())) }

func BenchmarkRMSpropCenteredMomentumStep(b *testing.B) {
	c := DefaultRMSprop()
	c.Centered, c.Momentum = true, 0.9
	benchStep(b, buildRMSprop(c))
}

func BenchmarkAdaGradStep(b *testing.B) { benchStep(b, buildAdaGrad(DefaultAdaGrad())) }

func BenchmarkAdaDeltaStep(b *testing.B) { benchStep(b, buildAdaDelta(DefaultAdaDelta())) }
