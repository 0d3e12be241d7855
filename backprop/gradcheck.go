package backprop

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// DefaultCheckEps is the central-difference step [CheckOptions] uses when Eps
// is zero. With float32 values a much smaller step loses the difference of
// the two objective values in rounding; a much larger one lets the
// curvature of smooth functions (tanh, sigmoid, softmax) show.
const DefaultCheckEps = 1e-2

// DefaultCheckFloor is the gradient magnitude below which [CheckResult]'s
// relative error turns into an absolute error (see [CheckLayer]).
const DefaultCheckFloor = 1e-2

// CheckOptions configures the finite-difference gradient checkers
// [CheckLayer], [CheckLoss] and [CheckModel].
type CheckOptions struct {
	// Eps is the central-difference step; 0 means [DefaultCheckEps].
	Eps float64
	// Seed seeds the random projection of the output and the choice of
	// checked elements.
	Seed uint64
	// MaxPerTensor checks at most this many elements of each tensor (the
	// input and each parameter), drawn at random; 0 checks all of them.
	MaxPerTensor int
	// BeforeForward, if set, is called before every forward pass, so that a
	// stochastic layer (Dropout) can reset its random source and draw the
	// same mask every time.
	BeforeForward func()
	// Floor is the denominator floor of the relative error; 0 means
	// [DefaultCheckFloor].
	Floor float64
}

// CheckResult reports the worst element found by a gradient check.
type CheckResult struct {
	// MaxRelErr is the worst relative error over all checked elements.
	MaxRelErr float64
	// Where names the worst element: "input[12]", "pred[3]", "param W[3]"
	// (a layer's parameter name and flat index) or, for a model,
	// "layer 2 (Dense) param W[3]".
	Where string
	// Analytic and Numeric are the two gradient values at Where.
	Analytic, Numeric float64
	// Checked is the number of elements checked.
	Checked int
}

// String formats the result on one line.
func (r CheckResult) String() string {
	return fmt.Sprintf("max rel err %.3g at %s (analytic %.6g, numeric %.6g; %d elements checked)",
		r.MaxRelErr, r.Where, r.Analytic, r.Numeric, r.Checked)
}

