package backprop

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// nanAt passes values forward unchanged and, on the backward calls listed
// in at (counted from 1), sends back dY with its first element replaced by
// NaN, so that every gradient before it turns NaN at exactly that step.
type nanAt struct {
	nn.Layer // Build, Params and Spec of an identity-shaped layer
	at       map[int]bool
	calls    int
	dx       nn.Buffer
}

func (p *nanAt) Forward(x *tensor.Dense, train bool) *tensor.Dense { return x }
func (p *nanAt) Backward(dy *tensor.Dense) *tensor.Dense {
	p.calls++
	dx := p.dx.Get(dy.Shape()...)
	copy(dx.Float32s(), dy.Float32s())
	if p.at[p.calls] {
		dx.Float32s()[0] = float32(math.NaN())
	}
	return dx
}

// stopAfter closes stop after its n-th batch, or with n < 0 at the end of
// its −n-th epoch (after the epoch's last batch, during its callbacks).
type stopAfter struct {
	n, seen int
	stop    chan struct{}
}

func (s *stopAfter) OnBatchEnd(BatchInfo) {
	if s.seen++; s.seen == s.n {
		close(s.stop)
	}
}

func (s *stopAfter) OnEpochEnd(e EpochInfo) (bool, error) {
	if s.n < 0 && e.Epoch+1 == -s.n {
		close(s.stop)
	}
	return false, nil
}

// run is one training run of the checkpoint tests: 50 4×4 images of 3
// classes (8 batches of 7 per epoch, the last of 1) shifted at random, an
// MLP with dropout, Adam with a cosine schedule, an EarlyStopping that
// keeps the best weights, a validation set: every kind of state a
// checkpoint holds.
type run struct {
	m      *nn.Sequential
	opt    *optim.Adam
	tr     *Trainer
	data   datasets.Dataset
	cfg    Config
	poison *nanAt
}

const runBatches = 8 // batches per epoch of a run

func newRun(t *testing.T, modelSeed uint64, nanSteps ...int) *run {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 21))
	x, y := randTensor(rng, 1, 60, 1, 4, 4), nn.NewTensor(60)
	for i := range y.Float32s() {
		c := rng.IntN(3)
		y.Float32s()[i] = float32(c)
		x.Float32s()[16*i+5*c] += 3 // a bright pixel that tells the class
	}
	all := dataset(t, x, y)
	train, val, err := datasets.Split(all, 10, rng)
	require.NoError(t, err)
	shift := rand.NewPCG(5, 3)
	shifted, err := datasets.NewRandomShift(train, 1, 0, rand.New(shift))
	require.NoError(t, err)
	r := &run{data: shifted, poison: &nanAt{Layer: layers.NewTanh(), at: map[int]bool{}}}
	for _, s := range nanSteps {
		r.poison.at[s] = true
	}
	r.m, err = nn.NewSequential(nn.Shape{1, 4, 4}, rand.New(rand.NewPCG(modelSeed, 0)),
		layers.NewFlatten(), layers.NewDense(16, 12), r.poison, layers.NewReLU(), layers.NewDropout(0.3), layers.NewDense(12, 3))
	require.NoError(t, err)
	r.opt, err = optim.NewAdam(r.m.Params(), optim.DefaultAdam())
	require.NoError(t, err)
	sched, err := optim.NewCosineLR(0.01, 0, 3)
	require.NoError(t, err)
	r.tr = &Trainer{Model: r.m, Loss: NewSoftmaxCrossEntropy(), Optimizer: r.opt}
	r.cfg = Config{Epochs: 3, BatchSize: 7, Shuffle: true, Seed: 9, Validation: val, Schedule: sched,
		Callbacks: []Callback{&EarlyStopping{Monitor: "val_loss", Patience: 10, RestoreBest: true}}, Sources: []*rand.PCG{shift}}
	return r
}

// requireSameHistory compares two histories but for their timings.
func requireSameHistory(t *testing.T, want, got History) {
	t.Helper()
	require.Len(t, got.Epochs, len(want.Epochs))
	for i, w := range want.Epochs {
		g := got.Epochs[i]
		require.Equal(t, w.Epoch, g.Epoch)
		require.Equal(t, w.Skipped, g.Skipped)
		for k, pair := range [][2]float64{{w.Loss, g.Loss}, {w.Accuracy, g.Accuracy}, {w.ValLoss, g.ValLoss}, {w.ValAccuracy, g.ValAccuracy}, {w.LR, g.LR}} {
			require.Equal(t, math.Float64bits(pair[0]), math.Float64bits(pair[1]), "epoch %d metric %d: %v", i, k, pair)
		}
	}
}

