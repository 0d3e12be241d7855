//go:build amd64 && !purego

package layers

import "golang.org/x/sys/cpu"

// winoAVX2 selects the assembly loops of winograd_amd64.s where the CPU has
// AVX2; tests turn it off to compare them with the Go loops.
var winoAVX2 = cpu.X86.HasAVX2

//go:noescape
func winoIn8AVX2(xp *float32, pw int, v *float32, vstride int)

//go:noescape
func winoOut8AVX2(m *float32, mstride int, y0, y1 *float32, bias float32)

//go:noescape
func winoOutGrad8AVX2(dy0, dy1, m *float32, mstride int)
