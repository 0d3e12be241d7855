//go:build !amd64 || purego

package layers

// winoAVX2 is false where there are no assembly loops (not amd64, or built
// with the purego tag); the stand-ins below are never called.
var winoAVX2 = false

const noWinoAVX2 = "layers: no AVX2 Winograd loops in this build"

func winoIn8AVX2(xp *float32, pw int, v *float32, vstride int) { panic(noWinoAVX2) }
func winoOut8AVX2(m *float32, mstride int, y0, y1 *float32, bias float32) {
	panic(noWinoAVX2)
}
func winoOutGrad8AVX2(dy0, dy1, m *float32, mstride int) { panic(noWinoAVX2) }
