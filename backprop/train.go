package backprop

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// Trainer performs training steps: one mini-batch through the model, the
// loss, the backward pass, regularisation, clipping and the optimizer.
//
// Set the exported fields, then call [Trainer.Step] or [Trainer.StepSparse]
// (or [Fit], [FitSparse]). The Trainer caches the parameter lists on its
// first step: do not change Model or the regularisation settings' targets
// afterwards. After the first step, Step and StepSparse allocate nothing
// (provided the model's layers and the optimizer do not).
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
	// SkipNonFinite changes what a step does with a NaN or infinite loss or
	// gradient: instead of returning a [*NonFiniteError], it zeroes the
	// gradients, counts the step in [Trainer.Skipped] and returns the loss
	// with a nil error, so that training goes on with the next batch. The
	// parameters and the layers' state are not updated either way. [Fit]
	// leaves skipped batches out of the epoch's loss and accuracy and counts
	// them in [EpochStats.Skipped]. It does not skip forever: see MaxSkips.
	SkipNonFinite bool
	// MaxSkips is the number of non-finite steps in a row at which
	// SkipNonFinite gives up: that step returns its [*NonFiniteError], with
	// InARow set, instead of being skipped. 0 means [DefaultMaxSkips]; a
	// negative value never gives up. [Fit] also gives up when every batch
	// of an epoch was skipped.
	MaxSkips int

	steps    int
	skipped  int
	inARow   int // non-finite steps since the last step that updated
	lastSkip *NonFiniteError
	params   []*nn.Param
	weights  []*nn.Param
	where    []paramWhere // where[i] locates params[i] for error messages
	state    []*nn.Param  // Model.State(), put back when a step fails
	stateAt  []paramWhere // stateAt[i] locates state[i]
	saved    []float32    // the values of state before the step
	out      *tensor.Dense
	gradNorm float64
}

// DefaultMaxSkips is the number of non-finite steps in a row at which
// [Trainer.SkipNonFinite] gives up when [Trainer.MaxSkips] is 0.
const DefaultMaxSkips = 100

// paramWhere is a parameter's layer index and kind, for error messages.
type paramWhere struct {
	layer int
	kind  string
}

// ErrNonFinite is wrapped by every [*NonFiniteError], so that a caller can
// test errors.Is(err, backprop.ErrNonFinite).
var ErrNonFinite = errors.New("non-finite loss or gradient")

// NonFiniteError reports a training step whose loss or gradient held a NaN
// or an infinity. The step made no update: the parameters keep the values
// they had before it. Its message names the step, the epoch and batch when
// [Fit] ran it, and the first layer and parameter where a non-finite
// gradient appeared:
//
//	backprop: epoch 3/10, batch 1250/1875, step 5000: non-finite gradient in layer 2 (Dense) parameter "W": element 17 is NaN; parameters not updated
type NonFiniteError struct {
	// Step is the step's number, counted from 1 over the Trainer's life.
	Step int
	// Epoch and Batch locate the step in a Fit, counting from 0 (the
	// message counts from 1, as the progress bar does), out of Epochs and
	// Batches; all four are 0 for a step run outside Fit.
	Epoch, Epochs, Batch, Batches int
	// Layer is the index in the model of the layer whose parameter has the
	// first non-finite gradient element, and −1 when the loss itself is not
	// finite.
	Layer int
	// Kind is that layer's Spec().Kind; Param the parameter's name; Index
	// the position of the first non-finite element in its gradient.
	Kind, Param string
	Index       int
	// Value is the non-finite value found: the element, or the loss.
	Value float64
	// Penalty reports that the loss became non-finite only when the L1/L2
	// penalty was added to it (the weights themselves hold an infinity).
	Penalty bool
	// State reports that the value is in a layer's state tensor (Param is
	// its name, such as BatchNorm's running "var"), which the forward pass
	// updated, and not in a gradient. The state is put back as it was.
	State bool
	// InARow is set when [Trainer.SkipNonFinite] gave up: the number of
	// non-finite steps in a row, this one included ([Trainer.MaxSkips]
	// reached, or every batch of an epoch skipped).
	InARow int
}

