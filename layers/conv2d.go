package layers

import (
	"fmt"
	"math/rand/v2"
	"runtime"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/internal/gemm"
	"github.com/descent-ml/descent/internal/vec"
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
// multiplies: each sample is unrolled by im2col into cols[C·k·k + 1, OH·OW],
// whose column (oy, ox) holds the k×k×C patch that output pixel sees and,
// in its last row, a 1. With the bias appended to W as a last column,
// [W | b] of shape [F, C·k·k + 1], one call of [gemm.SgemmSerial]
//
//	Y_n[F, OH·OW] = [W | b] · cols_n
//
// writes sample n's output, bias included, straight into the NCHW result.
// For stride 1 with fewer filters than C·k·k (every layer of the MNIST
// convnets but the conv net's first), each row of cols is instead unrolled
// at the padded input's width, W + 2p columns per output row of which OW are
// kept (see im2colWide): one long copy per row of cols rather than OH short
// ones, paid for by a product k − 1 columns per row wider and a copy of Y_n
// out of it.
//
// A 3×3 convolution with stride 1 and at least winoMinChannels (8) input
// channels and filters, such as the conv net's second layer, computes Y
// and the gradients of W and b by Winograd's F(2×2, 3×3) instead (see
// winograd.go): 16 multiplications per 2×2 block of outputs and channel
// where im2col makes 36. For finite inputs Y is the same up to float32
// rounding; dW and db are the exact gradients of that Y. dX always goes
// through Wᵀ · dY and col2im.
//
// The batch is cut into up to convBlocks blocks of samples that the calling
// goroutine and a helper goroutine (started on first use when GOMAXPROCS > 1,
// asleep when idle) share, each block accumulating its own share of the
// weight gradient. The cut depends only on the batch size, and the blocks'
// gradients are added in block order, so results are bit for bit the same
// whatever GOMAXPROCS. Each goroutine computes its samples' products with
// gemm.SgemmSerial, on its own core: the two goroutines already keep two
// cores busy, without waiting on each other inside every product.
//
// With [WithReLU] the layer applies ReLU to its output in the same pass,
// Y = max(conv(X), 0): the result of a separate [ReLU] layer after it, bit
// for bit, without the second pass over the output and over its gradient.
//
// Conv2D keeps a reference to its input X for the backward pass, which
// unrolls each sample again (cheaper than keeping the columns of a whole
// batch, which are k² times larger than X), so the input must not be modified
// between Forward and the matching Backward. Training and inference Forward
// run the same code, with scratch memory for one sample per goroutine.
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
	ckk, ohw                int       // C·k·k and OH·OW
	relu                    bool      // apply ReLU to the output (WithReLU)
	wide                    bool      // unroll at the padded width (see im2colWide)
	hq, wq                  int       // padded input height and width, H + 2p and W + 2p
	cw                      int       // columns of cols: OH·(W + 2p) when wide, else OH·OW
	dwT                     bool      // compute [dW | db]ᵀ = cols · dYᵀ, the better shape for gemm
	wf                      *winoConv // Winograd's F(2×2, 3×3), or nil (see winograd.go)
	part                    int       // values of a block's share of the parameter gradients in dwb

	x, yt *tensor.Dense // input (aliases the caller's tensor) and output of the last Forward
	y, dx nn.Buffer
	wb    []float32                    // [F, C·k·k + 1] = [W | b], for Forward
	dwb   []float32                    // per block, Σ dY_n · cols_nᵀ = [dW | db] ([F, C·k·k + 1]), or its transpose if dwT; with wf, dU [16][F, C] and db [F]
	slots [blockGoroutines]convScratch // per-goroutine scratch
	args  convArgs
	job   blockJob
	shape []int // scratch for batch shapes
}