// CheckLayer compares the gradients l.Backward computes with central finite
// differences, for the input x and for every parameter of l. The layer must
// already be built for x's per-sample shape. Forward is called with train.
//
// The scalar objective is L(x, θ) = Σ R ⊙ Forward(x), summed in float64,
// where R is a fixed random tensor of the output's shape drawn from
// opt.Seed. Its gradient with respect to the output is R itself, so the
// analytic gradients are those Backward(R) returns (dX) and accumulates into
// each [nn.Param].Grad (after zeroing them). A random projection, rather
// than a plain sum, makes every output element count with its own weight,
// so a transposed or shifted index cannot cancel out.
//
// The numeric gradient of element v (of x or of a parameter's Value) is
//
//	n = (L(v⁺) − L(v⁻)) / (v⁺ − v⁻),  v± = float32(v ± ε)
//
// where the denominator is the step actually taken after rounding v ± ε to
// float32, computed in float64 (for v ≈ 1 and ε = 1e-2 the rounded step
// differs from 2ε by up to 6e-6 relative, which would otherwise add a bias).
// The element is restored afterwards, bit for bit.
//
// The relative error of one element, analytic a and numeric n, is
//
//	|a − n| / max(|a| + |n|, floor)
//
// Why this definition, and why the floor (opt.Floor, by default
// [DefaultCheckFloor] = 1e-2): the layer computes in float32, so each output
// carries a rounding error of a few units of 2⁻²⁴ ≈ 6e-8 of its magnitude.
// Perturbing one element changes only the outputs that depend on it; their
// rounding errors do not cancel between L(v⁺) and L(v⁻), and dividing by
// the step 2ε = 2e-2 magnifies them fifty-fold. For O(1) outputs and tens of
// affected outputs the numeric gradient is off by 1e-5 to 4e-5 in absolute
// terms (measured: Dense(16→64) on a batch of 32 N(0, 4) inputs), whatever
// the gradient's size. Central differences also carry a truncation error
// ε²·f⁽³⁾/6 ≈ 2e-5·|f⁽³⁾| for smooth layers. Relative to gradients of size
// O(0.1–1) both are far below 1e-2, but a projected gradient that happens
// to be small (Σ_k R_k·∂y_k/∂v cancelling to 1e-3) would turn the same
// noise into a relative error of 1e-2 or more. Below the floor the measure
// is therefore an absolute error scaled by 1/floor: 4e-5 of noise scores
// 4e-3. Dividing by |a| + |n| rather than max(|a|, |n|) keeps the measure
// in [0, 1] (1 when the signs differ), and a gradient wrong by a factor
// 1 + δ scores δ / (2 + δ): off by 10 % gives 0.048 on every element larger
// than the floor, clearly above a tolerance of 1e-2, while correct float32
// layers score ~1e-4 to 4e-3. Wrong indices (a transposed weight, a
// gradient sent to a neighbour, a gradient assigned instead of accumulated)
// produce O(1) errors. A NaN or infinite value on either side scores +Inf.
// Large layers (hundreds of outputs per input element) or outputs much
// larger than 1 raise the noise in proportion: check a small instance, or
// raise opt.Floor.
//
// Functions with kinks (ReLU, max pooling, absolute values) have no
// derivative at the kink: an element that lies within ε of one gives a
// meaningless numeric gradient. Check them on inputs kept away from the kink.
func CheckLayer(l nn.Layer, x *tensor.Dense, train bool, opt CheckOptions) CheckResult {
	opt = opt.withDefaults()
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))

	forward := func() *tensor.Dense {
		if opt.BeforeForward != nil {
			opt.BeforeForward()
		}
		return l.Forward(x, train)
	}

	// The random projection R, of the output's shape.
	y := forward()
	r := nn.NewTensor(y.Shape()...)
	rs := r.Float32s()
	for i := range rs {
		rs[i] = float32(2*rng.Float64() - 1)
	}
	objective := func() float64 { return dot64(rs, forward().Float32s()) }

	// Analytic gradients: zero, forward, Backward(R), copy.
	params := l.Params()
	nn.ZeroGrads(params)
	forward()
	dx := l.Backward(r)
	var dxa []float32
	if dx != nil {
		dxa = append([]float32(nil), dx.Float32s()...)
	}
	pgrads := make([][]float32, len(params))
	for i, p := range params {
		if p.Grad != nil {
			pgrads[i] = append([]float32(nil), p.GradData()...)
		}
	}

	c := checker{opt: opt, rng: rng, f: objective}
	if dxa != nil {
		c.tensor("input", x.Float32s(), dxa)
	}
	for i, p := range params {
		if pgrads[i] != nil {
			c.tensor("param "+p.Name, p.Data(), pgrads[i])
		}
	}
	return c.res
}

// CheckLoss compares loss.Backward with central finite differences of
// loss.Forward with respect to every element of pred (or a random sample of
// opt.MaxPerTensor of them). The target is not perturbed. The error measure
// and its tolerances are those of [CheckLayer]; Where reads "pred[i]".
func CheckLoss(loss Loss, pred, target *tensor.Dense, opt CheckOptions) CheckResult {
	opt = opt.withDefaults()
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	objective := func() float64 {
		if opt.BeforeForward != nil {
			opt.BeforeForward()
		}
		return loss.Forward(pred, target)
	}
	objective()
	ga := append([]float32(nil), loss.Backward().Float32s()...)
	c := checker{opt: opt, rng: rng, f: objective}
	c.tensor("pred", pred.Float32s(), ga)
	return c.res
}

