package nn_test

// The tests here use the small affine layer defined in example_test.go.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// reshape is a parameter-free test layer that views each sample as another
// shape of the same size (it copies, to keep to the buffer convention).
type reshape struct {
	to      nn.Shape
	in      nn.Shape
	out, dx nn.Buffer
	shape   []int
}

func (r *reshape) Build(in nn.Shape, _ *rand.Rand) (nn.Shape, error) {
	if in.Size() != r.to.Size() {
		return nil, fmt.Errorf("cannot reshape %d values to %v", in.Size(), r.to)
	}
	r.in = in
	return r.to, nil
}

func (r *reshape) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	n := nn.CheckInput("reshape", x, r.in)
	r.shape = nn.BatchShape(r.shape, n, r.to)
	y := r.out.Get(r.shape...)
	copy(y.Float32s(), x.Float32s())
	return y
}

// Backward: dX = dY, reshaped back.
func (r *reshape) Backward(dy *tensor.Dense) *tensor.Dense {
	dx := r.dx.Get(nn.BatchShape(nil, dy.Shape()[0], r.in)...)
	copy(dx.Float32s(), dy.Float32s())
	return dx
}

func (r *reshape) Params() []*nn.Param { return nil }

func (r *reshape) Spec() nn.Spec {
	attrs := map[string]float64{}
	for i, d := range r.to {
		attrs[fmt.Sprint("d", i)] = float64(d)
	}
	return nn.Spec{Kind: "reshape", Attrs: attrs}
}

// empty is a broken layer whose Build reports an empty output.
type empty struct{ reshape }

func (e *empty) Build(nn.Shape, *rand.Rand) (nn.Shape, error) { return nn.Shape{}, nil }
func (e *empty) Spec() nn.Spec                                { return nn.Spec{Kind: "empty"} }

func TestNewSequentialInfersShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, r, b := newAffine(6), &reshape{to: nn.Shape{2, 3}}, &reshape{to: nn.Shape{6}}
	c := newAffine(2)
	m, err := nn.NewSequential(nn.Shape{4}, rng, a, r, b, c)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{4}, m.InputShape())
	require.Equal(t, nn.Shape{2}, m.OutputShape())
	// Each layer was built for its predecessor's output.
	require.Equal(t, 4, a.in)
	require.Equal(t, nn.Shape{6}, r.in)
	require.Equal(t, nn.Shape{2, 3}, b.in)
	require.Equal(t, 6, c.in)
	// Params in layer order, 4·6+6 + 6·2+2.
	require.Equal(t, []*nn.Param{a.w, a.b, c.w, c.b}, m.Params())
	require.Equal(t, 44, nn.NumParams(m.Params()))
	require.Empty(t, m.State())
	require.Contains(t, m.Summary(), "reshape(d0=2, d1=3)")
	require.Contains(t, m.Summary(), "total parameters: 44")

	// Forward is the layers in order, Backward the reverse.
	x := randomBatch(rng, 5, m.InputShape())
	y := m.Forward(x, true)
	require.Equal(t, []int{5, 2}, []int(y.Shape()))
	want := c.Forward(b.Forward(r.Forward(a.Forward(x, true), true), true), true)
	require.Equal(t, tensorBits(want), tensorBits(y))
	dy := randomBatch(rng, 5, m.OutputShape())
	dx := m.Backward(dy)
	require.Equal(t, []int{5, 4}, []int(dx.Shape()))
	require.NotZero(t, a.w.GradData()[0])
	m.ZeroGrad()
	for _, p := range m.Params() {
		require.Equal(t, make([]float32, p.Len()), p.GradData(), p.String())
	}
}

func TestNewSequentialWiringErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		name   string
		in     nn.Shape
		rng    *rand.Rand
		layers []nn.Layer
		msg    string
	}{
		{"affine after a 2-D output", nn.Shape{4}, rng,
			[]nn.Layer{newAffine(6), &reshape{to: nn.Shape{2, 3}}, newAffine(2)},
			"nn: layer 2 (affine): input [2 3]: affine wants a flat input, got [2 3]"},
		{"first layer", nn.Shape{3, 3}, rng, []nn.Layer{newAffine(2)},
			"nn: layer 0 (affine): input [3 3]: affine wants a flat input"},
		{"reshape of the wrong size", nn.Shape{4}, rng,
			[]nn.Layer{newAffine(5), &reshape{to: nn.Shape{2, 3}}},
			"nn: layer 1 (reshape): input [5]: cannot reshape 5 values to [2 3]"},
		{"empty output", nn.Shape{4}, rng, []nn.Layer{newAffine(5), &empty{}},
			"nn: layer 1 (empty): input [5] gives empty output []"},
		{"nil rng", nn.Shape{4}, nil, []nn.Layer{newAffine(5)}, "nn: NewSequential needs a random source"},
		{"empty input", nn.Shape{}, rng, []nn.Layer{newAffine(5)}, "nn: input shape [] must be non-empty and positive"},
		{"zero input", nn.Shape{3, 0}, rng, []nn.Layer{newAffine(5)}, "nn: input shape [3 0] must be non-empty and positive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := nn.NewSequential(c.in, c.rng, c.layers...)
			require.Nil(t, m)
			require.ErrorContains(t, err, c.msg)
			require.True(t, strings.HasPrefix(err.Error(), c.msg), "%v", err)
		})
	}
}

func TestNewSequentialNoLayers(t *testing.T) {
	m, err := nn.NewSequential(nn.Shape{2, 3}, rand.New(rand.NewPCG(0, 0)))
	require.NoError(t, err)
	require.Equal(t, nn.Shape{2, 3}, m.OutputShape())
	x := nn.NewTensor(4, 2, 3)
	require.Same(t, x, m.Forward(x, false))
}

func TestCheckInputAndGradPanics(t *testing.T) {
	x := nn.NewTensor(2, 3)
	require.Equal(t, 2, nn.CheckInput("Dense", x, nn.Shape{3}))
	require.PanicsWithValue(t, "Dense: input of shape [2 3], want [N 4]", func() { nn.CheckInput("Dense", x, nn.Shape{4}) })
	require.PanicsWithValue(t, "Conv2D: input of shape [2 3], want [N 1 28 28]", func() {
		nn.CheckInput("Conv2D", x, nn.Shape{1, 28, 28})
	})
	require.PanicsWithValue(t, "Dense: Backward called before Forward", func() { nn.CheckGrad("Dense", x, nil) })
	require.PanicsWithValue(t, "Dense: output gradient of shape [2 3], want [2 4]", func() {
		nn.CheckGrad("Dense", x, nn.NewTensor(2, 4))
	})
	require.NotPanics(t, func() { nn.CheckGrad("Dense", x, nn.NewTensor(2, 3)) })
}

var initializers = []struct {
	name   string
	init   nn.Initializer
	normal bool
	scale  func(fanIn, fanOut float64) float64 // a for U(-a, a), σ for N(0, σ²)
}{
	{"GlorotUniform", nn.GlorotUniform, false, func(i, o float64) float64 { return math.Sqrt(6 / (i + o)) }},
	{"GlorotNormal", nn.GlorotNormal, true, func(i, o float64) float64 { return math.Sqrt(2 / (i + o)) }},
	{"HeUniform", nn.HeUniform, false, func(i, o float64) float64 { return math.Sqrt(6 / i) }},
	{"HeNormal", nn.HeNormal, true, func(i, o float64) float64 { return math.Sqrt(2 / i) }},
	{"LeCunUniform", nn.LeCunUniform, false, func(i, o float64) float64 { return math.Sqrt(3 / i) }},
	{"LeCunNormal", nn.LeCunNormal, true, func(i, o float64) float64 { return math.Sqrt(1 / i) }},
}