// convScratch is the scratch memory of one goroutine working on a Conv2D.
type convScratch struct {
	cols  []float32   // [C·k·k + 1, cw]: one sample unrolled; the last row is all 1
	dcols []float32   // [C·k·k, cw]: Wᵀ · dY_n
	prod  []float32   // wide: [F, cw], Y_n at the padded width (Forward)
	gw    []float32   // wide or ReLU: [F, cw], dY_n (⊙ [Y_n > 0] with ReLU), at the padded width with 0 in the extra columns if wide
	xpad  []float32   // wide with padding: [C, H + 2p, W + 2p], X_n padded with zeros
	dxpad []float32   // wide with padding: [C, H + 2p, W + 2p], its gradient
	wf    winoScratch // for c.wf
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

// WithReLU makes the convolution apply ReLU to its output, as Keras'
// Conv2D(activation="relu") does: Y = max(conv(X), 0), computed while the
// output is still in cache, and dY ⊙ [Y > 0] while dY is copied for the
// products of the backward pass. NewConv2D(…, WithReLU()) computes exactly
// what NewConv2D(…) followed by [NewReLU] does, in less time.
func WithReLU() ConvOption { return func(c *Conv2D) { c.relu = true } }

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

// ReLU reports whether the layer applies ReLU to its output ([WithReLU]).
func (c *Conv2D) ReLU() bool { return c.relu }

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
	if c.relu {
		c.name = fmt.Sprintf("Conv2D(%d→%d, %d×%d, ReLU)", c.in, c.out, c.k, c.k)
	}
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
	c.ckk, c.ohw = c.in*c.k*c.k, c.oh*c.ow
	c.hq, c.wq = ph, pw
	// Unrolling at the padded width copies C·k·k long rows per sample instead
	// of C·k·k·OH short ones, but then the output has to be copied out of
	// the wide layout (and dY into it): F·OH short rows. Worth it when F is
	// below C·k·k, as in every MNIST convnet layer but the conv net's first.
	c.wide = c.stride == 1 && c.out < c.ckk
	c.cw = c.ohw
	if c.wide {
		c.cw = c.oh * c.wq
	}
	// gemm computes 6×16 tiles: [dW | db] (F × (C·k·k + 1)) or its
	// transpose, whichever wastes less of the tiles at the edges.
	kk1 := c.ckk + 1
	c.dwT = convTiles(kk1, c.out) < convTiles(c.out, kk1)
	// Winograd's F(2×2, 3×3) for Y, dW and db of 3×3 kernels with stride
	// 1, when there are enough channels and filters.
	c.wf, c.part = nil, c.out*kk1
	if c.k == 3 && c.stride == 1 && c.in >= winoMinChannels && c.out >= winoMinChannels {
		c.wf = newWinoConv(c.in, c.out, c.h, c.w, c.pad)
		c.part = 16*c.out*c.in + c.out
	}
	c.wb, c.dwb, c.slots = nil, nil, [blockGoroutines]convScratch{}
	return append(nn.Shape(nil), c.outShape...), nil
}

// Forward returns the convolution of x, of shape [N, C, H, W], as a tensor of
// shape [N, F, OH, OW] owned by the layer. For every sample n:
//
//	cols_n = im2col(X_n)                [C·k·k + 1, OH·OW], last row 1
//	Y_n    = [W | b] · cols_n           [F, OH·OW]
//	Y_n    = max(Y_n, 0)                (with WithReLU)
func (c *Conv2D) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	if c.wp == nil {
		panic("Conv2D: Forward called before Build")
	}
	n := nn.CheckInput(c.name, x, c.inShape)
	c.shape = nn.BatchShape(c.shape, n, c.outShape)
	y := c.y.Get(c.shape...)
	if c.wf != nil {
		c.wf.setKernels(c.wp.Data())
	} else {
		// [W | b]: W's rows with the bias appended.
		c.wb = convGrow(c.wb, c.out*(c.ckk+1))
		wd, bd := c.wp.Data(), c.bp.Data()
		for f, bv := range bd {
			copy(c.wb[f*(c.ckk+1):], wd[f*c.ckk:(f+1)*c.ckk])
			c.wb[f*(c.ckk+1)+c.ckk] = bv
		}
	}
	c.args = convArgs{forward: true, n: n, x: x.Float32s(), y: y.Float32s()}
	c.run()
	c.x, c.yt = x, y
	return y
}

