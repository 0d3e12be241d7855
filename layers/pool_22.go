package layers

import "math"

// Max-pooling with 2×2 windows and stride 2, the common case, has loops of
// its own. Its windows do not overlap, so the winner of a window is stored
// compactly as its position k = 2·ki + kj (0 … 3) in the window, one byte
// per output, and Backward fills dX one plane at a time (the AVX2 loop
// writing every element once, in order) instead of clearing all of dX and
// then adding dY at winners scattered over it.
//
// Where the CPU has AVX2 (amd64, not built with the purego tag), the planes
// with at least 8 outputs per row go through the assembly loops of
// pool_amd64.s; the loops below do the rest, and everything elsewhere. Both
// give the same bits.

// maxPool22Planes is Forward for planes [p0, p1) of x with 2×2 windows and
// stride 2: it writes the maxima to y and their positions in their windows
// to m.win.
func (m *MaxPool2D) maxPool22Planes(y, x []float32, p0, p1 int) {
	h, w, oh, ow := m.h, m.w, m.oh, m.ow
	hw, ohw := h*w, oh*ow
	for plane := p0; plane < p1; plane++ {
		xp := x[plane*hw : (plane+1)*hw]
		yp, kp := y[plane*ohw:(plane+1)*ohw], m.win[plane*ohw:(plane+1)*ohw]
		if useAVX2 && ow >= 8 {
			// The assembly reads rows 0 … 2·oh − 1 and columns
			// 0 … 2·ow − 1 of the plane, all inside xp.
			maxPool22AVX2(&yp[0], &kp[0], &xp[0], w, oh, ow)
			continue
		}
		maxPool22(yp, kp, xp, w, oh, ow)
	}
}

// maxUnpool22Planes is Backward for planes [p0, p1) with 2×2 windows and
// stride 2: dx = 0 + g at the winner of each window (the sum that clearing
// dx and adding g gives: +0 where g is −0), +0 everywhere else.
func (m *MaxPool2D) maxUnpool22Planes(dx, g []float32, p0, p1 int) {
	h, w, oh, ow := m.h, m.w, m.oh, m.ow
	hw, ohw := h*w, oh*ow
	for plane := p0; plane < p1; plane++ {
		dp := dx[plane*hw : (plane+1)*hw]
		gp, kp := g[plane*ohw:(plane+1)*ohw], m.win[plane*ohw:(plane+1)*ohw]
		if !useAVX2 || ow < 8 {
			maxUnpool22(dp, kp, gp, w, oh, ow)
			continue
		}
		maxUnpool22AVX2(&dp[0], &kp[0], &gp[0], w, oh, ow)
		// The column and the row that no window reaches (odd W, odd H).
		if w > 2*ow {
			for r := range 2 * oh {
				dp[r*w+w-1] = 0
			}
		}
		clear(dp[2*oh*w:])
	}
}

// maxPool22 pools one h×w plane x (h ≥ 2·oh, w ≥ 2·ow) into the oh×ow
// plane y, and stores in k the position 2·ki + kj of each maximum in its
// window. It finds the maximum of a window a b / c d as the general loop
// does (the first maximum in window order, or the last NaN), but as a
// tournament: the maximum of a and b, that of c and d, then that of the
// two, each choice a comparison turned into a mask that selects bit
// patterns, so that nothing branches on the data (which element of a window
// is the largest is as good as random, and a mispredicted branch costs more
// than the rest of the work on a window). Windows with a NaN (seen as a NaN
// sum, which +Inf and −Inf also give) take a branch of their own, never
// taken in practice.
func maxPool22(y []float32, k []uint8, x []float32, w, oh, ow int) {
	for oy := range oh {
		r0 := x[2*oy*w : 2*oy*w+2*ow]
		r1 := x[(2*oy+1)*w : (2*oy+1)*w+2*ow]
		r1 = r1[:len(r0)]
		yr, kr := y[oy*ow:(oy+1)*ow], k[oy*ow:(oy+1)*ow]
		yr, kr = yr[:len(r0)/2], kr[:len(r0)/2]
		for i := range yr {
			a, b, c, d := r0[2*i], r0[2*i+1], r1[2*i], r1[2*i+1]
			if s := a + b + c + d; s != s {
				// A NaN (or +Inf and −Inf): the general rule.
				yr[i], kr[i] = poolScan4(a, b, c, d)
				continue
			}
			// A tournament: the first maximum of each row's pair, then of
			// the two (a later element wins only if larger).
			ab, bb := math.Float32bits(a), math.Float32bits(b)
			cb, db := math.Float32bits(c), math.Float32bits(d)
			// sel is all ones where the later element wins.
			sel := -poolB2U(b > a)
			t, kt := ab^(ab^bb)&sel, 1&sel
			sel = -poolB2U(d > c)
			u, ku := cb^(cb^db)&sel, 2+1&sel
			sel = -poolB2U(math.Float32frombits(u) > math.Float32frombits(t))
			yr[i], kr[i] = math.Float32frombits(t^(t^u)&sel), uint8(kt^(kt^ku)&sel)
		}
	}
}

// maxUnpool22 is maxPool22's Backward for one plane: it clears dx and
// writes 0 + g (the gradient of a window's output) at each window's winner.
func maxUnpool22(dx []float32, k []uint8, g []float32, w, oh, ow int) {
	clear(dx)
	at := [4]int{0, 1, w, w + 1} // the offsets of a window's positions from its top left
	for oy := range oh {
		maxUnpool22Row(dx[2*oy*w:], k[oy*ow:(oy+1)*ow], g[oy*ow:(oy+1)*ow], &at)
	}
}

// maxUnpool22Row writes 0 + g[i] at top[2i + at[k[i]]] for every window i
// of a row (+ 0 turns −0 into +0, as adding to a cleared dx did). It is kept
// out of line: inlined into maxUnpool22 (Go 1.26), its loop reloads spilled
// registers on every window and runs about half as fast.
//
//go:noinline
func maxUnpool22Row(top []float32, k []uint8, g []float32, at *[4]int) {
	g = g[:len(k)]
	for i, p := range k {
		top[2*i+at[p&3]] = g[i] + 0
	}
}

// poolScan4 returns the maximum of a, b, c, d and its position by the
// general loop's rule: scanning in order, an element wins if it is larger
// than the winner so far or NaN.
func poolScan4(a, b, c, d float32) (float32, uint8) {
	best, k := a, uint8(0)
	for i, v := range [3]float32{b, c, d} {
		if v > best || v != v {
			best, k = v, uint8(i+1)
		}
	}
	return best, k
}

// poolB2U returns 1 for true and 0 for false; the compiler makes it a
// SETcc instruction, not a branch.
func poolB2U(b bool) uint32 {
	var u uint32
	if b {
		u = 1
	}
	return u
}
