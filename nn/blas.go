package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/descent-ml/descent/internal/gemm"
)

// BLAS is a BLAS implementation for gorgonia.org/tensor whose single
// precision matrix multiply (Sgemm) is descent's own kernel (AVX2/FMA on
// amd64, a portable loop elsewhere); every other routine is gonum's.
// descent's layers call the kernel directly and do not need it; install it
// when your own code multiplies tensors with tensor.MatMul:
//
//	tensor.Use(nn.BLAS{})
//
// tensor.Use changes a process-wide setting of the tensor package, which is
// why descent never calls it itself.
type BLAS struct {
	gonum.Implementation
}

// Sgemm performs C = alpha·op(A)·op(B) + beta·C on row-major matrices, where
// op(X) is X for blas.NoTrans and Xᵀ otherwise (float32 has no conjugate).
func (BLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm.Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
