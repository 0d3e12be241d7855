package backprop

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/descent-ml/descent/nn"
)

// Callback observes a [Fit] as it goes, and may stop it.
type Callback interface {
	// OnBatchEnd is called after every training step.
	OnBatchEnd(b BatchInfo)
	// OnEpochEnd is called after every epoch, once the validation pass and
	// the schedule have run. Returning stop ends Fit after this epoch (the
	// remaining callbacks still see it); an error ends Fit with that error.
	OnEpochEnd(e EpochInfo) (stop bool, err error)
}

// BatchInfo describes the training step just taken.
type BatchInfo struct {
	// Epoch counts from 0, out of Epochs.
	Epoch, Epochs int
	// Batch counts from 0 within the epoch, out of Batches.
	Batch, Batches int
	// Size is the number of samples in the batch.
	Size int
	// Loss is the batch's loss; RunningLoss the mean over the epoch's
	// batches so far that were not skipped (NaN while every one was).
	Loss, RunningLoss float64
	// Samples is the number of samples seen in the epoch so far.
	Samples int
	// Elapsed is the time since the epoch started.
	Elapsed time.Duration
	// Skipped reports that the step was skipped because of a non-finite
	// loss or gradient ([Trainer.SkipNonFinite]); Loss is then that loss,
	// and RunningLoss and Samples leave the batch out.
	Skipped bool
}

// EpochInfo describes the epoch just completed.
type EpochInfo struct {
	EpochStats
	// Epochs is the number of epochs Fit was asked for.
	Epochs int
	// Validation reports whether ValLoss and ValAccuracy were measured.
	Validation bool
	// Trainer is the trainer being fitted (for its Model and Optimizer).
	Trainer *Trainer
}

var (
	_ Callback = (*EarlyStopping)(nil)
	_ Callback = (*ProgressBar)(nil)
	_ Callback = (*Log)(nil)
)

// EarlyStopping stops [Fit] when a monitored metric has not improved for
// Patience epochs, as Keras's EarlyStopping does. An epoch improves on the
// best so far when its metric is lower by more than MinDelta (higher, for
// the accuracies). After Patience epochs in a row without improvement,
// Fit stops. A NaN metric never improves.
//
// With RestoreBest, the parameter values and the layers' state (BatchNorm's
// running statistics) of the best epoch are copied back into the model when
// it stops (not when Fit ends because the epochs ran
// out). An EarlyStopping starts afresh when it sees epoch 0, so one value
// can serve several Fit calls.
type EarlyStopping struct {
	// Monitor is "val_loss" (the default when empty), "loss",
	// "val_accuracy" or "accuracy".
	Monitor string
	// Patience is the number of epochs without improvement to tolerate.
	Patience int
	// MinDelta is the smallest change that counts as an improvement.
	MinDelta float64
	// RestoreBest copies the best epoch's parameters and state back when
	// stopping.
	RestoreBest bool

	best      float64
	bestEpoch int
	wait      int
	stopped   int // epoch it stopped after, plus one; 0 while it has not
	snapshot  [][]float32
}

// OnBatchEnd does nothing.
func (e *EarlyStopping) OnBatchEnd(BatchInfo) {}

