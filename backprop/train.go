package backprop

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// Trainer performs training steps: one mini-batch through the model, the
// loss, the backward pass, regularisation, clipping and the optimizer.
//
// Set the exported fields, then call [Trainer.Step] (or [Fit]). The Trainer
// caches the parameter lists on its first step: do not change Model or the
// regularisation settings' targets afterwards. After the first step, Step
// allocates nothing (provided the model's layers and the optimizer do not).
type Trainer struct {
	// Model is the network being trained.
	Model *nn.Sequential
	// Loss turns the model's output and the target into the scalar loss and
	// the seed gradient.
	Loss Loss
	// Optimizer updates Model's parameters; it must have been built over
	// Model.Params().
	Optimizer optim.Optimizer
	// ClipValue, when positive, clamps every gradient element to
	// [−ClipValue, ClipValue] (see [optim.ClipValue]).
	ClipValue float64
	// ClipNorm, when positive, rescales the gradients so that their global
	// L2 norm is at most ClipNorm (see [optim.ClipNorm]). It is applied
	// after ClipValue.
	ClipNorm float64
	// L1 and L2, when positive, add the penalties λ₁·Σ|w| and (λ₂/2)·Σw²
	// over the weight matrices and kernels ([optim.Weights]: parameters of
	// rank ≥ 2, not biases) to the loss, and their gradients to the
	// gradients (see [optim.L1], [optim.L2]).
	L1, L2 float64

	steps    int
	params   []*nn.Param
	weights  []*nn.Param
	names    []string // names[i] describes params[i] for error messages
	out      *tensor.Dense
	gradNorm float64
}

// Step performs one training step on the batch x with targets y:
//
//  1. zero every parameter gradient;
//  2. ŷ = Model.Forward(x, train);
//  3. loss = Loss.Forward(ŷ, y);
//  4. seed = Loss.Backward() = dLoss/dŷ;
//  5. Model.Backward(seed) accumulates dLoss/dθ into every parameter;
//  6. L1/L2 add their gradients on [optim.Weights] and their penalty to loss;
//  7. ClipValue, then ClipNorm;
//  8. Optimizer.Step().
//
// It returns the loss of the batch, penalties included, before the update.
// A loss or a gradient that is NaN or infinite returns an error naming the
// step (counted from 1 over the Trainer's life) and, for a gradient, the
// layer, parameter and index; the optimizer step is then not taken, so the
// parameters keep their values.
func (t *Trainer) Step(x, y *tensor.Dense) (loss float64, err error) {
	if t.params == nil {
		if err := t.init(); err != nil {
			return 0, err
		}
	}
	t.steps++
	t.Model.ZeroGrad()
	t.out = t.Model.Forward(x, true)
	loss = t.Loss.Forward(t.out, y)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("backprop: step %d: loss is %g; parameters not updated", t.steps, loss)
	}
	t.Model.Backward(t.Loss.Backward())
	if t.L1 > 0 {
		loss += optim.L1(t.weights, t.L1)
	}
	if t.L2 > 0 {
		loss += optim.L2(t.weights, t.L2)
	}
	if err := t.checkGrads(); err != nil {
		return loss, err
	}
	if t.ClipValue > 0 {
		if err := optim.ClipValue(t.params, t.ClipValue); err != nil {
			return loss, fmt.Errorf("backprop: step %d: %w", t.steps, err)
		}
	}
	t.gradNorm = math.NaN()
	if t.ClipNorm > 0 {
		if t.gradNorm, err = optim.ClipNorm(t.params, t.ClipNorm); err != nil {
			return loss, fmt.Errorf("backprop: step %d: %w", t.steps, err)
		}
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("backprop: step %d: loss with penalty is %g; parameters not updated", t.steps, loss)
	}
	t.Optimizer.Step()
	return loss, nil
}

// Steps returns the number of steps attempted so far.
func (t *Trainer) Steps() int { return t.steps }

// Output returns the model's output for the batch of the last Step, before
// that step's update. It is owned by the model's last layer and valid until
// the next forward pass.
func (t *Trainer) Output() *tensor.Dense { return t.out }

// GradNorm returns the global gradient norm before clipping, measured by the
// last Step when ClipNorm is set, and NaN otherwise.
func (t *Trainer) GradNorm() float64 { return t.gradNorm }

