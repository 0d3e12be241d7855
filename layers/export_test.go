package layers

// Test hooks: which paths a layer takes, and switches between the assembly
// loops and the Go loops, so that tests can check both.

// ConvWinograd reports whether c computes Y, dW and db by Winograd's
// F(2×2, 3×3), so that tests can check which cases reach that path.
func ConvWinograd(c *Conv2D) bool { return c.wf != nil }

// winoAVX2Available is whether this build and CPU have the Winograd
// transforms' AVX2 loops.
var winoAVX2Available = winoAVX2

// SetWinogradAVX2 selects the assembly loops (on, where this build and CPU
// have them) or the Go loops of the Winograd transforms, and returns the
// previous setting.
func SetWinogradAVX2(on bool) bool {
	old := winoAVX2
	winoAVX2 = on && winoAVX2Available
	return old
}

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
