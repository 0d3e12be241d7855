package backprop

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// Loss computes a scalar loss over a batch and its gradient with respect to
// the prediction.
//
// Backward's tensor is the seed of backpropagation: it is what
// [nn.Sequential.Backward] carries back through the layers. Losses average
// over the batch, so the seed carries the factor 1/N (or 1/count) and a
// learning rate does not depend on the batch size.
//
// A target whose shape does not fit the prediction, or a class index out of
// range, is a programmer error: Forward panics with a message naming the
// loss and the shapes. A warmed-up Forward and Backward allocate nothing.
type Loss interface {
	// Forward returns the mean loss over the batch.
	Forward(pred, target *tensor.Dense) float64
	// Backward returns dLoss/dPred for the last Forward. The tensor is owned
	// by the loss, has pred's shape and is valid until the next Forward.
	Backward() *tensor.Dense
}

// Scorer is implemented by classification losses, whose predictions can be
// scored as right or wrong. [Fit] and [Evaluate] report accuracy only for
// losses that implement it.
type Scorer interface {
	// Correct returns how many rows of pred predict their target's class.
	Correct(pred, target *tensor.Dense) int
}

var (
	_ Loss   = (*SoftmaxCrossEntropy)(nil)
	_ Scorer = (*SoftmaxCrossEntropy)(nil)
	_ Loss   = (*BCEWithLogits)(nil)
	_ Scorer = (*BCEWithLogits)(nil)
	_ Loss   = (*MSE)(nil)
	_ Loss   = (*Huber)(nil)
)

// SoftmaxCrossEntropy is the cross-entropy of a softmax over logits, fused
// into one step for accuracy and speed. For logits z of shape [N, C] and a
// target t that is either a class index per row (shape [N], stored as
// float32) or a distribution per row (shape [N, C], one-hot or
// probabilities):
//
//	p_c  = softmax(z)_c = exp(z_c − lse(z)),  lse(z) = m + log Σ_c exp(z_c − m),  m = max_c z_c
//	loss = (1/N) Σ_rows Σ_c t_c·(lse(z) − z_c)  = (1/N) Σ_rows −Σ_c t_c·log p_c
//
// Subtracting the row maximum m keeps every exponent ≤ 0, so logits of ±1e4
// give a finite loss and gradient. The gradient of one row's term is
//
//	∂/∂z_c [ lse(z)·Σ_k t_k − Σ_k t_k·z_k ] = p_c·Σ_k t_k − t_c
//
// which for a class index (or any t summing to 1) is the familiar
//
//	dZ = (p − onehot(t)) / N.
//
// Do not put a Softmax layer before this loss: it expects raw logits.
type SoftmaxCrossEntropy struct {
	grad  nn.Buffer
	shape []int
}

// NewSoftmaxCrossEntropy returns a softmax cross-entropy loss over logits.
func NewSoftmaxCrossEntropy() *SoftmaxCrossEntropy { return &SoftmaxCrossEntropy{} }

