package backprop

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// bnModel is Dense(4→6) → BatchNorm → ReLU → Dense(6→2), with its state
// (BatchNorm's running mean and var) moved off its start by a few finite
// training steps.
func bnModel(t *testing.T) (*nn.Sequential, *Trainer, *rand.Rand) {
	t.Helper()
	rng := rand.New(rand.NewPCG(31, 31))
	m := model(t, 4, 3, layers.NewDense(4, 6), layers.NewBatchNorm(), layers.NewReLU(), layers.NewDense(6, 2))
	tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 0.01)}
	for range 3 {
		_, err := tr.Step(randTensor(rng, 1, 8, 4), randTensor(rng, 1, 8, 2))
		require.NoError(t, err)
	}
	return m, tr, rng
}

// TestNonFiniteStepKeepsLayerState: a batch with an infinite input makes
// BatchNorm's batch statistics NaN in the forward pass; the step that is
// refused, or skipped with SkipNonFinite, leaves the running mean and var
// as they were, so that inference afterwards is finite. A batch of huge
// but finite values whose variance overflows float32 only in the running
// var is refused too, naming the layer and the state tensor.
func TestNonFiniteStepKeepsLayerState(t *testing.T) {
	for _, skip := range []bool{false, true} {
		m, tr, rng := bnModel(t)
		tr.SkipNonFinite = skip
		state, params := snapshot(m.State()), snapshot(m.Params())
		require.Len(t, state, 2)
		x, y := randTensor(rng, 1, 8, 4), randTensor(rng, 1, 8, 2)
		x.Float32s()[5] = float32(math.Inf(1))
		_, err := tr.Step(x, y)
		if skip {
			require.NoError(t, err)
			require.Equal(t, 1, tr.Skipped())
		} else {
			require.ErrorIs(t, err, ErrNonFinite)
			require.ErrorContains(t, err, "parameters not updated")
		}
		requireSameBits(t, state, m.State(), "BatchNorm's running statistics after the non-finite step")
		requireSameBits(t, params, m.Params(), "the parameters after the non-finite step")
		out := m.Forward(randTensor(rng, 1, 5, 4), false)
		require.True(t, optim.AllFinite(out.Float32s()), "inference after the non-finite step: %v", out.Float32s())

		// Values whose square overflows float32: the batch output and the
		// loss stay finite, but the running var would become +Inf.
		x = randTensor(rng, 1, 8, 4)
		for i := range x.Float32s() {
			x.Float32s()[i] *= 1e25
		}
		_, err = tr.Step(x, y)
		if skip {
			require.NoError(t, err)
			require.Equal(t, 2, tr.Skipped())
			err = tr.LastSkipped()
		}
		require.ErrorContains(t, err, `non-finite state in layer 1 (BatchNorm) tensor "var": element `)
		requireSameBits(t, state, m.State(), "BatchNorm's running statistics after the overflowing step")
		requireSameBits(t, params, m.Params(), "the parameters after the overflowing step")

		// A finite step afterwards updates the state again.
		_, err = tr.Step(randTensor(rng, 1, 8, 4), y)
		require.NoError(t, err)
		require.NotEqual(t, state[0], m.State()[0].Data())
	}
}

