package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/internal/cli/clitest"
)

// TestNotifyInterrupt sends this process a SIGINT during training, which
// cancels the context with an Interrupted cause, then a SIGTERM, which
// calls exit with 143 at once.
func TestNotifyInterrupt(t *testing.T) {
	var out clitest.SyncBuffer
	exited := make(chan int, 1)
	ctx, stop := cli.NotifyInterrupt("demo", &out, func(code int) { exited <- code })
	defer stop()
	fitStop, done := cli.Training(ctx)
	defer done()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	select {
	case <-fitStop:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not close the stop channel")
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
	var in cli.Interrupted
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

// TestInterruptOutsideTraining: a signal before training starts (while the
// command reads its data) or after it ends (while it evaluates and saves)
// calls exit at once, and does not cancel the context, which would stop
// the training to come before its first batch.
func TestInterruptOutsideTraining(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sig   syscall.Signal
		train bool // train, then signal after done
	}{{"before training", syscall.SIGINT, false}, {"after training", syscall.SIGTERM, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var out clitest.SyncBuffer
			exited := make(chan int, 1)
			ctx, stop := cli.NotifyInterrupt("demo", &out, func(code int) { exited <- code })
			defer stop()
			if tc.train {
				_, done := cli.Training(ctx)
				done()
			}
			require.NoError(t, syscall.Kill(os.Getpid(), tc.sig))
			select {
			case code := <-exited:
				require.Equal(t, 128+int(tc.sig), code)
			case <-time.After(10 * time.Second):
				t.Fatal("the signal did not exit")
			}
			require.NoError(t, ctx.Err(), "the context is not canceled")
			require.Equal(t, fmt.Sprintf("\ndemo: %v: quitting\n", cli.Interrupted{Signal: tc.sig}), out.String())
		})
	}
	// A context of another origin: cli.Training returns its Done channel.
	ctx, cancel := context.WithCancel(context.Background())
	fitStop, done := cli.Training(ctx)
	done()
	cancel()
	<-fitStop
}

// TestStoppedAndExitCode checks the error of a stopped run: a resume
// command only when the checkpoint was written.
func TestStoppedAndExitCode(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cli.Interrupted{Signal: syscall.SIGTERM})
	stopped := backprop.StopError{Func: "Fit", Epoch: 1, Epochs: 3, Batch: 5, Batches: 10}
	saved := stopped
	saved.Checkpoint = "x/checkpoint.bin"
	err := cli.Stopped(ctx, &saved, "mnist -resume x -epochs 3")
	require.EqualError(t, err, "interrupted (SIGTERM): backprop: Fit: training stopped in epoch 2/3 after batch 5/10; checkpoint saved to x/checkpoint.bin\nto resume: mnist -resume x -epochs 3")
	require.Equal(t, 143, cli.ExitCode(err))
	require.ErrorIs(t, err, backprop.ErrStopped)
	err = cli.Stopped(ctx, &saved, "")
	require.EqualError(t, err, "interrupted (SIGTERM): backprop: Fit: training stopped in epoch 2/3 after batch 5/10; checkpoint saved to x/checkpoint.bin; this run cannot be resumed")

	// No resume command when the checkpoint could not be written, or when
	// a fresh run stopped before its first batch wrote none.
	failed := stopped
	failed.SaveErr, failed.Last = errors.New("checkpoint: no space left on device"), "x/checkpoint.bin"
	err = cli.Stopped(ctx, &failed, "mnist -resume x -epochs 3")
	require.EqualError(t, err, "interrupted (SIGTERM): backprop: Fit: training stopped in epoch 2/3 after batch 5/10, but the checkpoint could not be written: checkpoint: no space left on device; this run's last checkpoint is still x/checkpoint.bin")
	require.ErrorIs(t, err, backprop.ErrCheckpointSave)
	require.Equal(t, 143, cli.ExitCode(err))
	fresh := backprop.StopError{Func: "Fit", Epochs: 3, Batches: 10, Fresh: true}
	err = cli.Stopped(ctx, &fresh, "mnist -resume x -epochs 3")
	require.EqualError(t, err, "interrupted (SIGTERM): backprop: Fit: training stopped before its first batch; no checkpoint written (nothing to resume)")
	other := errors.New("disk full")
	require.Equal(t, other, cli.Stopped(ctx, other, "x"), "other errors pass through")
	require.Equal(t, 1, cli.ExitCode(other))
	require.Equal(t, 130, cli.ExitCode(cli.Interrupted{Signal: os.Interrupt}))
}

func TestResumeCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-epochs", "3"}, "mnist -resume ckpt -epochs 3"},
		{[]string{"-resume", "old", "-epochs", "3"}, "mnist -resume ckpt -epochs 3"},
		{[]string{"-resume=old", "--resume", "older", "--resume=oldest", "-quiet"}, "mnist -resume ckpt -quiet"},
		{[]string{"-resumes", "x"}, "mnist -resume ckpt -resumes x"},
		{[]string{"-data", "my data/mnist", "-predict", "it's fine"}, `mnist -resume ckpt -data 'my data/mnist' -predict 'it'\''s fine'`},
		{[]string{"-hidden", "512,512", "-lr=0.1"}, "mnist -resume ckpt -hidden 512,512 -lr=0.1"},
		{nil, "mnist -resume ckpt"},
		// -resume never lands after the "--" that ends the flags, nor as
		// the value of the flag before it.
		{[]string{"-epochs", "3", "--"}, "mnist -resume ckpt -epochs 3 --"},
		{[]string{"-data", "--"}, "mnist -resume ckpt -data --"},
		{[]string{"-epochs", "3", "--", "-resume", "x"}, "mnist -resume ckpt -epochs 3 -- -resume x"},
		{[]string{"-data", "=ls", "-predict", "a^b", "-csv", "~/m.csv"}, `mnist -resume ckpt -data '=ls' -predict 'a^b' -csv '~/m.csv'`},
	} {
		require.Equal(t, tc.want, cli.ResumeCommand("mnist", tc.args, "ckpt"), "%q", tc.args)
	}
	require.Equal(t, "''", cli.ShellQuote(""))
	require.Equal(t, "'$HOME'", cli.ShellQuote("$HOME"))
	require.Equal(t, "-lr=0.1", cli.ShellQuote("-lr=0.1"))
	for _, s := range []string{"=x", "a b", "a;b", "a|b", "a&b", "$(x)", "`x`", "a*", "a?", "[a]", "{a,b}", "!x", "#x", "a\nb", "a\\b", `"a"`, "^x", "<x", ">x", "(x)"} {
		require.Equal(t, "'", cli.ShellQuote(s)[:1], "%q needs quoting", s)
	}
}

func TestSettingsDiff(t *testing.T) {
	here := cli.Settings{"lr": "0.1", "epochs": "3", "model": "mlp"}
	require.Empty(t, here.Diff(cli.Settings{"lr": "0.1", "epochs": "3", "model": "mlp"}))
	require.Equal(t, "-epochs 5 there, 3 here; -hidden [32] there, not set here; -lr 0.05 there, 0.1 here; -model not recorded there, mlp here",
		here.Diff(cli.Settings{"lr": "0.05", "epochs": "5", "hidden": "[32]"}))
	meta := here.Meta("mnist", map[string][]byte{"model": []byte("mlp")})
	require.Equal(t, "mnist", string(meta[cli.MetaProgram]))
	require.JSONEq(t, `{"lr":"0.1","epochs":"3","model":"mlp"}`, string(meta[cli.MetaSettings]))
	require.Equal(t, "mlp", string(meta["model"]))
}

func TestFloatJSON(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0.25, "0.25"}, {math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"}, {3, "3"}} {
		var b bytes.Buffer
		require.NoError(t, cli.WriteJSONLine(&b, struct {
			L cli.Float `json:"l"`
		}{cli.Float(tc.v)}))
		require.Equal(t, `{"l":`+tc.want+"}\n", b.String())
	}
}

func TestCheckpointDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, cli.CheckpointDir(dir+"/a/b"))
	fi, err := os.Stat(dir + "/a/b")
	require.NoError(t, err)
	require.True(t, fi.IsDir())
	require.NoError(t, os.WriteFile(dir+"/f", nil, 0o644))
	require.ErrorContains(t, cli.CheckpointDir(dir+"/f"), "-checkpoint "+dir+"/f: mkdir "+dir+"/f: not a directory")
}

