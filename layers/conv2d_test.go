package layers_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// convTestRand returns a tensor of the given shape with values uniform in
// [-1, 1).
func convTestRand(rng *rand.Rand, shape ...int) *tensor.Dense {
	t := nn.NewTensor(shape...)
	for i := range t.Float32s() {
		t.Float32s()[i] = float32(2*rng.Float64() - 1)
	}
	return t
}

// convTestCase is one convolution geometry: batch n, input [c h w], f
// filters of size k×k, stride s, padding p.
type convTestCase struct {
	n, c, h, w, f, k, s, p int
}

func (tc convTestCase) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_f%d_k%d_s%d_p%d", tc.n, tc.c, tc.h, tc.w, tc.f, tc.k, tc.s, tc.p)
}

// convTestCases covers batch 1, odd and non-square sizes, kernel 1, stride 2
// and 3, padding 1 and 2, and windows that leave the last row or column out.
var convTestCases = []convTestCase{
	{n: 1, c: 1, h: 5, w: 5, f: 1, k: 3, s: 1, p: 0},
	{n: 2, c: 3, h: 7, w: 5, f: 4, k: 3, s: 1, p: 0},
	{n: 2, c: 3, h: 7, w: 5, f: 4, k: 3, s: 2, p: 1},
	{n: 1, c: 2, h: 6, w: 9, f: 3, k: 1, s: 1, p: 0},
	{n: 3, c: 2, h: 5, w: 4, f: 2, k: 1, s: 2, p: 0},
	{n: 2, c: 2, h: 4, w: 6, f: 3, k: 3, s: 1, p: 2},
	{n: 1, c: 4, h: 8, w: 7, f: 5, k: 4, s: 3, p: 1},
	{n: 2, c: 1, h: 3, w: 3, f: 2, k: 5, s: 1, p: 1},
	{n: 1, c: 3, h: 9, w: 6, f: 2, k: 2, s: 2, p: 2},
	{n: 2, c: 8, h: 5, w: 6, f: 8, k: 3, s: 1, p: 1}, // Winograd (Y, dW, db)
}

// convTestBuild builds a Conv2D for tc with a random (non-zero) bias.
func convTestBuild(t testing.TB, tc convTestCase, rng *rand.Rand) *layers.Conv2D {
	conv := layers.NewConv2D(tc.c, tc.f, tc.k, layers.Stride(tc.s), layers.Padding(tc.p))
	_, err := conv.Build(nn.Shape{tc.c, tc.h, tc.w}, rng)
	require.NoError(t, err)
	for i := range conv.B().Data() {
		conv.B().Data()[i] = float32(2*rng.Float64() - 1)
	}
	return conv
}

