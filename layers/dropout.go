package layers

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

var _ nn.Layer = (*Dropout)(nil)

// Dropout is inverted dropout. In training it zeroes each value independently
// with probability rate and scales the kept ones by 1/(1 − rate), so that
// E[y] = x and nothing needs rescaling at inference:
//
//	y = x ⊙ M,  M_i = 0 with probability rate, 1/(1 − rate) otherwise.
//
// At inference (train == false), and for rate 0, it is the identity and
// returns x itself.
//
// Each mask decision uses 16 random bits, four per 64-bit draw, so the rate
// is rounded to a multiple of 2⁻¹⁶ (0.1 becomes 0.100006) and the scale uses
// the rounded rate, keeping E[y] = x exact.
//
// The mask comes from the layer's own PCG generator, seeded at Build from two
// draws of the build rng, so the same model seed gives the same masks.
type Dropout struct {
	rate   float64
	thresh uint64  // drop when a 16-bit draw is below thresh
	scale  float32 // 1/(1 − rounded rate)
	src    *rand.PCG
	built  bool

	y, dx  nn.Buffer
	mask   nn.Buffer
	yt     *tensor.Dense // output of the last Forward
	masked bool          // whether the last Forward applied a mask
	in     nn.Shape
	shape  []int
}

// NewDropout returns a dropout layer that drops each value with probability
// rate, 0 ≤ rate < 1 (checked at Build).
func NewDropout(rate float64) *Dropout { return &Dropout{rate: rate} }

// Rate returns the drop probability the layer was created with.
func (d *Dropout) Rate() float64 { return d.rate }

// Source returns the generator the masks are drawn from (nil before Build).
// Its state can be saved with MarshalBinary and restored with UnmarshalBinary
// to replay the same masks, e.g. to resume training bit for bit or to hold
// the mask fixed in a gradient check.
func (d *Dropout) Source() *rand.PCG { return d.src }

// Build accepts any per-sample shape and returns it unchanged. It returns an
// error if the rate is outside [0, 1). It seeds the layer's generator with
// rand.NewPCG(rng.Uint64(), rng.Uint64()).
func (d *Dropout) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	if !(d.rate >= 0 && d.rate < 1) {
		return nil, fmt.Errorf("Dropout: rate %g, want 0 ≤ rate < 1", d.rate)
	}
	if len(in) == 0 || in.Size() <= 0 {
		return nil, fmt.Errorf("Dropout: input shape %v must be non-empty and positive", in)
	}
	if rng == nil {
		return nil, fmt.Errorf("Dropout: Build needs a random source")
	}
	d.src = rand.NewPCG(rng.Uint64(), rng.Uint64())
	d.thresh = min(uint64(d.rate*(1<<16)+0.5), 1<<16-1)
	d.scale = float32(float64(1<<16) / float64(1<<16-d.thresh))
	d.in = append(nn.Shape(nil), in...)
	d.yt, d.masked, d.built = nil, false, true
	return append(nn.Shape(nil), in...), nil
}

// dropoutKeep returns 1 if the low 16 bits of r are at least t (keep), else 0
// (drop), without a branch: r16 − t wraps around and sets the top bit exactly
// when r16 < t.
func dropoutKeep(r, t uint64) uint64 { return 1 ^ ((r&0xffff - t) >> 63) }

// Forward returns x ⊙ M in training with rate > 0, drawing a fresh mask M;
// otherwise it returns x itself.
func (d *Dropout) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	if !d.built {
		panic("Dropout: Forward called before Build")
	}
	n := nn.CheckInput("Dropout", x, d.in)
	if !train || d.thresh == 0 {
		d.yt, d.masked = x, false
		return x
	}
	d.shape = nn.BatchShape(d.shape, n, d.in)
	y := d.y.Get(d.shape...)
	xs, ys, ms := x.Float32s(), y.Float32s(), d.mask.Get(d.shape...).Float32s()
	ys, ms = ys[:len(xs)], ms[:len(xs)]
	vals := [2]float32{0, d.scale}
	t, src := d.thresh, d.src
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		r := src.Uint64()
		m0 := vals[dropoutKeep(r, t)]
		m1 := vals[dropoutKeep(r>>16, t)]
		m2 := vals[dropoutKeep(r>>32, t)]
		m3 := vals[dropoutKeep(r>>48, t)]
		ms[i], ms[i+1], ms[i+2], ms[i+3] = m0, m1, m2, m3
		ys[i], ys[i+1], ys[i+2], ys[i+3] = xs[i]*m0, xs[i+1]*m1, xs[i+2]*m2, xs[i+3]*m3
	}
	if i < len(xs) {
		r := src.Uint64()
		for ; i < len(xs); i++ {
			m := vals[dropoutKeep(r, t)]
			ms[i], ys[i] = m, xs[i]*m
			r >>= 16
		}
	}
	d.yt, d.masked = y, true
	return y
}

// Backward returns dX = dY ⊙ M with the mask M of the last Forward, or dY
// itself when that Forward was the identity (inference, or rate 0).
func (d *Dropout) Backward(dy *tensor.Dense) *tensor.Dense {
	nn.CheckGrad("Dropout", dy, d.yt)
	if !d.masked {
		return dy
	}
	dx := d.dx.Get(d.shape...)
	g, ms, dxs := dy.Float32s(), d.mask.Get(d.shape...).Float32s(), dx.Float32s()
	ms, dxs = ms[:len(g)], dxs[:len(g)]
	for i, v := range g {
		dxs[i] = v * ms[i]
	}
	return dx
}

// Params returns nil: Dropout has no parameters.
func (d *Dropout) Params() []*nn.Param { return nil }

// Spec returns Dropout with attribute rate.
func (d *Dropout) Spec() nn.Spec {
	return nn.Spec{Kind: "Dropout", Attrs: map[string]float64{"rate": d.rate}}
}
