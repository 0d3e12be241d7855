package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

var (
	_ nn.Layer = (*MaxPool2D)(nil)
	_ nn.Layer = (*AvgPool2D)(nil)
)

// poolGeom is the geometry shared by the pooling layers: size×size windows
// moved by stride over each of C planes of H×W values, giving OH×OW outputs
// per plane with OH = (H − size)/stride + 1 and OW = (W − size)/stride + 1.
type poolGeom struct {
	kind              string // "MaxPool2D" or "AvgPool2D"
	size, stride      int
	c, h, w, oh, ow   int
	name              string
	inShape, outShape nn.Shape
	yt                *tensor.Dense // output of the last Forward
	y, dx             nn.Buffer
	shape             []int // scratch for batch shapes
}

func poolNew(kind string, size, stride int) poolGeom {
	if stride == 0 {
		stride = size
	}
	return poolGeom{kind: kind, size: size, stride: stride}
}

// build checks the input shape [C, H, W] and the window, and returns
// [C, OH, OW].
func (g *poolGeom) build(in nn.Shape) (nn.Shape, error) {
	kind := g.kind
	if g.size <= 0 {
		return nil, fmt.Errorf("%s: window size %d, want at least 1", kind, g.size)
	}
	if g.stride <= 0 {
		return nil, fmt.Errorf("%s: stride %d, want at least 1 (or 0 for the window size)", kind, g.stride)
	}
	if len(in) != 3 {
		return nil, fmt.Errorf("%s wants an image input [channels height width], got %v", kind, in)
	}
	if in[0] <= 0 || in[1] <= 0 || in[2] <= 0 {
		return nil, fmt.Errorf("%s: input shape %v must be positive", kind, in)
	}
	if g.size > in[1] || g.size > in[2] {
		return nil, fmt.Errorf("%s: %d×%d window does not fit the %d×%d input; want size ≤ height and width (pooling does not pad)",
			kind, g.size, g.size, in[1], in[2])
	}
	g.c, g.h, g.w = in[0], in[1], in[2]
	g.oh = (g.h-g.size)/g.stride + 1
	g.ow = (g.w-g.size)/g.stride + 1
	g.name = fmt.Sprintf("%s(%d, stride %d)", kind, g.size, g.stride)
	g.inShape = nn.Shape{g.c, g.h, g.w}
	g.outShape = nn.Shape{g.c, g.oh, g.ow}
	g.yt = nil
	return append(nn.Shape(nil), g.outShape...), nil
}

// forwardStart checks x and returns the batch size and the output buffer.
func (g *poolGeom) forwardStart(x *tensor.Dense) (int, *tensor.Dense) {
	if g.inShape == nil {
		panic(g.kind + ": Forward called before Build")
	}
	n := nn.CheckInput(g.name, x, g.inShape)
	g.shape = nn.BatchShape(g.shape, n, g.outShape)
	y := g.y.Get(g.shape...)
	g.yt = y
	return n, y
}

// backwardStart checks dy and returns the batch size and the dx buffer,
// zeroed if zero is set.
func (g *poolGeom) backwardStart(dy *tensor.Dense, zero bool) (int, *tensor.Dense) {
	nn.CheckGrad(g.name, dy, g.yt)
	n := dy.Shape()[0]
	g.shape = nn.BatchShape(g.shape, n, g.inShape)
	dx := g.dx.Get(g.shape...)
	if zero {
		clear(dx.Float32s())
	}
	return n, dx
}

func (g *poolGeom) spec() nn.Spec {
	return nn.Spec{Kind: g.kind, Attrs: map[string]float64{"size": float64(g.size), "stride": float64(g.stride)}}
}