// convTestNaive is the direct convolution loop, in float64:
// Y[n,f,oy,ox] = b[f] + Σ W[f,c,ki,kj]·X[n,c,oy·s+ki−p,ox·s+kj−p].
func convTestNaive(tc convTestCase, x, w, b []float32) (y []float64, oh, ow int) {
	oh = (tc.h+2*tc.p-tc.k)/tc.s + 1
	ow = (tc.w+2*tc.p-tc.k)/tc.s + 1
	y = make([]float64, tc.n*tc.f*oh*ow)
	for n := 0; n < tc.n; n++ {
		for f := 0; f < tc.f; f++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					s := float64(b[f])
					for c := 0; c < tc.c; c++ {
						for ki := 0; ki < tc.k; ki++ {
							for kj := 0; kj < tc.k; kj++ {
								iy, ix := oy*tc.s+ki-tc.p, ox*tc.s+kj-tc.p
								if iy < 0 || iy >= tc.h || ix < 0 || ix >= tc.w {
									continue
								}
								s += float64(w[((f*tc.c+c)*tc.k+ki)*tc.k+kj]) * float64(x[((n*tc.c+c)*tc.h+iy)*tc.w+ix])
							}
						}
					}
					y[((n*tc.f+f)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return y, oh, ow
}

func TestConv2DForwardMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range convTestCases {
		t.Run(tc.String(), func(t *testing.T) {
			conv := convTestBuild(t, tc, rng)
			x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
			want, oh, ow := convTestNaive(tc, x.Float32s(), conv.W().Data(), conv.B().Data())
			for _, train := range []bool{true, false} {
				y := conv.Forward(x, train)
				require.Equal(t, []int{tc.n, tc.f, oh, ow}, []int(y.Shape()))
				for i, v := range y.Float32s() {
					require.InDelta(t, want[i], float64(v), 1e-4, "train=%v, output %d", train, i)
				}
			}
		})
	}
}

func TestConv2DGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range convTestCases {
		t.Run(tc.String(), func(t *testing.T) {
			conv := convTestBuild(t, tc, rng)
			x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
			for _, train := range []bool{true, false} {
				res := backprop.CheckLayer(conv, x, train, backprop.CheckOptions{Seed: 5})
				require.Less(t, res.MaxRelErr, 1e-2, "train=%v: %v", train, res)
				require.Equal(t, x.Shape().TotalSize()+conv.W().Len()+conv.B().Len(), res.Checked)
			}
		})
	}
}

// TestConv2DBackwardAccumulates checks that parameter gradients add up over
// two Backward calls while dX is recomputed, not accumulated.
func TestConv2DBackwardAccumulates(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tc := convTestCase{n: 2, c: 3, h: 7, w: 5, f: 4, k: 3, s: 2, p: 1}
	conv := convTestBuild(t, tc, rng)
	x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
	dy := convTestRand(rng, conv.Forward(x, true).Shape()...)

	dx1 := append([]float32(nil), conv.Backward(dy).Float32s()...)
	dw1 := append([]float32(nil), conv.W().GradData()...)
	db1 := append([]float32(nil), conv.B().GradData()...)
	require.NotZero(t, dw1[0])

	dx2 := conv.Backward(dy).Float32s()
	require.Equal(t, dx1, dx2)
	for i, v := range conv.W().GradData() {
		require.InDelta(t, 2*dw1[i], v, 1e-5, "dW[%d]", i)
	}
	for i, v := range conv.B().GradData() {
		require.InDelta(t, 2*db1[i], v, 1e-5, "db[%d]", i)
	}

	// After an inference Forward, Backward gives the same gradients.
	conv.W().ZeroGrad()
	conv.B().ZeroGrad()
	conv.Forward(x, false)
	dx3 := conv.Backward(dy).Float32s()
	for i, v := range dx3 {
		require.InDelta(t, dx1[i], v, 1e-6, "dX[%d] after inference Forward", i)
	}
	for i, v := range conv.W().GradData() {
		require.InDelta(t, dw1[i], v, 1e-6, "dW[%d] after inference Forward", i)
	}
}

func TestConv2DBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))

	conv := layers.NewConv2D(0, 8, 3, layers.Stride(2), layers.Padding(1))
	out, err := conv.Build(nn.Shape{3, 28, 27}, rng)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{8, 14, 14}, out)
	require.Equal(t, 3, conv.In())
	require.Equal(t, []int{8, 3, 3, 3}, []int(conv.W().Value.Shape()))
	require.Equal(t, []int{8}, []int(conv.B().Value.Shape()))
	require.Len(t, conv.Params(), 2)
	require.Equal(t, "Conv2D(in=3, kernel=3, out=8, pad=1, stride=2)", conv.Spec().String())

	// HeUniform with fanIn = C·k·k = 27: every weight within sqrt(6/27).
	a := math.Sqrt(6.0 / 27)
	nonzero := 0
	for _, v := range conv.W().Data() {
		require.LessOrEqual(t, math.Abs(float64(v)), a)
		if v != 0 {
			nonzero++
		}
	}
	require.Equal(t, conv.W().Len(), nonzero)

	for _, tc := range []struct {
		name string
		conv *layers.Conv2D
		in   nn.Shape
		want string
	}{
		{"kernel larger than input", layers.NewConv2D(1, 4, 5), nn.Shape{1, 4, 6}, "5×5 kernel is larger than the 4×6 input"},
		{"kernel larger than padded input", layers.NewConv2D(1, 4, 7, layers.Padding(1)), nn.Shape{1, 4, 9}, "7×7 kernel is larger than the 4×9 input (padded by 1 to 6×11)"},
		{"channel mismatch", layers.NewConv2D(3, 4, 3), nn.Shape{1, 28, 28}, "expects 3 input channels, got 1"},
		{"flat input", layers.NewConv2D(1, 4, 3), nn.Shape{784}, "wants an image input [channels height width], got [784]"},
		{"zero stride", layers.NewConv2D(1, 4, 3, layers.Stride(0)), nn.Shape{1, 8, 8}, "stride 0"},
		{"negative padding", layers.NewConv2D(1, 4, 3, layers.Padding(-1)), nn.Shape{1, 8, 8}, "padding -1"},
		{"no outputs", layers.NewConv2D(1, 0, 3), nn.Shape{1, 8, 8}, "0 output channels"},
		{"zero kernel", layers.NewConv2D(1, 2, 0), nn.Shape{1, 8, 8}, "kernel size 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.conv.Build(tc.in, rng)
			require.ErrorContains(t, err, tc.want)
		})
	}

	// The kernel may exactly cover the padded input.
	out, err = layers.NewConv2D(1, 2, 5, layers.Padding(1)).Build(nn.Shape{1, 3, 4}, rng)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{2, 1, 2}, out)
}