// Error describes the step, where the value appeared and what it was.
func (e *NonFiniteError) Error() string {
	var b strings.Builder
	b.WriteString("backprop: ")
	if e.Epochs > 0 {
		fmt.Fprintf(&b, "epoch %d/%d, batch %d/%d, ", e.Epoch+1, e.Epochs, e.Batch+1, e.Batches)
	}
	fmt.Fprintf(&b, "step %d: ", e.Step)
	switch {
	case e.Layer >= 0 && e.State:
		fmt.Fprintf(&b, "non-finite state in layer %d (%s) tensor %q: element %d is %g", e.Layer, e.Kind, e.Param, e.Index, e.Value)
	case e.Layer >= 0:
		fmt.Fprintf(&b, "non-finite gradient in layer %d (%s) parameter %q: element %d is %g", e.Layer, e.Kind, e.Param, e.Index, e.Value)
	case e.Penalty:
		fmt.Fprintf(&b, "non-finite loss %g once the L1/L2 penalty is added", e.Value)
	default:
		fmt.Fprintf(&b, "non-finite loss %g", e.Value)
	}
	b.WriteString("; parameters not updated")
	if e.InARow > 0 {
		fmt.Fprintf(&b, "; SkipNonFinite gives up after %d non-finite steps in a row", e.InARow)
	}
	return b.String()
}

// Unwrap returns [ErrNonFinite].
func (e *NonFiniteError) Unwrap() error { return ErrNonFinite }

// Step performs one training step on the batch x with targets y:
//
//  1. zero every parameter gradient;
//  2. ŷ = Model.Forward(x, train);
//  3. loss = Loss.Forward(ŷ, y);
//  4. seed = Loss.Backward() = dLoss/dŷ;
//  5. Model.BackwardParams(seed) accumulates dLoss/dθ into every parameter
//     (skipping the input gradient nobody reads);
//  6. L1/L2 add their gradients on [optim.Weights] and their penalty to loss;
//  7. ClipValue, then ClipNorm;
//  8. Optimizer.Step().
//
// It returns the loss of the batch, penalties included, before the update.
// Between steps 6 and 7 one read of the gradients checks that they are all
// finite (fused with the global norm when ClipNorm is the only clipping),
// and one of the layers' state (BatchNorm's running statistics, which step
// 2 updated) that it is; a loss, a gradient or a state value that is NaN or
// infinite returns a [*NonFiniteError] naming the step (counted from 1 over
// the Trainer's life) and, for a gradient or state, the layer, tensor and
// index. The optimizer step is then not taken, so the parameters keep
// their values, and the state is put back as it was before the step (a
// copy taken in step 1, of 2·C values per BatchNorm); with SkipNonFinite
// the gradients are zeroed and the error is nil instead.
func (t *Trainer) Step(x, y *tensor.Dense) (loss float64, err error) {
	if err := t.begin(); err != nil {
		return 0, err
	}
	t.out = t.Model.Forward(x, true)
	return t.finish(y)
}

// StepSparse is [Trainer.Step] for a sparse batch (a bag-of-words batch in
// CSR form): step 2 is ŷ = Model.ForwardSparse(x, train), whose first layer
// (an [nn.SparseLayer] such as layers.EmbeddingBag) reads x directly;
// steps 1 and 3 to 8 are Step's, run by the same code. It panics, as
// ForwardSparse does, if the model's first layer cannot read sparse input
// or x has the wrong number of columns ([FitSparse] checks both before
// training and returns an error instead).
func (t *Trainer) StepSparse(x *nn.Sparse, y *tensor.Dense) (loss float64, err error) {
	if err := t.begin(); err != nil {
		return 0, err
	}
	t.out = t.Model.ForwardSparse(x, true)
	return t.finish(y)
}

// begin is step 1: it checks the Trainer on its first step, counts the step,
// keeps a copy of the layers' state and zeroes the gradients.
func (t *Trainer) begin() error {
	if t.params == nil {
		if err := t.init(); err != nil {
			return err
		}
	}
	t.steps++
	off := 0
	for _, s := range t.state {
		off += copy(t.saved[off:], s.Data())
	}
	t.Model.ZeroGrad()
	return nil
}

// restoreState puts back the layers' state that begin copied.
func (t *Trainer) restoreState() {
	off := 0
	for _, s := range t.state {
		off += copy(s.Data(), t.saved[off:])
	}
}

