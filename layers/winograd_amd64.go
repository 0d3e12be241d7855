//go:build amd64 && !purego

package layers

// The loops of winograd_amd64.s, used where useAVX2 is set.

//go:noescape
func winoIn8AVX2(xp *float32, pw int, v *float32, vstride int)

//go:noescape
func winoOut8AVX2(m *float32, mstride int, y0, y1 *float32, bias float32)

//go:noescape
func winoOutGrad8AVX2(dy0, dy1, m *float32, mstride int)