// Backward takes dY of shape [N, F, OH, OW], accumulates the parameter
// gradients and returns dX of shape [N, C, H, W]. Per sample n, with
// cols_n = im2col(X_n) of shape [C·k·k + 1, OH·OW] (last row 1) and dY_n
// read as [F, OH·OW]:
//
//	[dW | db] += dY_n · cols_nᵀ     ([F, OH·OW] · [OH·OW, C·k·k + 1]; the
//	                                 row of ones gives db += Σ_{OH·OW} dY_n;
//	                                 computed as its transpose cols_n · dY_nᵀ
//	                                 when that shape suits gemm better)
//	dcols_n    = Wᵀ · dY_n          ([C·k·k, F] · [F, OH·OW])
//	dX_n       = col2im(dcols_n)    (each entry of dcols_n added back to the
//	                                 input pixel im2col copied it from; padding
//	                                 positions are dropped)
//
// With WithReLU, dY_n is first replaced by dY_n ⊙ [Y_n > 0], the gradient
// with respect to the output before ReLU (see [ReLU.Backward]). On the
// Winograd path, dW and db come from the transformed tiles instead of
// cols_n (see winoConv.filterGrad), and dX as above.
func (c *Conv2D) Backward(dy *tensor.Dense) *tensor.Dense { return c.backward(dy, true) }

// BackwardParams accumulates dW and db as Backward does, without computing
// dX (see [nn.ParamBackwarder]).
func (c *Conv2D) BackwardParams(dy *tensor.Dense) { c.backward(dy, false) }

func (c *Conv2D) backward(dy *tensor.Dense, wantDX bool) *tensor.Dense {
	nn.CheckGrad(c.name, dy, c.yt)
	n := dy.Shape()[0]
	c.args = convArgs{n: n, x: c.x.Float32s(), y: c.yt.Float32s(), g: dy.Float32s()}
	var dx *tensor.Dense
	if wantDX {
		c.shape = nn.BatchShape(c.shape, n, c.inShape)
		dx = c.dx.Get(c.shape...)
		c.args.dx = dx.Float32s()
	}
	blocks := c.blocks(n)
	c.dwb = convGrow(c.dwb, blocks*c.part)
	c.run()
	// Sum the blocks' shares in block order into the first block's, then
	// add that to the gradients.
	dw, db, kk1 := c.wp.GradData(), c.bp.GradData(), c.ckk+1
	sum := c.dwb[:c.part]
	for b := 1; b < blocks; b++ {
		vec.Add(sum, c.dwb[b*c.part:(b+1)*c.part])
	}
	switch {
	case c.wf != nil: // sum is dU, then db
		c.wf.addKernelGrad(dw, sum)
		vec.Add(db, sum[16*c.out*c.in:])
		return dx
	case c.dwT: // sum is [dW | db]ᵀ, [C·k·k + 1, F]
		for r := range c.ckk {
			for f, v := range sum[r*c.out : (r+1)*c.out] {
				dw[f*c.ckk+r] += v
			}
		}
		vec.Add(db, sum[c.ckk*c.out:])
		return dx
	}
	for f := range db {
		row := sum[f*kk1 : (f+1)*kk1]
		vec.Add(dw[f*c.ckk:(f+1)*c.ckk], row[:c.ckk])
		db[f] += row[c.ckk]
	}
	return dx
}

// convTiles returns the area of the 6×16 tiles that cover an m×n product.
func convTiles(m, n int) int { return (m + 5) / 6 * 6 * ((n + 15) / 16 * 16) }

// convBlocks is the number of blocks a batch is cut into (fewer for batches
// of fewer samples): the calling goroutine and the helper share them (see
// runBlocks).
const convBlocks = 16

