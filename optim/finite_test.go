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
