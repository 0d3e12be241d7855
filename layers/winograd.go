package layers

import (
	"github.com/descent-ml/descent/internal/gemm"
	"github.com/descent-ml/descent/internal/vec"
)

// Winograd's minimal filtering, F(2×2, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016), computes the forward
// pass of a 3×3, stride-1 Conv2D with 16 multiplications per 2×2 block of
// outputs, per filter and channel, instead of the 36 of the direct sum.
//
// In one dimension, two outputs of a 3-tap correlation over four inputs d,
// y0 = d0·g0 + d1·g1 + d2·g2 and y1 = d1·g0 + d2·g1 + d3·g2, are
//
//	y = Aᵀ [(G g) ⊙ (Bᵀ d)]
//
//	     ⎡1  0 −1  0⎤         ⎡1   0   0⎤
//	Bᵀ = ⎢0  1  1  0⎥     G = ⎢½   ½   ½⎥     Aᵀ = ⎡1  1  1  0⎤
//	     ⎢0 −1  1  0⎥         ⎢½  −½   ½⎥          ⎣0  1 −1 −1⎦
//	     ⎣0  1  0 −1⎦         ⎣0   0   1⎦
//
// (multiply it out: the halves cancel). Nested, for the 4×4 input tile d
// under a 2×2 block of outputs and the 3×3 kernel g,
//
//	Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A.
//
// The tiles of the output step by 2, so neighbouring input tiles overlap by
// two rows or columns. Summed over the C channels, the element-wise products
// at each of the 16 positions ξ of a transformed tile become one matrix
// product for all filters and all tiles of a sample at once:
//
//	U[ξ][f, c] = (G W[f, c] Gᵀ)[ξ]         [F, C], once per Forward
//	V[ξ][c, t] = (Bᵀ d_{c,t} B)[ξ]          [C, T], tile t of channel c
//	M[ξ]       = U[ξ] · V[ξ]                [F, T], 16 calls of gemm
//	Y_{f,t}    = Aᵀ M[·][f, t] A + b[f]     the 2×2 outputs of tile t
//
// which is 16·F·C·T multiply-adds where the im2col product has 36·F·C·T
// (T = ⌈OH/2⌉·⌈OW/2⌉ tiles), plus the transforms, which only add. The
// results differ from the direct sum by float32 rounding alone. Conv2D uses
// it for the forward pass only: the backward pass is the exact gradient of
// the convolution, computed through im2col as before.

// winoMinChannels is the fewest input channels (and filters) for which
// Conv2D takes the Winograd path: with fewer, the products are too thin
// (their inner dimension is C) for the saved multiplications to pay for
// the transforms.
const winoMinChannels = 8

// winoSkew is added to the distance between the 16 matrices V[ξ] (and
// M[ξ]) in memory. The transforms read or write all 16 at once; at a
// distance that is a multiple of 4 KiB (F·T·4 bytes is, for the conv net's
// 64 filters and 144 tiles) they would all map to the same few sets of the
// L1 cache and keep evicting each other. One cache line more apart, they
// spread over 16 sets.
const winoSkew = 16

// winoUse reports whether Build should give c the Winograd forward pass.
func (c *Conv2D) winoUse() bool {
	return c.k == 3 && c.stride == 1 && c.in >= winoMinChannels && c.out >= winoMinChannels
}

// winoGeom sets the tile geometry: th×tw tiles of 2×2 outputs, read from
// padded planes of (2·th + 2)×(2·tw + 2) values.
func (c *Conv2D) winoGeom() {
	c.th, c.tw = (c.oh+1)/2, (c.ow+1)/2
	c.ph, c.pw = 2*c.th+2, 2*c.tw+2
}

// winoFilters sets c.u to U[ξ][f, c] = (G W[f, c] Gᵀ)[ξ], computed in
// float64 and rounded once.
func (c *Conv2D) winoFilters() {
	nf, nc := c.out, c.in
	c.u = convGrow(c.u, 16*nf*nc)
	wd := c.wp.Data()
	for f := range nf {
		for ch := range nc {
			g := wd[(f*nc+ch)*9 : (f*nc+ch)*9+9]
			// Gg: 4×3, G applied to each column of g.
			var gg [4][3]float64
			for j := range 3 {
				g0, g1, g2 := float64(g[j]), float64(g[3+j]), float64(g[6+j])
				gg[0][j], gg[1][j], gg[2][j], gg[3][j] = g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
			}
			// (Gg)Gᵀ: 4×4, G applied to each row of Gg.
			for i := range 4 {
				g0, g1, g2 := gg[i][0], gg[i][1], gg[i][2]
				row := [4]float64{g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2}
				for j, v := range row {
					c.u[((4*i+j)*nf+f)*nc+ch] = float32(v)
				}
			}
		}
	}
}