// convArgs are the arguments of a pass, for the blocks to read.
type convArgs struct {
	forward bool
	n       int
	x, y    []float32 // input and output of the batch (written by Forward, read by backward for ReLU)
	g, dx   []float32 // (backward) dY, and dX or nil
}

// blocks returns the number of blocks a batch of n samples is cut into.
func (c *Conv2D) blocks(n int) int { return min(n, convBlocks) }

// run computes every block of the pass in c.args.
func (c *Conv2D) run() {
	blocks := c.blocks(c.args.n)
	if blocks > 1 && runtime.GOMAXPROCS(0) > 1 {
		// Size the helper's scratch now, in the first pass, rather than in
		// whichever later pass it first takes a block in.
		for i := range c.slots {
			c.scratch(&c.slots[i], c.args.forward, c.args.dx != nil)
		}
	}
	runBlocks(&c.job, c, blocks)
}

// workBlock computes block b of blocks of the pass in c.args, samples
// [b·N/blocks, (b+1)·N/blocks), with the scratch of slot (see runBlocks).
func (c *Conv2D) workBlock(slot, b, blocks int) {
	j, s := &c.args, &c.slots[slot]
	c.scratch(s, j.forward, j.dx != nil)
	chw, fohw, kk1, cw := c.in*c.h*c.w, c.out*c.ohw, c.ckk+1, c.cw
	lo, hi := b*j.n/blocks, (b+1)*j.n/blocks
	var dwb []float32
	if !j.forward {
		dwb = c.dwb[b*c.part : (b+1)*c.part]
	}
	wd := c.wp.Data()
	for i := lo; i < hi; i++ {
		xi := j.x[i*chw : (i+1)*chw]
		switch {
		case c.wf != nil && j.forward:
			c.wf.run(&s.wf, xi, j.y[i*fohw:(i+1)*fohw], c.bp.Data(), c.relu)
			continue
		case c.wf == nil:
			c.unroll(s, xi)
		}
		if j.forward {
			// Y_i = [W | b] · cols_i
			yi := j.y[i*fohw : (i+1)*fohw]
			if c.wide {
				yi = s.prod
			}
			gemm.SgemmSerial(false, false, c.out, cw, kk1, 1, c.wb, kk1, s.cols, cw, 0, yi, cw)
			switch {
			case c.wide:
				c.scatter(j.y[i*fohw:(i+1)*fohw], s.prod)
			case c.relu:
				vec.ReLU(yi, yi)
			}
			continue
		}
		gi := j.g[i*fohw : (i+1)*fohw]
		switch {
		case c.wide:
			c.gather(s.gw, gi, j.y[i*fohw:(i+1)*fohw])
			gi = s.gw
		case c.relu:
			vec.ReLUGrad(s.gw, gi, j.y[i*fohw:(i+1)*fohw])
			gi = s.gw
		}
		// [dW | db]_b += dY_i · cols_iᵀ, or [dW | db]ᵀ_b += cols_i · dY_iᵀ
		// (the block's first product overwrites); with Winograd, the
		// gradients of U and b (gi has rows of cw/OH values).
		var beta float32 = 1
		if i == lo {
			beta = 0
		}
		switch {
		case c.wf != nil:
			du := 16 * c.out * c.in
			c.wf.filterGrad(&s.wf, xi, gi, cw, cw/c.oh, dwb[:du], dwb[du:], i == lo)
		case c.dwT:
			gemm.SgemmSerial(false, true, kk1, c.out, cw, 1, s.cols, cw, gi, cw, beta, dwb, c.out)
		default:
			gemm.SgemmSerial(false, true, c.out, kk1, cw, 1, gi, cw, s.cols, cw, beta, dwb, kk1)
		}
		if j.dx != nil {
			// dcols_i = Wᵀ · dY_i; dX_i = col2im(dcols_i)
			gemm.SgemmSerial(true, false, c.ckk, cw, c.out, 1, wd, c.ckk, gi, cw, 0, s.dcols, cw)
			c.fold(j.dx[i*chw:(i+1)*chw], s)
		}
	}
}