// Forward returns the mean cross-entropy of softmax(pred) against target
// and keeps the gradient for Backward.
func (l *SoftmaxCrossEntropy) Forward(pred, target *tensor.Dense) float64 {
	n, c, indices := l.check(pred, target)
	l.shape = append(l.shape[:0], n, c)
	g := l.grad.Get(l.shape...).Float32s()
	z, t := pred.Float32s(), target.Float32s()
	invN := 1 / float64(n)
	total := 0.0
	for r := 0; r < n; r++ {
		zr, gr := z[r*c:(r+1)*c], g[r*c:(r+1)*c]
		// lse = m + log Σ exp(z − m), in float64.
		m := float64(zr[0])
		for _, v := range zr[1:] {
			m = math.Max(m, float64(v))
		}
		s := 0.0
		for _, v := range zr {
			s += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(s)
		if indices {
			k := classIndex("SoftmaxCrossEntropy", t[r], r, c)
			total += lse - float64(zr[k])
			// dZ = (p − onehot) / N
			for j, v := range zr {
				gr[j] = float32(math.Exp(float64(v)-lse) * invN)
			}
			gr[k] -= float32(invN)
			continue
		}
		tr := t[r*c : (r+1)*c]
		sumT := 0.0
		for j, v := range zr {
			tj := float64(tr[j])
			if tj != 0 { // 0·(lse − z) is 0 even where z is extreme
				total += tj * (lse - float64(v))
			}
			sumT += tj
		}
		// dZ = (p·Σt − t) / N
		for j, v := range zr {
			gr[j] = float32((math.Exp(float64(v)-lse)*sumT - float64(tr[j])) * invN)
		}
	}
	return total * invN
}

// Backward returns dLoss/dLogits = (softmax − target) / N for the last
// Forward.
func (l *SoftmaxCrossEntropy) Backward() *tensor.Dense {
	if len(l.shape) == 0 {
		panic("backprop: SoftmaxCrossEntropy: Backward called before Forward")
	}
	return l.grad.Get(l.shape...)
}

// Correct returns the number of rows whose largest logit is the target's
// class; see [Accuracy].
func (l *SoftmaxCrossEntropy) Correct(pred, target *tensor.Dense) int { return Accuracy(pred, target) }

// check validates the shapes and reports whether target holds class
// indices.
func (l *SoftmaxCrossEntropy) check(pred, target *tensor.Dense) (n, c int, indices bool) {
	ps, ts := pred.Shape(), target.Shape()
	if len(ps) != 2 || ps[0] < 1 || ps[1] < 1 {
		panic(fmt.Sprintf("backprop: SoftmaxCrossEntropy: logits of shape %v, want [N C]", []int(ps)))
	}
	n, c = ps[0], ps[1]
	switch {
	case len(ts) == 1 && ts[0] == n:
		return n, c, true
	case len(ts) == 2 && ts[0] == n && ts[1] == c:
		return n, c, false
	}
	panic(fmt.Sprintf("backprop: SoftmaxCrossEntropy: target of shape %v for logits %v, want [%d] class indices or [%d %d] probabilities",
		[]int(ts), []int(ps), n, n, c))
}

// classIndex converts a class index stored as float32 to an int, panicking
// if it is not an integer in [0, c).
func classIndex(loss string, v float32, row, c int) int {
	k := int(v)
	if float32(k) != v || k < 0 || k >= c {
		panic(fmt.Sprintf("backprop: %s: class index %v at row %d out of range [0, %d)", loss, v, row, c))
	}
	return k
}

// BCEWithLogits is binary cross-entropy on logits, fused with the sigmoid.
// For logits z and targets t in [0, 1] of the same number of elements and
// the same batch size N (pred [N] or [N 1] with target [N] or [N 1], or both
// [N K] for K independent labels), with count the number of elements:
//
//	loss = (1/count) Σ −[t·log σ(z) + (1 − t)·log(1 − σ(z))]
//	     = (1/count) Σ max(z, 0) − z·t + log(1 + exp(−|z|))
//
// The second form never exponentiates a positive number, so it is finite
// for any finite z (the naive form gives NaN once σ(z) rounds to 0 or 1).
// Since d/dz log(1 + exp(z)) = σ(z), the gradient is
//
//	dZ = (σ(z) − t) / count.
type BCEWithLogits struct {
	grad nn.Buffer
	pred *tensor.Dense
}

// NewBCEWithLogits returns a binary cross-entropy loss over logits.
func NewBCEWithLogits() *BCEWithLogits { return &BCEWithLogits{} }

// Forward returns the mean binary cross-entropy of sigmoid(pred) against
// target and keeps the gradient for Backward. A target outside [0, 1] panics.
func (l *BCEWithLogits) Forward(pred, target *tensor.Dense) float64 {
	count := checkSameSize("BCEWithLogits", pred, target)
	g := l.grad.Get(pred.Shape()...).Float32s()
	l.pred = pred
	z, t := pred.Float32s(), target.Float32s()
	inv := 1 / float64(count)
	total := 0.0
	for i, zf := range z {
		zi, ti := float64(zf), float64(t[i])
		if !(ti >= 0 && ti <= 1) {
			panic(fmt.Sprintf("backprop: BCEWithLogits: target %v at element %d outside [0, 1]", t[i], i))
		}
		// loss = max(z, 0) − z·t + log(1 + e^−|z|)
		total += math.Max(zi, 0) - zi*ti + math.Log1p(math.Exp(-math.Abs(zi)))
		// dZ = (σ(z) − t) / count
		g[i] = float32((sigmoid(zi) - ti) * inv)
	}
	return total * inv
}

// Backward returns dLoss/dLogits = (σ(z) − t) / count for the last Forward.
func (l *BCEWithLogits) Backward() *tensor.Dense { return l.grad.Get(gradShape(l.pred)...) }

// Correct returns the number of rows whose logits all predict their labels;
// see [BinaryAccuracy].
func (l *BCEWithLogits) Correct(pred, target *tensor.Dense) int { return BinaryAccuracy(pred, target) }

// sigmoid returns 1 / (1 + e^−z) without overflowing for large |z|.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// MSE is the mean squared error over all elements:
//
//	loss = (1/count) Σ (p − t)²,   dP = 2·(p − t) / count
//
// pred and target must have the same batch size N and number of elements
// (pred [N 1] with target [N] is accepted).
type MSE struct {
	grad nn.Buffer
	pred *tensor.Dense
}

// NewMSE returns a mean-squared-error loss.
func NewMSE() *MSE { return &MSE{} }

// Forward returns the mean squared error and keeps the gradient.
func (l *MSE) Forward(pred, target *tensor.Dense) float64 {
	count := checkSameSize("MSE", pred, target)
	g := l.grad.Get(pred.Shape()...).Float32s()
	l.pred = pred
	p, t := pred.Float32s(), target.Float32s()
	inv := 1 / float64(count)
	total := 0.0
	for i, pv := range p {
		d := float64(pv) - float64(t[i])
		total += d * d
		// dP = 2·(p − t) / count
		g[i] = float32(2 * d * inv)
	}
	return total * inv
}

// Backward returns dLoss/dPred = 2·(p − t) / count for the last Forward.
func (l *MSE) Backward() *tensor.Dense { return l.grad.Get(gradShape(l.pred)...) }

// Huber is the Huber (smooth L1) loss with PyTorch's HuberLoss semantics and
// mean reduction. With d = p − t and threshold δ > 0:
//
//	ℓ(d) = ½·d²           if |d| < δ
//	ℓ(d) = δ·(|d| − ½·δ)  otherwise
//	loss = (1/count) Σ ℓ(d)
//
// ℓ is quadratic near zero and linear (with slope δ) beyond δ, so outliers
// pull with a bounded force. Its gradient is the clipped residual
//
//	dP = clamp(d, −δ, δ) / count.
type Huber struct {
	delta float64
	grad  nn.Buffer
	pred  *tensor.Dense
}

// NewHuber returns a Huber loss with threshold delta. It panics if delta is
// not positive.
func NewHuber(delta float64) *Huber {
	if !(delta > 0) || math.IsInf(delta, 0) {
		panic(fmt.Sprintf("backprop: NewHuber: delta %v must be positive and finite", delta))
	}
	return &Huber{delta: delta}
}

// Delta returns the threshold between the quadratic and the linear part.
func (l *Huber) Delta() float64 { return l.delta }

// Forward returns the mean Huber loss and keeps the gradient.
func (l *Huber) Forward(pred, target *tensor.Dense) float64 {
	count := checkSameSize("Huber", pred, target)
	g := l.grad.Get(pred.Shape()...).Float32s()
	l.pred = pred
	p, t := pred.Float32s(), target.Float32s()
	inv, delta := 1/float64(count), l.delta
	total := 0.0
	for i, pv := range p {
		d := float64(pv) - float64(t[i])
		if math.Abs(d) < delta {
			total += 0.5 * d * d
		} else {
			total += delta * (math.Abs(d) - 0.5*delta)
		}
		// dP = clamp(d, −δ, δ) / count
		g[i] = float32(math.Max(-delta, math.Min(delta, d)) * inv)
	}
	return total * inv
}

// Backward returns dLoss/dPred = clamp(p − t, −δ, δ) / count for the last
// Forward.
func (l *Huber) Backward() *tensor.Dense { return l.grad.Get(gradShape(l.pred)...) }

// checkSameSize panics unless pred and target have the same batch size and
// number of elements, and returns the number of elements.
func checkSameSize(loss string, pred, target *tensor.Dense) int {
	ps, ts := pred.Shape(), target.Shape()
	if len(ps) == 0 || len(ts) == 0 || ps[0] != ts[0] || ps.TotalSize() != ts.TotalSize() || ps.TotalSize() == 0 {
		panic(fmt.Sprintf("backprop: %s: target of shape %v does not fit prediction %v (want the same batch size and number of values)",
			loss, []int(ts), []int(ps)))
	}
	return ps.TotalSize()
}

func gradShape(pred *tensor.Dense) []int {
	if pred == nil {
		panic("backprop: loss Backward called before Forward")
	}
	return pred.Shape()
}

// Accuracy returns how many rows of pred, of shape [N C], have their largest
// value (the first, on ties) at the target's class. target holds class
// indices, shape [N] stored as float32, or one-hot/probability rows, shape
// [N C], whose own largest value gives the class. It does not allocate. It
// panics on shapes that do not fit or on a class index out of range.
func Accuracy(pred, target *tensor.Dense) (correct int) {
	ps, ts := pred.Shape(), target.Shape()
	if len(ps) != 2 || ps[0] < 1 || ps[1] < 1 ||
		!(len(ts) == 1 && ts[0] == ps[0] || len(ts) == 2 && ts[0] == ps[0] && ts[1] == ps[1]) {
		panic(fmt.Sprintf("backprop: Accuracy: target of shape %v for predictions %v, want [N] class indices or [N C] rows", []int(ts), []int(ps)))
	}
	n, c := ps[0], ps[1]
	p, t := pred.Float32s(), target.Float32s()
	for r := 0; r < n; r++ {
		var k int
		if len(ts) == 1 {
			k = classIndex("Accuracy", t[r], r, c)
		} else {
			k = argmax(t[r*c : (r+1)*c])
		}
		if argmax(p[r*c:(r+1)*c]) == k {
			correct++
		}
	}
	return correct
}

// BinaryAccuracy returns how many rows of logits, of shape [N], [N 1] or
// [N K], predict their labels: a logit z predicts 1 when z > 0 (σ(z) > ½),
// a target t is 1 when t > ½, and a row with K labels counts as correct
// when all K agree. It does not allocate, and panics on shapes that do not
// fit (see [BCEWithLogits]).
func BinaryAccuracy(logits, target *tensor.Dense) (correct int) {
	count := checkSameSize("BinaryAccuracy", logits, target)
	n := logits.Shape()[0]
	k := count / n
	z, t := logits.Float32s(), target.Float32s()
	for r := 0; r < n; r++ {
		ok := true
		for i := r * k; i < (r+1)*k; i++ {
			ok = ok && (z[i] > 0) == (t[i] > 0.5)
		}
		if ok {
			correct++
		}
	}
	return correct
}

// argmax returns the index of the first largest value of v.
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