// CheckModel checks the gradients of a whole model under a loss: the
// objective is loss.Forward(m.Forward(x, true), target), and the analytic
// gradients are those of m.Backward(loss.Backward()), for the input x (when
// the first layer returns an input gradient) and for every parameter of
// every layer. Where reads "input[i]" or "layer 2 (Dense) param W[7]". The
// error measure and its tolerances are those of [CheckLayer].
func CheckModel(m *nn.Sequential, loss Loss, x, target *tensor.Dense, opt CheckOptions) CheckResult {
	opt = opt.withDefaults()
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	objective := func() float64 {
		if opt.BeforeForward != nil {
			opt.BeforeForward()
		}
		return loss.Forward(m.Forward(x, true), target)
	}

	m.ZeroGrad()
	objective()
	dx := m.Backward(loss.Backward())
	var dxa []float32
	if dx != nil {
		dxa = append([]float32(nil), dx.Float32s()...)
	}
	type named struct {
		name string
		p    *nn.Param
		g    []float32
	}
	var ps []named
	for li, l := range m.Layers {
		for _, p := range l.Params() {
			if p.Grad == nil {
				continue
			}
			ps = append(ps, named{
				name: fmt.Sprintf("layer %d (%s) param %s", li, l.Spec().Kind, p.Name),
				p:    p,
				g:    append([]float32(nil), p.GradData()...),
			})
		}
	}

	c := checker{opt: opt, rng: rng, f: objective}
	if dxa != nil {
		c.tensor("input", x.Float32s(), dxa)
	}
	for _, p := range ps {
		c.tensor(p.name, p.p.Data(), p.g)
	}
	return c.res
}

func (o CheckOptions) withDefaults() CheckOptions {
	if o.Eps == 0 {
		o.Eps = DefaultCheckEps
	}
	if o.Floor == 0 {
		o.Floor = DefaultCheckFloor
	}
	return o
}

// checker perturbs the elements of tensors one at a time and keeps the worst
// relative error.
type checker struct {
	opt CheckOptions
	rng *rand.Rand
	f   func() float64 // the objective, evaluated at the current values
	res CheckResult
}

// tensor checks the elements of v (aliasing the live values) against the
// analytic gradient g.
func (c *checker) tensor(name string, v, g []float32) {
	if len(v) != len(g) {
		panic(fmt.Sprintf("backprop: gradient check: %s has %d values but its gradient %d", name, len(v), len(g)))
	}
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	if k := c.opt.MaxPerTensor; k > 0 && k < len(v) {
		c.rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:k]
	}
	for _, i := range idx {
		orig := v[i]
		plus := float32(float64(orig) + c.opt.Eps)
		minus := float32(float64(orig) - c.opt.Eps)
		v[i] = plus
		fp := c.f()
		v[i] = minus
		fm := c.f()
		v[i] = orig
		num := (fp - fm) / (float64(plus) - float64(minus))
		a := float64(g[i])
		e := relErr(a, num, c.opt.Floor)
		c.res.Checked++
		if e > c.res.MaxRelErr || c.res.Where == "" {
			c.res.MaxRelErr = e
			c.res.Where = fmt.Sprintf("%s[%d]", name, i)
			c.res.Analytic, c.res.Numeric = a, num
		}
	}
}

// relErr returns |a − n| / max(|a| + |n|, floor), or +Inf if either value is
// not finite.
func relErr(a, n, floor float64) float64 {
	if math.IsNaN(a) || math.IsNaN(n) || math.IsInf(a, 0) || math.IsInf(n, 0) {
		return math.Inf(1)
	}
	return math.Abs(a-n) / math.Max(math.Abs(a)+math.Abs(n), floor)
}

// dot64 returns Σ a[i]·b[i] accumulated in float64.
func dot64(a, b []float32) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("backprop: gradient check: projection of %d values for an output of %d", len(a), len(b)))
	}
	s := 0.0
	for i, v := range a {
		s += float64(v) * float64(b[i])
	}
	return s
}