func TestKeepCheckpoint(t *testing.T) {
	dir := t.TempDir()
	var note bytes.Buffer
	require.NoError(t, cli.KeepCheckpoint("demo", dir, true, "", &note), "an empty folder")
	require.NoError(t, os.WriteFile(dir+"/"+cli.CheckpointFile, []byte("x"), 0o644))
	require.NoError(t, cli.KeepCheckpoint("demo", dir, true, dir+"/", &note), "the folder resumed")
	require.EqualError(t, cli.KeepCheckpoint("demo", dir, true, "", &note),
		"-checkpoint "+dir+" already holds a checkpoint ("+dir+"/checkpoint.bin): resume its run with -resume "+dir+", or choose another folder")
	require.Empty(t, note.String())
	require.NoError(t, cli.KeepCheckpoint("demo", dir, false, "", &note), "the default folder")
	require.Equal(t, "demo: note: "+dir+"/checkpoint.bin holds the checkpoint of an interrupted run, which this run replaces if it is interrupted too (resume that run with -resume "+dir+")\n", note.String())
}

func TestPrepareCheckpoint(t *testing.T) {
	tmp := t.TempDir()
	def, named, resumed := tmp+"/def", tmp+"/named", tmp+"/resumed"
	var note bytes.Buffer

	// Neither flag: the default folder, only written when interrupted, so
	// not created now.
	c, err := cli.PrepareCheckpoint("demo", "", "", def, &note)
	require.NoError(t, err)
	require.Equal(t, cli.Checkpointing{Dir: def, Path: def + "/" + cli.CheckpointFile, Every: 0}, c)
	require.NoDirExists(t, def)

	// -checkpoint: that folder, created, a checkpoint every epoch.
	c, err = cli.PrepareCheckpoint("demo", named, "", def, &note)
	require.NoError(t, err)
	require.Equal(t, cli.Checkpointing{Dir: named, Path: named + "/" + cli.CheckpointFile, Every: 1}, c)
	require.DirExists(t, named)

	// -resume alone: the resumed folder, even though it holds a checkpoint.
	require.NoError(t, os.MkdirAll(resumed, 0o755))
	require.NoError(t, os.WriteFile(resumed+"/"+cli.CheckpointFile, []byte("x"), 0o644))
	c, err = cli.PrepareCheckpoint("demo", "", resumed, def, &note)
	require.NoError(t, err)
	require.Equal(t, cli.Checkpointing{Dir: resumed, Path: resumed + "/" + cli.CheckpointFile, Every: 1}, c)

	// -checkpoint naming another run's checkpoint, or a file: refused.
	c, err = cli.PrepareCheckpoint("demo", resumed, "", def, &note)
	require.ErrorContains(t, err, "-checkpoint "+resumed+" already holds a checkpoint")
	require.Zero(t, c)
	require.NoError(t, os.WriteFile(tmp+"/file", nil, 0o644))
	_, err = cli.PrepareCheckpoint("demo", tmp+"/file", "", def, &note)
	require.ErrorContains(t, err, "-checkpoint "+tmp+"/file: mkdir")
	require.Empty(t, note.String())

	// The default folder holding a checkpoint: a note, not an error.
	require.NoError(t, os.MkdirAll(def, 0o755))
	require.NoError(t, os.WriteFile(def+"/"+cli.CheckpointFile, []byte("x"), 0o644))
	c, err = cli.PrepareCheckpoint("demo", "", "", def, &note)
	require.NoError(t, err)
	require.Equal(t, 0, c.Every)
	require.Contains(t, note.String(), "demo: note: "+def+"/"+cli.CheckpointFile+" holds the checkpoint of an interrupted run")
}

func TestPrintResume(t *testing.T) {
	var b bytes.Buffer
	cli.PrintResume(&b, &backprop.Checkpoint{Path: "ck/checkpoint.bin", Epoch: 1, Batch: 7, Steps: 42})
	require.Equal(t, "resuming from ck/checkpoint.bin: epoch 2, batch 7, 42 steps done\n", b.String())
}
