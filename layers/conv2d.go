package layers

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/internal/gemm"
	"github.com/descent-ml/descent/nn"
)

var (
	_ nn.Layer           = (*Conv2D)(nil)
	_ nn.ParamBackwarder = (*Conv2D)(nil)
)

// Conv2D is a 2-D convolution (strictly, a cross-correlation, as in every
// deep-learning library) over images in NCHW layout. For one sample X of
// shape [C, H, W] it computes F = out feature maps
//
//	Y[f, oy, ox] = b[f] + Σ_{c, ki, kj} W[f, c, ki, kj] · X[c, oy·s + ki − p, ox·s + kj − p]
//
// with a square k×k kernel, stride s and zero padding p on every side, so the
// output has shape [F, OH, OW] with OH = (H + 2p − k)/s + 1 and
// OW = (W + 2p − k)/s + 1 (rounded down: rows and columns the last window
// does not reach are ignored).
//
// The weights W have shape [F, C, k, k] (PyTorch's layout). Being row-major,
// the same values read as the matrix W[F, C·k·k] that the implementation
// multiplies: each sample is unrolled by im2col into
// cols[C·k·k, OH·OW], whose column (oy, ox) holds the k×k×C patch that
// output pixel sees, and then
//
//	Y_n[F, OH·OW] = W[F, C·k·k] · cols_n[C·k·k, OH·OW] + b
//
// is one call of [gemm.Sgemm]. The bias b has shape [F].
//
// In training mode Conv2D keeps the columns of the whole batch for the
// backward pass (N·C·k·k·OH·OW values). In inference mode it unrolls one
// sample at a time into a small scratch buffer and keeps a reference to the
// input instead, so a Backward after an inference Forward unrolls again from
// it; the input must then not be modified in between.
type Conv2D struct {
	// Init fills W at Build, with fanIn = C·k·k and fanOut = F·k·k.
	// NewConv2D sets it to [nn.HeUniform] (convolutions are usually followed
	// by ReLU); nil also means HeUniform. The bias starts at zero.
	Init nn.Initializer

	in, out, k, stride, pad int
	h, w, oh, ow            int
	name                    string // "Conv2D(1→32, 3×3)", for messages
	inShape, outShape       nn.Shape
	wp, bp                  *nn.Param

	x       *tensor.Dense // input of the last Forward (aliases the caller's tensor)
	yt      *tensor.Dense // output of the last Forward
	trained bool          // whether the last Forward was in training mode
	y, dx   nn.Buffer
	cols    []float32 // training: cols of every sample, [N, C·k·k, OH·OW]; inference: one sample
	dcols   []float32 // [C·k·k, OH·OW], scratch for the backward pass
	shape   []int     // scratch for batch shapes
}

// ConvOption configures a [Conv2D] built by [NewConv2D].
type ConvOption func(*Conv2D)

// Stride sets the step between neighbouring windows, in pixels, along both
// spatial axes (default 1).
func Stride(s int) ConvOption { return func(c *Conv2D) { c.stride = s } }

// Padding sets the number of zero rows and columns added on every side of the
// input (default 0). Padding((k−1)/2) with stride 1 keeps H and W unchanged
// for odd k.
func Padding(p int) ConvOption { return func(c *Conv2D) { c.pad = p } }

// NewConv2D returns a convolution from in to out channels with a square
// kernel×kernel kernel, stride 1 and no padding unless opts say otherwise.
// An in of 0 means "take the channels from the input shape at Build".
func NewConv2D(in, out, kernel int, opts ...ConvOption) *Conv2D {
	c := &Conv2D{Init: nn.HeUniform, in: in, out: out, k: kernel, stride: 1}
	for _, o := range opts {
		o(c)
	}
	return c
}

// In returns the number of input channels (0 before Build if it is inferred).
func (c *Conv2D) In() int { return c.in }

// Out returns the number of output channels (feature maps).
func (c *Conv2D) Out() int { return c.out }

// W returns the weight parameter, of shape [out, in, k, k] (nil before Build).
func (c *Conv2D) W() *nn.Param { return c.wp }

// B returns the bias parameter, of shape [out] (nil before Build).
func (c *Conv2D) B() *nn.Param { return c.bp }

