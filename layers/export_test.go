package layers

// ConvWinograd reports whether c computes its forward pass by Winograd's
// F(2×2, 3×3), so that tests can check which cases reach that path.
func ConvWinograd(c *Conv2D) bool { return c.wf != nil }

// SetWinogradAVX2 selects the assembly loops (on, where this build and CPU
// have them) or the Go loops of the Winograd transforms, and returns the
// previous setting.
func SetWinogradAVX2(on bool) bool {
	old := winoAVX2
	winoAVX2 = on && winoAVX2Available
	return old
}
