package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/backprop"
)

// syncBuffer is a bytes.Buffer safe for the signal goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNotifyInterrupt sends this process a SIGINT, which cancels the
// context with an Interrupted cause, then a SIGTERM, which calls exit with
// 143 at once.
func TestNotifyInterrupt(t *testing.T) {
	var out syncBuffer
	exited := make(chan int, 1)
	ctx, stop := NotifyInterrupt("demo", &out, func(code int) { exited <- code })
	defer stop()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
	var in Interrupted
	require.ErrorAs(t, context.Cause(ctx), &in)
	require.Equal(t, 130, in.ExitStatus())
	require.Contains(t, out.String(), "demo: interrupted (SIGINT): finishing the batch and saving a checkpoint; interrupt again to quit at once")
	require.Empty(t, exited, "the first signal does not exit")

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	select {
	case code := <-exited:
		require.Equal(t, 143, code)
	case <-time.After(10 * time.Second):
		t.Fatal("a second signal did not exit")
	}
	require.Contains(t, out.String(), "demo: interrupted (SIGTERM) again: quitting at once")
}

func TestStoppedAndExitCode(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(Interrupted{Signal: syscall.SIGTERM})
	fitErr := fmt.Errorf("backprop: Fit: %w in epoch 2/3 after batch 5/10; checkpoint saved to x/checkpoint.bin", backprop.ErrStopped)
	err := Stopped(ctx, fitErr, "mnist -epochs 3 -resume x")
	require.EqualError(t, err, "interrupted (SIGTERM): backprop: Fit: training stopped in epoch 2/3 after batch 5/10; checkpoint saved to x/checkpoint.bin\nto resume: mnist -epochs 3 -resume x")
	require.Equal(t, 143, ExitCode(err))
	require.ErrorIs(t, err, backprop.ErrStopped)
	err = Stopped(ctx, fitErr, "")
	require.EqualError(t, err, "interrupted (SIGTERM): backprop: Fit: training stopped in epoch 2/3 after batch 5/10; checkpoint saved to x/checkpoint.bin; this run cannot be resumed")
	other := errors.New("disk full")
	require.Equal(t, other, Stopped(ctx, other, "x"), "other errors pass through")
	require.Equal(t, 1, ExitCode(other))
	require.Equal(t, 130, ExitCode(Interrupted{Signal: os.Interrupt}))
}

func TestResumeCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-epochs", "3"}, "mnist -epochs 3 -resume ckpt"},
		{[]string{"-resume", "old", "-epochs", "3"}, "mnist -epochs 3 -resume ckpt"},
		{[]string{"-resume=old", "--resume", "older", "--resume=oldest", "-quiet"}, "mnist -quiet -resume ckpt"},
		{[]string{"-resumes", "x"}, "mnist -resumes x -resume ckpt"},
		{[]string{"-data", "my data/mnist", "-predict", "it's fine"}, `mnist -data 'my data/mnist' -predict 'it'\''s fine' -resume ckpt`},
		{[]string{"-hidden", "512,512", "-lr=0.1"}, "mnist -hidden 512,512 -lr=0.1 -resume ckpt"},
		{nil, "mnist -resume ckpt"},
	} {
		require.Equal(t, tc.want, ResumeCommand("mnist", tc.args, "ckpt"), "%q", tc.args)
	}
	require.Equal(t, "''", ShellQuote(""))
	require.Equal(t, "'$HOME'", ShellQuote("$HOME"))
}

func TestSettingsDiff(t *testing.T) {
	here := Settings{"lr": "0.1", "epochs": "3", "model": "mlp"}
	require.Empty(t, here.Diff(Settings{"lr": "0.1", "epochs": "3", "model": "mlp"}))
	require.Equal(t, "-epochs 5 there, 3 here; -hidden [32] there, not set here; -lr 0.05 there, 0.1 here; -model not recorded there, mlp here",
		here.Diff(Settings{"lr": "0.05", "epochs": "5", "hidden": "[32]"}))
	meta := here.Meta("mnist", map[string][]byte{"model": []byte("mlp")})
	require.Equal(t, "mnist", string(meta[MetaProgram]))
	require.JSONEq(t, `{"lr":"0.1","epochs":"3","model":"mlp"}`, string(meta[MetaSettings]))
	require.Equal(t, "mlp", string(meta["model"]))
}

func TestFloatJSON(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0.25, "0.25"}, {math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"}, {3, "3"}} {
		var b bytes.Buffer
		require.NoError(t, WriteJSONLine(&b, struct {
			L Float `json:"l"`
		}{Float(tc.v)}))
		require.Equal(t, `{"l":`+tc.want+"}\n", b.String())
	}
}

func TestCheckpointDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, CheckpointDir(dir+"/a/b"))
	fi, err := os.Stat(dir + "/a/b")
	require.NoError(t, err)
	require.True(t, fi.IsDir())
	require.NoError(t, os.WriteFile(dir+"/f", nil, 0o644))
	require.ErrorContains(t, CheckpointDir(dir+"/f"), "-checkpoint "+dir+"/f: mkdir "+dir+"/f: not a directory")
}

func TestKeepCheckpoint(t *testing.T) {
	dir := t.TempDir()
	var note bytes.Buffer
	require.NoError(t, KeepCheckpoint("demo", dir, true, "", &note), "an empty folder")
	require.NoError(t, os.WriteFile(dir+"/"+CheckpointFile, []byte("x"), 0o644))
	require.NoError(t, KeepCheckpoint("demo", dir, true, dir+"/", &note), "the folder resumed")
	require.EqualError(t, KeepCheckpoint("demo", dir, true, "", &note),
		"-checkpoint "+dir+" already holds a checkpoint ("+dir+"/checkpoint.bin): resume its run with -resume "+dir+", or choose another folder")
	require.Empty(t, note.String())
	require.NoError(t, KeepCheckpoint("demo", dir, false, "", &note), "the default folder")
	require.Equal(t, "demo: note: "+dir+"/checkpoint.bin holds the checkpoint of an interrupted run, which this run replaces if it is interrupted too (resume that run with -resume "+dir+")\n", note.String())
}
