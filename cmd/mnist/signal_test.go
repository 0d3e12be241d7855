package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/internal/cli/clitest"
)

// quickRun changes to a new temporary folder and returns the arguments of
// a training run of a few seconds there: 8 batches of 64.
func quickRun(t *testing.T) []string {
	t.Helper()
	data, err := filepath.Abs(mnistDir)
	require.NoError(t, err)
	t.Chdir(t.TempDir())
	return []string{"-data", data, "-train-limit", "500", "-val", "0", "-epochs", "1", "-hidden", "16", "-quiet", "-save", "-"}
}

func kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, syscall.Kill(os.Getpid(), sig))
}

// signalOn is a writer that sends sig to this process the first time what
// it receives contains marker.
type signalOn struct {
	t      *testing.T
	marker string
	sig    syscall.Signal
	sent   bool
	buf    bytes.Buffer
}

func (s *signalOn) Write(p []byte) (int, error) {
	s.buf.Write(p)
	if !s.sent && strings.Contains(s.buf.String(), s.marker) {
		s.sent = true
		kill(s.t, s.sig)
	}
	return len(p), nil
}

// TestSignalOutsideTrainingQuits: a signal before training (here, before
// the data is read) or after it (while the model is evaluated) ends the
// command at once, with 128 + its number; it does not reach Fit, which
// would stop before its first batch and write a checkpoint of an untrained
// model over the default folder. (The test's exit returns, so the command
// then goes on.)
func TestSignalOutsideTrainingQuits(t *testing.T) {
	quick := quickRun(t)
	ctx, exits, notes := clitest.Notify(t, "mnist")
	kill(t, syscall.SIGINT)
	clitest.RequireExit(t, exits, 130)
	require.Equal(t, "\nmnist: interrupted (SIGINT): quitting\n", notes.String())
	code, _, stderr := clitest.Run(func(stdout, stderr io.Writer) int { return run(ctx, quick, stdout, stderr) })
	require.Equal(t, 0, code, "training was not stopped: %s", stderr)
	require.NoDirExists(t, defaultCheckpoint)

	ctx, exits, notes = clitest.Notify(t, "mnist")
	out := &signalOn{t: t, marker: "test accuracy", sig: syscall.SIGTERM}
	code = run(ctx, quick, out, io.Discard)
	require.Equal(t, 0, code)
	clitest.RequireExit(t, exits, 143)
	require.Equal(t, "\nmnist: interrupted (SIGTERM): quitting\n", notes.String())
	require.NoDirExists(t, defaultCheckpoint)
}

// TestSignalDuringTrainingStops: a SIGINT while Fit runs stops it after the
// batch, saves the checkpoint and prints the resume command; it does not
// end the command at once.
func TestSignalDuringTrainingStops(t *testing.T) {
	quick := quickRun(t)
	ctx, exits, notes := clitest.Notify(t, "mnist")
	o, err := parseFlags(quick, io.Discard)
	require.NoError(t, err)
	o.afterBatch = func(b backprop.BatchInfo) {
		if b.Batch == 2 {
			kill(t, syscall.SIGINT)
			select { // the signal arrives on its own goroutine
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Error("SIGINT did not stop training")
			}
		}
	}
	code, _, stderr := clitest.Run(func(stdout, stderr io.Writer) int { return execute(ctx, o, stdout, stderr) })
	require.Equal(t, 130, code, stderr)
	require.Contains(t, stderr, "training stopped in epoch 1/1 after batch 3/8; checkpoint saved to "+filepath.Join(defaultCheckpoint, cli.CheckpointFile))
	require.Equal(t, []string{"-resume", defaultCheckpoint}, clitest.ResumeArgs(t, "mnist", stderr)[:2])
	require.Contains(t, notes.String(), "mnist: interrupted (SIGINT): finishing the batch and saving a checkpoint")
	require.Empty(t, exits)
}

// TestStopWithoutCheckpoint: a fresh run stopped before its first batch
// leaves the checkpoint of an earlier run in the default folder alone, and
// a stop whose checkpoint cannot be written prints no resume command.
func TestStopWithoutCheckpoint(t *testing.T) {
	quick := quickRun(t)
	old := filepath.Join(defaultCheckpoint, cli.CheckpointFile)
	require.NoError(t, os.MkdirAll(defaultCheckpoint, 0o755))
	require.NoError(t, os.WriteFile(old, []byte("an earlier run's checkpoint"), 0o644))
	o, err := parseFlags(quick, io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cli.Interrupted{Signal: syscall.SIGINT}) // before the first batch
	code, _, stderr := clitest.Run(func(stdout, stderr io.Writer) int { return execute(ctx, o, stdout, stderr) })
	require.Equal(t, 130, code, stderr)
	require.Contains(t, stderr, "mnist: interrupted (SIGINT): backprop: Fit: training stopped before its first batch; no checkpoint written (nothing to resume)\n")
	require.NotContains(t, stderr, "\nto resume:")
	require.Equal(t, "an earlier run's checkpoint", string(clitest.Must(os.ReadFile(old))))

	// The checkpoint folder turns into a file while training: the stop
	// cannot save, and says so.
	require.NoError(t, os.RemoveAll(defaultCheckpoint))
	o, err = parseFlags(quick, io.Discard)
	require.NoError(t, err)
	ctx, after := clitest.CancelAfter(3)
	o.afterBatch = func(b backprop.BatchInfo) {
		if b.Batch == 2 {
			require.NoError(t, os.WriteFile(defaultCheckpoint, nil, 0o644))
		}
		after(b)
	}
	code, _, stderr = clitest.Run(func(stdout, stderr io.Writer) int { return execute(ctx, o, stdout, stderr) })
	require.Equal(t, 130, code, stderr)
	require.Contains(t, stderr, "training stopped in epoch 1/1 after batch 3/8, but the checkpoint could not be written: checkpoint: mkdir "+defaultCheckpoint+": not a directory; this run has no earlier checkpoint")
	require.NotContains(t, stderr, "\nto resume:")
}