func TestInitializersReproducible(t *testing.T) {
	draw := func(init nn.Initializer, seed uint64) []uint32 {
		w := make([]float32, 1000)
		init(w, 30, 20, rand.New(rand.NewPCG(seed, 0)))
		out := make([]uint32, len(w))
		for i, v := range w {
			out[i] = math.Float32bits(v)
		}
		return out
	}
	for _, c := range initializers {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, draw(c.init, 7), draw(c.init, 7), "same seed, different weights")
			require.NotEqual(t, draw(c.init, 7), draw(c.init, 8), "different seeds, same weights")
		})
	}
	// Same seed, same model.
	build := func(seed uint64) [][]uint32 {
		m, err := nn.NewSequential(nn.Shape{5}, rand.New(rand.NewPCG(seed, 0)), newAffine(4), newAffine(3))
		require.NoError(t, err)
		return bits(m.Params())
	}
	require.Equal(t, build(1), build(1))
	require.NotEqual(t, build(1), build(2))
}

// TestInitializersDistribution checks the sample mean and variance, the
// range of the uniform ones and the share within one σ of the normal ones,
// over n draws. The tolerances are about 5 standard errors.
func TestInitializersDistribution(t *testing.T) {
	const n = 200_000
	const fanIn, fanOut = 300, 100
	w := make([]float32, n)
	for _, c := range initializers {
		t.Run(c.name, func(t *testing.T) {
			c.init(w, fanIn, fanOut, rand.New(rand.NewPCG(42, 0)))
			s := c.scale(fanIn, fanOut)
			var sum, sumSq float64
			within, maxAbs := 0, 0.0
			for _, v := range w {
				x := float64(v)
				sum += x
				sumSq += x * x
				maxAbs = max(maxAbs, math.Abs(x))
				if math.Abs(x) <= s {
					within++
				}
			}
			if !c.normal {
				require.LessOrEqual(t, maxAbs, s*(1+1e-6), "outside (-a, a)")
				require.Greater(t, maxAbs, s*0.999, "does not reach ±a")
			}
			mean := sum / n
			variance := sumSq/n - mean*mean
			wantVar := s * s // N(0, σ²)
			if !c.normal {
				wantVar = s * s / 3 // U(-a, a)
			}
			require.InDelta(t, 0, mean, 5*math.Sqrt(wantVar/n), "mean")
			require.InEpsilon(t, wantVar, variance, 5*math.Sqrt(2.0/n), "variance")
			if c.normal {
				// P(|x| ≤ σ) = erf(1/√2) ≈ 0.6827 for a normal, 1 for U(-σ√3, σ√3)
				require.InDelta(t, math.Erf(1/math.Sqrt2), float64(within)/n, 0.006, "share within one σ")
			}
		})
	}
	w = []float32{1, 2, 3}
	nn.Zeros(w, 3, 3, nil)
	require.Equal(t, []float32{0, 0, 0}, w)
}

func TestBuffer(t *testing.T) {
	var b nn.Buffer
	x := b.Get(2, 3)
	require.Equal(t, []int{2, 3}, []int(x.Shape()))
	require.Equal(t, make([]float32, 6), x.Float32s())
	x.Float32s()[4] = 7

	// Same shape: the same tensor, contents kept.
	require.Same(t, x, b.Get(2, 3))
	require.Equal(t, float32(7), x.Float32s()[4])

	// Another shape: a zeroed tensor of that shape, reusing the storage when
	// it is large enough.
	y := b.Get(3, 2)
	require.NotSame(t, x, y)
	require.Equal(t, []int{3, 2}, []int(y.Shape()))
	require.Equal(t, make([]float32, 6), y.Float32s())
	z := b.Get(5, 5)
	require.Equal(t, []int{5, 5}, []int(z.Shape()))
	require.Len(t, z.Float32s(), 25)

	// Zeroed clears on every call.
	z.Float32s()[3] = 1
	require.Equal(t, make([]float32, 25), b.Zeroed(5, 5).Float32s())

	// The shape passed in may be reused by the caller.
	shape := []int{4, 4}
	w := b.Get(shape...)
	shape[0] = 9
	require.Equal(t, []int{4, 4}, []int(w.Shape()))
	require.Same(t, w, b.Get(4, 4))
}

