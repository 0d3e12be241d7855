package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

var (
	_ nn.Layer    = (*BatchNorm)(nil)
	_ nn.Stateful = (*BatchNorm)(nil)
)

// BatchNorm normalises every channel over the batch (Ioffe & Szegedy, 2015),
// then scales and shifts it by learned per-channel γ ("gamma", starting at
// ones) and β ("beta", zeros):
//
//	x̂ = (x − μ) / σ,  σ = sqrt(v + Eps),  y = γ·x̂ + β
//
// The first axis of the per-sample shape is the channel axis: after Dense
// (shape [C]) each feature is a channel and its statistics run over the N
// samples; after Conv2D (shape [C, H, W]) they run over the M = N·H·W values
// of each channel, as in PyTorch's BatchNorm1d and BatchNorm2d. Any per-sample
// shape [C, ...] is accepted on the same rule.
//
// In training mode μ and v are the batch mean and the biased batch variance
// (divided by M), and the running statistics, saved with the model as the
// state "mean" (starting at 0) and "var" (starting at 1), move towards them
// with PyTorch's convention:
//
//	mean = (1 − Momentum)·mean + Momentum·μ
//	var  = (1 − Momentum)·var  + Momentum·v·M/(M − 1)   (the unbiased variance)
//
// When M = 1 the unbiased variance is undefined and var is left unchanged (the
// output is then β). In inference mode μ and v are the running mean and var,
// and BatchNorm is a fixed affine map of each channel.
type BatchNorm struct {
	// Momentum is the weight of the current batch in the running statistics,
	// in [0, 1]; NewBatchNorm sets 0.1.
	Momentum float64
	// Eps is added to the variance before the square root, > 0; NewBatchNorm
	// sets 1e-5.
	Eps float64

	c, s        int // channels, values per channel in one sample
	name        string
	inShape     nn.Shape
	gamma, beta *nn.Param
	mean, vr    *nn.Param // running statistics (state, no gradient)

	yt      *tensor.Dense // output of the last Forward
	y, dx   nn.Buffer
	xhat    []float32 // x̂ of the last Forward, laid out like x
	invStd  []float32 // 1/σ per channel, of the last Forward
	sum1    []float64 // per-channel scratch sums
	sum2    []float64
	trained bool  // whether the last Forward was in training mode
	shape   []int // scratch for batch shapes
}

// NewBatchNorm returns a batch-normalisation layer with Momentum 0.1 and
// Eps 1e-5. The number of channels is taken from the input at Build.
func NewBatchNorm() *BatchNorm {
	return &BatchNorm{Momentum: 0.1, Eps: 1e-5}
}

// Gamma returns the scale parameter, of shape [C] (nil before Build).
func (b *BatchNorm) Gamma() *nn.Param { return b.gamma }

// Beta returns the shift parameter, of shape [C] (nil before Build).
func (b *BatchNorm) Beta() *nn.Param { return b.beta }

// Build takes the channels C from the first axis of the per-sample input
// shape, creates γ, β and the running statistics, and returns the input shape
// unchanged. It fails if Momentum is outside [0, 1] or Eps is not positive.
func (b *BatchNorm) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	if !(b.Momentum >= 0 && b.Momentum <= 1) {
		return nil, fmt.Errorf("BatchNorm: momentum %g, want it in [0, 1]", b.Momentum)
	}
	if !(b.Eps > 0) {
		return nil, fmt.Errorf("BatchNorm: eps %g, want it > 0", b.Eps)
	}
	if len(in) == 0 || in.Size() <= 0 {
		return nil, fmt.Errorf("BatchNorm wants an input [channels ...] such as [C] or [C H W], got %v", in)
	}
	b.c, b.s = in[0], in.Size()/in[0]
	b.inShape = append(nn.Shape(nil), in...)
	b.name = fmt.Sprintf("BatchNorm(%d)", b.c)
	b.gamma = nn.NewParam("gamma", b.c)
	for i := range b.gamma.Data() {
		b.gamma.Data()[i] = 1
	}
	b.beta = nn.NewParam("beta", b.c)
	b.mean = nn.NewState("mean", b.c)
	b.vr = nn.NewState("var", b.c)
	for i := range b.vr.Data() {
		b.vr.Data()[i] = 1
	}
	b.invStd = make([]float32, b.c)
	b.sum1 = make([]float64, b.c)
	b.sum2 = make([]float64, b.c)
	b.yt = nil
	return append(nn.Shape(nil), in...), nil
}