func (t *Trainer) init() error {
	switch {
	case t.Model == nil:
		return errors.New("backprop: Trainer has no Model")
	case t.Loss == nil:
		return errors.New("backprop: Trainer has no Loss")
	case t.Optimizer == nil:
		return errors.New("backprop: Trainer has no Optimizer")
	case !(t.ClipValue >= 0 && t.ClipNorm >= 0 && t.L1 >= 0 && t.L2 >= 0):
		return fmt.Errorf("backprop: Trainer: ClipValue %g, ClipNorm %g, L1 %g and L2 %g must be ≥ 0", t.ClipValue, t.ClipNorm, t.L1, t.L2)
	}
	t.params = t.Model.Params()
	if t.params == nil {
		t.params = []*nn.Param{}
	}
	t.weights = optim.Weights(t.params)
	t.names = t.names[:0]
	for li, l := range t.Model.Layers {
		for _, p := range l.Params() {
			t.names = append(t.names, fmt.Sprintf("layer %d (%s) param %s", li, l.Spec().Kind, p.Name))
		}
	}
	if len(t.names) != len(t.params) {
		return fmt.Errorf("backprop: Trainer: the model has %d parameters but its layers list %d", len(t.params), len(t.names))
	}
	return nil
}

// checkGrads returns an error naming the first non-finite gradient element.
func (t *Trainer) checkGrads() error {
	for i, p := range t.params {
		if p.Grad == nil {
			continue
		}
		for j, g := range p.GradData() {
			// g − g is 0 for finite g and NaN for NaN and ±Inf.
			if g-g != 0 {
				return fmt.Errorf("backprop: step %d: gradient of %s[%d] is %g; parameters not updated", t.steps, t.names[i], j, g)
			}
		}
	}
	return nil
}

// Config configures [Fit].
type Config struct {
	// Epochs is the number of passes over the training set (≥ 1).
	Epochs int
	// BatchSize is the number of samples per step (≥ 1): the dataset size
	// gives batch gradient descent, 1 stochastic gradient descent.
	BatchSize int
	// Shuffle redraws the order of the samples at every epoch from a PCG
	// generator seeded with Seed.
	Shuffle bool
	// DropLast skips a final batch smaller than BatchSize.
	DropLast bool
	// Seed seeds the shuffle.
	Seed uint64
	// Validation, if set, is evaluated in inference mode after every epoch.
	Validation datasets.Dataset
	// ValBatchSize is the batch size for the validation pass; 0 means
	// BatchSize.
	ValBatchSize int
	// Schedule, if set, sets the optimizer's learning rate: Schedule.LR()
	// before the first epoch, then Schedule.Step(metric) after each epoch,
	// with the validation loss as metric (the training loss without a
	// validation set).
	Schedule optim.Schedule
	// Callbacks are called after every batch and every epoch, in order.
	Callbacks []Callback
}

// EpochStats are the measurements of one epoch.
type EpochStats struct {
	// Epoch counts from 0.
	Epoch int
	// Loss is the mean training loss over the epoch's batches, weighted by
	// batch size and measured before each batch's update, penalties
	// included.
	Loss float64
	// Accuracy is the fraction of training samples predicted right during
	// the epoch (before each batch's update); NaN unless the loss is a
	// [Scorer].
	Accuracy float64
	// ValLoss and ValAccuracy are measured on Config.Validation after the
	// epoch, in inference mode; NaN without a validation set (ValAccuracy
	// also unless the loss is a [Scorer]).
	ValLoss, ValAccuracy float64
	// LR is the learning rate used during the epoch.
	LR float64
	// Seconds is the wall-clock duration of the epoch's training pass.
	Seconds float64
	// SamplesPerSec is the training throughput.
	SamplesPerSec float64
}

// Metric returns the named metric: "loss", "accuracy", "val_loss" or
// "val_accuracy". It returns false for any other name.
func (s EpochStats) Metric(name string) (float64, bool) {
	switch name {
	case "loss":
		return s.Loss, true
	case "accuracy":
		return s.Accuracy, true
	case "val_loss":
		return s.ValLoss, true
	case "val_accuracy":
		return s.ValAccuracy, true
	}
	return 0, false
}

