package layers

import (
	"iter"

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
// (T = ⌈OH/2⌉·⌈OW/2⌉ tiles), plus the transforms, which only add. For
// finite inputs the results differ from the direct sum by float32 rounding
// alone (with ±Inf, the transforms' differences can give NaN where the
// direct sum gives ±Inf).
//
// Conv2D uses it for Y and, in the backward pass, for the gradients of W
// and b, read backwards through the same four lines (see filterGrad): the
// exact gradient of the Y computed here. dX goes through Wᵀ · dY and
// col2im. (dX is itself a convolution of dY with the kernels turned by
// 180°, and was tried this way: on the conv net's second layer, whose dX
// has 32 planes and 13 tiles per row, it saved under 2% of the backward
// pass.)

// winoSkew is added to the distance between the 16 matrices V[ξ] (and
// M[ξ]) in memory. The transforms read or write all 16 at once; at a
// distance that is a multiple of 4 KiB (F·T·4 bytes is, for the conv net's
// 64 filters and 144 tiles) they would all map to the same few sets of the
// L1 cache and keep evicting each other. One cache line more apart, they
// spread over 16 sets.
const winoSkew = 16

// winoMinChannels is the fewest input channels (and filters) for which
// Conv2D takes the Winograd path: with fewer, the products are too thin
// (their inner dimension is the number of input channels) for the saved
// multiplications to pay for the transforms.
const winoMinChannels = 8

// winoConv is one convolution computed by F(2×2, 3×3): the correlation of
// cin zero-padded input planes of h×w with 3×3 kernels, stride 1, giving
// cout output planes of oh×ow.
type winoConv struct {
	cin, cout, h, w, pad, oh, ow int
	th, tw, t                    int       // tiles per column, per row, in all
	ph, pw                       int       // padded planes: 2·th + 2 rows of 2·tw + 2 values
	u                            []float32 // [16][cout, cin], the transformed kernels
}

// newWinoConv returns the geometry of a convolution of cin planes of h×w,
// padded by pad, into cout planes.
func newWinoConv(cin, cout, h, w, pad int) *winoConv {
	g := &winoConv{cin: cin, cout: cout, h: h, w: w, pad: pad, oh: h + 2*pad - 2, ow: w + 2*pad - 2}
	g.th, g.tw = (g.oh+1)/2, (g.ow+1)/2
	g.t = g.th * g.tw
	// The tiles read rows and columns up to 2·th + 1: one past the padded
	// input when the output size is odd (and zero there).
	g.ph, g.pw = 2*g.th+2, 2*g.tw+2
	return g
}

// winoScratch is the scratch memory of one goroutine running a winoConv.
type winoScratch struct {
	xp []float32 // [cin, ph, pw], the input in zero-padded planes
	v  []float32 // [16][cin, t], the transformed input tiles (winoSkew apart)
	m  []float32 // [16][cout, t], their products with the kernels
}

// scratch sizes s for g, allocating only on first use.
func (g *winoConv) scratch(s *winoScratch) {
	if s.xp == nil {
		s.xp = make([]float32, g.cin*g.ph*g.pw) // borders stay 0
		s.v = make([]float32, 16*(g.cin*g.t+winoSkew))
		s.m = make([]float32, 16*(g.cout*g.t+winoSkew))
	}
}

// setKernels sets u[ξ][o, i] = (G k Gᵀ)[ξ] for every output plane o and
// input plane i, where k is the kernel W[o, i] of w [cout, cin, 3, 3],
// computed in float64 and rounded once.
func (g *winoConv) setKernels(w []float32) {
	nf, nc := g.cout, g.cin
	g.u = convGrow(g.u, 16*nf*nc)
	var k [9]float64
	for f := range nf {
		for ch := range nc {
			for i, v := range w[(f*nc+ch)*9 : (f*nc+ch)*9+9] {
				k[i] = float64(v)
			}
			// Gk: 4×3, G applied to each column of k.
			var gk [4][3]float64
			for j := range 3 {
				k0, k1, k2 := k[j], k[3+j], k[6+j]
				gk[0][j], gk[1][j], gk[2][j], gk[3][j] = k0, (k0+k1+k2)/2, (k0-k1+k2)/2, k2
			}
			// (Gk)Gᵀ: 4×4, G applied to each row of Gk.
			for i := range 4 {
				k0, k1, k2 := gk[i][0], gk[i][1], gk[i][2]
				row := [4]float64{k0, (k0 + k1 + k2) / 2, (k0 - k1 + k2) / 2, k2}
				for j, v := range row {
					g.u[((4*i+j)*nf+f)*nc+ch] = float32(v)
				}
			}
		}
	}
}

// run computes one sample's output y [cout, oh, ow] from its input x
// [cin, h, w]. bias holds a value per output plane; relu applies ReLU to the
// output.
func (g *winoConv) run(s *winoScratch, x, y, bias []float32, relu bool) {
	g.transformInput(s, x)
	nf, nc, t := g.cout, g.cin, g.t
	vs, ms := nc*t+winoSkew, nf*t+winoSkew // distances between the V[ξ], the M[ξ]
	for xi := range 16 {
		gemm.SgemmSerial(false, false, nf, t, nc, 1, g.u[xi*nf*nc:], nc, s.v[xi*vs:], t, 0, s.m[xi*ms:], t)
	}
	ohw := g.oh * g.ow
	for f := range nf {
		out := y[f*ohw : (f+1)*ohw]
		g.output(out, s.m, f, bias[f])
		if relu {
			vec.ReLU(out, out)
		}
	}
}

// transformInput sets s.v to the transformed tiles V of one sample's input
// x [cin, h, w], copied first into the zero-padded planes s.xp.
func (g *winoConv) transformInput(s *winoScratch, x []float32) {
	p, h, w, ph, pw := g.pad, g.h, g.w, g.ph, g.pw
	for ch := range g.cin {
		dst := s.xp[ch*ph*pw : (ch+1)*ph*pw]
		for iy := range h {
			copy(dst[(iy+p)*pw+p:(iy+p)*pw+p+w], x[(ch*h+iy)*w:])
		}
		g.input(s.v, dst, ch)
	}
}

// filterGrad adds one sample's share of the kernel and bias gradients of
// the Winograd forward pass, in the transformed domain, to du [16][cout,
// cin] and db [cout] (or sets them, if first). The sample's input is x
// [cin, h, w]; its output gradient is in dy: cout planes, plane values
// apart, of oh rows, stride values apart, of ow values (and zeros in the
// rest of each row, if stride > ow, which the bias gradient adds up).
//
// The forward pass is linear in U and b, so with dM[ξ][f, t] the gradient
// with respect to M[ξ][f, t] (the adjoint of the output transform,
// A dY_{f,t} Aᵀ, see outputGrad),
//
//	dU[ξ] += dM[ξ] · V[ξ]ᵀ     ([cout, T] · [T, cin])
//	db[f] += Σ dY[f, ·, ·]
//
// and the kernel gradient itself is dW[f, c] = Gᵀ dU[·][f, c] G (see
// addKernelGrad), the exact gradient of what Forward computed.
func (g *winoConv) filterGrad(s *winoScratch, x, dy []float32, plane, stride int, du, db []float32, first bool) {
	g.transformInput(s, x)
	nf, nc, t := g.cout, g.cin, g.t
	for f := range nf {
		g.outputGrad(s.m, f, dy[f*plane:(f+1)*plane], stride)
		sum := vec.Sum(dy[f*plane : f*plane+g.oh*stride])
		if first {
			db[f] = sum
		} else {
			db[f] += sum
		}
	}
	var beta float32 = 1
	if first {
		beta = 0
	}
	vs, ms := nc*t+winoSkew, nf*t+winoSkew
	for xi := range 16 {
		gemm.SgemmSerial(false, true, nf, nc, t, 1, s.m[xi*ms:], t, s.v[xi*vs:], t, beta, du[xi*nf*nc:], nc)
	}
}

// addKernelGrad adds dW[f, c] = Gᵀ dU[·][f, c] G, the 3×3 gradient of the
// kernel W[f, c] given that of U[·][f, c] = G W[f, c] Gᵀ, to dw [cout, cin,
// 3, 3], computing in float64.
func (g *winoConv) addKernelGrad(dw, du []float32) {
	nf, nc := g.cout, g.cin
	for f := range nf {
		for ch := range nc {
			// Gᵀ dU: 3×4, Gᵀ applied to each column of dU.
			var t [3][4]float64
			for j := range 4 {
				d0, d1, d2, d3 := float64(du[(j*nf+f)*nc+ch]), float64(du[((4+j)*nf+f)*nc+ch]),
					float64(du[((8+j)*nf+f)*nc+ch]), float64(du[((12+j)*nf+f)*nc+ch])
				t[0][j], t[1][j], t[2][j] = d0+(d1+d2)/2, (d1-d2)/2, (d1+d2)/2+d3
			}
			// (Gᵀ dU) G: 3×3, Gᵀ applied to each row.
			k := dw[(f*nc+ch)*9 : (f*nc+ch)*9+9]
			for i := range 3 {
				d0, d1, d2, d3 := t[i][0], t[i][1], t[i][2], t[i][3]
				k[3*i] += float32(d0 + (d1+d2)/2)
				k[3*i+1] += float32((d1 - d2) / 2)
				k[3*i+2] += float32((d1+d2)/2 + d3)
			}
		}
	}
}

// winoGroups yields the first tile of each group of eight that the
// assembly loops take in a row of n ≥ 8 tiles: 0, 8, 16, … and, if n is not
// a multiple of 8, n − 8 for the last group, which overlaps the one before
// (its tiles are computed twice, with the same results).
func winoGroups(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for tx0 := 0; tx0 < n; tx0 += 8 {
			if !yield(min(tx0, n-8)) {
				return
			}
		}
	}
}