func TestConv2DPanicsOnWrongInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	conv := layers.NewConv2D(2, 3, 3)
	_, err := conv.Build(nn.Shape{2, 5, 5}, rng)
	require.NoError(t, err)
	msg := convTestPanic(func() { conv.Forward(nn.NewTensor(4, 3, 5, 5), true) })
	require.Contains(t, msg, "Conv2D(2→3, 3×3): input of shape [4 3 5 5]")
	require.Contains(t, msg, "2 5 5]")
	msg = convTestPanic(func() { conv.Backward(nn.NewTensor(4, 3, 3, 3)) })
	require.Contains(t, msg, "Conv2D(2→3, 3×3): Backward called before")
}

// convTestPanic runs f and returns the message it panics with ("" if it
// does not panic).
func convTestPanic(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestConv2DZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []convTestCase{
		{n: 4, c: 3, h: 12, w: 10, f: 8, k: 3, s: 1, p: 1},
		{n: 3, c: 2, h: 9, w: 9, f: 4, k: 3, s: 2, p: 0},
		{n: 3, c: 8, h: 20, w: 21, f: 8, k: 3, s: 1, p: 1}, // Winograd
	} {
		conv := convTestBuild(t, tc, rng)
		x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
		dy := convTestRand(rng, conv.Forward(x, true).Shape()...)
		conv.Backward(dy)
		allocs := testing.AllocsPerRun(5, func() {
			conv.Forward(x, true)
			conv.Backward(dy)
		})
		require.Zero(t, allocs, "%v", tc)
	}
}

// ExampleConv2D builds the front of a small MNIST convnet and prints the
// shapes it produces.
func ExampleConv2D() {
	rng := rand.New(rand.NewPCG(1, 0))
	conv1 := layers.NewConv2D(1, 32, 3)                     // [1 28 28] → [32 26 26]
	conv2 := layers.NewConv2D(32, 64, 3, layers.Padding(1)) // → [64 26 26]
	pool := layers.NewMaxPool2D(2, 0)                       // → [64 13 13]
	m, err := nn.NewSequential(nn.Shape{1, 28, 28}, rng, conv1, conv2, pool)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("output:", m.OutputShape())
	fmt.Println("conv2 weights:", conv2.W())
	fmt.Println("parameters:", nn.NumParams(m.Params()))

	// A kernel that does not fit is reported when the model is built.
	_, err = nn.NewSequential(nn.Shape{1, 28, 28}, rng, layers.NewMaxPool2D(7, 0), layers.NewConv2D(0, 8, 5))
	fmt.Println(err)
	// Output:
	// output: [64 13 13]
	// conv2 weights: W[64 32 3 3]
	// parameters: 18816
	// nn: layer 1 (Conv2D): input [1 4 4]: Conv2D: 5×5 kernel is larger than the 4×4 input (padded by 0 to 4×4); want kernel ≤ padded height and width
}

// BenchmarkConv2DForward times a training Forward for the two convolutions of
// the classic MNIST convnet, at batch 64.
func BenchmarkConv2DForward(b *testing.B) {
	for _, tc := range convBenchCases {
		b.Run(tc.name, func(b *testing.B) {
			conv, x, _ := convBenchSetup(b, tc.convTestCase)
			b.ReportAllocs()
			for b.Loop() {
				conv.Forward(x, true)
			}
		})
	}
}

// BenchmarkConv2DBackward times Backward after one training Forward, for the
// same shapes as BenchmarkConv2DForward.
func BenchmarkConv2DBackward(b *testing.B) {
	for _, tc := range convBenchCases {
		b.Run(tc.name, func(b *testing.B) {
			conv, _, dy := convBenchSetup(b, tc.convTestCase)
			b.ReportAllocs()
			for b.Loop() {
				conv.Backward(dy)
			}
		})
	}
}

var convBenchCases = []struct {
	name string
	convTestCase
}{
	{"1to32_28x28", convTestCase{n: 64, c: 1, h: 28, w: 28, f: 32, k: 3, s: 1, p: 0}},
	{"32to64_26x26", convTestCase{n: 64, c: 32, h: 26, w: 26, f: 64, k: 3, s: 1, p: 0}},
}

func convBenchSetup(b *testing.B, tc convTestCase) (*layers.Conv2D, *tensor.Dense, *tensor.Dense) {
	rng := rand.New(rand.NewPCG(13, 14))
	conv := convTestBuild(b, tc, rng)
	x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
	dy := convTestRand(rng, conv.Forward(x, true).Shape()...)
	conv.Backward(dy)
	return conv, x, dy
}