// MaxPool2D takes the maximum over size×size windows moved by stride over
// every channel of an input [C, H, W]:
//
//	Y[c, oy, ox] = max_{0 ≤ ki, kj < size} X[c, oy·stride + ki, ox·stride + kj]
//
// giving [C, OH, OW] with OH = (H − size)/stride + 1 (rounded down; rows and
// columns the last window does not reach are ignored), likewise OW. There is
// no padding: every window lies inside the input. Windows may overlap
// (stride < size) or leave gaps (stride > size).
//
// Forward records, for every output, the index of the input that won (the
// first one in row-major window order when several are equal; a NaN wins and
// propagates), in inference mode too, so Backward works after either.
//
// The common 2×2 window with stride 2 has its own forward loop, without
// branches: which element of a window is the largest is as good as random,
// and a mispredicted branch costs more than the rest of the work on a
// window.
//
// Large batches are cut into blocks of planes that the calling goroutine and
// a helper goroutine share (see Conv2D).
type MaxPool2D struct {
	poolGeom
	arg  []int32 // arg[i] = index, within its plane, of the maximum behind output i
	pass poolPass
	job  blockJob
}

// NewMaxPool2D returns a max-pooling layer with size×size windows; a stride
// of 0 means stride = size (non-overlapping windows).
func NewMaxPool2D(size, stride int) *MaxPool2D {
	return &MaxPool2D{poolGeom: poolNew("MaxPool2D", size, stride)}
}

// Build checks that the per-sample input is [C, H, W] with planes of fewer
// than 2³¹ values and that the window fits it, and returns [C, OH, OW].
// MaxPool2D has no parameters.
func (m *MaxPool2D) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	if len(in) == 3 && in[1] > 0 && in[2] > 0 && in[1] > math.MaxInt32/in[2] {
		return nil, fmt.Errorf("MaxPool2D: %d×%d plane of more than 2³¹ − 1 values", in[1], in[2])
	}
	return m.build(in)
}

// Forward returns the window maxima of x, of shape [N, C, H, W], as a tensor
// of shape [N, C, OH, OW] owned by the layer.
func (m *MaxPool2D) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	n, y := m.forwardStart(x)
	xd, yd := x.Float32s(), y.Float32s()
	if cap(m.arg) < len(yd) {
		m.arg = make([]int32, len(yd))
	}
	m.arg = m.arg[:len(yd)]
	m.pass = poolPass{forward: true, planes: n * m.c, x: xd, y: yd}
	runBlocks(&m.job, m, min(elemBlocks(len(xd)), n*m.c))
	return y
}

// Backward takes dY of shape [N, C, OH, OW] and returns dX of shape
// [N, C, H, W]. Only the maximum of each window affects the output, with
// derivative 1, so with arg[i] the input index recorded for output i (in the
// same plane):
//
//	dX[arg[i]] += dY[i]   (+= because overlapping windows can share a maximum)
//
// and dX is zero everywhere else.
func (m *MaxPool2D) Backward(dy *tensor.Dense) *tensor.Dense {
	n, dx := m.backwardStart(dy, false) // each block clears its planes
	m.pass = poolPass{planes: n * m.c, y: dy.Float32s(), x: dx.Float32s()}
	runBlocks(&m.job, m, min(elemBlocks(len(m.pass.x)), n*m.c))
	return dx
}

// poolPass is what the blocks of a MaxPool2D pass read.
type poolPass struct {
	forward bool
	planes  int       // N·C
	x, y    []float32 // Forward: X and Y; Backward: dX and dY
}

// workBlock computes the planes [b·N·C/blocks, (b+1)·N·C/blocks) of the
// current pass (see runBlocks). Every window, and so every arg, of a plane
// lies in that plane, so blocks of planes are independent.
func (m *MaxPool2D) workBlock(_, b, blocks int) {
	p := &m.pass
	p0, p1 := b*p.planes/blocks, (b+1)*p.planes/blocks
	hw, ohw := m.h*m.w, m.oh*m.ow
	switch {
	case !p.forward:
		clear(p.x[p0*hw : p1*hw])
		for plane := p0; plane < p1; plane++ {
			dx, g, arg := p.x[plane*hw:(plane+1)*hw], p.y[plane*ohw:(plane+1)*ohw], m.arg[plane*ohw:(plane+1)*ohw]
			arg = arg[:len(g)]
			for i, v := range g {
				dx[arg[i]] += v
			}
		}
	case m.size == 2 && m.stride == 2:
		m.forward22(p.y, p.x, p0, p1)
	default:
		m.forwardPlanes(p.y, p.x, p0, p1)
	}
}