// finish carries out steps 3 to 8 on t.out, the output of the forward pass.
func (t *Trainer) finish(y *tensor.Dense) (loss float64, err error) {
	t.gradNorm = math.NaN()
	loss = t.Loss.Forward(t.out, y)
	if !finite(loss) {
		return loss, t.nonFinite(&NonFiniteError{Step: t.steps, Layer: -1, Value: loss})
	}
	t.Model.BackwardParams(t.Loss.Backward())
	if t.L1 > 0 {
		loss += optim.L1(t.weights, t.L1)
	}
	if t.L2 > 0 {
		loss += optim.L2(t.weights, t.L2)
	}
	// One pass over the gradients checks that they are all finite. With
	// ClipNorm alone it is the pass that measures the global norm: Σg² (in
	// float64, where squares of float32 values cannot overflow) is finite
	// exactly when every element is. Otherwise optim.AllFinite checks,
	// before ClipToValue could hide an infinity by clamping it. Past this
	// point the gradients are known finite, so the clipping below checks
	// nothing again.
	fused := t.ClipNorm > 0 && t.ClipValue == 0
	if fused {
		t.gradNorm = optim.GradNorm(t.params)
		if !finite(t.gradNorm) {
			return loss, t.nonFinite(t.findNonFinite())
		}
	} else if !t.gradsFinite() {
		return loss, t.nonFinite(t.findNonFinite())
	}
	if !finite(loss) {
		return loss, t.nonFinite(&NonFiniteError{Step: t.steps, Layer: -1, Value: loss, Penalty: true})
	}
	for i, s := range t.state {
		if !optim.AllFinite(s.Data()) {
			return loss, t.nonFinite(t.findNonFiniteState(i))
		}
	}
	if t.ClipValue > 0 {
		optim.ClipToValue(t.params, t.ClipValue)
	}
	if t.ClipNorm > 0 {
		if !fused {
			// The norm after clamping, as optim.ClipNorm would measure it.
			t.gradNorm = optim.GradNorm(t.params)
		}
		optim.ClipToNorm(t.params, t.gradNorm, t.ClipNorm)
	}
	t.Optimizer.Step()
	t.inARow = 0
	return loss, nil
}

// nonFinite ends a step that met a non-finite value: it puts the layers'
// state back and returns e, or with SkipNonFinite zeroes the gradients,
// counts the step and returns nil, unless MaxSkips steps in a row have now
// been non-finite.
func (t *Trainer) nonFinite(e *NonFiniteError) error {
	t.restoreState()
	t.inARow++
	if !t.SkipNonFinite {
		return e
	}
	if limit := t.maxSkips(); limit > 0 && t.inARow >= limit {
		e.InARow = t.inARow
		return e
	}
	t.Model.ZeroGrad()
	t.skipped++
	t.lastSkip = e
	return nil
}

// maxSkips returns MaxSkips with its default applied (≤ 0: no limit).
func (t *Trainer) maxSkips() int {
	if t.MaxSkips == 0 {
		return DefaultMaxSkips
	}
	return t.MaxSkips
}

// Steps returns the number of steps attempted so far.
func (t *Trainer) Steps() int { return t.steps }

// Skipped returns the number of steps skipped so far because of a
// non-finite loss or gradient (only with SkipNonFinite).
func (t *Trainer) Skipped() int { return t.skipped }

// LastSkipped describes the last step skipped with SkipNonFinite, or is
// nil if none was.
func (t *Trainer) LastSkipped() *NonFiniteError { return t.lastSkip }

// Output returns the model's output for the batch of the last step (Step or
// StepSparse), before that step's update. It is owned by the model's last
// layer and valid until the next forward pass.
func (t *Trainer) Output() *tensor.Dense { return t.out }

// GradNorm returns the global gradient norm before clipping, measured by the
// last step when ClipNorm is set, and NaN otherwise.
func (t *Trainer) GradNorm() float64 { return t.gradNorm }

func (t *Trainer) init() error {
	switch {
	case t.Model == nil:
		return errors.New("backprop: Trainer has no Model")
	case t.Loss == nil:
		return errors.New("backprop: Trainer has no Loss")
	case t.Optimizer == nil:
		return errors.New("backprop: Trainer has no Optimizer")
	case !(finiteNonNeg(t.ClipValue) && finiteNonNeg(t.ClipNorm) && finiteNonNeg(t.L1) && finiteNonNeg(t.L2)):
		return fmt.Errorf("backprop: Trainer: ClipValue %g, ClipNorm %g, L1 %g and L2 %g must be finite and ≥ 0", t.ClipValue, t.ClipNorm, t.L1, t.L2)
	}
	t.params = t.Model.Params()
	if t.params == nil {
		t.params = []*nn.Param{}
	}
	t.weights = optim.Weights(t.params)
	// One walk over the layers locates every parameter and gathers the
	// state, in the order of Model.Params and Model.State.
	t.where, t.state, t.stateAt = t.where[:0], t.state[:0], t.stateAt[:0]
	for li, l := range t.Model.Layers {
		at := paramWhere{li, l.Spec().Kind}
		for range l.Params() {
			t.where = append(t.where, at)
		}
		if st, ok := l.(nn.Stateful); ok {
			for _, s := range st.State() {
				t.state = append(t.state, s)
				t.stateAt = append(t.stateAt, at)
			}
		}
	}
	if len(t.where) != len(t.params) {
		return fmt.Errorf("backprop: Trainer: the model has %d parameters but its layers list %d", len(t.params), len(t.where))
	}
	t.saved = make([]float32, nn.NumParams(t.state))
	return nil
}