// Forward normalises x, of shape [N, C, ...], with the batch statistics in
// training mode (updating the running ones) and the running statistics
// otherwise. The output has the shape of x and is owned by the layer.
func (b *BatchNorm) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	if b.gamma == nil {
		panic("BatchNorm: Forward called before Build")
	}
	n := nn.CheckInput(b.name, x, b.inShape)
	b.shape = nn.BatchShape(b.shape, n, b.inShape)
	y := b.y.Get(b.shape...)
	xd, yd := x.Float32s(), y.Float32s()
	if cap(b.xhat) < len(xd) {
		b.xhat = make([]float32, len(xd))
	}
	b.xhat = b.xhat[:len(xd)]
	c, s := b.c, b.s
	mean, vr := b.mean.Data(), b.vr.Data()
	mu, v := b.sum1, b.sum2 // per-channel mean and variance used below

	if train {
		m := float64(n * s)
		// μ = Σ x / M, in a first pass over x in memory order.
		clear(mu)
		for i := 0; i < n; i++ {
			for ch := 0; ch < c; ch++ {
				var acc float64
				for _, xv := range xd[(i*c+ch)*s : (i*c+ch+1)*s] {
					acc += float64(xv)
				}
				mu[ch] += acc
			}
		}
		for ch := range mu {
			mu[ch] /= m
		}
		// v = Σ (x − μ)² / M, in a second pass (more accurate than E[x²] − μ²).
		clear(v)
		for i := 0; i < n; i++ {
			for ch := 0; ch < c; ch++ {
				var acc float64
				mc := mu[ch]
				for _, xv := range xd[(i*c+ch)*s : (i*c+ch+1)*s] {
					d := float64(xv) - mc
					acc += d * d
				}
				v[ch] += acc
			}
		}
		mom := b.Momentum
		for ch := range v {
			v[ch] /= m
			mean[ch] = float32((1-mom)*float64(mean[ch]) + mom*mu[ch])
			if m > 1 {
				vr[ch] = float32((1-mom)*float64(vr[ch]) + mom*v[ch]*m/(m-1))
			}
		}
	} else {
		for ch := range mu {
			mu[ch], v[ch] = float64(mean[ch]), float64(vr[ch])
		}
	}
	for ch := range b.invStd {
		b.invStd[ch] = float32(1 / math.Sqrt(v[ch]+b.Eps))
	}

	// x̂ = (x − μ)·(1/σ), y = γ·x̂ + β.
	gamma, beta := b.gamma.Data(), b.beta.Data()
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			lo, hi := (i*c+ch)*s, (i*c+ch+1)*s
			mc, inv, g, bt := float32(mu[ch]), b.invStd[ch], gamma[ch], beta[ch]
			xh, yr := b.xhat[lo:hi], yd[lo:hi]
			for j, xv := range xd[lo:hi] {
				h := (xv - mc) * inv
				xh[j] = h
				yr[j] = g*h + bt
			}
		}
	}
	b.yt, b.trained = y, train
	return y
}

// Backward takes dY of the shape of the last output, accumulates dγ and dβ,
// and returns dX. With sums Σ over the M values of each channel:
//
//	dβ += Σ dY
//	dγ += Σ dY·x̂
//
// After a training Forward μ and σ depend on x, which gives
//
//	dX = (γ/σ)/M · (M·dY − Σ dY − x̂·Σ(dY·x̂))
//
// After an inference Forward μ and σ are constants, and y = γ·(x − μ)/σ + β
// is an affine map of x:
//
//	dX = (γ/σ)·dY
func (b *BatchNorm) Backward(dy *tensor.Dense) *tensor.Dense {
	nn.CheckGrad(b.name, dy, b.yt)
	n := dy.Shape()[0]
	g := dy.Float32s()
	c, s := b.c, b.s
	sumDy, sumDyXh := b.sum1, b.sum2

	// Σ dY and Σ dY·x̂ per channel.
	clear(sumDy)
	clear(sumDyXh)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			lo, hi := (i*c+ch)*s, (i*c+ch+1)*s
			xh := b.xhat[lo:hi]
			var s1, s2 float64
			for j, gv := range g[lo:hi] {
				s1 += float64(gv)
				s2 += float64(gv) * float64(xh[j])
			}
			sumDy[ch] += s1
			sumDyXh[ch] += s2
		}
	}

	// dβ += Σ dY, dγ += Σ dY·x̂
	dgamma, dbeta, gamma := b.gamma.GradData(), b.beta.GradData(), b.gamma.Data()
	for ch := 0; ch < c; ch++ {
		dbeta[ch] += float32(sumDy[ch])
		dgamma[ch] += float32(sumDyXh[ch])
	}

	b.shape = nn.BatchShape(b.shape, n, b.inShape)
	dx := b.dx.Get(b.shape...)
	dxd := dx.Float32s()
	m := float32(n * s)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			lo, hi := (i*c+ch)*s, (i*c+ch+1)*s
			scale := gamma[ch] * b.invStd[ch] // γ/σ
			dxr := dxd[lo:hi]
			if !b.trained {
				// dX = (γ/σ)·dY
				for j, gv := range g[lo:hi] {
					dxr[j] = scale * gv
				}
				continue
			}
			// dX = (γ/σ)/M · (M·dY − Σ dY − x̂·Σ(dY·x̂))
			k := scale / m
			s1, s2 := float32(sumDy[ch]), float32(sumDyXh[ch])
			xh := b.xhat[lo:hi]
			for j, gv := range g[lo:hi] {
				dxr[j] = k * (m*gv - s1 - xh[j]*s2)
			}
		}
	}
	return dx
}

// Params returns gamma and beta (nil before Build).
func (b *BatchNorm) Params() []*nn.Param {
	if b.gamma == nil {
		return nil
	}
	return []*nn.Param{b.gamma, b.beta}
}

// State returns the running statistics "mean" and "var", of shape [C], which
// are saved with the model but not trained (nil before Build).
func (b *BatchNorm) State() []*nn.Param {
	if b.mean == nil {
		return nil
	}
	return []*nn.Param{b.mean, b.vr}
}

// Spec returns BatchNorm with attributes momentum and eps.
func (b *BatchNorm) Spec() nn.Spec {
	return nn.Spec{Kind: "BatchNorm", Attrs: map[string]float64{"momentum": b.Momentum, "eps": b.Eps}}
}
