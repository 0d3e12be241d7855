package layers_test

import (
	"math/rand/v2"
	"testing"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// The shapes of the cmd/mnist convnets at batch 64: LeNet-5's two
// convolutions and the conv 32-64 net's two. Run with
//
//	go test -run '^$' -bench MNIST ./layers/
//
// (-cpu 1,2 shows what the second goroutine brings; cpu-ns/op is the CPU
// time of all threads.)
var mnistConvCases = []struct {
	name string
	convTestCase
}{
	{"lenet1_1to6_5x5p2_28x28", convTestCase{n: 64, c: 1, h: 28, w: 28, f: 6, k: 5, s: 1, p: 2}},
	{"lenet2_6to16_5x5_14x14", convTestCase{n: 64, c: 6, h: 14, w: 14, f: 16, k: 5, s: 1, p: 0}},
	{"cnn1_1to32_3x3_28x28", convTestCase{n: 64, c: 1, h: 28, w: 28, f: 32, k: 3, s: 1, p: 0}},
	{"cnn2_32to64_3x3_26x26", convTestCase{n: 64, c: 32, h: 26, w: 26, f: 64, k: 3, s: 1, p: 0}},
}

// BenchmarkMNISTConv times, for each convolution of the cmd/mnist models at
// batch 64, a training Forward, a full Backward (dX and the parameter
// gradients), BackwardParams (no dX, as for a network's first layer) and an
// inference Forward at the evaluation batch size of 250.
func BenchmarkMNISTConv(b *testing.B) {
	for _, tc := range mnistConvCases {
		conv, x, dy := convBenchSetup(b, tc.convTestCase)
		macs := float64(tc.n * conv.Out() * dy.Shape()[2] * dy.Shape()[3] * tc.c * tc.k * tc.k)
		b.Run(tc.name+"/forward", func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				conv.Forward(x, true)
			}
			b.ReportMetric(2*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(tc.name+"/backward", func(b *testing.B) {
			conv.Forward(x, true)
			conv.Backward(dy)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				conv.Backward(dy)
			}
			b.ReportMetric(4*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(tc.name+"/backward_params", func(b *testing.B) {
			conv.Forward(x, true)
			conv.BackwardParams(dy)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				conv.BackwardParams(dy)
			}
			b.ReportMetric(2*macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(tc.name+"/infer250", func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			xe := convTestRand(rng, 250, tc.c, tc.h, tc.w)
			conv.Forward(xe, false)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				conv.Forward(xe, false)
			}
			b.ReportMetric(250*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkMNISTActivations times ReLU and 2×2 max-pooling forward and
// backward on the activations of the cmd/mnist convnets at batch 64 (after
// LeNet's first convolution, and after the conv net's second).
func BenchmarkMNISTActivations(b *testing.B) {
	for _, s := range []struct {
		name  string
		shape nn.Shape
	}{
		{"lenet_6x28x28", nn.Shape{6, 28, 28}},
		{"cnn_64x24x24", nn.Shape{64, 24, 24}},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		x := convTestRand(rng, nn.BatchShape(nil, 64, s.shape)...)
		for _, l := range []nn.Layer{layers.NewReLU(), layers.NewMaxPool2D(2, 2)} {
			out, err := l.Build(s.shape, rng)
			if err != nil {
				b.Fatal(err)
			}
			dy := convTestRand(rng, nn.BatchShape(nil, 64, out)...)
			kind := l.Spec().Kind
			b.Run(s.name+"/"+kind+"/forward", func(b *testing.B) {
				l.Forward(x, true)
				b.ReportAllocs()
				b.SetBytes(int64(4 * x.Shape().TotalSize()))
				for b.Loop() {
					l.Forward(x, true)
				}
			})
			b.Run(s.name+"/"+kind+"/backward", func(b *testing.B) {
				l.Forward(x, true)
				l.Backward(dy)
				b.ReportAllocs()
				b.SetBytes(int64(4 * x.Shape().TotalSize()))
				for b.Loop() {
					l.Backward(dy)
				}
			})
		}
	}
}