// interrupt runs r until stopAfter(n) stops it, writing its checkpoint to
// path, and returns the checkpoint read back.
func interrupt(t *testing.T, r *run, path string, n int) *Checkpoint {
	t.Helper()
	stop := make(chan struct{})
	if n == 0 {
		close(stop)
	}
	r.cfg.Stop = stop
	r.cfg.Checkpoint = path
	r.cfg.Callbacks = append(r.cfg.Callbacks, &stopAfter{n: n, stop: stop})
	_, err := Fit(r.tr, r.data, r.cfg)
	require.ErrorIs(t, err, ErrStopped)
	require.ErrorContains(t, err, "checkpoint saved to "+path)
	ck, err := ReadCheckpoint(path, layers.FromSpec)
	require.NoError(t, err)
	return ck
}

// TestFitStopResumeBitIdentical stops a run after n batches (after the
// first, in the middle of an epoch, at the end of one, after the very last
// batch; a run stopped before its first batch saves nothing, see
// TestFitStopBeforeFirstBatch),
// resumes it in a new process-like setting (a model built from another
// seed, fresh optimizer, schedule and generators) and requires the final
// weights, optimizer state and history of the uninterrupted run, bit for
// bit. One case is interrupted twice.
func TestFitStopResumeBitIdentical(t *testing.T) {
	ref := newRun(t, 1)
	want, err := Fit(ref.tr, ref.data, ref.cfg)
	require.NoError(t, err)
	require.Len(t, want.Epochs, 3)
	// A stop n < 0 comes at the end of epoch −n, in its callbacks: Fit stops
	// before the first batch of the next epoch, whose order it has drawn.
	for _, stops := range [][]int{{1}, {5}, {runBatches}, {-1}, {runBatches + 5}, {3 * runBatches}, {5, runBatches}, {-2, 3}} {
		path := filepath.Join(t.TempDir(), "ckpt", "fit.ckpt")
		done := 0
		var ck *Checkpoint
		for k, n := range stops {
			seed := uint64(1) // the run's own seed, then others: a resumed model gets its weights from the checkpoint
			if k > 0 {
				seed = uint64(100 + k)
			}
			r := newRun(t, seed)
			r.cfg.Resume = ck
			ck = interrupt(t, r, path, n)
			if n < 0 {
				n = -n*runBatches - done
			}
			done += n
			require.Equal(t, done, ck.Epoch*runBatches+ck.Batch, "stops %v: position", stops)
			require.Equal(t, done, ck.Steps)
			require.Len(t, ck.History.Epochs, ck.Epoch)
			require.False(t, ck.Done)
		}
		r := newRun(t, 99)
		r.cfg.Resume = ck
		r.cfg.Checkpoint = path
		r.cfg.CheckpointEvery = 1
		got, err := Fit(r.tr, r.data, r.cfg)
		require.NoError(t, err, "stops %v", stops)
		requireSameBits(t, snapshot(ref.m.Params()), r.m.Params(), "weights after resuming")
		requireSameBits(t, snapshot(ref.opt.State()), r.opt.State(), "Adam's moments")
		require.Equal(t, ref.opt.Steps(), r.opt.Steps())
		require.Equal(t, ref.tr.Steps(), r.tr.Steps())
		requireSameHistory(t, want, got)

		// The last checkpoint marks the run done; resuming it trains nothing.
		ck, err = ReadCheckpoint(path, layers.FromSpec)
		require.NoError(t, err)
		require.True(t, ck.Done)
		require.Equal(t, 3, ck.Epoch)
		r = newRun(t, 98)
		r.cfg.Resume = ck
		got, err = Fit(r.tr, r.data, r.cfg)
		require.NoError(t, err)
		requireSameHistory(t, want, got)
		requireSameBits(t, snapshot(ref.m.Params()), r.m.Params(), "weights of a finished checkpoint")
	}
}

