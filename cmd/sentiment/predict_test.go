package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDescendingKeepsTiesInIndexOrder(t *testing.T) {
	negZero := math.Copysign(0, -1)
	require.Equal(t, []int{1, 5, 0, 2, 3, 4, 6}, descending([]float64{1, 3, 1, negZero, 0, 3, -2}))
	require.Empty(t, descending(nil))

	// The same order as the explicit comparison it replaced, on values
	// with many ties (and both zeros).
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []float64{-1.5, negZero, 0, 0.25, 2}
	for range 50 {
		v := make([]float64, rng.IntN(40))
		for i := range v {
			v[i] = vals[rng.IntN(len(vals))]
		}
		want := make([]int, len(v))
		for i := range want {
			want[i] = i
		}
		slices.SortStableFunc(want, func(a, b int) int {
			switch {
			case v[a] > v[b]:
				return -1
			case v[a] < v[b]:
				return 1
			}
			return 0
		})
		require.Equal(t, want, descending(v), "%v", v)
	}
}
