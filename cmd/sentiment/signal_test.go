package main

import (
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

// signalingReader sends sig to this process when it is first read, then
// reads r.
type signalingReader struct {
	r    io.Reader
	sig  syscall.Signal
	sent bool
}

func (s *signalingReader) Read(p []byte) (int, error) {
	if !s.sent {
		s.sent = true
		if err := syscall.Kill(os.Getpid(), s.sig); err != nil {
			return 0, err
		}
	}
	return s.r.Read(p)
}

// TestSignalOutsideTrainingQuits: a signal while -load classifies standard
// input ends the command at once, with 128 + its number, instead of
// printing that it saves a checkpoint and going on; a signal during
// training stops FitSparse after the batch and saves a checkpoint.
func TestSignalOutsideTrainingQuits(t *testing.T) {
	data := corpus(t)
	t.Chdir(t.TempDir())
	args := []string{"-format", "tsv", "-data", data, "-epochs", "1", "-batch", "16", "-quiet"}
	code, _, stderr := runSentiment(t, "", append(args, "-save", "m.bin")...)
	require.Equal(t, 0, code, stderr)

	ctx, exits, notes := clitest.Notify(t, "sentiment")
	stdin := &signalingReader{r: strings.NewReader("a superb story\n"), sig: syscall.SIGTERM}
	code, stdout, stderr := clitest.Run(func(stdout, stderr io.Writer) int {
		return run(ctx, []string{"-load", "m.bin"}, stdin, stdout, stderr)
	})
	clitest.RequireExit(t, exits, 143)
	require.Equal(t, "\nsentiment: interrupted (SIGTERM): quitting\n", notes.String())
	require.Equal(t, 0, code, "the test's exit returns: the command goes on (%s)", stderr)
	require.True(t, strings.HasPrefix(stdout, "positive "), stdout)

	ctx, exits, notes = clitest.Notify(t, "sentiment")
	o, err := parseFlags(append(args, "-save", "-"), io.Discard)
	require.NoError(t, err)
	o.afterBatch = func(b backprop.BatchInfo) {
		if b.Batch == 4 {
			require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
			select { // the signal arrives on its own goroutine
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Error("SIGINT did not stop training")
			}
		}
	}
	code, _, stderr = clitest.Run(func(stdout, stderr io.Writer) int { return execute(ctx, o, strings.NewReader(""), stdout, stderr) })
	require.Equal(t, 130, code, stderr)
	require.Contains(t, stderr, "training stopped in epoch 1/1 after batch 5/25; checkpoint saved to "+filepath.Join(defaultCheckpoint, cli.CheckpointFile))
	require.Contains(t, notes.String(), "sentiment: interrupted (SIGINT): finishing the batch and saving a checkpoint")
	require.Empty(t, exits)
}
