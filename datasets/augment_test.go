package datasets

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

// naiveShift is the definition: out[i][j] = in[i−dy][j−dx], fill outside.
func naiveShift(in []float32, h, w, dy, dx int, fill float32) []float32 {
	out := make([]float32, h*w)
	for i := range h {
		for j := range w {
			si, sj := i-dy, j-dx
			if si < 0 || si >= h || sj < 0 || sj >= w {
				out[i*w+j] = fill
			} else {
				out[i*w+j] = in[si*w+sj]
			}
		}
	}
	return out
}

func TestShiftMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, hw := range [][2]int{{1, 1}, {1, 5}, {4, 1}, {3, 3}, {5, 7}, {28, 28}} {
		h, w := hw[0], hw[1]
		for dy := -h; dy <= h; dy++ {
			for dx := -w; dx <= w; dx++ {
				img := make([]float32, h*w)
				for i := range img {
					img[i] = rng.Float32()
				}
				want := naiveShift(img, h, w, dy, dx, -1)
				shift(img, make([]float32, h*w), h, w, dy, dx, -1)
				require.Equal(t, want, img, "%d×%d by (%d, %d)", h, w, dy, dx)
			}
		}
	}
}

func TestRandomShiftBatch(t *testing.T) {
	const n, c, h, w = 40, 2, 5, 6
	x := tensor.New(tensor.WithShape(n, c, h, w), tensor.Of(tensor.Float32))
	y := tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32))
	xs, ys := x.Float32s(), y.Float32s()
	for i := range xs {
		xs[i] = float32(i + 1) // every pixel distinct and never the fill
	}
	for i := range ys {
		ys[i] = float32(i % 3)
	}
	d, err := NewTensorDataset(x, y)
	require.NoError(t, err)
	rs, err := NewRandomShift(d, 2, 0, rand.New(rand.NewPCG(7, 7)))
	require.NoError(t, err)
	require.Equal(t, d.InputShape(), rs.InputShape())
	require.Equal(t, n, rs.Len())

	idx := make([]int, n)
	for i := range idx {
		idx[i] = n - 1 - i
	}
	bx := tensor.New(tensor.WithShape(n, c, h, w), tensor.Of(tensor.Float32))
	by := tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32))
	rs.Batch(bx, by, idx)
	out := bx.Float32s()
	moved := 0
	for b, i := range idx {
		require.Equal(t, ys[i], by.Float32s()[b], "targets pass through")
		// Recover the offset from the first channel, then check both channels
		// against the definition with that same offset.
		found := false
		for dy := -2; dy <= 2 && !found; dy++ {
			for dx := -2; dx <= 2 && !found; dx++ {
				src0 := xs[(i*c)*h*w : (i*c+1)*h*w]
				if !equal(naiveShift(src0, h, w, dy, dx, 0), out[(b*c)*h*w:(b*c+1)*h*w]) {
					continue
				}
				found = true
				src1 := xs[(i*c+1)*h*w : (i*c+2)*h*w]
				require.Equal(t, naiveShift(src1, h, w, dy, dx, 0), out[(b*c+1)*h*w:(b*c+2)*h*w], "channels share the offset")
				if dy != 0 || dx != 0 {
					moved++
				}
			}
		}
		require.True(t, found, "sample %d is its image shifted by at most 2 pixels", b)
	}
	require.Greater(t, moved, n/2, "most samples move (1 in 25 stays put)")

	// The same seed gives the same batch; zero allocations once built.
	rs2, err := NewRandomShift(d, 2, 0, rand.New(rand.NewPCG(7, 7)))
	require.NoError(t, err)
	bx2 := tensor.New(tensor.WithShape(n, c, h, w), tensor.Of(tensor.Float32))
	rs2.Batch(bx2, by, idx)
	require.Equal(t, out, bx2.Float32s())
	require.Zero(t, testing.AllocsPerRun(10, func() { rs.Batch(bx, by, idx) }))
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRandomShiftErrors(t *testing.T) {
	flat, err := NewTensorDataset(tensor.New(tensor.WithShape(3, 4), tensor.Of(tensor.Float32)), tensor.New(tensor.WithShape(3), tensor.Of(tensor.Float32)))
	require.NoError(t, err)
	_, err = NewRandomShift(flat, 1, 0, rand.New(rand.NewPCG(1, 1)))
	require.ErrorContains(t, err, "[channels height width]")

	img, err := NewTensorDataset(tensor.New(tensor.WithShape(3, 1, 4, 6), tensor.Of(tensor.Float32)), tensor.New(tensor.WithShape(3), tensor.Of(tensor.Float32)))
	require.NoError(t, err)
	_, err = NewRandomShift(img, 4, 0, rand.New(rand.NewPCG(1, 1)))
	require.ErrorContains(t, err, "want 0 to 3")
	_, err = NewRandomShift(img, -1, 0, rand.New(rand.NewPCG(1, 1)))
	require.Error(t, err)
	_, err = NewRandomShift(img, 1, 0, nil)
	require.ErrorContains(t, err, "random source")
}
