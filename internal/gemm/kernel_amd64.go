//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// haveKernel reports whether this CPU runs the assembly micro-kernel and
// packing routines (AVX2 and FMA3).
var haveKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel6x16 computes the 6×16 tile T = Σ_p a[6p+r] · b[16p+j] over
// p < k from a packed A micro-panel a (k columns of 6) and a packed B
// micro-panel b (k rows of 16), then adds alpha·T into the tile of C at c
// with row stride ldc (acc ≠ 0) or stores alpha·T there (acc = 0). Only the
// first mb ≤ 6 rows and nb ≤ 16 columns of the tile are read or written
// (masked loads and stores at the ragged edges of C).
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int, alpha float32, acc int, mb, nb int)

// packA6N packs six rows of a row-major A: dst[6p+r] = a[r·lda+p], p < k.
//
//go:noescape
func packA6N(k int, a *float32, lda int, dst *float32)

// packA6T packs six columns of a row-major Aᵀ: dst[6p+r] = a[p·lda+r], p < k.
//
//go:noescape
func packA6T(k int, a *float32, lda int, dst *float32)

// packB16N packs nb ≤ 16 columns of a row-major B, zero-padded to 16:
// dst[16p+c] = b[p·ldb+c] for c < nb, p < k.
//
//go:noescape
func packB16N(k int, b *float32, ldb int, dst *float32, nb int)

// packB16T packs sixteen rows of a row-major Bᵀ: dst[16p+c] = b[c·ldb+p],
// p < k.
//
//go:noescape
func packB16T(k int, b *float32, ldb int, dst *float32)