// Build checks that the per-sample input has shape [C, H, W] with the
// expected channels (taking them from the input when NewConv2D was given 0)
// and that the kernel fits the padded input, creates W and b, and initialises
// W with c.Init from rng. It returns [out, OH, OW].
func (c *Conv2D) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	switch {
	case c.out <= 0:
		return nil, fmt.Errorf("Conv2D: %d output channels, want at least 1", c.out)
	case c.in < 0:
		return nil, fmt.Errorf("Conv2D: %d input channels, want at least 1 (or 0 to infer)", c.in)
	case c.k <= 0:
		return nil, fmt.Errorf("Conv2D: kernel size %d, want at least 1", c.k)
	case c.stride <= 0:
		return nil, fmt.Errorf("Conv2D: stride %d, want at least 1", c.stride)
	case c.pad < 0:
		return nil, fmt.Errorf("Conv2D: padding %d, want 0 or more", c.pad)
	}
	if len(in) != 3 {
		return nil, fmt.Errorf("Conv2D wants an image input [channels height width], got %v", in)
	}
	if c.in != 0 && in[0] != c.in {
		return nil, fmt.Errorf("Conv2D(%d→%d) expects %d input channels, got %d (input %v)", c.in, c.out, c.in, in[0], in)
	}
	if in[0] <= 0 || in[1] <= 0 || in[2] <= 0 {
		return nil, fmt.Errorf("Conv2D: input shape %v must be positive", in)
	}
	ph, pw := in[1]+2*c.pad, in[2]+2*c.pad
	if c.k > ph || c.k > pw {
		return nil, fmt.Errorf("Conv2D: %d×%d kernel is larger than the %d×%d input (padded by %d to %d×%d); want kernel ≤ padded height and width",
			c.k, c.k, in[1], in[2], c.pad, ph, pw)
	}
	if rng == nil {
		return nil, fmt.Errorf("Conv2D(%d→%d): Build needs a random source", in[0], c.out)
	}
	c.in, c.h, c.w = in[0], in[1], in[2]
	c.oh = (ph-c.k)/c.stride + 1
	c.ow = (pw-c.k)/c.stride + 1
	c.name = fmt.Sprintf("Conv2D(%d→%d, %d×%d)", c.in, c.out, c.k, c.k)
	c.inShape = nn.Shape{c.in, c.h, c.w}
	c.outShape = nn.Shape{c.out, c.oh, c.ow}
	c.wp = nn.NewParam("W", c.out, c.in, c.k, c.k)
	c.bp = nn.NewParam("b", c.out)
	initW := c.Init
	if initW == nil {
		initW = nn.HeUniform
	}
	initW(c.wp.Data(), c.in*c.k*c.k, c.out*c.k*c.k, rng)
	c.x, c.yt = nil, nil
	return append(nn.Shape(nil), c.outShape...), nil
}

// Forward returns the convolution of x, of shape [N, C, H, W], as a tensor of
// shape [N, F, OH, OW] owned by the layer.
func (c *Conv2D) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	if c.wp == nil {
		panic("Conv2D: Forward called before Build")
	}
	n := nn.CheckInput(c.name, x, c.inShape)
	c.shape = nn.BatchShape(c.shape, n, c.outShape)
	y := c.y.Get(c.shape...)
	xd, yd := x.Float32s(), y.Float32s()
	wd, bd := c.wp.Data(), c.bp.Data()
	chw, ckk, ohw := c.in*c.h*c.w, c.in*c.k*c.k, c.oh*c.ow
	if train {
		c.cols = convGrow(c.cols, n*ckk*ohw)
	} else {
		c.cols = convGrow(c.cols, ckk*ohw)
	}
	for i := 0; i < n; i++ {
		cols := c.cols[:ckk*ohw]
		if train {
			cols = c.cols[i*ckk*ohw : (i+1)*ckk*ohw]
		}
		c.im2col(cols, xd[i*chw:(i+1)*chw])
		// Y_n = b (broadcast along OH·OW), then Y_n += W · cols_n.
		yn := yd[i*c.out*ohw : (i+1)*c.out*ohw]
		for f, bv := range bd {
			row := yn[f*ohw : (f+1)*ohw]
			for j := range row {
				row[j] = bv
			}
		}
		gemm.Sgemm(false, false, c.out, ohw, ckk, 1, wd, ckk, cols, ohw, 1, yn, ohw)
	}
	c.x, c.yt, c.trained = x, y, train
	return y
}

// Backward takes dY of shape [N, F, OH, OW], accumulates the parameter
// gradients and returns dX of shape [N, C, H, W]. Per sample n, with
// cols_n = im2col(X_n) of shape [C·k·k, OH·OW] and dY_n read as [F, OH·OW]:
//
//	dW     += dY_n · cols_nᵀ        ([F, OH·OW] · [OH·OW, C·k·k])
//	db     += Σ_{OH·OW} dY_n        (sum over each feature map)
//	dcols_n = Wᵀ · dY_n             ([C·k·k, F] · [F, OH·OW])
//	dX_n    = col2im(dcols_n)       (each entry of dcols_n added back to the
//	                                 input pixel im2col copied it from; padding
//	                                 positions are dropped)
func (c *Conv2D) Backward(dy *tensor.Dense) *tensor.Dense { return c.backward(dy, true) }

// BackwardParams accumulates dW and db as Backward does, without computing
// dX (see [nn.ParamBackwarder]).
func (c *Conv2D) BackwardParams(dy *tensor.Dense) { c.backward(dy, false) }

