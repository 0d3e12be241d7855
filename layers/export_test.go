package layers

// Test hooks: which paths a layer takes, and switches between the assembly
// loops and the Go loops, so that tests can check both.

// ConvWinograd reports whether c computes Y, dW and db by Winograd's
// F(2×2, 3×3), so that tests can check which cases reach that path.
func ConvWinograd(c *Conv2D) bool { return c.wf != nil }

// AVX2Available reports whether this build and CPU have the package's AVX2
// loops.
var AVX2Available = useAVX2

// SetAVX2 selects the AVX2 loops (on, where available) or the Go loops of
// 2×2 max-pooling and of the Winograd transforms, and returns the previous
// setting, so that tests can check both.
func SetAVX2(on bool) bool {
	old := useAVX2
	useAVX2 = on && AVX2Available
	return old
}