// History records every completed epoch of a [Fit].
type History struct {
	// Epochs holds one entry per completed epoch, in order.
	Epochs []EpochStats
}

// Last returns the stats of the last completed epoch, or false if there is
// none.
func (h History) Last() (EpochStats, bool) {
	if len(h.Epochs) == 0 {
		return EpochStats{}, false
	}
	return h.Epochs[len(h.Epochs)-1], true
}

// Fit trains t on train for cfg.Epochs epochs and returns the history of
// the completed epochs. Each epoch:
//
//   - a [datasets.Loader] yields the batches (shuffled from a PCG generator
//     seeded with cfg.Seed when cfg.Shuffle);
//   - each batch is copied into batch tensors allocated once (plus once for
//     a smaller last batch) and passed to [Trainer.Step];
//   - callbacks' OnBatchEnd run after every batch;
//   - the model is evaluated on cfg.Validation in inference mode;
//   - cfg.Schedule gives the next learning rate to the optimizer;
//   - callbacks' OnEpochEnd run; if one asks to stop, Fit returns after it.
//
// An error from a step (a NaN loss or gradient) or from a callback stops
// Fit; it is returned wrapped with the epoch and batch, together with the
// history of the epochs completed before it. The same seeds (model, Seed)
// give bit-identical weights.
func Fit(t *Trainer, train datasets.Dataset, cfg Config) (History, error) {
	var h History
	if t == nil || t.Model == nil {
		return h, errors.New("backprop: Fit: no Trainer or no Model")
	}
	if cfg.Epochs < 1 || cfg.BatchSize < 1 {
		return h, fmt.Errorf("backprop: Fit: epochs %d and batch size %d must be ≥ 1", cfg.Epochs, cfg.BatchSize)
	}
	if err := checkDataset("training", train, t.Model); err != nil {
		return h, err
	}
	if cfg.Validation != nil {
		if err := checkDataset("validation", cfg.Validation, t.Model); err != nil {
			return h, err
		}
	}
	if t.Optimizer == nil {
		return h, errors.New("backprop: Fit: Trainer has no Optimizer")
	}
	var rng *rand.Rand
	if cfg.Shuffle {
		rng = rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	}
	n := train.Len()
	loader, err := datasets.NewLoader(n, cfg.BatchSize, cfg.Shuffle, cfg.DropLast, rng)
	if err != nil {
		return h, fmt.Errorf("backprop: Fit: %w", err)
	}
	full := newBatch(min(cfg.BatchSize, n), train)
	var last *batch // allocated once if there is a smaller final batch
	var val *evaluator
	if cfg.Validation != nil {
		vb := cfg.ValBatchSize
		if vb <= 0 {
			vb = cfg.BatchSize
		}
		val = &evaluator{model: t.Model, loss: t.Loss, size: vb}
	}
	scorer, _ := t.Loss.(Scorer)
	if cfg.Schedule != nil {
		t.Optimizer.SetLR(cfg.Schedule.LR())
	}

	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		st := EpochStats{Epoch: epoch, LR: t.Optimizer.LR(), Accuracy: math.NaN(), ValLoss: math.NaN(), ValAccuracy: math.NaN()}
		start := time.Now()
		loader.Reset()
		var lossSum float64
		var samples, correct int
		for bi := 0; ; bi++ {
			idx, ok := loader.Next()
			if !ok {
				break
			}
			b := full
			if len(idx) != full.size {
				if last == nil || last.size != len(idx) {
					last = newBatch(len(idx), train)
				}
				b = last
			}
			train.Batch(b.x, b.y, idx)
			loss, err := t.Step(b.x, b.y)
			if err != nil {
				return h, fmt.Errorf("backprop: Fit: epoch %d, batch %d: %w", epoch, bi, err)
			}
			if scorer != nil {
				correct += scorer.Correct(t.Output(), b.y)
			}
			lossSum += loss * float64(len(idx))
			samples += len(idx)
			if len(cfg.Callbacks) > 0 {
				info := BatchInfo{
					Epoch: epoch, Epochs: cfg.Epochs, Batch: bi, Batches: loader.Batches(),
					Size: len(idx), Loss: loss, RunningLoss: lossSum / float64(samples),
					Samples: samples, Elapsed: time.Since(start),
				}
				for _, c := range cfg.Callbacks {
					c.OnBatchEnd(info)
				}
			}
		}
		st.Seconds = time.Since(start).Seconds()
		st.Loss = lossSum / float64(samples)
		if st.Seconds > 0 {
			st.SamplesPerSec = float64(samples) / st.Seconds
		}
		if scorer != nil {
			st.Accuracy = float64(correct) / float64(samples)
		}
		metric := st.Loss
		if val != nil {
			st.ValLoss, st.ValAccuracy = val.run(cfg.Validation)
			metric = st.ValLoss
		}
		h.Epochs = append(h.Epochs, st)
		if cfg.Schedule != nil {
			t.Optimizer.SetLR(cfg.Schedule.Step(metric))
		}
		stop := false
		info := EpochInfo{EpochStats: st, Epochs: cfg.Epochs, Validation: val != nil, Trainer: t}
		for _, c := range cfg.Callbacks {
			s, err := c.OnEpochEnd(info)
			if err != nil {
				return h, fmt.Errorf("backprop: Fit: epoch %d: %w", epoch, err)
			}
			stop = stop || s
		}
		if stop {
			break
		}
	}
	return h, nil
}