// scratch sizes the scratch of one goroutine for a forward or a backward
// pass, allocating only on first use.
func (c *Conv2D) scratch(s *convScratch, forward, wantDX bool) {
	if c.wf != nil {
		c.wf.scratch(&s.wf)
		if forward {
			return
		}
	}
	if (c.wide || c.relu) && !forward && s.gw == nil {
		s.gw = make([]float32, c.out*c.cw) // the extra columns of a wide layout stay 0
	}
	if c.wf == nil && s.cols == nil {
		// The last row is all 1 and the columns past the data of each row
		// of a wide unrolling are 0; unroll writes neither.
		s.cols = make([]float32, (c.ckk+1)*c.cw)
		for i := c.ckk * c.cw; i < len(s.cols); i++ {
			s.cols[i] = 1
		}
		if c.wide {
			s.prod = make([]float32, c.out*c.cw)
			if c.pad > 0 {
				s.xpad = make([]float32, c.in*c.hq*c.wq) // borders stay 0
			}
		}
	}
	if wantDX && s.dcols == nil {
		s.dcols = make([]float32, c.ckk*c.cw)
		if c.wide && c.pad > 0 {
			s.dxpad = make([]float32, c.in*c.hq*c.wq)
		}
	}
}

// unroll writes im2col of one sample x [C, H, W] into s.cols.
func (c *Conv2D) unroll(s *convScratch, x []float32) {
	if !c.wide {
		c.im2col(s.cols, x)
		return
	}
	if c.pad > 0 {
		// Copy x into the interior of its zero-padded planes.
		p, h, w, wq := c.pad, c.h, c.w, c.wq
		for ch := 0; ch < c.in; ch++ {
			src := x[ch*h*w : (ch+1)*h*w]
			dst := s.xpad[ch*c.hq*wq : (ch+1)*c.hq*wq]
			for iy := 0; iy < h; iy++ {
				copy(dst[(iy+p)*wq+p:(iy+p)*wq+p+w], src[iy*w:(iy+1)*w])
			}
		}
		x = s.xpad
	}
	c.im2colWide(s.cols, x)
}

// fold writes col2im of s.dcols into dx [C, H, W].
func (c *Conv2D) fold(dx []float32, s *convScratch) {
	switch {
	case !c.wide:
		clear(dx)
		c.col2im(dx, s.dcols)
	case c.pad == 0:
		c.col2imWide(dx, s.dcols)
	default:
		// Fold into the padded planes, then keep their interiors.
		c.col2imWide(s.dxpad, s.dcols)
		p, h, w, wq := c.pad, c.h, c.w, c.wq
		for ch := 0; ch < c.in; ch++ {
			src := s.dxpad[ch*c.hq*wq : (ch+1)*c.hq*wq]
			dst := dx[ch*h*w : (ch+1)*h*w]
			for iy := 0; iy < h; iy++ {
				copy(dst[iy*w:(iy+1)*w], src[(iy+p)*wq+p:(iy+p)*wq+p+w])
			}
		}
	}
}

// scatter copies one sample's output from the wide layout prod [F, OH·Wq]
// into y [F, OH, OW], dropping the extra columns:
// y[f, oy, ox] = prod[f, oy·Wq + ox], or max(prod[f, oy·Wq + ox], 0) with
// ReLU.
func (c *Conv2D) scatter(y, prod []float32) {
	ow, wq := c.ow, c.wq
	for r := 0; r < c.out*c.oh; r++ { // r = f·OH + oy
		if c.relu {
			vec.ReLU(y[r*ow:(r+1)*ow], prod[r*wq:r*wq+ow])
		} else {
			copy(y[r*ow:(r+1)*ow], prod[r*wq:r*wq+ow])
		}
	}
}