// OnEpochEnd records the monitored metric and asks to stop after Patience
// epochs without improvement. It returns an error for an unknown metric, a
// validation metric without a validation set, or an accuracy for a loss
// that does not score predictions.
func (e *EarlyStopping) OnEpochEnd(info EpochInfo) (bool, error) {
	name := e.Monitor
	if name == "" {
		name = "val_loss"
	}
	v, ok := info.Metric(name)
	if !ok {
		return false, fmt.Errorf("backprop: EarlyStopping: unknown metric %q (want loss, accuracy, val_loss or val_accuracy)", name)
	}
	if (name == "val_loss" || name == "val_accuracy") && !info.Validation {
		return false, fmt.Errorf("backprop: EarlyStopping monitors %s but Fit has no validation set", name)
	}
	if (name == "accuracy" || name == "val_accuracy") && math.IsNaN(v) {
		if _, ok := info.Trainer.Loss.(Scorer); !ok {
			return false, fmt.Errorf("backprop: EarlyStopping monitors %s but the loss does not score predictions", name)
		}
	}
	if e.Patience < 0 || !(e.MinDelta >= 0) {
		return false, fmt.Errorf("backprop: EarlyStopping: Patience %d and MinDelta %g must be ≥ 0", e.Patience, e.MinDelta)
	}
	if info.Epoch == 0 {
		e.best, e.bestEpoch, e.wait, e.stopped = math.NaN(), -1, 0, 0
	}
	higher := name == "accuracy" || name == "val_accuracy"
	improved := !math.IsNaN(v) && (math.IsNaN(e.best) ||
		(!higher && v < e.best-e.MinDelta) || (higher && v > e.best+e.MinDelta))
	if improved {
		e.best, e.bestEpoch, e.wait = v, info.Epoch, 0
		if e.RestoreBest {
			e.save(info.Trainer)
		}
		return false, nil
	}
	e.wait++
	if e.wait < e.Patience {
		return false, nil
	}
	if e.RestoreBest && e.bestEpoch >= 0 {
		if err := e.restore(info.Trainer); err != nil {
			return false, err
		}
	}
	e.stopped = info.Epoch + 1
	return true, nil
}

// Best returns the best value of the monitored metric and its epoch (−1
// before any epoch improved).
func (e *EarlyStopping) Best() (value float64, epoch int) { return e.best, e.bestEpoch }

// StoppedEpoch returns the epoch after which it stopped Fit, or −1.
func (e *EarlyStopping) StoppedEpoch() int { return e.stopped - 1 }

// tensors returns what RestoreBest keeps: every parameter, then every state
// tensor of the model.
func (e *EarlyStopping) tensors(t *Trainer) []*nn.Param {
	return append(append([]*nn.Param(nil), t.Model.Params()...), t.Model.State()...)
}

func (e *EarlyStopping) save(t *Trainer) {
	ps := e.tensors(t)
	if len(e.snapshot) != len(ps) {
		e.snapshot = make([][]float32, len(ps))
	}
	for i, p := range ps {
		e.snapshot[i] = append(e.snapshot[i][:0], p.Data()...)
	}
}

// restore copies the snapshot back into the model, or returns an error if
// it does not fit the model (state restored from another run's checkpoint)
// and changes nothing.
func (e *EarlyStopping) restore(t *Trainer) error {
	ps := e.tensors(t)
	if err := e.snapshotFits(ps); err != nil {
		return fmt.Errorf("backprop: EarlyStopping: cannot restore the best epoch's weights: %w", err)
	}
	for i, p := range ps {
		copy(p.Data(), e.snapshot[i])
	}
	return nil
}

// snapshotFits reports whether the snapshot has one tensor of the right
// size for each of ps.
func (e *EarlyStopping) snapshotFits(ps []*nn.Param) error {
	if len(e.snapshot) != len(ps) {
		return fmt.Errorf("the snapshot holds %d tensors, the model %d", len(e.snapshot), len(ps))
	}
	for i, p := range ps {
		if len(e.snapshot[i]) != len(p.Data()) {
			return fmt.Errorf("snapshot tensor %d holds %d values, the model's %q %d", i, len(e.snapshot[i]), p.Name, len(p.Data()))
		}
	}
	return nil
}

// checkRestored checks, once the state of a checkpoint written after
// epochs completed epochs has been restored with UnmarshalBinary, that it
// fits the model trained: with RestoreBest, a best epoch needs a snapshot
// (a checkpoint written with RestoreBest false has none), and a snapshot
// must match the model's tensors. Before the end of the first epoch the
// state is that of a new EarlyStopping, which that epoch resets.
func (e *EarlyStopping) checkRestored(t *Trainer, epochs int) error {
	if epochs == 0 {
		return nil
	}
	if len(e.snapshot) == 0 {
		if e.RestoreBest && e.bestEpoch >= 0 {
			return errors.New("backprop: EarlyStopping: RestoreBest, but the checkpoint holds no snapshot of the best epoch's weights (was it written with RestoreBest false?)")
		}
		return nil
	}
	if err := e.snapshotFits(e.tensors(t)); err != nil {
		return fmt.Errorf("backprop: EarlyStopping: %w", err)
	}
	return nil
}