func finiteNonNeg(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// gradsFinite reports whether every gradient element is finite.
func (t *Trainer) gradsFinite() bool {
	for _, p := range t.params {
		if p.Grad != nil && !optim.AllFinite(p.GradData()) {
			return false
		}
	}
	return true
}

// findNonFinite returns the error naming the first non-finite gradient
// element, in parameter order; it is called only once one is known to
// exist.
func (t *Trainer) findNonFinite() *NonFiniteError {
	for i, p := range t.params {
		if p.Grad == nil {
			continue
		}
		if j := optim.FirstNonFinite(p.GradData()); j >= 0 {
			return &NonFiniteError{Step: t.steps, Layer: t.where[i].layer, Kind: t.where[i].kind, Param: p.Name, Index: j, Value: float64(p.GradData()[j])}
		}
	}
	// Unreachable for float32 gradients, whose squares cannot overflow the
	// float64 norm.
	return &NonFiniteError{Step: t.steps, Layer: -1, Value: t.gradNorm}
}

// findNonFiniteState returns the error naming the first non-finite element
// of state tensor i, which holds one.
func (t *Trainer) findNonFiniteState(i int) *NonFiniteError {
	s := t.state[i]
	if j := optim.FirstNonFinite(s.Data()); j >= 0 {
		return &NonFiniteError{Step: t.steps, Layer: t.stateAt[i].layer, Kind: t.stateAt[i].kind, Param: s.Name, Index: j, Value: float64(s.Data()[j]), State: true}
	}
	return &NonFiniteError{Step: t.steps, Layer: -1, Value: math.NaN()}
}

// Config configures [Fit] and [FitSparse].
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
	// SparseValidation is a validation set of sparse rows, for a model
	// whose first layer reads them (an [nn.SparseLayer]); it is used as
	// Validation is. At most one of the two may be set; either works with
	// [Fit] and with [FitSparse].
	SparseValidation datasets.SparseDataset
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

	// Stop, if not nil, is looked at before every batch: once it is closed
	// (a context's Done channel, say, canceled by SIGINT), Fit writes a
	// checkpoint to Checkpoint (if set) and returns a [*StopError], which
	// wraps [ErrStopped] (and [ErrCheckpointSave] if the checkpoint could
	// not be written). The batch in progress is always finished first. A
	// run not resumed that is stopped before its first batch has nothing
	// to save and writes no checkpoint, leaving any file at Checkpoint as
	// it was.
	Stop <-chan struct{}
	// Checkpoint, if not empty, is the file that Fit saves its complete
	// state to (see [ReadCheckpoint] and Resume): when Stop ends it, and
	// with CheckpointEvery n ≥ 1 also after every n-th epoch and after the
	// last. The folder is created if missing. The file is replaced
	// atomically, so a crash or a second interruption while it is written
	// leaves the previous checkpoint whole. A checkpoint needs an optimizer
	// that is an [optim.Stateful] and a schedule (if any) that is an
	// encoding.BinaryMarshaler, as all of optim's are; Fit checks before
	// training.
	Checkpoint string
	// CheckpointEvery is the number of epochs between checkpoints; 0 writes
	// one only when Stop ends Fit.
	CheckpointEvery int
	// CheckpointMeta is stored in every checkpoint, for the application:
	// its settings, to check on resuming that they are the same, say. The
	// key [CheckpointKey] is reserved.
	CheckpointMeta map[string][]byte
	// Sources are random generators of the run that Fit does not own, such
	// as a data augmentation's, whose state checkpoints save and Resume
	// restores, in order.
	Sources []*rand.PCG
	// Resume, if set, is a checkpoint to carry on from: Fit copies its
	// weights into the Trainer's model (which must have the same layers),
	// restores the optimizer, schedule, generators and callbacks, and goes
	// on from its epoch and batch with its history. The data set, batch
	// size, Shuffle and DropLast must be those of the run that wrote it.
	// Epochs may differ: a finished run can be given more epochs, but not
	// fewer than the checkpoint has done or begun (its partial epoch would
	// be lost): Fit returns an error.
	Resume *Checkpoint
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
	// ValLoss and ValAccuracy are measured on Config.Validation (or
	// Config.SparseValidation) after the epoch, in inference mode; NaN
	// without a validation set (ValAccuracy also unless the loss is a
	// [Scorer]).
	ValLoss, ValAccuracy float64
	// LR is the learning rate used during the epoch.
	LR float64
	// Seconds is the wall-clock duration of the epoch's training pass.
	Seconds float64
	// SamplesPerSec is the training throughput.
	SamplesPerSec float64
	// Skipped is the number of batches skipped because of a non-finite
	// loss or gradient (with [Trainer.SkipNonFinite]); they count in
	// neither Loss nor Accuracy.
	Skipped int
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
//   - the model is evaluated on cfg.Validation (or cfg.SparseValidation) in
//     inference mode;
//   - cfg.Schedule gives the next learning rate to the optimizer;
//   - callbacks' OnEpochEnd run; if one asks to stop, Fit returns after it.
//
// An error from a step (a [*NonFiniteError], with its epoch and batch
// filled in) or from a callback stops Fit; it is returned together with the
// history of the epochs completed before it. With [Trainer.SkipNonFinite] a
// batch with a non-finite loss or gradient is skipped instead, until
// [Trainer.MaxSkips] steps in a row were or every batch of an epoch was
// (the model has diverged): Fit then returns the last one's
// [*NonFiniteError], with its InARow count. The same seeds (model, Seed)
// give bit-identical weights.
//
// cfg.Stop stops Fit between batches, cfg.Checkpoint saves its state and
// cfg.Resume carries on from a saved state: a run stopped and resumed ends
// with the weights of a run never stopped.
func Fit(t *Trainer, train datasets.Dataset, cfg Config) (History, error) {
	if err := checkFit("Fit", t, cfg); err != nil {
		return History{}, err
	}
	if err := checkDataset("training", train, t.Model); err != nil {
		return History{}, err
	}
	return fit("Fit", t, newDenseFeed(train, cfg.BatchSize), cfg)
}

// FitSparse is [Fit] for a training set of sparse rows, such as bags of
// words: each batch is filled into one reused [nn.Sparse] (its slices grow
// to the largest batch and are kept) and passed to [Trainer.StepSparse].
// Everything else (batches, shuffling, callbacks, schedule, validation on
// cfg.Validation or cfg.SparseValidation, history, errors) is Fit's, run by
// the same loop. It returns an error before training if the model's first
// layer does not read sparse input (it is not an [nn.SparseLayer]) or the
// model was not built for flat inputs of train.Cols() columns.
func FitSparse(t *Trainer, train datasets.SparseDataset, cfg Config) (History, error) {
	if err := checkFit("FitSparse", t, cfg); err != nil {
		return History{}, err
	}
	if err := checkSparseDataset("training", train, t.Model); err != nil {
		return History{}, err
	}
	return fit("FitSparse", t, newSparseFeed(train, cfg.BatchSize), cfg)
}

// checkFit checks what Fit and FitSparse need before looking at the data.
func checkFit(name string, t *Trainer, cfg Config) error {
	if t == nil || t.Model == nil {
		return fmt.Errorf("backprop: %s: no Trainer or no Model", name)
	}
	if cfg.Epochs < 1 || cfg.BatchSize < 1 {
		return fmt.Errorf("backprop: %s: epochs %d and batch size %d must be ≥ 1", name, cfg.Epochs, cfg.BatchSize)
	}
	return nil
}

// fit is the epoch loop of Fit and FitSparse, over a training set seen
// through its feed.
func fit(name string, t *Trainer, train feed, cfg Config) (History, error) {
	var h History
	vb := cfg.ValBatchSize
	if vb <= 0 {
		vb = cfg.BatchSize
	}
	var val *evaluator
	switch {
	case cfg.Validation != nil && cfg.SparseValidation != nil:
		return h, fmt.Errorf("backprop: %s: set Validation or SparseValidation, not both", name)
	case cfg.Validation != nil:
		if err := checkDataset("validation", cfg.Validation, t.Model); err != nil {
			return h, err
		}
		val = newEvaluator(t.Model, t.Loss, newDenseFeed(cfg.Validation, vb))
	case cfg.SparseValidation != nil:
		if err := checkSparseDataset("validation", cfg.SparseValidation, t.Model); err != nil {
			return h, err
		}
		val = newEvaluator(t.Model, t.Loss, newSparseFeed(cfg.SparseValidation, vb))
	}
	if t.Optimizer == nil {
		return h, fmt.Errorf("backprop: %s: Trainer has no Optimizer", name)
	}
	var shuffle *rand.PCG
	var rng *rand.Rand
	if cfg.Shuffle {
		shuffle = rand.NewPCG(cfg.Seed, 0x5eed)
		rng = rand.New(shuffle)
	}
	loader, err := datasets.NewLoader(train.samples(), cfg.BatchSize, cfg.Shuffle, cfg.DropLast, rng)
	if err != nil {
		return h, fmt.Errorf("backprop: %s: %w", name, err)
	}
	ck := &checkpointer{t: t, cfg: &cfg, samples: train.samples(), shuffle: shuffle, loader: loader}
	if cfg.Checkpoint != "" || cfg.Resume != nil {
		if err := ck.check(); err != nil {
			return h, fmt.Errorf("backprop: %s: %w", name, err)
		}
	}
	if cfg.CheckpointEvery < 0 {
		return h, fmt.Errorf("backprop: %s: CheckpointEvery %d must be ≥ 0", name, cfg.CheckpointEvery)
	}
	scorer, _ := t.Loss.(Scorer)
	if cfg.Schedule != nil {
		t.Optimizer.SetLR(cfg.Schedule.LR())
	}
	var pos position
	if cfg.Resume != nil {
		if pos, h, err = ck.restore(cfg.Resume); err != nil {
			return History{}, fmt.Errorf("backprop: %s: resuming from %s: %w", name, cfg.Resume.Path, err)
		}
		if pos.done {
			return h, nil
		}
	}

	for epoch := pos.epoch; epoch < cfg.Epochs; epoch++ {
		st := EpochStats{Epoch: epoch, LR: t.Optimizer.LR(), Accuracy: math.NaN(), ValLoss: math.NaN(), ValAccuracy: math.NaN()}
		if err := ck.startEpoch(); err != nil {
			return h, fmt.Errorf("backprop: %s: checkpoint: %w", name, err)
		}
		start := time.Now()
		loader.Reset()
		// The epoch's sums so far: zero, or a resumed checkpoint's.
		cur := position{epoch: epoch}
		if epoch == pos.epoch && pos.batch > 0 {
			cur = pos
			for range pos.batch {
				loader.Next()
			}
		}
		elapsed := func() float64 { return cur.seconds + time.Since(start).Seconds() }
		for bi := cur.batch; ; bi++ {
			if stopped(cfg.Stop) {
				cur.batch, cur.seconds = bi, elapsed()
				return h, ck.stop(name, cur, h, loader.Batches(), cfg.Resume == nil && epoch == 0 && bi == 0)
			}
			idx, ok := loader.Next()
			if !ok {
				break
			}
			y := train.load(idx)
			skipped := t.skipped
			loss, err := train.step(t)
			if err != nil {
				if nf, ok := err.(*NonFiniteError); ok {
					nf.Epoch, nf.Epochs, nf.Batch, nf.Batches = epoch, cfg.Epochs, bi, loader.Batches()
					return h, nf
				}
				return h, fmt.Errorf("backprop: %s: epoch %d/%d, batch %d/%d: %w", name, epoch+1, cfg.Epochs, bi+1, loader.Batches(), err)
			}
			skip := t.skipped != skipped
			if skip {
				cur.skipped++
				t.lastSkip.Epoch, t.lastSkip.Epochs, t.lastSkip.Batch, t.lastSkip.Batches = epoch, cfg.Epochs, bi, loader.Batches()
			} else {
				if scorer != nil {
					cur.correct += scorer.Correct(t.Output(), y)
				}
				cur.lossSum += loss * float64(len(idx))
				cur.samples += len(idx)
			}
			if len(cfg.Callbacks) > 0 {
				info := BatchInfo{
					Epoch: epoch, Epochs: cfg.Epochs, Batch: bi, Batches: loader.Batches(),
					Size: len(idx), Loss: loss, RunningLoss: cur.lossSum / float64(cur.samples),
					Samples: cur.samples, Elapsed: time.Duration(elapsed() * float64(time.Second)), Skipped: skip,
				}
				for _, c := range cfg.Callbacks {
					c.OnBatchEnd(info)
				}
			}
		}
		if cur.samples == 0 && cur.skipped > 0 {
			// Every batch of the epoch was skipped: it has no loss, and the
			// model has most likely diverged.
			return h, t.gaveUp(epoch, cfg.Epochs, loader.Batches(), cur.skipped)
		}
		st.Seconds = elapsed()
		st.Loss = cur.lossSum / float64(cur.samples)
		st.Skipped = cur.skipped
		if st.Seconds > 0 {
			st.SamplesPerSec = float64(cur.samples) / st.Seconds
		}
		if scorer != nil {
			st.Accuracy = float64(cur.correct) / float64(cur.samples)
		}
		metric := st.Loss
		if val != nil {
			st.ValLoss, st.ValAccuracy = val.run()
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
				return h, fmt.Errorf("backprop: %s: epoch %d/%d: %w", name, epoch+1, cfg.Epochs, err)
			}
			stop = stop || s
		}
		last := stop || epoch+1 == cfg.Epochs
		if n := cfg.CheckpointEvery; cfg.Checkpoint != "" && n > 0 && ((epoch+1)%n == 0 || last) {
			if err := ck.save(position{epoch: epoch + 1, done: stop}, h, true); err != nil {
				return h, fmt.Errorf("backprop: %s: after epoch %d/%d: %w", name, epoch+1, cfg.Epochs, err)
			}
		}
		if stop {
			break
		}
	}
	return h, nil
}

