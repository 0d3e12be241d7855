//go:build !amd64 || purego

package layers

// Stand-ins for the AVX2 loops of pool_amd64.s, never called (see useAVX2).

const noPoolAVX2 = "layers: no AVX2 pooling loops in this build"

func maxPool22AVX2(y *float32, k *uint8, x *float32, w, oh, ow int)      { panic(noPoolAVX2) }
func maxUnpool22AVX2(dst *float32, k *uint8, dy *float32, w, oh, ow int) { panic(noPoolAVX2) }