// TestFitNaNKeepsLastCheckpoint injects a NaN gradient in the third batch
// of the second epoch: Fit stops with an error naming the epoch, batch,
// step, layer and parameter, and the checkpoint on disk is the one written
// after the first epoch, whole, holding that epoch's weights.
func TestFitNaNKeepsLastCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fit.ckpt")
	r := newRun(t, 1, runBatches+3)
	r.cfg.Checkpoint, r.cfg.CheckpointEvery = path, 1
	var afterFirst [][]float32
	r.cfg.Callbacks = append(r.cfg.Callbacks, &recorder{epoch: func(e EpochInfo) {
		if e.Epoch == 0 {
			afterFirst = snapshot(r.m.Params())
		}
	}})
	var beforeBad [][]float32
	r.cfg.Callbacks = append(r.cfg.Callbacks, &recorder{batch: func(b BatchInfo) { beforeBad = snapshot(r.m.Params()) }})
	h, err := Fit(r.tr, r.data, r.cfg)
	require.EqualError(t, err, `backprop: epoch 2/3, batch 3/8, step 11: non-finite gradient in layer 1 (Dense) parameter "W": element 0 is NaN; parameters not updated`)
	require.ErrorIs(t, err, ErrNonFinite)
	require.Len(t, h.Epochs, 1)
	requireSameBits(t, beforeBad, r.m.Params(), "the bad step updated nothing")

	ck, err := ReadCheckpoint(path, layers.FromSpec)
	require.NoError(t, err)
	require.Equal(t, 1, ck.Epoch)
	require.Equal(t, 0, ck.Batch)
	require.Equal(t, runBatches, ck.Steps)
	requireSameBits(t, afterFirst, ck.Model.Params(), "checkpoint weights")
	requireSameHistory(t, h, ck.History)
}

// TestFitSkipNonFinite drops the batch with the NaN gradient and goes on:
// that batch changes nothing and is counted, the others train as usual.
func TestFitSkipNonFinite(t *testing.T) {
	r := newRun(t, 1, runBatches+3, 2*runBatches+8)
	r.tr.SkipNonFinite = true
	var prev [][]float32
	var skipped []BatchInfo
	r.cfg.Callbacks = append(r.cfg.Callbacks, &recorder{batch: func(b BatchInfo) {
		if b.Skipped {
			skipped = append(skipped, b)
			requireSameBits(t, prev, r.m.Params(), "a skipped batch")
		}
		prev = snapshot(r.m.Params())
	}})
	h, err := Fit(r.tr, r.data, r.cfg)
	require.NoError(t, err)
	require.Equal(t, 2, r.tr.Skipped())
	require.Equal(t, []int{0, 1, 1}, []int{h.Epochs[0].Skipped, h.Epochs[1].Skipped, h.Epochs[2].Skipped})
	require.Len(t, skipped, 2)
	require.Equal(t, [2]int{1, 2}, [2]int{skipped[0].Epoch, skipped[0].Batch})
	require.Equal(t, [2]int{2, 7}, [2]int{skipped[1].Epoch, skipped[1].Batch})
	require.Equal(t, 3*runBatches, r.tr.Steps())
	require.Equal(t, 3*runBatches-2, r.opt.Steps(), "no optimizer step for a skipped batch")
	last := r.tr.LastSkipped()
	require.Equal(t, [4]int{2, 3, 7, runBatches}, [4]int{last.Epoch, last.Epochs, last.Batch, last.Batches})
	for _, e := range h.Epochs {
		require.False(t, math.IsNaN(e.Loss) || math.IsNaN(e.Accuracy), "epoch %d: %+v", e.Epoch, e)
	}
	for _, p := range r.m.Params() {
		require.True(t, optim.AllFinite(p.Data()), p.Name)
	}
}

// TestStepNonFiniteEveryClipping checks that the non-finite check finds a
// NaN and an infinity whatever the clipping: fused with the norm (ClipNorm
// alone), before ClipValue (which would clamp an infinity), or alone.
func TestStepNonFiniteEveryClipping(t *testing.T) {
	inf := float32(math.Inf(-1))
	for _, v := range []float32{float32(math.NaN()), inf} {
		for _, clip := range [][2]float64{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
			rng := rand.New(rand.NewPCG(7, 7))
			m := model(t, 3, 4, layers.NewDense(3, 2), layers.NewTanh(), &spikeAt{Layer: layers.NewTanh(), v: v}, layers.NewDense(2, 2))
			tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 0.1), ClipValue: clip[0], ClipNorm: clip[1]}
			before := snapshot(m.Params())
			_, err := tr.Step(randTensor(rng, 1, 4, 3), randTensor(rng, 1, 4, 2))
			var nf *NonFiniteError
			require.ErrorAs(t, err, &nf, "clip %v value %g", clip, v)
			require.Equal(t, [2]int{0, 0}, [2]int{nf.Layer, nf.Index}, "clip %v", clip)
			require.Equal(t, "W", nf.Param)
			require.Equal(t, math.IsNaN(float64(v)), math.IsNaN(nf.Value), "clip %v: %g", clip, nf.Value)
			require.False(t, finite(nf.Value))
			requireSameBits(t, before, m.Params(), "after the failed step")
			require.True(t, math.IsNaN(tr.GradNorm()) || clip[1] > 0)
		}
	}
}

