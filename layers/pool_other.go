//go:build !amd64 || purego

package layers

// poolAVX2 is false where there are no AVX2 loops (not amd64, or built with
// the purego tag): 2×2 max-pooling goes through the portable loops of
// pool_22.go, and the stand-ins below, which keep the dispatch compiling,
// are never called.
var poolAVX2 = false

const noPoolAVX2 = "layers: no AVX2 pooling loops in this build"

func maxPool22AVX2(y *float32, k *uint8, x *float32, w, oh, ow int)      { panic(noPoolAVX2) }
func maxUnpool22AVX2(dst *float32, k *uint8, dy *float32, w, oh, ow int) { panic(noPoolAVX2) }
