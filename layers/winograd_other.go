//go:build !amd64 || purego

package layers

// Stand-ins for the loops of winograd_amd64.s, never called (see useAVX2).

const noWinoAVX2 = "layers: no AVX2 Winograd loops in this build"

func winoIn8AVX2(xp *float32, pw int, v *float32, vstride int) { panic(noWinoAVX2) }
func winoOut8AVX2(m *float32, mstride int, y0, y1 *float32, bias float32) {
	panic(noWinoAVX2)
}
func winoOutGrad8AVX2(dy0, dy1, m *float32, mstride int) { panic(noWinoAVX2) }