// runs returns row r of the 16 matrices in buf (V or M), stride values
// apart: for each ξ, the t values of that plane's tiles.
func (g *winoConv) runs(buf []float32, stride, r int) (rs [16][]float32) {
	for xi := range rs {
		o := xi*stride + r*g.t
		rs[xi] = buf[o : o+g.t]
	}
	return rs
}

// input writes V[ξ][ch, t] = (Bᵀ d B)[ξ] for every tile t of the padded
// plane xp of input plane ch. Each row of d is transformed first (d B), then
// each column of the result. Where the CPU has AVX2, tile rows of at least
// eight tiles go eight tiles at a time through winoIn8AVX2 (see
// winoGroups), with the same results (bit for bit, up to which payload a
// sum of two NaNs keeps).
func (g *winoConv) input(v, xp []float32, ch int) {
	tw, pw := g.tw, g.pw
	vstride := g.cin*g.t + winoSkew
	vs := g.runs(v, vstride, ch)
	for ty := range g.th {
		if useAVX2 && tw >= 8 {
			for tx0 := range winoGroups(tw) {
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

// output writes output plane f, y [oh, ow], from M: the 2×2 outputs of tile
// t are Aᵀ M[·][f, t] A (each column of the 4×4 tile first, then each row of
// the result) plus bv, cropped to the plane. Where the CPU has AVX2, runs of
// at least eight tiles whose outputs all lie inside the plane go eight at a
// time through winoOut8AVX2, with the same results (bit for bit, up to
// which payload a sum of two NaNs keeps).
func (g *winoConv) output(y, m []float32, f int, bv float32) {
	tw, ow := g.tw, g.ow
	mstride := g.cout*g.t + winoSkew
	ms := g.runs(m, mstride, f)
	full := ow / 2 // tiles whose two columns are inside the plane
	for ty := range g.th {
		tx := 0
		if useAVX2 && full >= 8 && 2*ty+1 < g.oh {
			for tx0 := range winoGroups(full) {
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
				if oy >= g.oh {
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
}

// outputGrad sets dM[ξ][f, t] = (A dY_t Aᵀ)[ξ] for every tile t of output
// plane f, the adjoint of the output transform: dY_t is the tile's 2×2
// gradient (0 past the plane), read from dy, rows stride values apart.
// With dY_t = (d00 d01; d10 d11), the columns first, A (d0j, d1j)ᵀ =
// (d0j, d0j + d1j, d0j − d1j, −d1j), then the same along each row of the
// result. Where the CPU has AVX2, runs of at least eight tiles inside the
// plane go eight at a time through winoOutGrad8AVX2, with the same results
// (bit for bit, up to which payload a sum of two NaNs keeps).
func (g *winoConv) outputGrad(m []float32, f int, dy []float32, stride int) {
	tw := g.tw
	mstride := g.cout*g.t + winoSkew
	ms := g.runs(m, mstride, f)
	full := g.ow / 2 // tiles whose two columns are inside the plane
	for ty := range g.th {
		tx := 0
		if useAVX2 && full >= 8 && 2*ty+1 < g.oh {
			for tx0 := range winoGroups(full) {
				k := ty*tw + tx0
				_ = dy[(2*ty+1)*stride+2*tx0+15] // the last value read
				_ = ms[15][k+7]                  // the last value written
				winoOutGrad8AVX2(&dy[2*ty*stride+2*tx0], &dy[(2*ty+1)*stride+2*tx0], &ms[0][k], mstride)
			}
			tx = full
		}
		for ; tx < tw; tx++ {
			var d [2][2]float32 // the tile's dY, 0 past the plane
			for i := range 2 {
				for j := range 2 {
					if oy, ox := 2*ty+i, 2*tx+j; oy < g.oh && ox < g.ow {
						d[i][j] = dy[oy*stride+ox]
					}
				}
			}
			var c [4][2]float32 // A dY
			for j := range 2 {
				c[0][j], c[1][j], c[2][j], c[3][j] = d[0][j], d[0][j]+d[1][j], d[0][j]-d[1][j], -d[1][j]
			}
			k := ty*tw + tx
			for i := range 4 {
				ms[4*i][k] = c[i][0]
				ms[4*i+1][k] = c[i][0] + c[i][1]
				ms[4*i+2][k] = c[i][0] - c[i][1]
				ms[4*i+3][k] = -c[i][1]
			}
		}
	}
}