func (c *Conv2D) backward(dy *tensor.Dense, wantDX bool) *tensor.Dense {
	nn.CheckGrad(c.name, dy, c.yt)
	n := dy.Shape()[0]
	g := dy.Float32s()
	wd, dw, db := c.wp.Data(), c.wp.GradData(), c.bp.GradData()
	chw, ckk, ohw := c.in*c.h*c.w, c.in*c.k*c.k, c.oh*c.ow
	var dx *tensor.Dense
	var dxd []float32
	if wantDX {
		c.shape = nn.BatchShape(c.shape, n, c.inShape)
		dx = c.dx.Get(c.shape...)
		dxd = dx.Float32s()
		clear(dxd)
		c.dcols = convGrow(c.dcols, ckk*ohw)
	}
	for i := 0; i < n; i++ {
		var cols []float32
		if c.trained {
			cols = c.cols[i*ckk*ohw : (i+1)*ckk*ohw]
		} else {
			cols = c.cols[:ckk*ohw]
			c.im2col(cols, c.x.Float32s()[i*chw:(i+1)*chw])
		}
		gn := g[i*c.out*ohw : (i+1)*c.out*ohw]

		// dW += dY_n · cols_nᵀ
		gemm.Sgemm(false, true, c.out, ckk, ohw, 1, gn, ohw, cols, ohw, 1, dw, ckk)

		// db += Σ_{OH·OW} dY_n
		for f := range db {
			var s float32
			for _, v := range gn[f*ohw : (f+1)*ohw] {
				s += v
			}
			db[f] += s
		}

		if wantDX {
			// dcols_n = Wᵀ · dY_n, then dX_n = col2im(dcols_n).
			gemm.Sgemm(true, false, ckk, ohw, c.out, 1, wd, ckk, gn, ohw, 0, c.dcols, ohw)
			c.col2im(dxd[i*chw:(i+1)*chw], c.dcols)
		}
	}
	return dx
}

// Params returns W and b (nil before Build).
func (c *Conv2D) Params() []*nn.Param {
	if c.wp == nil {
		return nil
	}
	return []*nn.Param{c.wp, c.bp}
}

// Spec returns Conv2D with attributes in, out, kernel, stride and pad.
func (c *Conv2D) Spec() nn.Spec {
	return nn.Spec{Kind: "Conv2D", Attrs: map[string]float64{
		"in": float64(c.in), "out": float64(c.out), "kernel": float64(c.k),
		"stride": float64(c.stride), "pad": float64(c.pad),
	}}
}

// im2col unrolls one sample x [C, H, W] into cols [C·k·k, OH·OW]:
//
//	cols[(c·k + ki)·k + kj, oy·OW + ox] = x[c, oy·s + ki − p, ox·s + kj − p]
//
// and 0 where that index falls in the padding.
func (c *Conv2D) im2col(cols, x []float32) {
	k, s, p, h, w, oh, ow := c.k, c.stride, c.pad, c.h, c.w, c.oh, c.ow
	ohw := oh * ow
	r := 0
	for ch := 0; ch < c.in; ch++ {
		xc := x[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				row := cols[r*ohw : (r+1)*ohw]
				r++
				// Output columns [lo, hi) read inside the image; the rest is padding.
				lo, hi := convValidRange(kj, s, p, w, ow)
				for oy := 0; oy < oh; oy++ {
					dst := row[oy*ow : (oy+1)*ow]
					iy := oy*s + ki - p
					if iy < 0 || iy >= h {
						clear(dst)
						continue
					}
					src := xc[iy*w : (iy+1)*w]
					clear(dst[:lo])
					if s == 1 {
						copy(dst[lo:hi], src[lo+kj-p:])
					} else {
						ix := lo*s + kj - p
						for ox := lo; ox < hi; ox++ {
							dst[ox] = src[ix]
							ix += s
						}
					}
					clear(dst[hi:])
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it adds every entry of dcols [C·k·k, OH·OW]
// into dx [C, H, W] at the pixel im2col read it from, dropping padding.
func (c *Conv2D) col2im(dx, dcols []float32) {
	k, s, p, h, w, oh, ow := c.k, c.stride, c.pad, c.h, c.w, c.oh, c.ow
	ohw := oh * ow
	r := 0
	for ch := 0; ch < c.in; ch++ {
		dxc := dx[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				row := dcols[r*ohw : (r+1)*ohw]
				r++
				lo, hi := convValidRange(kj, s, p, w, ow)
				for oy := 0; oy < oh; oy++ {
					iy := oy*s + ki - p
					if iy < 0 || iy >= h {
						continue
					}
					src := row[oy*ow+lo : oy*ow+hi]
					if s == 1 {
						dst := dxc[iy*w+lo+kj-p:]
						dst = dst[:len(src)]
						for j, v := range src {
							dst[j] += v
						}
					} else {
						ix := iy*w + lo*s + kj - p
						for _, v := range src {
							dxc[ix] += v
							ix += s
						}
					}
				}
			}
		}
	}
}

// convValidRange returns the output columns [lo, hi) whose input column
// ox·s + kj − p lies inside [0, w) for kernel column kj.
func convValidRange(kj, s, p, w, ow int) (lo, hi int) {
	if d := p - kj; d > 0 {
		lo = (d + s - 1) / s
	}
	if t := w - 1 - kj + p; t >= 0 {
		hi = t/s + 1
	}
	lo, hi = min(lo, ow), min(hi, ow)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// convGrow returns s resized to n values, reallocating only when it lacks
// the capacity.
func convGrow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
