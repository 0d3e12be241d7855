// Package vec holds the element-wise loops of the training step's hot paths,
// in AVX2 assembly where the CPU has it and in plain Go elsewhere (other
// architectures, or builds with the purego tag). Both paths give the same
// bits for every input, except that where two NaNs meet in a sum, either
// one's payload may come out (as in Go's own float32 loops, where it
// depends on the compiler's operand order).
//
// Go compiles the builtin max of two float32 values, and the branch-free
// masks these loops need, to about a nanosecond per element; eight lanes at
// a time take a tenth of that, which matters for activations of millions of
// values per batch.
package vec

import "math"

// ReLU sets dst[i] = max(src[i], 0) for every i < len(src), bit for bit as
// Go's max gives it on amd64: −0 becomes +0, and a NaN stays NaN with its
// sign bit cleared. dst must hold at least
// len(src) values; it may be src itself.
func ReLU(dst, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if useAVX2 && len(src) >= 8 {
		n = len(src) &^ 7
		reluAVX2(&dst[0], &src[0], n)
	}
	for i := n; i < len(src); i++ {
		dst[i] = max(src[i], 0)
	}
}

// ReLUGrad sets dst[i] = g[i] where y[i] is not +0 and dst[i] = +0 where it
// is, for every i < len(g): the gradient dY ⊙ [Y > 0] of a ReLU whose output
// is y (which is +0, positive or NaN, never negative: a NaN output passes its
// gradient). dst and y must hold at least len(g) values; dst may be g.
func ReLUGrad(dst, g, y []float32) {
	dst, y = dst[:len(g)], y[:len(g)]
	n := 0
	if useAVX2 && len(g) >= 8 {
		n = len(g) &^ 7
		reluGradAVX2(&dst[0], &g[0], &y[0], n)
	}
	for i := n; i < len(g); i++ {
		dst[i] = reluPass(g[i], y[i])
	}
}

// reluPass returns g if y's bits are not those of +0, and +0 otherwise,
// without a branch: for a 32-bit u, u | −u has its top bit set exactly when
// u ≠ 0, and an arithmetic shift right by 31 spreads that bit into a mask.
func reluPass(g, y float32) float32 {
	u := math.Float32bits(y)
	mask := uint32(int32(u|-u) >> 31)
	return math.Float32frombits(math.Float32bits(g) & mask)
}

// Add sets dst[i] += src[i] for every i < len(src); dst must hold at least
// len(src) values.
func Add(dst, src []float32) {
	dst = dst[:len(src)]
	n := 0
	if useAVX2 && len(src) >= 8 {
		n = len(src) &^ 7
		addAVX2(&dst[0], &src[0], n)
	}
	for i := n; i < len(src); i++ {
		dst[i] += src[i]
	}
}

// Sum3 sets dst[i] = (a[i] + b[i]) + c[i] for every i < len(a), or adds that
// sum to dst[i] if acc is set, rounding after each addition in that order.
// dst, b and c must hold at least len(a) values.
func Sum3(dst, a, b, c []float32, acc bool) {
	dst, b, c = dst[:len(a)], b[:len(a)], c[:len(a)]
	n := 0
	if useAVX2 && len(a) >= 8 {
		n = len(a) &^ 7
		sum3AVX2(&dst[0], &a[0], &b[0], &c[0], n, acc)
	}
	for i := n; i < len(a); i++ {
		if acc {
			dst[i] += a[i] + b[i] + c[i]
		} else {
			dst[i] = a[i] + b[i] + c[i]
		}
	}
}

// Sum returns the sum of x, added in a fixed order whatever the CPU: eight
// running sums, of the elements i with i mod 8 = 0, 1, …, 7 among the first
// len(x) &^ 7, combined pairwise as ((s0 + s4) + (s2 + s6)) + ((s1 + s5) +
// (s3 + s7)), then the remaining elements one by one.
func Sum(x []float32) float32 {
	n := len(x) &^ 7
	var total float32
	if n > 0 {
		if useAVX2 {
			total = sumAVX2(&x[0], n)
		} else {
			var s [8]float32
			for i := 0; i < n; i += 8 {
				for l := range s {
					s[l] += x[i+l]
				}
			}
			total = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
		}
	}
	for _, v := range x[n:] {
		total += v
	}
	return total
}
