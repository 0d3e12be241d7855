package layers

// SetConvPieceMACs sets the bound on the size of the products Conv2D asks of
// gemm (read at Build) and returns the previous value, so that tests can make
// small layers compute their products piece by piece.
func SetConvPieceMACs(n int) int {
	old := convPieceMACs
	convPieceMACs = n
	return old
}
