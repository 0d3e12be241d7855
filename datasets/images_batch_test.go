package datasets

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// BenchmarkImagesBatch fills a batch of 64 MNIST-sized images drawn at
// random from a 60,000-image set, as every training step does.
func BenchmarkImagesBatch(b *testing.B) {
	const n, rows, cols, batch = 60000, 28, 28, 64
	rng := rand.New(rand.NewPCG(1, 2))
	d := &Images{Pixels: make([]uint8, n*rows*cols), Labels: make([]uint8, n), Rows: rows, Cols: cols, Classes: 10, Mean: MNISTMean, Std: MNISTStd}
	for i := range d.Pixels {
		d.Pixels[i] = uint8(rng.UintN(256))
	}
	x := tensor.New(tensor.WithShape(batch, 1, rows, cols), tensor.Of(tensor.Float32))
	y := tensor.New(tensor.WithShape(batch), tensor.Of(tensor.Float32))
	perm := rng.Perm(n)
	b.SetBytes(batch * rows * cols)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s := i * batch % (n - batch)
		d.Batch(x, y, perm[s:s+batch])
	}
}

func TestConvert(t *testing.T) {
	var lut [256]float32
	for p := range lut {
		lut[p] = float32(p)*0.5 - 3
	}
	for n := range 20 {
		src := make([]uint8, n)
		for i := range src {
			src[i] = uint8(37*i + 11)
		}
		dst := make([]float32, n+1)
		dst[n] = 42
		convert(dst, src, &lut)
		for i, p := range src {
			if dst[i] != lut[p] {
				t.Fatalf("n=%d: dst[%d] = %v, want lut[%d] = %v", n, i, dst[i], p, lut[p])
			}
		}
		if dst[n] != 42 {
			t.Fatalf("n=%d: wrote past len(src)", n)
		}
	}
}
