package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAllFinite puts one NaN, +Inf or −Inf at every position of vectors of
// many lengths (covering the AVX blocks of 32 and the tail), and checks the
// finite vectors, including the largest float32, pass.
func TestAllFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, avx := range []bool{false, useAVX} {
		saved := useAVX
		useAVX = avx
		for _, n := range []int{0, 1, 3, 4, 31, 32, 33, 63, 64, 65, 100, 257} {
			x := make([]float32, n)
			for i := range x {
				x[i] = (rng.Float32() - 0.5) * math.MaxFloat32
			}
			if n > 0 {
				x[n/2] = math.MaxFloat32
				x[0] = -math.MaxFloat32
			}
			require.True(t, AllFinite(x), "n=%d avx=%v", n, avx)
			for i := range x {
				for _, b := range bad {
					old := x[i]
					x[i] = b
					require.False(t, AllFinite(x), "n=%d avx=%v: %v at %d", n, avx, b, i)
					x[i] = old
				}
			}
		}
		useAVX = saved
	}
}

func BenchmarkAllFinite(b *testing.B) {
	x := make([]float32, 669706) // the parameters of the 784-512-512-10 MLP
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		if !AllFinite(x) {
			b.Fatal("finite vector reported non-finite")
		}
	}
}

// TestFirstNonFinite puts a NaN, +Inf or −Inf at each position of a vector
// (and a second one later) and checks the first is found, and that finite
// vectors, the largest float32 included, give −1.
func TestFirstNonFinite(t *testing.T) {
	require.Equal(t, -1, FirstNonFinite(nil))
	x := []float32{0, -math.MaxFloat32, math.MaxFloat32, 1e-45, -3}
	require.Equal(t, -1, FirstNonFinite(x))
	for _, b := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		for i := range x {
			y := append([]float32(nil), x...)
			y[i] = b
			y[len(y)-1] = b
			require.Equal(t, i, FirstNonFinite(y), "%v at %d", b, i)
			require.Equal(t, AllFinite(y), FirstNonFinite(y) < 0)
		}
	}
}