// gather is the adjoint of scatter: it copies one sample's dy [F, OH, OW]
// into the wide layout gw [F, OH·Wq], whose extra columns stay 0. With ReLU
// it copies dy ⊙ [y > 0] instead, y being the sample's output [F, OH, OW].
func (c *Conv2D) gather(gw, dy, y []float32) {
	ow, wq := c.ow, c.wq
	for r := 0; r < c.out*c.oh; r++ {
		if c.relu {
			vec.ReLUGrad(gw[r*wq:r*wq+ow], dy[r*ow:(r+1)*ow], y[r*ow:(r+1)*ow])
		} else {
			copy(gw[r*wq:r*wq+ow], dy[r*ow:(r+1)*ow])
		}
	}
}

// im2colWide unrolls one sample for a stride-1 convolution, given as its
// padded planes xp [C, Hq, Wq] (Hq = H + 2p, Wq = W + 2p), into the first
// C·k·k rows of cols [·, OH·Wq]. Output pixel (oy, ox) is column
// t = oy·Wq + ox, and for every t < (OH − 1)·Wq + OW
//
//	cols[(c·k + ki)·k + kj, t] = xp[c, ⌊t/Wq⌋ + ki, t mod Wq + kj]
//
// so each row is one contiguous copy of a plane, shifted by ki·Wq + kj.
// Columns with t mod Wq ≥ OW are extra: they wrap around into the next row,
// and the output drops them. The last k − 1 columns, which would read past
// the plane, are left as they are (0).
func (c *Conv2D) im2colWide(cols, xp []float32) {
	k, wq, cw := c.k, c.wq, c.cw
	hw := c.hq * wq
	lw := (c.oh-1)*wq + c.ow
	r := 0
	for ch := 0; ch < c.in; ch++ {
		plane := xp[ch*hw : (ch+1)*hw]
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				copy(cols[r*cw:r*cw+lw], plane[ki*wq+kj:])
				r++
			}
		}
	}
}

// col2imWide is the adjoint of im2colWide: it sets dxp [C, Hq, Wq] to the
// sum of every entry of dcols [C·k·k, OH·Wq] but the last k − 1 columns,
// each added at the position im2colWide read it from. For each channel c
// and kernel row ki, the k rows (c, ki, 0…k−1) of dcols land on the same
// stretch of the plane, shifted by 0…k−1: for k = 3 and 5 they are summed
// first and added once (half the loads and stores), otherwise added one by
// one.
func (c *Conv2D) col2imWide(dxp, dcols []float32) {
	k, wq, cw := c.k, c.wq, c.cw
	hw := c.hq * wq
	lw := (c.oh-1)*wq + c.ow
	fused := (k == 3 || k == 5) && lw >= k
	r := 0
	for ch := 0; ch < c.in; ch++ {
		plane := dxp[ch*hw : (ch+1)*hw]
		// Row ki = 0 sets plane[:OH·Wq]; the rows below are only added to.
		clear(plane[c.oh*wq:])
		for ki := 0; ki < k; ki++ {
			// Rows (ch, ki, kj) cover plane[ki·Wq + kj : ki·Wq + kj + lw];
			// together, plane[ki·Wq : ki·Wq + OH·Wq] (lw + k − 1 = OH·Wq).
			dst := plane[ki*wq : ki*wq+lw+k-1]
			first := ki == 0 // assigns rather than adds
			switch {
			case fused && k == 3:
				convFold3(dst, dcols[r*cw:r*cw+lw], dcols[(r+1)*cw:], dcols[(r+2)*cw:], first)
			case fused:
				convFold5(dst, dcols[r*cw:r*cw+lw], dcols[(r+1)*cw:], dcols[(r+2)*cw:], dcols[(r+3)*cw:], dcols[(r+4)*cw:], first)
			default:
				for kj := 0; kj < k; kj++ {
					src := dcols[(r+kj)*cw : (r+kj)*cw+lw]
					if first && kj == 0 {
						copy(dst, src)
						clear(dst[lw:])
					} else {
						vec.Add(dst[kj:], src)
					}
				}
			}
			r += k
		}
	}
}