// forwardPlanes is Forward for planes [p0, p1) of x, any window and stride.
func (m *MaxPool2D) forwardPlanes(y, x []float32, p0, p1 int) {
	h, w, s, k := m.h, m.w, m.stride, m.size
	o := p0 * m.oh * m.ow
	for plane := p0; plane < p1; plane++ {
		xp := x[plane*h*w : (plane+1)*h*w]
		for oy := 0; oy < m.oh; oy++ {
			for ox := 0; ox < m.ow; ox++ {
				top := oy*s*w + ox*s
				best, bi := xp[top], top
				for ki := 0; ki < k; ki++ {
					r := top + ki*w
					for j, v := range xp[r : r+k] {
						if v > best || v != v {
							best, bi = v, r+j
						}
					}
				}
				y[o], m.arg[o] = best, int32(bi)
				o++
			}
		}
	}
}

// forward22 is forwardPlanes for 2×2 windows with stride 2. It finds the
// maximum of a window a b / c d and its position as the general loop does
// (the first maximum in window order, or the last NaN), but as a tournament:
// the maximum of a and b, that of c and d, then that of the two, each choice
// a comparison turned into a mask that selects bit patterns, so that nothing
// branches on the data. Windows with a NaN (seen as a NaN sum, which +Inf and
// −Inf also give) take a branch of their own, never taken in practice.
func (m *MaxPool2D) forward22(y, x []float32, p0, p1 int) {
	h, w, oh, ow := m.h, m.w, m.oh, m.ow
	o := p0 * oh * ow
	for plane := p0; plane < p1; plane++ {
		xp := x[plane*h*w : (plane+1)*h*w]
		for oy := 0; oy < oh; oy++ {
			r0 := xp[2*oy*w : 2*oy*w+2*ow]
			r1 := xp[(2*oy+1)*w : (2*oy+1)*w+2*ow]
			r1 = r1[:len(r0)]
			base := int32(2 * oy * w) // index in the plane of the row pair's first element
			yr, ar := y[o:o+ow], m.arg[o:o+ow]
			for i := 0; i+1 < len(r0); i += 2 {
				a, b, c, d := r0[i], r0[i+1], r1[i], r1[i+1]
				if s := a + b + c + d; s != s {
					// A NaN (or +Inf and −Inf): the general rule.
					v, k := poolScan4(a, b, c, d)
					yr[i>>1], ar[i>>1] = v, base+int32(int(k>>1)*w+i+int(k&1))
					continue
				}
				// A tournament: the first maximum of each row's pair, then
				// of the two (a later element wins only if larger). k is
				// the position in the window, 2·ki + kj.
				ab, bb := math.Float32bits(a), math.Float32bits(b)
				cb, db := math.Float32bits(c), math.Float32bits(d)
				// sel is all ones where the later element wins.
				sel := -poolB2U(b > a)
				t, kt := ab^(ab^bb)&sel, 1&sel
				sel = -poolB2U(d > c)
				u, ku := cb^(cb^db)&sel, 2+1&sel
				sel = -poolB2U(math.Float32frombits(u) > math.Float32frombits(t))
				k := int(kt ^ (kt^ku)&sel)
				yr[i>>1], ar[i>>1] = math.Float32frombits(t^(t^u)&sel), base+int32(k>>1*w+i+k&1)
			}
			o += ow
		}
	}
}