// gaveUp returns the error of an epoch whose batches were all skipped: the
// last skipped step's, with InARow set.
func (t *Trainer) gaveUp(epoch, epochs, batches, skipped int) *NonFiniteError {
	e := &NonFiniteError{Step: t.steps, Epoch: epoch, Epochs: epochs, Batch: batches - 1, Batches: batches, Layer: -1, Value: math.NaN()}
	if t.lastSkip != nil && t.lastSkip.Epoch == epoch && t.lastSkip.Epochs == epochs {
		c := *t.lastSkip
		e = &c
	}
	e.InARow = max(t.inARow, skipped)
	return e
}

// stopped reports whether the stop channel is closed (or has a value).
func stopped(stop <-chan struct{}) bool {
	if stop == nil {
		return false
	}
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// stop writes the checkpoint of a Fit stopped at pos (if it has a
// checkpoint file, and unless it is a fresh run that has done nothing) and
// returns the error Fit returns.
func (c *checkpointer) stop(name string, pos position, h History, batches int, fresh bool) error {
	e := &StopError{Func: name, Epoch: pos.epoch, Epochs: c.cfg.Epochs, Batch: pos.batch, Batches: batches, Fresh: fresh}
	if c.cfg.Checkpoint == "" || fresh {
		return e
	}
	if err := c.save(pos, h, false); err != nil {
		e.SaveErr, e.Last = err, c.last
		return e
	}
	e.Checkpoint = c.cfg.Checkpoint
	return e
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
	return newEvaluator(m, loss, newDenseFeed(d, batchSize)).run()
}

// EvaluateSparse is [Evaluate] for a data set of sparse rows, run through
// [nn.Sequential.ForwardSparse]. It panics if the model's first layer does
// not read sparse input or d's rows do not have the model's number of
// columns.
func EvaluateSparse(m *nn.Sequential, loss Loss, d datasets.SparseDataset, batchSize int) (meanLoss, accuracy float64) {
	if err := checkSparseDataset("evaluation", d, m); err != nil {
		panic(err.Error())
	}
	if batchSize <= 0 {
		batchSize = d.Len()
	}
	return newEvaluator(m, loss, newSparseFeed(d, batchSize)).run()
}

// evaluator runs a validation pass; its feed keeps the batch tensors
// between epochs.
type evaluator struct {
	model *nn.Sequential
	loss  Loss
	data  feed
	idx   []int
}

func newEvaluator(m *nn.Sequential, loss Loss, data feed) *evaluator {
	return &evaluator{model: m, loss: loss, data: data}
}

func (e *evaluator) run() (meanLoss, accuracy float64) {
	n, size := e.data.samples(), e.data.batchSize()
	scorer, _ := e.loss.(Scorer)
	var lossSum float64
	var correct int
	for lo := 0; lo < n; lo += size {
		hi := min(lo+size, n)
		e.idx = e.idx[:0]
		for i := lo; i < hi; i++ {
			e.idx = append(e.idx, i)
		}
		y := e.data.load(e.idx)
		out := e.data.forward(e.model)
		lossSum += e.loss.Forward(out, y) * float64(hi-lo)
		if scorer != nil {
			correct += scorer.Correct(out, y)
		}
	}
	accuracy = math.NaN()
	if scorer != nil {
		accuracy = float64(correct) / float64(n)
	}
	return lossSum / float64(n), accuracy
}

// feed is how the training loop and the evaluator see a data set, dense or
// sparse: it copies the samples of a batch into tensors it owns and runs the
// model on that batch. It lets Fit and FitSparse, and Evaluate and
// EvaluateSparse, share one loop.
type feed interface {
	// samples returns the number of samples in the data set.
	samples() int
	// batchSize returns the size of a full batch (at most samples()).
	batchSize() int
	// load copies the samples idx into the current batch and returns their
	// targets.
	load(idx []int) *tensor.Dense
	// step takes a training step on the current batch.
	step(t *Trainer) (float64, error)
	// forward runs m in inference mode on the current batch.
	forward(m *nn.Sequential) *tensor.Dense
}

var (
	_ feed = (*denseFeed)(nil)
	_ feed = (*sparseFeed)(nil)
)

// batches allocates the tensors of the full batch size and of one other
// (the smaller last batch) on first use, and keeps them.
type batches struct {
	size       int      // the full batch size
	in, tgt    nn.Shape // per-sample shapes; in is nil for sparse inputs
	full, last *batch
}

func (c *batches) batchSize() int { return c.size }

// get returns the tensors for a batch of n samples.
func (c *batches) get(n int) *batch {
	if n == c.size {
		if c.full == nil {
			c.full = newBatch(n, c.in, c.tgt)
		}
		return c.full
	}
	if c.last == nil || c.last.size != n {
		c.last = newBatch(n, c.in, c.tgt)
	}
	return c.last
}

// batch holds the input and target tensors of one batch size (no input
// tensor for a sparse feed).
type batch struct {
	size int
	x, y *tensor.Dense
}

func newBatch(size int, in, tgt nn.Shape) *batch {
	b := &batch{size: size, y: nn.NewTensor(nn.BatchShape(nil, size, tgt)...)}
	if in != nil {
		b.x = nn.NewTensor(nn.BatchShape(nil, size, in)...)
	}
	return b
}

// denseFeed feeds a [datasets.Dataset] through Trainer.Step and
// Sequential.Forward.
type denseFeed struct {
	d datasets.Dataset
	batches
	cur *batch
}

func newDenseFeed(d datasets.Dataset, size int) *denseFeed {
	return &denseFeed{d: d, batches: batches{size: min(size, d.Len()), in: d.InputShape(), tgt: d.TargetShape()}}
}

func (f *denseFeed) samples() int { return f.d.Len() }

func (f *denseFeed) load(idx []int) *tensor.Dense {
	f.cur = f.get(len(idx))
	f.d.Batch(f.cur.x, f.cur.y, idx)
	return f.cur.y
}

func (f *denseFeed) step(t *Trainer) (float64, error) { return t.Step(f.cur.x, f.cur.y) }

func (f *denseFeed) forward(m *nn.Sequential) *tensor.Dense { return m.Forward(f.cur.x, false) }

// sparseFeed feeds a [datasets.SparseDataset] through Trainer.StepSparse and
// Sequential.ForwardSparse, filling one reused nn.Sparse batch.
type sparseFeed struct {
	d datasets.SparseDataset
	batches
	x nn.Sparse
	y *tensor.Dense
}

func newSparseFeed(d datasets.SparseDataset, size int) *sparseFeed {
	return &sparseFeed{d: d, batches: batches{size: min(size, d.Len()), tgt: d.TargetShape()}}
}

func (f *sparseFeed) samples() int { return f.d.Len() }

func (f *sparseFeed) load(idx []int) *tensor.Dense {
	f.y = f.get(len(idx)).y
	f.d.SparseBatch(&f.x, f.y, idx)
	return f.y
}

func (f *sparseFeed) step(t *Trainer) (float64, error) { return t.StepSparse(&f.x, f.y) }

func (f *sparseFeed) forward(m *nn.Sequential) *tensor.Dense { return m.ForwardSparse(&f.x, false) }

func checkDataset(what string, d datasets.Dataset, m *nn.Sequential) error {
	if d == nil || d.Len() < 1 {
		return fmt.Errorf("backprop: the %s set is empty", what)
	}
	if !d.InputShape().Equal(m.InputShape()) {
		return fmt.Errorf("backprop: %s samples of shape %v, but the model takes %v", what, d.InputShape(), m.InputShape())
	}
	return nil
}

// checkSparseDataset checks that the model can read d's sparse rows: its
// first layer is an nn.SparseLayer and its input is [d.Cols()].
func checkSparseDataset(what string, d datasets.SparseDataset, m *nn.Sequential) error {
	if d == nil || d.Len() < 1 {
		return fmt.Errorf("backprop: the %s set is empty", what)
	}
	if len(m.Layers) == 0 {
		return fmt.Errorf("backprop: the %s set is sparse, but the model has no layers", what)
	}
	if _, ok := m.Layers[0].(nn.SparseLayer); !ok {
		return fmt.Errorf("backprop: the %s set is sparse, but the model's first layer %s does not read sparse input", what, m.Layers[0].Spec().Kind)
	}
	if in := m.InputShape(); len(in) != 1 || in[0] != d.Cols() {
		return fmt.Errorf("backprop: %s samples of %d columns, but the model takes %v", what, d.Cols(), in)
	}
	return nil
}
