package cli

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

func TestNewOptimizerEveryName(t *testing.T) {
	for _, name := range Optimizers() {
		p := nn.NewParam("W", 2, 2)
		opt, err := NewOptimizer(name, []*nn.Param{p}, 0.01, 0)
		require.NoError(t, err, name)
		require.Equal(t, 0.01, opt.LR(), name)
		// One step with a unit gradient must move every weight down.
		for i := range p.GradData() {
			p.GradData()[i] = 1
		}
		opt.Step()
		for _, w := range p.Data() {
			require.Less(t, w, float32(0), name)
		}
	}
	_, err := NewOptimizer("adamax", nil, 0.01, 0)
	require.ErrorContains(t, err, `unknown optimizer "adamax"`)
	_, err = NewOptimizer("sgd", []*nn.Param{nn.NewParam("W", 1)}, -1, 0)
	require.Error(t, err)
}

func TestNesterovAndMomentumDiffer(t *testing.T) {
	run := func(name string) float32 {
		p := nn.NewParam("W", 1)
		opt, err := NewOptimizer(name, []*nn.Param{p}, 0.1, 0)
		require.NoError(t, err)
		for range 3 {
			p.GradData()[0] = 1
			opt.Step()
		}
		return p.Data()[0]
	}
	require.NotEqual(t, run("momentum"), run("nesterov"))
	require.NotEqual(t, run("momentum"), run("sgd"))
}

func TestNewScheduleEveryName(t *testing.T) {
	for _, name := range Schedules() {
		s, err := NewSchedule(name, 0.1, 10)
		require.NoError(t, err, name)
		lr := s.LR()
		require.True(t, lr > 0 && lr <= 0.1, "%s starts at %g", name, lr)
		for range 10 {
			lr = s.Step(1)
			require.False(t, math.IsNaN(lr) || lr < 0, "%s gave %g", name, lr)
		}
		if name != "none" {
			require.Less(t, lr, 0.1, "%s should have lowered the rate after 10 epochs", name)
		}
	}
	_, err := NewSchedule("sometimes", 0.1, 10)
	require.ErrorContains(t, err, "unknown schedule")
	var _ optim.Schedule = optim.Constant(1)
}

func history() backprop.History {
	return backprop.History{Epochs: []backprop.EpochStats{
		{Epoch: 0, Loss: 0.5, Accuracy: 0.8, ValLoss: 0.4, ValAccuracy: 0.85, LR: 0.1, Seconds: 1.5, SamplesPerSec: 1000},
		{Epoch: 1, Loss: 0.3, Accuracy: 0.9, ValLoss: math.NaN(), ValAccuracy: math.NaN(), LR: 0.05, Seconds: 1.4, SamplesPerSec: 1100},
	}}
}

func TestWriteCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.csv")
	require.NoError(t, WriteCSV(path, history()))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,samples_per_sec\n"+
		"1,0.5,0.8,0.4,0.85,0.1,1.5,1000\n"+
		"2,0.3,0.9,,,0.05,1.4,1100\n", string(b))
}

func TestWritePlotIsAPNGAndAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "curves.png")
	require.NoError(t, WritePlot(path, "test", history()))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "\x89PNG"))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")

	// Into a missing folder: an error, and nothing written.
	err = WritePlot(filepath.Join(dir, "missing", "c.png"), "test", history())
	require.Error(t, err)
}

func TestWriteFileAtomicLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	// The target is a non-empty folder: the final rename fails, even for root.
	target := filepath.Join(dir, "target")
	require.NoError(t, os.MkdirAll(filepath.Join(target, "inside"), 0o755))
	err := WriteFileAtomic(target, []byte("new"))
	require.ErrorContains(t, err, "writing "+target)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the temporary file was removed")
	_, err = os.Stat(filepath.Join(target, "inside"))
	require.NoError(t, err, "the old content is intact")

	path := filepath.Join(dir, "f")
	require.NoError(t, WriteFileAtomic(path, []byte("old")))
	require.NoError(t, WriteFileAtomic(path, []byte("new")))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "new", string(b))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "readable like a file os.WriteFile makes, not 0600")
}

func TestPeakRSS(t *testing.T) {
	buf := make([]byte, 32<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	require.Greater(t, PeakRSSMiB(), 32.0)
	_ = buf[len(buf)-1]
}
