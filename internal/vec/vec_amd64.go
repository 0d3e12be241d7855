//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

// useAVX2 selects the loops of vec_amd64.s where the CPU has AVX2; tests
// turn it off to compare them with the portable loops.
var useAVX2 = cpu.X86.HasAVX2

// The loops below handle the first n elements, n a positive multiple of 8,
// eight at a time; the Go functions in vec.go finish the rest.

//go:noescape
func reluAVX2(dst, src *float32, n int)

//go:noescape
func reluGradAVX2(dst, grad, y *float32, n int)

//go:noescape
func addAVX2(dst, src *float32, n int)

//go:noescape
func sum3AVX2(dst, a, b, c *float32, n int, acc bool)

//go:noescape
func sumAVX2(x *float32, n int) float32