// poolScan4 returns the maximum of a, b, c, d and its position by the
// general loop's rule: scanning in order, an element wins if it is larger
// than the winner so far or NaN.
func poolScan4(a, b, c, d float32) (float32, uint32) {
	best, k := a, uint32(0)
	for i, v := range [3]float32{b, c, d} {
		if v > best || v != v {
			best, k = v, uint32(i+1)
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

// Params returns nil: pooling has no parameters.
func (m *MaxPool2D) Params() []*nn.Param { return nil }

// Spec returns MaxPool2D with attributes size and stride.
func (m *MaxPool2D) Spec() nn.Spec { return m.spec() }

// AvgPool2D takes the mean over size×size windows moved by stride over every
// channel of an input [C, H, W]:
//
//	Y[c, oy, ox] = 1/size² · Σ_{0 ≤ ki, kj < size} X[c, oy·stride + ki, ox·stride + kj]
//
// with the output shape of [MaxPool2D]. There is no padding: every window lies
// inside the input, so every mean is over size² values.
type AvgPool2D struct {
	poolGeom
}

// NewAvgPool2D returns an average-pooling layer with size×size windows; a
// stride of 0 means stride = size (non-overlapping windows).
func NewAvgPool2D(size, stride int) *AvgPool2D {
	return &AvgPool2D{poolGeom: poolNew("AvgPool2D", size, stride)}
}

// Build checks that the per-sample input is [C, H, W] and that the window fits
// it, and returns [C, OH, OW]. AvgPool2D has no parameters.
func (a *AvgPool2D) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	return a.build(in)
}

// Forward returns the window means of x, of shape [N, C, H, W], as a tensor of
// shape [N, C, OH, OW] owned by the layer.
func (a *AvgPool2D) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	n, y := a.forwardStart(x)
	xd, yd := x.Float32s(), y.Float32s()
	h, w, s, k := a.h, a.w, a.stride, a.size
	scale := 1 / float32(k*k)
	o := 0
	for plane := 0; plane < n*a.c; plane++ {
		xp := xd[plane*h*w : (plane+1)*h*w]
		for oy := 0; oy < a.oh; oy++ {
			for ox := 0; ox < a.ow; ox++ {
				top := oy*s*w + ox*s
				var sum float32
				for ki := 0; ki < k; ki++ {
					r := top + ki*w
					for _, v := range xp[r : r+k] {
						sum += v
					}
				}
				yd[o] = sum * scale
				o++
			}
		}
	}
	return y
}

// Backward takes dY of shape [N, C, OH, OW] and returns dX of shape
// [N, C, H, W]. Each input of a window contributes 1/size² to its mean, so
// for every output (c, oy, ox) and every (ki, kj) of its window:
//
//	dX[c, oy·stride + ki, ox·stride + kj] += dY[c, oy, ox] / size²
//
// (+= because overlapping windows share inputs; inputs no window covers get 0).
func (a *AvgPool2D) Backward(dy *tensor.Dense) *tensor.Dense {
	n, dx := a.backwardStart(dy, true)
	dxd, g := dx.Float32s(), dy.Float32s()
	h, w, s, k := a.h, a.w, a.stride, a.size
	scale := 1 / float32(k*k)
	o := 0
	for plane := 0; plane < n*a.c; plane++ {
		dxp := dxd[plane*h*w : (plane+1)*h*w]
		for oy := 0; oy < a.oh; oy++ {
			for ox := 0; ox < a.ow; ox++ {
				v := g[o] * scale
				o++
				top := oy*s*w + ox*s
				for ki := 0; ki < k; ki++ {
					r := top + ki*w
					row := dxp[r : r+k]
					for j := range row {
						row[j] += v
					}
				}
			}
		}
	}
	return dx
}

// Params returns nil: pooling has no parameters.
func (a *AvgPool2D) Params() []*nn.Param { return nil }

// Spec returns AvgPool2D with attributes size and stride.
func (a *AvgPool2D) Spec() nn.Spec { return a.spec() }
