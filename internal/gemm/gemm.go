// Package gemm multiplies float32 matrices stored row-major in plain slices.
// It is descent's one matrix-multiply kernel: Dense and Conv2D call it
// directly, on contiguous buffers, never through tensor views.
//
// On amd64 CPUs with AVX2 and FMA, Sgemm packs its operands into
// cache-sized blocks and runs a 6×16 micro-kernel written in assembly, on
// several cores for large products (persistent worker goroutines that poll
// for the next product for a moment after each one, then sleep). Elsewhere, and when built with the purego tag, it runs plain
// Go loops. Both paths give the same results up to float32 rounding; the
// assembly path gives bit-identical results however many cores it uses.
//
// Sgemm is safe for concurrent use by several goroutines on distinct outputs.
// After its first calls it never allocates, and it never retains its
// arguments.
package gemm

import "fmt"

// useKernel selects the blocked assembly path where the CPU has it; tests
// turn it off to exercise the portable path.
var useKernel = haveKernel

// Products of fewer than blockedMin multiply-adds (m·n·k) take the plain
// loops even where the assembly path exists: packing would cost more than
// the arithmetic.
var blockedMin = 256

// Sgemm performs C = alpha * op(A) * op(B) + beta * C, where op(X) is X or Xᵀ,
// op(A) is m×k, op(B) is k×n and C is m×n. All matrices are row-major with
// leading dimensions (row strides) lda, ldb and ldc. With beta = 1 the product
// is accumulated into C, which is how gradients accumulate. A beta of 0 means
// C is overwritten, even where it held NaN.
//
// Sgemm panics if a dimension is negative, a leading dimension is smaller
// than its matrix's row length, or a slice is too short for its dimensions.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true)
}

// SgemmSerial is [Sgemm] computed on the calling goroutine alone, whatever
// the size of the product: for callers that already keep every core busy
// with products of their own (Conv2D runs one sample per goroutine). It
// gives the same bits as Sgemm.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false)
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, parallel bool) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check("A", a, ar, ac, lda)
	check("B", b, br, bc, ldb)
	check("C", c, m, n, ldc)

	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	if useKernel && m*n*k >= blockedMin {
		sgemmBlocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, parallel)
		return
	}
	scale(m, n, beta, c, ldc)
	sgemmGeneric(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
}

func check(name string, x []float32, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("gemm: leading dimension of %s is %d, less than its %d columns", name, ld, cols))
	}
	if rows > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: %s has %d values, needs %d for %d×%d with stride %d", name, len(x), (rows-1)*ld+cols, rows, cols, ld))
	}
}

// scale computes C = beta * C; beta = 0 clears C, even NaN.
func scale(m, n int, beta float32, c []float32, ldc int) {
	switch beta {
	case 1:
	case 0:
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
	default:
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
	}
}
