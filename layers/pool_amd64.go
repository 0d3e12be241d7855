//go:build amd64 && !purego

package layers

// maxPool22AVX2 is maxPool22 for one plane with ow ≥ 8: it reads the h×w
// plane at x (row stride w elements, h ≥ 2·oh, w ≥ 2·ow) and writes the
// oh×ow maxima to y and their positions in their windows (2·ki + kj) to k,
// bit for bit as maxPool22 does. It takes 8 windows a b / c d at a time:
// a, b, c, d are the even and odd lanes of 16 elements of two input rows,
// and three rounds of "the later element wins if it is larger or NaN"
// (b over a, d over c, then the second pair's winner over the first's)
// give the general loop's winner: the first maximum in window order, or
// the last NaN. A row whose width is not a multiple of 8 windows ends with
// its last 8 or 4 windows, overlapping the ones before.
//
//go:noescape
func maxPool22AVX2(y *float32, k *uint8, x *float32, w, oh, ow int)

// maxUnpool22AVX2 is maxUnpool22 for one plane with ow ≥ 8: for each of the
// oh×ow windows of the h×w plane dst (row stride w), it writes 0 + dy[i] at
// the window's position k[i] and +0 at its other three positions, 8
// windows at a time (the last 8 or 4 of a row overlapping the ones before).
//
//go:noescape
func maxUnpool22AVX2(dst *float32, k *uint8, dy *float32, w, oh, ow int)
