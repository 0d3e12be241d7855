package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// gradParams returns a [2 3] and a [2] parameter with the given gradients.
func gradParams(g1, g2 []float32) []*nn.Param {
	a := nn.NewParam("W", 2, 3)
	b := nn.NewParam("b", 2)
	copy(a.GradData(), g1)
	copy(b.GradData(), g2)
	return []*nn.Param{a, b}
}

func grads(params []*nn.Param) [][]float32 {
	var out [][]float32
	for _, p := range params {
		out = append(out, append([]float32(nil), p.GradData()...))
	}
	return out
}

func TestClipValue(t *testing.T) {
	inf := float32(math.Inf(1))
	ps := gradParams([]float32{0.5, -2, 3, -0.25, inf, -inf}, []float32{1, -1})
	ps = append(ps, nn.NewState("mean", 2)) // no gradient: skipped
	require.NoError(t, ClipValue(ps, 1))
	require.Equal(t, [][]float32{{0.5, -1, 1, -0.25, 1, -1}, {1, -1}}, grads(ps[:2]))

	require.NoError(t, ClipValue(ps, math.Inf(1)))
	require.Equal(t, [][]float32{{0.5, -1, 1, -0.25, 1, -1}, {1, -1}}, grads(ps[:2]))
	require.NoError(t, ClipValue(ps, 0))
	require.Equal(t, [][]float32{{0, 0, 0, 0, 0, 0}, {0, 0}}, grads(ps[:2]))
}

func TestClipValueNaN(t *testing.T) {
	nan := float32(math.NaN())
	ps := gradParams([]float32{5, -2, 3, -0.25, 0, 1}, []float32{1, nan})
	before := grads(ps)
	err := ClipValue(ps, 1)
	require.Error(t, err)
	require.Contains(t, err.Error(), "parameter 1 (b[2]): gradient is NaN at index 1")
	require.Equal(t, before[0], grads(ps)[0], "gradients must be left untouched")
	require.Equal(t, float32(1), ps[1].GradData()[0])

	err = ClipValue(ps, math.NaN())
	require.ErrorContains(t, err, "clip value NaN")
	require.ErrorContains(t, ClipValue(ps, -1), "clip value -1")
}

func TestClipNorm(t *testing.T) {
	g1 := []float32{3, 0, -4, 1, 2, -2}
	g2 := []float32{0.5, -0.5}
	var sum float64
	for _, v := range append(append([]float32(nil), g1...), g2...) {
		sum += float64(v) * float64(v)
	}
	want := math.Sqrt(sum) // √34.5

	cases := []struct {
		name    string
		maxNorm float64
		clipped bool
	}{
		{"clips", 2, true},
		{"clips hard", 0.01, true},
		{"below", 10, false},
		{"infinite", math.Inf(1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := gradParams(g1, g2)
			norm, err := ClipNorm(ps, c.maxNorm)
			require.NoError(t, err)
			require.InDelta(t, want, norm, 1e-12, "returned norm is the norm before clipping")
			after := GradNorm(ps)
			if !c.clipped {
				require.Equal(t, [][]float32{g1, g2}, grads(ps))
				return
			}
			require.InEpsilon(t, c.maxNorm, after, 1e-5)
			// Every element is scaled by the same positive factor: directions kept.
			scale := after / want
			for i, g := range [][]float32{g1, g2} {
				for j, v := range g {
					require.InDelta(t, float64(v)*scale, float64(ps[i].GradData()[j]), 1e-7)
				}
			}
		})
	}
}

func TestClipNormZero(t *testing.T) {
	ps := gradParams(make([]float32, 6), make([]float32, 2))
	norm, err := ClipNorm(ps, 1)
	require.NoError(t, err)
	require.Zero(t, norm)
	require.Equal(t, [][]float32{make([]float32, 6), make([]float32, 2)}, grads(ps))
	norm, err = ClipNorm(ps, 0)
	require.NoError(t, err)
	require.Zero(t, norm)
	require.Equal(t, [][]float32{make([]float32, 6), make([]float32, 2)}, grads(ps))
}

func TestClipNormNonFinite(t *testing.T) {
	cases := []struct {
		name string
		bad  float32
		msg  string
	}{
		{"NaN", float32(math.NaN()), "parameter 1 (b[2]): gradient is NaN at index 1"},
		{"+Inf", float32(math.Inf(1)), "parameter 1 (b[2]): gradient is +Inf at index 1"},
		{"-Inf", float32(math.Inf(-1)), "parameter 1 (b[2]): gradient is -Inf at index 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := gradParams([]float32{30, 0, -40, 1, 2, -2}, []float32{1, c.bad})
			before := grads(ps)
			_, err := ClipNorm(ps, 1)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.msg)
			require.Equal(t, before[0], grads(ps)[0], "gradients must be left untouched")
			require.Equal(t, before[1][0], ps[1].GradData()[0])
		})
	}
	_, err := ClipNorm(gradParams(make([]float32, 6), nil), -1)
	require.ErrorContains(t, err, "max norm -1")
}

func TestGradNorm(t *testing.T) {
	ps := gradParams([]float32{3, 0, 0, 0, 0, 0}, []float32{0, 4})
	ps = append(ps, nn.NewState("mean", 3))
	require.Equal(t, 5.0, GradNorm(ps))
	require.Zero(t, GradNorm(nil))
	// Squares are summed in float64, so large float32 gradients do not overflow.
	big := gradParams([]float32{3e30, 4e30, 0, 0, 0, 0}, nil)
	require.InEpsilon(t, 5e30, GradNorm(big), 1e-6)
}

func TestClipNoAllocs(t *testing.T) {
	ps := gradParams([]float32{3, 0, -4, 1, 2, -2}, []float32{0.5, -0.5})
	require.Zero(t, testing.AllocsPerRun(10, func() {
		_, _ = ClipNorm(ps, 1)
		_ = ClipValue(ps, 0.1)
	}))
}

// TestClipToValue checks that ClipToValue clamps as ClipValue does, leaves
// a NaN in place without complaint, and allocates nothing.
func TestClipToValue(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	ps := gradParams([]float32{0.5, -2, 3, -0.25, inf, -inf}, []float32{1, -1})
	ps = append(ps, nn.NewState("mean", 2)) // no gradient: skipped
	ref := gradParams([]float32{0.5, -2, 3, -0.25, inf, -inf}, []float32{1, -1})
	ClipToValue(ps, 0.75)
	require.NoError(t, ClipValue(ref, 0.75))
	require.Equal(t, grads(ref), grads(ps[:2]))
	require.Equal(t, [][]float32{{0.5, -0.75, 0.75, -0.25, 0.75, -0.75}, {0.75, -0.75}}, grads(ps[:2]))

	ClipToValue(ps, math.Inf(1))
	require.Equal(t, grads(ref), grads(ps[:2]), "+Inf clamps nothing")

	ps = gradParams([]float32{5, nan, -5, 0, 0, 0}, []float32{0, 0})
	ClipToValue(ps, 1)
	g := ps[0].GradData()
	require.Equal(t, []float32{1, -1}, []float32{g[0], g[2]})
	require.True(t, math.IsNaN(float64(g[1])), "NaN stays NaN")
	require.Zero(t, testing.AllocsPerRun(10, func() { ClipToValue(ps, 0.5) }))
}
