//go:build amd64 && !purego

package gemm

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPackers checks each assembly packing routine against its definition,
// for depths around the 8-wide transposes and sources with padded rows.
func TestPackers(t *testing.T) {
	if !haveKernel {
		return
	}
	rng := rand.New(rand.NewPCG(10, 10))
	for _, k := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 64, 255, 256} {
		const ld = 300 // leading dimension of every source
		src := randSlice(rng, max(16, k)*ld+16)
		dst := make([]float32, 16*k+1)
		sentinel := float32(-7)

		dst[6*k] = sentinel
		packA6N(k, &src[0], ld, &dst[0])
		for p := range k {
			for r := range 6 {
				require.Equal(t, src[r*ld+p], dst[6*p+r], "packA6N k=%d p=%d r=%d", k, p, r)
			}
		}
		require.Equal(t, sentinel, dst[6*k], "packA6N k=%d wrote past its panel", k)

		packA6T(k, &src[0], ld, &dst[0])
		for p := range k {
			for r := range 6 {
				require.Equal(t, src[p*ld+r], dst[6*p+r], "packA6T k=%d p=%d r=%d", k, p, r)
			}
		}
		require.Equal(t, sentinel, dst[6*k], "packA6T k=%d wrote past its panel", k)

		dst[16*k] = sentinel
		packB16T(k, &src[0], ld, &dst[0])
		for p := range k {
			for c := range 16 {
				require.Equal(t, src[c*ld+p], dst[16*p+c], "packB16T k=%d p=%d c=%d", k, p, c)
			}
		}
		require.Equal(t, sentinel, dst[16*k], "packB16T k=%d wrote past its panel", k)

		for nb := 1; nb <= 16; nb++ {
			for i := range dst[:16*k] {
				dst[i] = float32(rng.NormFloat64()) // must become zero padding
			}
			packB16N(k, &src[0], ld, &dst[0], nb)
			for p := range k {
				for c := range 16 {
					want := float32(0)
					if c < nb {
						want = src[p*ld+c]
					}
					require.Equal(t, want, dst[16*p+c], "packB16N k=%d nb=%d p=%d c=%d", k, nb, p, c)
				}
			}
			require.Equal(t, sentinel, dst[16*k], "packB16N k=%d wrote past its panel", k)
		}
	}
}