// winoForward computes one sample's output y [F, OH, OW] from its input x
// [C, H, W] with the scratch of s.
func (c *Conv2D) winoForward(s *convScratch, x, y []float32) {
	nc, nf, t := c.in, c.out, c.th*c.tw
	// Copy x into the zero borders of the padded planes (the rows and
	// columns past the input, for an odd output size, stay 0 too).
	p, h, w, ph, pw := c.pad, c.h, c.w, c.ph, c.pw
	for ch := range nc {
		src := x[ch*h*w : (ch+1)*h*w]
		dst := s.wpad[ch*ph*pw : (ch+1)*ph*pw]
		for iy := range h {
			copy(dst[(iy+p)*pw+p:(iy+p)*pw+p+w], src[iy*w:(iy+1)*w])
		}
	}
	for ch := range nc {
		c.winoInput(s.v, s.wpad[ch*ph*pw:(ch+1)*ph*pw], ch)
	}
	vs, ms := nc*t+winoSkew, nf*t+winoSkew // distances between the V[ξ], the M[ξ]
	for xi := range 16 {
		gemm.SgemmSerial(false, false, nf, t, nc, 1, c.u[xi*nf*nc:], nc, s.v[xi*vs:], t, 0, s.m[xi*ms:], t)
	}
	bd := c.bp.Data()
	for f := range nf {
		c.winoOutput(y[f*c.ohw:(f+1)*c.ohw], s.m, f, bd[f])
	}
}

// winoInput writes V[ξ][ch, t] = (Bᵀ d B)[ξ] for every tile t of the padded
// plane xp of channel ch. Each row of d is transformed first (d B), then
// each column of the result. Where the CPU has AVX2, tile rows of at least
// eight tiles go eight tiles at a time through winoIn8AVX2 (the last eight
// overlapping the ones before if the row is not a multiple of eight: they
// are written twice, with the same values), which gives the same bits.
func (c *Conv2D) winoInput(v, xp []float32, ch int) {
	t, tw, pw := c.th*c.tw, c.tw, c.pw
	vstride := c.in*t + winoSkew
	// V[ξ][ch, ·] for ξ = 0 … 15, each a run of t values.
	var vs [16][]float32
	for xi := range vs {
		o := xi*vstride + ch*t
		vs[xi] = v[o : o+t]
	}
	for ty := range c.th {
		if winoAVX2 && tw >= 8 {
			for tx0 := 0; tx0 < tw; tx0 += 8 {
				tx0 = min(tx0, tw-8)
				k := ty*tw + tx0
				_ = xp[(2*ty+3)*pw+2*tx0+17] // the last value read
				_ = vs[15][k+7]              // the last value written
				winoIn8AVX2(&xp[2*ty*pw+2*tx0], pw, &vs[0][k], vstride)
			}
			continue
		}
		for tx := range tw {
			var r [4][4]float32 // d B
			for i := range 4 {
				d := xp[(2*ty+i)*pw+2*tx : (2*ty+i)*pw+2*tx+4]
				r[i] = [4]float32{d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]}
			}
			k := ty*tw + tx
			for j := range 4 {
				vs[j][k] = r[0][j] - r[2][j]
				vs[4+j][k] = r[1][j] + r[2][j]
				vs[8+j][k] = r[2][j] - r[1][j]
				vs[12+j][k] = r[1][j] - r[3][j]
			}
		}
	}
}

// winoOutput writes filter f's output plane y [OH, OW] from M: the 2×2
// outputs of tile t are Aᵀ M[·][f, t] A (each column of the 4×4 tile first,
// then each row of the result) plus bv, cropped to the plane, and then
// passed through ReLU if the layer has it. Where the CPU has AVX2, runs of
// at least eight tiles whose outputs all lie inside the plane go eight at a
// time through winoOut8AVX2, which gives the same bits.
func (c *Conv2D) winoOutput(y, m []float32, f int, bv float32) {
	t, tw, ow := c.th*c.tw, c.tw, c.ow
	mstride := c.out*t + winoSkew
	var ms [16][]float32
	for xi := range ms {
		o := xi*mstride + f*t
		ms[xi] = m[o : o+t]
	}
	full := ow / 2 // tiles whose two columns are inside the plane
	for ty := range c.th {
		tx := 0
		if winoAVX2 && full >= 8 && 2*ty+1 < c.oh {
			for tx0 := 0; tx0 < full; tx0 += 8 {
				tx0 = min(tx0, full-8)
				k := ty*tw + tx0
				_ = ms[15][k+7]             // the last value read
				_ = y[(2*ty+1)*ow+2*tx0+15] // the last value written
				winoOut8AVX2(&ms[0][k], mstride, &y[2*ty*ow+2*tx0], &y[(2*ty+1)*ow+2*tx0], bv)
			}
			tx = full
		}
		for ; tx < tw; tx++ {
			k := ty*tw + tx
			var s [2][4]float32 // Aᵀ M
			for j := range 4 {
				m0, m1, m2, m3 := ms[j][k], ms[4+j][k], ms[8+j][k], ms[12+j][k]
				s[0][j] = m0 + m1 + m2
				s[1][j] = m1 - m2 - m3
			}
			for i := range 2 {
				oy := 2*ty + i
				if oy >= c.oh {
					break
				}
				row := y[oy*ow:]
				row[2*tx] = s[i][0] + s[i][1] + s[i][2] + bv
				if 2*tx+1 < ow {
					row[2*tx+1] = s[i][1] - s[i][2] - s[i][3] + bv
				}
			}
		}
	}
	if c.relu {
		vec.ReLU(y, y)
	}
}
