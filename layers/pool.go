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
// The common 2×2 window with stride 2 has loops of its own (pool_22.go):
// without branches on the data, with AVX2 assembly where the CPU has it,
// and with each winner stored as a byte, its position in its window.
//
// Large batches are cut into blocks of planes that the calling goroutine and
// a helper goroutine share (see Conv2D).
type MaxPool2D struct {
	poolGeom
	arg  []int32 // other windows: arg[i] = index, within its plane, of the maximum behind output i
	win  []uint8 // 2×2 windows, stride 2: win[i] = position 2·ki + kj of that maximum in its window
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
	if m.size == 2 && m.stride == 2 {
		if cap(m.win) < len(yd) {
			m.win = make([]uint8, len(yd))
		}
		m.win = m.win[:len(yd)]
	} else {
		if cap(m.arg) < len(yd) {
			m.arg = make([]int32, len(yd))
		}
		m.arg = m.arg[:len(yd)]
	}
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
// and dX is zero everywhere else. (With 2×2 windows and stride 2, which do
// not overlap, every element of dX is written once instead: 0 + dY[i] at
// the winner of window i, 0 elsewhere; the same bits.)
func (m *MaxPool2D) Backward(dy *tensor.Dense) *tensor.Dense {
	n, dx := m.backwardStart(dy, false) // each block writes all of its planes
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
	is22 := m.size == 2 && m.stride == 2
	switch {
	case is22 && p.forward:
		m.maxPool22Planes(p.y, p.x, p0, p1)
	case is22:
		m.maxUnpool22Planes(p.x, p.y, p0, p1)
	case !p.forward:
		clear(p.x[p0*hw : p1*hw])
		for plane := p0; plane < p1; plane++ {
			dx, g, arg := p.x[plane*hw:(plane+1)*hw], p.y[plane*ohw:(plane+1)*ohw], m.arg[plane*ohw:(plane+1)*ohw]
			arg = arg[:len(g)]
			for i, v := range g {
				dx[arg[i]] += v
			}
		}
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
