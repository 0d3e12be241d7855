//go:build !amd64 || purego

package vec

// useAVX2 is false where there are no assembly loops (not amd64, or built
// with the purego tag); the stand-ins below are never called.
var useAVX2 = false

const noAVX2 = "vec: no AVX2 loops in this build"

func reluAVX2(dst, src *float32, n int)               { panic(noAVX2) }
func reluGradAVX2(dst, grad, y *float32, n int)       { panic(noAVX2) }
func addAVX2(dst, src *float32, n int)                { panic(noAVX2) }
func sum3AVX2(dst, a, b, c *float32, n int, acc bool) { panic(noAVX2) }
func sumAVX2(x *float32, n int) float32               { panic(noAVX2) }