// spikeAt sends back dY with its first element replaced by v.
type spikeAt struct {
	nn.Layer
	v  float32
	dx nn.Buffer
}

func (s *spikeAt) Forward(x *tensor.Dense, train bool) *tensor.Dense { return x }
func (s *spikeAt) Backward(dy *tensor.Dense) *tensor.Dense {
	dx := s.dx.Get(dy.Shape()...)
	copy(dx.Float32s(), dy.Float32s())
	dx.Float32s()[0] = s.v
	return dx
}

// TestResumeRefusesWhatDoesNotFit checks the errors for checkpoints that
// cannot be read or do not belong to the run resuming them.
func TestResumeRefusesWhatDoesNotFit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fit.ckpt")
	ck := interrupt(t, newRun(t, 1), path, 5)
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	_, err = ReadCheckpoint(filepath.Join(dir, "missing.ckpt"), layers.FromSpec)
	require.ErrorContains(t, err, "missing.ckpt: no such file")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	_, err = ReadCheckpoint(write("text.ckpt", []byte("hello")), layers.FromSpec)
	require.ErrorIs(t, err, nn.ErrNotModel)
	require.ErrorContains(t, err, "text.ckpt")
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 1
	_, err = ReadCheckpoint(write("flipped.ckpt", flipped), layers.FromSpec)
	require.ErrorIs(t, err, nn.ErrChecksum)
	_, err = ReadCheckpoint(write("short.ckpt", good[:len(good)-9]), layers.FromSpec)
	require.ErrorIs(t, err, nn.ErrTruncated)
	plain := filepath.Join(dir, "model.bin")
	require.NoError(t, nn.SaveFile(plain, ck.Model, nil))
	_, err = ReadCheckpoint(plain, layers.FromSpec)
	require.ErrorContains(t, err, "model.bin: a model file without training state, not a checkpoint")

	for _, tc := range []struct {
		name   string
		change func(r *run)
		want   string
	}{
		{"batch size", func(r *run) { r.cfg.BatchSize = 8 }, "it was written for 50 samples in batches of 7 (shuffle true, drop last false); this run has 50 in batches of 8"},
		{"optimizer", func(r *run) {
			o, err := optim.NewSGD(r.m.Params(), optim.SGDConfig{LR: 0.1, Momentum: 0.9})
			require.NoError(t, err)
			r.tr.Optimizer = o
		}, "another optimizer?"},
		{"schedule", func(r *run) { r.cfg.Schedule = must(optim.NewCosineLR(0.01, 0, 4)) }, "the saved schedule has tMax 3, this one 4"},
		{"no schedule", func(r *run) { r.cfg.Schedule = nil }, "schedule: saved true, this run has one false"},
		{"model", func(r *run) {
			m, err := nn.NewSequential(nn.Shape{1, 4, 4}, rand.New(rand.NewPCG(1, 0)), layers.NewFlatten(), layers.NewDense(16, 12),
				layers.NewReLU(), layers.NewDense(12, 3))
			require.NoError(t, err)
			o, err := optim.NewAdam(m.Params(), optim.DefaultAdam())
			require.NoError(t, err)
			r.m, r.tr.Model, r.tr.Optimizer = m, m, o
		}, "it holds the generators of layers [4]; this model has generators in layers []"},
		{"layer sizes", func(r *run) {
			m, err := nn.NewSequential(nn.Shape{1, 4, 4}, rand.New(rand.NewPCG(1, 0)), layers.NewFlatten(), layers.NewDense(16, 10),
				layers.NewTanh(), layers.NewReLU(), layers.NewDropout(0.3), layers.NewDense(10, 3))
			require.NoError(t, err)
			o, err := optim.NewAdam(m.Params(), optim.DefaultAdam())
			require.NoError(t, err)
			r.m, r.tr.Model, r.tr.Optimizer = m, m, o
		}, "its optimizer state tensor 0 is \"W.exp_avg\" of 192 values; this run's is \"W.exp_avg\" of 160"},
		{"no augmentation", func(r *run) { r.cfg.Sources = nil }, "it holds 1 extra generators (Config.Sources); this run has 0"},
		{"no early stopping", func(r *run) { r.cfg.Callbacks = nil }, "it holds the state of callbacks [*backprop.EarlyStopping]; this run has []"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(t, 2)
			before := snapshot(r.m.Params())
			tc.change(r)
			r.cfg.Resume = ck
			_, err := Fit(r.tr, r.data, r.cfg)
			require.ErrorContains(t, err, "backprop: Fit: resuming from "+path+": ")
			require.ErrorContains(t, err, tc.want)
			if tc.name != "model" && tc.name != "layer sizes" {
				requireSameBits(t, before, r.m.Params(), "a refused resume changes nothing")
			}
		})
	}
}

