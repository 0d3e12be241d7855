package nn

import (
	"math"
	"math/rand/v2"
)

// Initializer fills w with initial weights for a layer with fanIn inputs and
// fanOut outputs per unit, drawing from rng. The same rng state gives the same
// weights, bit for bit.
type Initializer func(w []float32, fanIn, fanOut int, rng *rand.Rand)

// Zeros sets every weight to zero.
func Zeros(w []float32, fanIn, fanOut int, rng *rand.Rand) { clear(w) }

// GlorotUniform (Xavier uniform) draws from U(-a, a), a = sqrt(6 / (fanIn + fanOut)).
func GlorotUniform(w []float32, fanIn, fanOut int, rng *rand.Rand) {
	uniform(w, math.Sqrt(6/float64(fanIn+fanOut)), rng)
}

// GlorotNormal (Xavier normal) draws from N(0, σ²), σ = sqrt(2 / (fanIn + fanOut)).
func GlorotNormal(w []float32, fanIn, fanOut int, rng *rand.Rand) {
	normal(w, math.Sqrt(2/float64(fanIn+fanOut)), rng)
}

// HeUniform (Kaiming uniform, for ReLU) draws from U(-a, a), a = sqrt(6 / fanIn).
func HeUniform(w []float32, fanIn, fanOut int, rng *rand.Rand) {
	uniform(w, math.Sqrt(6/float64(fanIn)), rng)
}

// HeNormal (Kaiming normal, for ReLU) draws from N(0, σ²), σ = sqrt(2 / fanIn).
func HeNormal(w []float32, fanIn, fanOut int, rng *rand.Rand) {
	normal(w, math.Sqrt(2/float64(fanIn)), rng)
}

// LeCunUniform draws from U(-a, a), a = sqrt(3 / fanIn).
func LeCunUniform(w []float32, fanIn, fanOut int, rng *rand.Rand) {
	uniform(w, math.Sqrt(3/float64(fanIn)), rng)
}

// LeCunNormal draws from N(0, σ²), σ = sqrt(1 / fanIn).
func LeCunNormal(w []float32, fanIn, fanOut int, rng *rand.Rand) {
	normal(w, math.Sqrt(1/float64(fanIn)), rng)
}

func uniform(w []float32, a float64, rng *rand.Rand) {
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * a)
	}
}

func normal(w []float32, sigma float64, rng *rand.Rand) {
	for i := range w {
		w[i] = float32(rng.NormFloat64() * sigma)
	}
}
