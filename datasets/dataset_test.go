package datasets

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

func epoch(l *Loader) [][]int {
	l.Reset()
	var out [][]int
	for b, ok := l.Next(); ok; b, ok = l.Next() {
		out = append(out, slices.Clone(b))
	}
	return out
}

func TestLoaderBatches(t *testing.T) {
	for _, tc := range []struct {
		n, size  int
		dropLast bool
		sizes    []int
	}{
		{10, 3, false, []int{3, 3, 3, 1}},
		{10, 3, true, []int{3, 3, 3}},
		{10, 10, false, []int{10}},    // batch gradient descent
		{3, 1, false, []int{1, 1, 1}}, // stochastic gradient descent
		{4, 8, false, []int{4}},
	} {
		l, err := NewLoader(tc.n, tc.size, false, tc.dropLast, nil)
		require.NoError(t, err)
		var sizes []int
		var all []int
		for _, b := range epoch(l) {
			sizes = append(sizes, len(b))
			all = append(all, b...)
		}
		require.Equal(t, tc.sizes, sizes, "%+v", tc)
		require.Equal(t, len(tc.sizes), l.Batches())
		if !tc.dropLast {
			require.True(t, slices.IsSorted(all) && len(all) == tc.n, "without shuffle every index once, in order")
		}
	}
}

func TestLoaderShufflesEveryEpochFromItsSeed(t *testing.T) {
	mk := func(seed uint64) *Loader {
		l, err := NewLoader(50, 7, true, false, rand.New(rand.NewPCG(seed, 0)))
		require.NoError(t, err)
		return l
	}
	a, b, c := mk(1), mk(1), mk(2)
	e1, e2 := epoch(a), epoch(a)
	require.Equal(t, e1, epoch(b), "same seed, same order")
	require.NotEqual(t, e1, e2, "a new order every epoch")
	require.NotEqual(t, e1, epoch(c), "another seed, another order")
	flat := slices.Concat(e1...)
	slices.Sort(flat)
	for i, v := range flat {
		require.Equal(t, i, v, "each sample exactly once per epoch")
	}
}

func TestLoaderErrors(t *testing.T) {
	for _, tc := range []struct {
		n, size  int
		shuffle  bool
		dropLast bool
		want     string
	}{
		{0, 1, false, false, "loader over 0 samples"},
		{5, 0, false, false, "batch size 0 must be positive"},
		{5, 6, false, true, "leaves no batch"},
		{5, 2, true, false, "needs a random source"},
	} {
		_, err := NewLoader(tc.n, tc.size, tc.shuffle, tc.dropLast, nil)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestSplitAndSubset(t *testing.T) {
	x := nn.NewTensor(10, 2)
	y := nn.NewTensor(10)
	for i := range 10 {
		x.Float32s()[2*i], x.Float32s()[2*i+1] = float32(i), float32(-i)
		y.Float32s()[i] = float32(i)
	}
	d, err := NewTensorDataset(x, y)
	require.NoError(t, err)

	train, val, err := Split(d, 3, nil)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6}, train.Indices)
	require.Equal(t, []int{7, 8, 9}, val.Indices, "without a generator the last samples validate")

	train, val, err = Split(d, 3, rand.New(rand.NewPCG(3, 3)))
	require.NoError(t, err)
	all := slices.Concat(train.Indices, val.Indices)
	slices.Sort(all)
	require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, all, "disjoint and complete")
	require.NotEqual(t, []int{7, 8, 9}, val.Indices)

	bx, by := nn.NewTensor(2, 2), nn.NewTensor(2)
	val.Batch(bx, by, []int{2, 0})
	require.Equal(t, []float32{float32(val.Indices[2]), float32(val.Indices[0])}, by.Float32s())
	require.Equal(t, -bx.Float32s()[0], bx.Float32s()[1])

	_, _, err = Split(d, 10, nil)
	require.ErrorContains(t, err, "validation size 10")
	_, err = NewSubset(d, []int{3, 10})
	require.ErrorContains(t, err, "subset index 10 out of range")
	_, err = NewTensorDataset(nn.NewTensor(3, 2), nn.NewTensor(4))
	require.ErrorContains(t, err, "x has 3 samples, y has 4")
}