// Params returns W and b (nil before Build).
func (c *Conv2D) Params() []*nn.Param {
	if c.wp == nil {
		return nil
	}
	return []*nn.Param{c.wp, c.bp}
}

// Spec returns Conv2D with attributes in, out, kernel, stride and pad, and
// relu = 1 with [WithReLU] (absent otherwise, as in files saved before the
// option existed).
func (c *Conv2D) Spec() nn.Spec {
	s := nn.Spec{Kind: "Conv2D", Attrs: map[string]float64{
		"in": float64(c.in), "out": float64(c.out), "kernel": float64(c.k),
		"stride": float64(c.stride), "pad": float64(c.pad),
	}}
	if c.relu {
		s.Attrs["relu"] = 1
	}
	return s
}

// im2col unrolls one sample x [C, H, W] into the first C·k·k rows of cols
// [·, OH·OW]:
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
					if lo > 0 {
						clear(dst[:lo])
					}
					if s == 1 {
						copy(dst[lo:hi], src[lo+kj-p:])
					} else {
						ix := lo*s + kj - p
						for ox := lo; ox < hi; ox++ {
							dst[ox] = src[ix]
							ix += s
						}
					}
					if hi < ow {
						clear(dst[hi:])
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it adds every entry of dcols
// [C·k·k, OH·OW] into dx [C, H, W] at the pixel im2col read it from,
// dropping padding.
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
						vec.Add(dxc[iy*w+lo+kj-p:], src)
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

// convFold3 sets (if assign) or adds to d[u], u < n + 2, the sum
// a[u] + b[u−1] + e[u−2] of the terms whose index lies in [0, n), where
// n = len(a) ≥ 3; b and e hold at least n values.
func convFold3(d, a, b, e []float32, assign bool) {
	n := len(a)
	d, b, e = d[:n+2], b[:n], e[:n]
	h0, h1 := a[0], a[1]+b[0]       // u = 0, 1
	t0, t1 := b[n-1]+e[n-2], e[n-1] // u = n, n + 1
	aa, bb, ee, dd := a[2:], b[1:n-1], e[:n-2], d[2:n]
	bb, ee, dd = bb[:len(aa)], ee[:len(aa)], dd[:len(aa)]
	vec.Sum3(dd, aa, bb, ee, !assign)
	if assign {
		d[0], d[1], d[n], d[n+1] = h0, h1, t0, t1
		return
	}
	d[0] += h0
	d[1] += h1
	d[n] += t0
	d[n+1] += t1
}

// convFold5 is convFold3 for five rows: d[u], u < n + 4, gets
// a[u] + b[u−1] + e[u−2] + f[u−3] + g[u−4] over the terms inside [0, n),
// n = len(a) ≥ 5.
func convFold5(d, a, b, e, f, g []float32, assign bool) {
	n := len(a)
	d, b, e, f, g = d[:n+4], b[:n], e[:n], f[:n], g[:n]
	// The first and last four positions have fewer terms.
	edge := [8]float32{
		a[0], a[1] + b[0], a[2] + b[1] + e[0], a[3] + b[2] + e[1] + f[0],
		b[n-1] + e[n-2] + f[n-3] + g[n-4], e[n-1] + f[n-2] + g[n-3], f[n-1] + g[n-2], g[n-1],
	}
	aa, bb, ee, ff, gg, dd := a[4:], b[3:n-1], e[2:n-2], f[1:n-3], g[:n-4], d[4:n]
	bb, ee, ff, gg, dd = bb[:len(aa)], ee[:len(aa)], ff[:len(aa)], gg[:len(aa)], dd[:len(aa)]
	if assign {
		copy(d[:4], edge[:4])
		copy(d[n:], edge[4:])
		for i, v := range aa {
			dd[i] = v + bb[i] + ee[i] + ff[i] + gg[i]
		}
		return
	}
	for u := range 4 {
		d[u] += edge[u]
		d[n+u] += edge[4+u]
	}
	for i, v := range aa {
		dd[i] += v + bb[i] + ee[i] + ff[i] + gg[i]
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
