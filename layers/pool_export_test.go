package layers

// PoolAVX2Available reports whether 2×2 max-pooling can use the AVX2 loops
// on this machine and build.
var PoolAVX2Available = poolAVX2

// SetPoolAVX2 selects the AVX2 loops (on, where available) or the portable
// loops for 2×2 max-pooling with stride 2, and returns the previous setting,
// so that tests can check both against the general rule.
func SetPoolAVX2(on bool) bool {
	old := poolAVX2
	poolAVX2 = on && PoolAVX2Available
	return old
}
