//go:build !amd64 || purego

package gemm

// haveKernel reports whether this build has the assembly micro-kernel; only
// amd64 with AVX2 and FMA does. Without it Sgemm never takes the blocked
// path, and the stand-ins below, which keep that path compiling, are never
// called.
var haveKernel = false

const noKernel = "gemm: no assembly micro-kernel in this build"

func kernel6x16(k int, a, b, c *float32, ldc int, alpha float32, acc, mb, nb int) { panic(noKernel) }
func packA6N(k int, a *float32, lda int, dst *float32)                            { panic(noKernel) }
func packA6T(k int, a *float32, lda int, dst *float32)                            { panic(noKernel) }
func packB16N(k int, b *float32, ldb int, dst *float32, nb int)                   { panic(noKernel) }
func packB16T(k int, b *float32, ldb int, dst *float32)                           { panic(noKernel) }