// Evaluate runs the model in inference mode over d in batches of batchSize
// (0 or less: one batch of the whole set) and returns the mean loss per
// sample and the accuracy. The accuracy is only meaningful for
// classification losses (those implementing [Scorer]: softmax cross-entropy
// with class-index or one-hot targets, BCE with logits); for any other loss
// it is NaN. Evaluate allocates its batch tensors on every call; [Fit]
// keeps them between epochs. It panics if d's samples do not fit the model.
func Evaluate(m *nn.Sequential, loss Loss, d datasets.Dataset, batchSize int) (meanLoss, accuracy float64) {
	if err := checkDataset("evaluation", d, m); err != nil {
		panic(err.Error())
	}
	if batchSize <= 0 {
		batchSize = d.Len()
	}
	e := evaluator{model: m, loss: loss, size: batchSize}
	return e.run(d)
}

// evaluator keeps the batch tensors of a validation pass between epochs.
type evaluator struct {
	model     *nn.Sequential
	loss      Loss
	size      int
	full, end *batch
	idx       []int
}

func (e *evaluator) run(d datasets.Dataset) (meanLoss, accuracy float64) {
	n := d.Len()
	scorer, _ := e.loss.(Scorer)
	if e.full == nil {
		e.full = newBatch(min(e.size, n), d)
		e.idx = make([]int, 0, e.full.size)
	}
	var lossSum float64
	var correct int
	for lo := 0; lo < n; lo += e.full.size {
		hi := min(lo+e.full.size, n)
		e.idx = e.idx[:0]
		for i := lo; i < hi; i++ {
			e.idx = append(e.idx, i)
		}
		b := e.full
		if hi-lo != b.size {
			if e.end == nil || e.end.size != hi-lo {
				e.end = newBatch(hi-lo, d)
			}
			b = e.end
		}
		d.Batch(b.x, b.y, e.idx)
		out := e.model.Forward(b.x, false)
		lossSum += e.loss.Forward(out, b.y) * float64(hi-lo)
		if scorer != nil {
			correct += scorer.Correct(out, b.y)
		}
	}
	accuracy = math.NaN()
	if scorer != nil {
		accuracy = float64(correct) / float64(n)
	}
	return lossSum / float64(n), accuracy
}

// batch holds the input and target tensors of one batch size.
type batch struct {
	size int
	x, y *tensor.Dense
}

func newBatch(size int, d datasets.Dataset) *batch {
	return &batch{
		size: size,
		x:    nn.NewTensor(nn.BatchShape(nil, size, d.InputShape())...),
		y:    nn.NewTensor(nn.BatchShape(nil, size, d.TargetShape())...),
	}
}

func checkDataset(what string, d datasets.Dataset, m *nn.Sequential) error {
	if d == nil || d.Len() < 1 {
		return fmt.Errorf("backprop: the %s set is empty", what)
	}
	if !d.InputShape().Equal(m.InputShape()) {
		return fmt.Errorf("backprop: %s samples of shape %v, but the model takes %v", what, d.InputShape(), m.InputShape())
	}
	return nil
}