func must[S any](s S, err error) S {
	if err != nil {
		panic(err)
	}
	return s
}

// plainOpt is an optimizer that does not expose its state.
type plainOpt struct{ optim.Optimizer }

// TestCheckpointConfigErrors checks what Fit refuses before training when
// asked for checkpoints, and the error of a stop whose checkpoint cannot be
// written.
func TestCheckpointConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		change func(r *run)
		want   string
	}{
		{"stateless optimizer", func(r *run) { r.tr.Optimizer = plainOpt{r.opt} },
			"backprop: Fit: checkpoints need an optimizer that exposes its state (optim.Stateful); backprop.plainOpt does not"},
		{"reserved key", func(r *run) { r.cfg.CheckpointMeta = map[string][]byte{CheckpointKey: nil} },
			`backprop: Fit: Config.CheckpointMeta may not use the key "fit.state"`},
		{"nil source", func(r *run) { r.cfg.Sources = append(r.cfg.Sources, nil) }, "backprop: Fit: Config.Sources[1] is nil"},
		{"negative every", func(r *run) { r.cfg.CheckpointEvery = -1 }, "backprop: Fit: CheckpointEvery -1 must be ≥ 0"},
	} {
		r := newRun(t, 1)
		r.cfg.Checkpoint = filepath.Join(dir, "x.ckpt")
		tc.change(r)
		_, err := Fit(r.tr, r.data, r.cfg)
		require.EqualError(t, err, tc.want, tc.name)
		require.Zero(t, r.tr.Steps(), tc.name)
	}

	// A stop whose checkpoint cannot be written says so, wraps
	// ErrCheckpointSave, and names the run's last checkpoint: none for a
	// fresh run, the one it resumed from for a resumed run.
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	bad := filepath.Join(file, "x.ckpt")
	stopAt := func(r *run, n int) {
		stop := make(chan struct{})
		r.cfg.Stop = stop
		r.cfg.Callbacks = append(r.cfg.Callbacks, &stopAfter{n: n, stop: stop})
	}
	r := newRun(t, 1)
	stopAt(r, 2)
	r.cfg.Checkpoint = bad
	_, err := Fit(r.tr, r.data, r.cfg)
	require.ErrorIs(t, err, ErrStopped)
	require.ErrorIs(t, err, ErrCheckpointSave)
	require.EqualError(t, err, "backprop: Fit: training stopped in epoch 1/3 after batch 2/8, but the checkpoint could not be written: checkpoint: mkdir "+file+": not a directory; this run has no earlier checkpoint")
	var se *StopError
	require.ErrorAs(t, err, &se)
	require.Equal(t, StopError{Func: "Fit", Epoch: 0, Epochs: 3, Batch: 2, Batches: 8}, StopError{Func: se.Func, Epoch: se.Epoch, Epochs: se.Epochs, Batch: se.Batch, Batches: se.Batches})
	require.Empty(t, se.Checkpoint)

	good := filepath.Join(dir, "good.ckpt")
	ck := interrupt(t, newRun(t, 1), good, 5)
	r = newRun(t, 2)
	stopAt(r, 3)
	r.cfg.Resume, r.cfg.Checkpoint = ck, bad
	_, err = Fit(r.tr, r.data, r.cfg)
	require.ErrorIs(t, err, ErrCheckpointSave)
	require.EqualError(t, err, "backprop: Fit: training stopped in epoch 1/3 after batch 8/8, but the checkpoint could not be written: checkpoint: mkdir "+file+": not a directory; this run's last checkpoint is still "+good)

	// Without a checkpoint file, a stop says there is none.
	r = newRun(t, 1)
	stopAt(r, 1)
	_, err = Fit(r.tr, r.data, r.cfg)
	require.EqualError(t, err, "backprop: Fit: training stopped in epoch 1/3 after batch 1/8 (no checkpoint file set)")
	require.NotErrorIs(t, err, ErrCheckpointSave)
}