func TestBufferDoesNotAllocate(t *testing.T) {
	var b nn.Buffer
	b.Get(32, 10)
	shape := make([]int, 0, 4)
	require.Zero(t, testing.AllocsPerRun(100, func() { b.Get(32, 10) }))
	require.Zero(t, testing.AllocsPerRun(100, func() { b.Zeroed(32, 10) }))
	require.Zero(t, testing.AllocsPerRun(100, func() {
		shape = nn.BatchShape(shape, 32, nn.Shape{10})
		b.Get(shape...)
	}))
	require.Equal(t, []int{32, 10}, shape)
}

func TestShape(t *testing.T) {
	require.Equal(t, 784, nn.Shape{1, 28, 28}.Size())
	require.Equal(t, 1, nn.Shape{}.Size())
	require.Equal(t, "[1 28 28]", nn.Shape{1, 28, 28}.String())
	require.True(t, nn.Shape{1, 28, 28}.Equal(nn.Shape{1, 28, 28}))
	require.False(t, nn.Shape{1, 28, 28}.Equal(nn.Shape{28, 28}))
	require.False(t, nn.Shape{784}.Equal(nn.Shape{1, 784}))
	require.Equal(t, []int{64, 1, 28, 28}, nn.BatchShape(nil, 64, nn.Shape{1, 28, 28}))
}

func TestSpec(t *testing.T) {
	dense := nn.Spec{Kind: "Dense", Attrs: map[string]float64{"out": 10, "in": 784}}
	require.Equal(t, "Dense(in=784, out=10)", dense.String())
	require.Equal(t, "ReLU()", nn.Spec{Kind: "ReLU"}.String())
	require.Equal(t, "Dropout(rate=0.5)", nn.Spec{Kind: "Dropout", Attrs: map[string]float64{"rate": 0.5}}.String())

	for _, c := range []struct {
		a, b  nn.Spec
		equal bool
	}{
		{dense, nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 784, "out": 10}}, true},
		{dense, nn.Spec{Kind: "Dense2", Attrs: map[string]float64{"in": 784, "out": 10}}, false},
		{dense, nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 784, "out": 11}}, false},
		{dense, nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 784, "units": 10}}, false},
		{dense, nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 784}}, false},
		{dense, nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 784, "out": 10, "bias": 1}}, false},
		{nn.Spec{Kind: "ReLU"}, nn.Spec{Kind: "ReLU", Attrs: map[string]float64{}}, true},
		{nn.Spec{Kind: "ReLU"}, nn.Spec{Kind: "Tanh"}, false},
	} {
		require.Equal(t, c.equal, c.a.Equal(c.b), "%v vs %v", c.a, c.b)
		require.Equal(t, c.equal, c.b.Equal(c.a), "%v vs %v", c.b, c.a)
	}

	s := nn.Spec{Kind: "Conv2D", Attrs: map[string]float64{"kernel": 3, "rate": 0.5}}
	k, ok := s.Int("kernel")
	require.True(t, ok)
	require.Equal(t, 3, k)
	_, ok = s.Int("rate")
	require.False(t, ok, "0.5 is not an int")
	_, ok = s.Int("stride")
	require.False(t, ok, "missing")
}

func TestParam(t *testing.T) {
	p := nn.NewParam("W", 3, 4)
	require.Equal(t, "W[3 4]", p.String())
	require.Equal(t, 12, p.Len())
	require.Len(t, p.GradData(), 12)
	p.GradData()[5] = 2
	p.ZeroGrad()
	require.Equal(t, make([]float32, 12), p.GradData())

	s := nn.NewState("mean", 4)
	require.Nil(t, s.Grad)
	require.NotPanics(t, s.ZeroGrad)
	require.Equal(t, 16, nn.NumParams([]*nn.Param{p, s}))

	require.PanicsWithValue(t, "nn: FromSlice: 5 values for shape [2 3]", func() { nn.FromSlice(make([]float32, 5), 2, 3) })
	require.PanicsWithValue(t, "nn: negative dimension in shape [2 -1]", func() { nn.NewTensor(2, -1) })
}