// ProgressBar draws a progress bar per epoch on W, with the running loss and
// the throughput in its description:
//
//	epoch 3/10 loss 0.2154 12034 samples/s  45% |█████████           | (212/469)
//
// The loss shows as "-" while every batch of the epoch so far was skipped
// ([Trainer.SkipNonFinite]).
type ProgressBar struct {
	// W receives the bar.
	W io.Writer
	// Throttle is the shortest time between redraws; 0 means 100ms.
	Throttle time.Duration

	bar *progressbar.ProgressBar
}

// NewProgressBar returns a ProgressBar writing to w.
func NewProgressBar(w io.Writer) *ProgressBar { return &ProgressBar{W: w} }

// OnBatchEnd advances the bar, starting a new one at each epoch's first
// batch.
func (p *ProgressBar) OnBatchEnd(b BatchInfo) {
	if b.Batch == 0 || p.bar == nil {
		th := p.Throttle
		if th == 0 {
			th = 100 * time.Millisecond
		}
		w := p.W
		p.bar = progressbar.NewOptions(b.Batches,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionThrottle(th),
			progressbar.OptionSetRenderBlankState(false),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
		_ = p.bar.Add(b.Batch) // a Fit resumed in the middle of an epoch
	}
	rate := 0.0
	if s := b.Elapsed.Seconds(); s > 0 {
		rate = float64(b.Samples) / s
	}
	p.bar.Describe(fmt.Sprintf("epoch %d/%d loss %s %.0f samples/s", b.Epoch+1, b.Epochs, metric(b.RunningLoss), rate))
	_ = p.bar.Add(1) // rendering errors of a progress bar are not worth stopping training for
}

// OnEpochEnd completes the epoch's bar.
func (p *ProgressBar) OnEpochEnd(EpochInfo) (bool, error) {
	if p.bar != nil && !p.bar.IsFinished() {
		if err := p.bar.Finish(); err != nil {
			return false, fmt.Errorf("backprop: progress bar: %w", err)
		}
	}
	p.bar = nil
	return false, nil
}

// Log prints one table line per epoch on W, with a header before the first:
//
//	epoch      loss       acc  val_loss   val_acc        lr     time  samples/s
//	    1    0.3412    0.9021    0.1987    0.9433     0.001     2.1s      28571
//
// Metrics that were not measured print as "-".
type Log struct {
	// W receives the table.
	W io.Writer

	started bool
}

// NewLog returns a Log writing to w.
func NewLog(w io.Writer) *Log { return &Log{W: w} }

// OnBatchEnd does nothing.
func (l *Log) OnBatchEnd(BatchInfo) {}

// OnEpochEnd prints the epoch's line, and the header first at epoch 0 and
// at the first epoch it sees (that of a resumed Fit).
func (l *Log) OnEpochEnd(e EpochInfo) (bool, error) {
	if e.Epoch == 0 || !l.started {
		l.started = true
		if _, err := fmt.Fprintf(l.W, "%5s %9s %9s %9s %9s %9s %8s %10s\n",
			"epoch", "loss", "acc", "val_loss", "val_acc", "lr", "time", "samples/s"); err != nil {
			return false, fmt.Errorf("backprop: log: %w", err)
		}
	}
	_, err := fmt.Fprintf(l.W, "%5d %9s %9s %9s %9s %9.3g %7.1fs %10.0f\n", e.Epoch+1,
		metric(e.Loss), metric(e.Accuracy), metric(e.ValLoss), metric(e.ValAccuracy),
		e.LR, e.Seconds, e.SamplesPerSec)
	if err != nil {
		return false, fmt.Errorf("backprop: log: %w", err)
	}
	return false, nil
}

func metric(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}
