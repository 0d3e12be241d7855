// Package gemm multiplies float32 matrices stored row-major in plain slices.
// It is descent's one matrix-multiply kernel: Dense and Conv2D call it
// directly, on contiguous buffers, never through tensor views.
//
// Sgemm never allocates and never retains its arguments.
package gemm

import "fmt"

// Sgemm performs C = alpha * op(A) * op(B) + beta * C, where op(X) is X or Xᵀ,
// op(A) is m×k, op(B) is k×n and C is m×n. All matrices are row-major with
// leading dimensions (row strides) lda, ldb and ldc. With beta = 1 the product
// is accumulated into C, which is how gradients accumulate. A beta of 0 means
// C is overwritten, even where it held NaN.
//
// Sgemm panics if a slice is too short for its dimensions.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
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

	// C = beta * C.
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
	if k == 0 || alpha == 0 {
		return
	}

	switch {
	case !transA && !transB:
		// C[i,:] += alpha * A[i,p] * B[p,:]
		for i := 0; i < m; i++ {
			crow := c[i*ldc : i*ldc+n]
			arow := a[i*lda : i*lda+k]
			for p, av := range arow {
				if av != 0 {
					axpy(alpha*av, b[p*ldb:p*ldb+n], crow)
				}
			}
		}
	case transA && !transB:
		// A is stored k×m: C[i,:] += alpha * A[p,i] * B[p,:]
		for p := 0; p < k; p++ {
			arow := a[p*lda : p*lda+m]
			brow := b[p*ldb : p*ldb+n]
			for i, av := range arow {
				if av != 0 {
					axpy(alpha*av, brow, c[i*ldc:i*ldc+n])
				}
			}
		}
	case !transA && transB:
		// B is stored n×k: C[i,j] += alpha * dot(A[i,:], B[j,:])
		for i := 0; i < m; i++ {
			arow := a[i*lda : i*lda+k]
			crow := c[i*ldc : i*ldc+n]
			for j := range crow {
				crow[j] += alpha * dot(arow, b[j*ldb:j*ldb+k])
			}
		}
	default:
		// Both transposed: C[i,j] += alpha * Σ_p A[p,i] * B[j,p]
		for i := 0; i < m; i++ {
			crow := c[i*ldc : i*ldc+n]
			for j := range crow {
				brow := b[j*ldb : j*ldb+k]
				var s float32
				for p, bv := range brow {
					s += a[p*lda+i] * bv
				}
				crow[j] += alpha * s
			}
		}
	}
}

func check(name string, x []float32, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("gemm: leading dimension of %s is %d, less than its %d columns", name, ld, cols))
	}
	if rows > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: %s has %d values, needs %d for %d×%d with stride %d", name, len(x), (rows-1)*ld+cols, rows, cols, ld))
	}
}

// axpy computes y += alpha * x.
func axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += alpha * x[i]
		y[i+1] += alpha * x[i+1]
		y[i+2] += alpha * x[i+2]
		y[i+3] += alpha * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// dot returns Σ x[i]*y[i].
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}
