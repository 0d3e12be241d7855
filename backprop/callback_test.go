package backprop

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// recorder is a test callback that keeps what it is told and can run hooks.
type recorder struct {
	batches []BatchInfo
	epochs  []EpochInfo
	batch   func(BatchInfo)
	epoch   func(EpochInfo)
	stopAt  int // stop after this epoch when > 0
	err     error
}

func (r *recorder) OnBatchEnd(b BatchInfo) {
	r.batches = append(r.batches, b)
	if r.batch != nil {
		r.batch(b)
	}
}

func (r *recorder) OnEpochEnd(e EpochInfo) (bool, error) {
	r.epochs = append(r.epochs, e)
	if r.epoch != nil {
		r.epoch(e)
	}
	return r.stopAt > 0 && e.Epoch >= r.stopAt, r.err
}

func TestFitBatchesAndCallbacks(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 20))
	d := dataset(t, randTensor(rng, 1, 10, 3), randTensor(rng, 1, 10, 2))
	tests := []struct {
		name     string
		batch    int
		dropLast bool
		sizes    []int
	}{
		{"smaller last batch", 4, false, []int{4, 4, 2}},
		{"drop last", 4, true, []int{4, 4}},
		{"batch GD", 10, false, []int{10}},
		{"batch larger than the set", 16, false, []int{10}},
		{"SGD", 1, false, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := model(t, 3, 1, layers.NewDense(3, 2))
			tr := &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 0.01)}
			rec := &recorder{}
			h, err := Fit(tr, d, Config{Epochs: 2, BatchSize: tc.batch, DropLast: tc.dropLast, Shuffle: true, Seed: 4,
				Callbacks: []Callback{rec}})
			require.NoError(t, err)
			require.Len(t, rec.batches, 2*len(tc.sizes))
			require.Len(t, rec.epochs, 2)
			samples := 0
			for _, s := range tc.sizes {
				samples += s
			}
			for i, b := range rec.batches {
				k := i % len(tc.sizes)
				require.Equal(t, i/len(tc.sizes), b.Epoch)
				require.Equal(t, 2, b.Epochs)
				require.Equal(t, k, b.Batch)
				require.Equal(t, len(tc.sizes), b.Batches)
				require.Equal(t, tc.sizes[k], b.Size)
			}
			// The epoch loss is the size-weighted mean of the batch losses.
			for e := 0; e < 2; e++ {
				var sum float64
				for _, b := range rec.batches[e*len(tc.sizes) : (e+1)*len(tc.sizes)] {
					sum += b.Loss * float64(b.Size)
				}
				last := rec.batches[(e+1)*len(tc.sizes)-1]
				require.Equal(t, samples, last.Samples)
				require.InDelta(t, sum/float64(samples), h.Epochs[e].Loss, 1e-12)
				require.InDelta(t, h.Epochs[e].Loss, last.RunningLoss, 1e-12)
				// NaN ≠ NaN, so compare the printed stats.
				require.Equal(t, fmt.Sprint(h.Epochs[e]), fmt.Sprint(rec.epochs[e].EpochStats))
				require.Same(t, tr, rec.epochs[e].Trainer)
			}
			require.Equal(t, 2*len(tc.sizes), tr.Steps())
		})
	}
}

func TestFitCallbackStopAndError(t *testing.T) {
	d := xorData(t)
	m := model(t, 2, 1, layers.NewDense(2, 2))
	tr := &Trainer{Model: m, Loss: NewSoftmaxCrossEntropy(), Optimizer: sgd(t, m, 0.1)}
	stopper, other := &recorder{stopAt: 1}, &recorder{}
	h, err := Fit(tr, d, Config{Epochs: 5, BatchSize: 4, Callbacks: []Callback{stopper, other}})
	require.NoError(t, err)
	require.Len(t, h.Epochs, 2)
	require.Len(t, other.epochs, 2, "callbacks after the one that stops still see the epoch")

	failing := &recorder{err: errors.New("disk full")}
	h, err = Fit(tr, d, Config{Epochs: 5, BatchSize: 4, Callbacks: []Callback{failing}})
	require.EqualError(t, err, "backprop: Fit: epoch 1/5: disk full")
	require.Len(t, h.Epochs, 1)
}

func TestLogCallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	var buf bytes.Buffer
	d := blobs(t, 40, rng)
	m := model(t, 2, 1, layers.NewDense(2, 1))
	tr := &Trainer{Model: m, Loss: NewBCEWithLogits(), Optimizer: sgd(t, m, 0.1)}
	_, err := Fit(tr, d, Config{Epochs: 3, BatchSize: 8, Validation: d, Callbacks: []Callback{NewLog(&buf)}})
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 4)
	require.Equal(t, []string{"epoch", "loss", "acc", "val_loss", "val_acc", "lr", "time", "samples/s"}, strings.Fields(lines[0]))
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		require.Len(t, f, 8, l)
		require.Equal(t, []string{string(rune('1' + i)), "0.1"}, []string{f[0], f[5]})
	}

	// Without validation and with a regression loss the missing metrics
	// print as "-".
	buf.Reset()
	m = model(t, 2, 1, layers.NewDense(2, 1))
	tr = &Trainer{Model: m, Loss: NewMSE(), Optimizer: sgd(t, m, 0.1)}
	_, err = Fit(tr, dataset(t, nn.NewTensor(4, 2), nn.NewTensor(4)), Config{Epochs: 1, BatchSize: 4, Callbacks: []Callback{NewLog(&buf)}})
	require.NoError(t, err)
	f := strings.Fields(strings.Split(buf.String(), "\n")[1])
	require.Equal(t, []string{"1", "0.0000", "-", "-", "-"}, f[:5])
}

func TestProgressBarCallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	var buf bytes.Buffer
	d := blobs(t, 40, rng)
	m := model(t, 2, 1, layers.NewDense(2, 1))
	tr := &Trainer{Model: m, Loss: NewBCEWithLogits(), Optimizer: sgd(t, m, 0.1)}
	pb := NewProgressBar(&buf)
	pb.Throttle = -1 // draw every batch
	_, err := Fit(tr, d, Config{Epochs: 2, BatchSize: 8, Callbacks: []Callback{pb}})
	require.NoError(t, err)
	out := buf.String()
	require.Contains(t, out, "epoch 1/2 loss ")
	require.Contains(t, out, "epoch 2/2 loss ")
	require.Contains(t, out, "samples/s")
	require.Contains(t, out, "(5/5)")
	require.Equal(t, 2, strings.Count(out, "\n"), "one line per epoch, ended on completion")
	require.NotContains(t, out, "NaN")

	// While every batch so far was skipped, the loss shows as "-".
	buf.Reset()
	pb = NewProgressBar(&buf)
	pb.Throttle = -1
	pb.OnBatchEnd(BatchInfo{Epoch: 0, Epochs: 1, Batch: 0, Batches: 3, Size: 8, Loss: math.NaN(), RunningLoss: math.NaN(), Skipped: true})
	require.Contains(t, buf.String(), "epoch 1/1 loss - 0 samples/s")
}