// TestSkipNonFiniteGivesUp: a learning rate so large that Adam's first
// steps blow the weights up makes every later loss NaN. SkipNonFinite does
// not skip forever: Fit returns the NonFiniteError once a whole epoch was
// skipped, or once MaxSkips steps in a row were, saying how many; the
// epochs it reports never have a NaN loss.
func TestSkipNonFiniteGivesUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 32))
	d := blobs(t, 64, rng)
	for _, tc := range []struct {
		name     string
		maxSkips int
		want     string
	}{
		{"every batch of an epoch", 0, `SkipNonFinite gives up after \d+ non-finite steps in a row$`},
		{"MaxSkips in a row", 3, `^backprop: epoch \d+/50, batch \d+/8, step \d+: .*; parameters not updated; SkipNonFinite gives up after 3 non-finite steps in a row$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := model(t, 2, 7, layers.NewDense(2, 6), layers.NewReLU(), layers.NewDense(6, 2))
			adam, err := optim.NewAdam(m.Params(), optim.AdamConfig{LR: 1e38, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
			require.NoError(t, err)
			tr := &Trainer{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: adam, SkipNonFinite: true, MaxSkips: tc.maxSkips}
			rec := &recorder{}
			h, err := Fit(tr, d, Config{Epochs: 50, BatchSize: 8, Callbacks: []Callback{rec}})
			require.ErrorIs(t, err, ErrNonFinite)
			require.Regexp(t, tc.want, err.Error())
			var nf *NonFiniteError
			require.ErrorAs(t, err, &nf)
			require.Positive(t, nf.InARow)
			require.Less(t, len(h.Epochs), 50)
			for _, e := range h.Epochs {
				require.False(t, math.IsNaN(e.Loss), "epoch %d: loss %g", e.Epoch, e.Loss)
			}
			for _, b := range rec.batches {
				require.Equal(t, b.Samples == 0, math.IsNaN(b.RunningLoss), "batch %+v: the running loss leaves skipped batches out", b)
			}
		})
	}
}

// TestEarlyStoppingSnapshotMismatch: a checkpoint written with
// RestoreBest false holds no snapshot of the best weights; resuming it with
// RestoreBest true is refused when the checkpoint is read, and an
// EarlyStopping whose snapshot does not fit the model returns an error when
// it stops, instead of panicking.
func TestEarlyStoppingSnapshotMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fit.ckpt")
	es := func(restore bool) *EarlyStopping {
		// MinDelta so large that only the first epoch improves: it stops
		// after the second.
		return &EarlyStopping{Monitor: "loss", Patience: 1, MinDelta: 1e9, RestoreBest: restore}
	}
	r := newRun(t, 1)
	r.cfg.Callbacks = []Callback{es(false)}
	ck := interrupt(t, r, path, -1)

	r = newRun(t, 2)
	r.cfg.Callbacks = []Callback{es(true)}
	r.cfg.Resume = ck
	before := snapshot(r.m.Params())
	_, err := Fit(r.tr, r.data, r.cfg)
	require.ErrorContains(t, err, "backprop: Fit: resuming from "+path+": callback *backprop.EarlyStopping: ")
	require.ErrorContains(t, err, "no snapshot of the best epoch's weights (was it written with RestoreBest false?)")
	requireSameBits(t, before, r.m.Params(), "a refused resume changes nothing")

	// The state of another model's EarlyStopping, restored directly.
	other := newRun(t, 1)
	small := model(t, 3, 1, layers.NewDense(3, 2))
	src := es(true)
	src.best, src.bestEpoch = 1, 0
	src.save(&Trainer{Model: small})
	b, err := src.MarshalBinary()
	require.NoError(t, err)
	dst := es(true)
	require.NoError(t, dst.UnmarshalBinary(b))
	stop, err := dst.OnEpochEnd(EpochInfo{EpochStats: EpochStats{Epoch: 1, Loss: 2}, Trainer: other.tr})
	require.False(t, stop)
	require.ErrorContains(t, err, "backprop: EarlyStopping: cannot restore the best epoch's weights: the snapshot holds 2 tensors, the model 4")
}

// TestResumeBeyondEpochs: a checkpoint in the middle of epoch 2 resumed by
// a run of 1 epoch is refused (its partial epoch would be dropped); a run
// of 2 epochs finishes it.
func TestResumeBeyondEpochs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fit.ckpt")
	ck := interrupt(t, newRun(t, 1), path, runBatches+5)
	require.Equal(t, [2]int{1, 5}, [2]int{ck.Epoch, ck.Batch})
	r := newRun(t, 2)
	r.cfg.Epochs, r.cfg.Resume = 1, ck
	_, err := Fit(r.tr, r.data, r.cfg)
	require.EqualError(t, err, "backprop: Fit: resuming from "+path+": it stopped in epoch 2 after batch 5, beyond the 1 epochs of this run")
	require.Zero(t, r.tr.Steps())

	r = newRun(t, 2)
	r.cfg.Epochs, r.cfg.Resume = 2, ck
	h, err := Fit(r.tr, r.data, r.cfg)
	require.NoError(t, err)
	require.Len(t, h.Epochs, 2)
	require.Equal(t, 2*runBatches, r.tr.Steps())
}

// TestFitStopBeforeFirstBatch: a fresh run stopped before its first batch
// has nothing to save: it writes no checkpoint, and so leaves the file of
// an earlier run in place.
func TestFitStopBeforeFirstBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fit.ckpt")
	require.NoError(t, os.WriteFile(path, []byte("an earlier run's checkpoint"), 0o644))
	r := newRun(t, 1)
	stop := make(chan struct{})
	close(stop)
	r.cfg.Stop, r.cfg.Checkpoint = stop, path
	_, err := Fit(r.tr, r.data, r.cfg)
	require.ErrorIs(t, err, ErrStopped)
	require.EqualError(t, err, "backprop: Fit: training stopped before its first batch; no checkpoint written (nothing to resume)")
	require.Zero(t, r.tr.Steps())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "an earlier run's checkpoint", string(b))
}
