package main

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/internal/cli/clitest"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// interrupted runs mnist with args in process and interrupts it, as SIGINT
// would, after its n-th training batch.
func interrupted(t *testing.T, n int, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	o, err := parseFlags(args, io.Discard)
	require.NoError(t, err)
	ctx, after := clitest.CancelAfter(n)
	o.afterBatch = after
	return clitest.Run(func(stdout, stderr io.Writer) int { return execute(ctx, o, stdout, stderr) })
}

// requireInterrupted checks what an interrupted run reports and returns the
// arguments of the resume command it printed.
func requireInterrupted(t *testing.T, code int, stderr, where, dir string) []string {
	t.Helper()
	require.Equal(t, 130, code, stderr)
	require.Contains(t, stderr, "mnist: interrupted (SIGINT): backprop: Fit: training stopped "+where+"; checkpoint saved to "+filepath.Join(dir, cli.CheckpointFile))
	args := clitest.ResumeArgs(t, "mnist", stderr)
	require.Equal(t, []string{"-resume", dir}, args[:2])
	return args
}

// TestInterruptResumeBitIdentical interrupts an MLP with dropout twice in
// the middle of an epoch, resumes it each time with the command it printed,
// and requires the weights of an uninterrupted run, bit for bit, and the
// same test loss.
func TestInterruptResumeBitIdentical(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	args := []string{"-data", mnistDir, "-train-limit", "2000", "-val", "500", "-epochs", "3", "-hidden", "32",
		"-dropout", "0.2", "-quiet", "-json"}
	ref := filepath.Join(dir, "ref.bin")
	code, out, stderr := runMNIST(t, append(args, "-save", ref)...)
	require.Equal(t, 0, code, stderr)
	want := lastJSON(t, out)

	got := filepath.Join(dir, "resumed.bin")
	args = append(args, "-save", got, "-checkpoint", ckpt)
	code, _, stderr = interrupted(t, 40, args...) // 32 batches per epoch: batch 8 of epoch 2
	resume := requireInterrupted(t, code, stderr, "in epoch 2/3 after batch 8/32", ckpt)
	require.Equal(t, append([]string{"-resume", ckpt}, args...), resume, "the resume command is -resume and the command line")
	_, err := os.Stat(got)
	require.True(t, os.IsNotExist(err), "an interrupted run saves no model")

	code, _, stderr = interrupted(t, 30, resume...) // batch 6 of epoch 3
	resume = requireInterrupted(t, code, stderr, "in epoch 3/3 after batch 6/32", ckpt)
	code, out, stderr = runMNIST(t, resume...)
	require.Equal(t, 0, code, stderr)
	res := lastJSON(t, out)
	require.Equal(t, want["test_loss"], res["test_loss"])
	require.Equal(t, want["val_accuracy"], res["val_accuracy"])
	require.Equal(t, ckpt, res["resumed_from"])
	require.Len(t, res["epoch_seconds"], 3, "the history holds the epochs before the interruptions")
	require.Contains(t, out, "resuming from "+filepath.Join(ckpt, cli.CheckpointFile)+": epoch 3, batch 6, 70 steps done")
	clitest.RequireSameWeights(t, ref, got)

	// The last checkpoint is the finished run: it loads as a model, and
	// resuming it again trains nothing and gives the same model.
	code, out, stderr = runMNIST(t, "-data", mnistDir, "-load", filepath.Join(ckpt, cli.CheckpointFile), "-eval", "-json")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, want["test_loss"], lastJSON(t, out)["test_loss"])
}

// TestInterruptResumeShiftLeNet interrupts a LeNet trained on shifted
// images without -checkpoint: the checkpoint goes to ./mnist-checkpoint,
// and the resumed run restores the shift's generator with the rest.
func TestInterruptResumeShiftLeNet(t *testing.T) {
	data, err := filepath.Abs(mnistDir)
	require.NoError(t, err)
	t.Chdir(t.TempDir())
	args := []string{"-data", data, "-model", "lenet", "-train-limit", "500", "-val", "500", "-epochs", "2", "-batch", "32",
		"-shift", "2", "-quiet", "-json"}
	code, out, stderr := runMNIST(t, append(args, "-save", "ref.bin")...)
	require.Equal(t, 0, code, stderr)
	want := lastJSON(t, out)

	code, _, stderr = interrupted(t, 5, append(args, "-save", "resumed.bin")...)
	resume := requireInterrupted(t, code, stderr, "in epoch 1/2 after batch 5/16", defaultCheckpoint)
	code, out, stderr = runMNIST(t, resume...)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, want["test_loss"], lastJSON(t, out)["test_loss"])
	clitest.RequireSameWeights(t, "ref.bin", "resumed.bin")
}

// TestNonFiniteStopsOrIsSkipped: a learning rate that blows the weights up
// stops training with an error naming where. With -skip-nonfinite the
// diverged run does not skip every later batch and then save a model of
// infinities: once a whole epoch was skipped it stops with an error that
// says how many steps in a row were non-finite, and saves nothing.
func TestNonFiniteStopsOrIsSkipped(t *testing.T) {
	saved := filepath.Join(t.TempDir(), "diverged.bin")
	args := []string{"-data", mnistDir, "-train-limit", "1000", "-val", "500", "-epochs", "2", "-hidden", "16",
		"-lr", "1e10", "-quiet", "-save", saved}
	code, _, stderr := runMNIST(t, args...)
	require.Equal(t, 1, code, stderr)
	require.Regexp(t, `mnist: backprop: epoch 1/2, batch \d+/16, step \d+: non-finite (loss NaN|gradient in layer \d \(Dense\) parameter "[Wb]": element \d+ is (NaN|[+-]Inf)); parameters not updated\n`, stderr)

	code, out, stderr := runMNIST(t, append(args, "-skip-nonfinite", "-json")...)
	require.Equal(t, 1, code, stderr)
	m := regexp.MustCompile(`mnist: backprop: epoch 2/2, batch 16/16, step 32: non-finite .*; parameters not updated; SkipNonFinite gives up after (\d+) non-finite steps in a row\n`).FindStringSubmatch(stderr)
	require.NotNil(t, m, stderr)
	inARow := clitest.Must(strconv.Atoi(m[1]))
	require.GreaterOrEqual(t, inARow, 16, "every batch of epoch 2")
	require.Less(t, inARow, 32, "the first steps were finite")
	require.NotContains(t, out, "test accuracy")
	require.NoFileExists(t, saved)
}

// TestResumeRefusesOtherCheckpoints checks every way -resume can be given
// the wrong thing: each is a clear error with status 1, never a panic.
func TestResumeRefusesOtherCheckpoints(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	args := []string{"-data", mnistDir, "-train-limit", "500", "-val", "200", "-epochs", "2", "-hidden", "16", "-quiet", "-save", "-"}
	code, _, stderr := interrupted(t, 3, append(args, "-checkpoint", ckpt)...)
	require.Equal(t, 130, code, stderr)
	file := filepath.Join(ckpt, cli.CheckpointFile)
	good, err := os.ReadFile(file)
	require.NoError(t, err)

	// Variants of the checkpoint folder.
	folder := func(name string, data []byte) string {
		d := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(d, 0o755))
		if data != nil {
			require.NoError(t, os.WriteFile(filepath.Join(d, cli.CheckpointFile), data, 0o644))
		}
		return d
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/3] ^= 0x10
	m, meta, err := nn.LoadFile(file, layers.FromSpec)
	require.NoError(t, err)
	meta[cli.MetaProgram] = []byte("sentiment")
	other := folder("sentiment", nil)
	require.NoError(t, nn.SaveFile(filepath.Join(other, cli.CheckpointFile), m, meta))
	meta[cli.MetaProgram] = []byte("mnist")
	meta["std"] = []byte("0.5")
	restd := folder("restandardised", nil)
	require.NoError(t, nn.SaveFile(filepath.Join(restd, cli.CheckpointFile), m, meta))
	plain := folder("plain", nil)
	require.NoError(t, nn.SaveFile(filepath.Join(plain, cli.CheckpointFile), m, map[string][]byte{"model": []byte("mlp")}))
	notDir := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(notDir, []byte("x"), 0o644))

	for _, tc := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"missing folder", []string{"-resume", filepath.Join(dir, "nowhere")}, "-resume " + filepath.Join(dir, "nowhere") + ": stat "},
		{"empty folder", []string{"-resume", folder("empty", nil)}, "no checkpoint in this folder (checkpoint.bin is missing)"},
		{"not a model", []string{"-resume", folder("text", []byte("hello"))}, "not a descent model file"},
		{"corrupted", []string{"-resume", folder("flipped", flipped)}, "checksum mismatch, the file is corrupted"},
		{"truncated", []string{"-resume", folder("short", good[:len(good)/2])}, "truncated file"},
		{"model without state", []string{"-resume", plain}, "a model file without training state, not a checkpoint"},
		{"other program", []string{"-resume", other}, "a checkpoint of sentiment, not of mnist"},
		{"other settings", []string{"-resume", ckpt, "-hidden", "24", "-lr", "0.01"},
			"the checkpoint was written with other settings: -hidden [16] there, [24] here; -lr 0.05 there, 0.01 here (resume with the flags of the interrupted run)"},
		{"other model", []string{"-resume", ckpt, "-model", "lenet"}, "-model mlp there, lenet here"},
		{"other standardisation", []string{"-resume", restd}, "-resume " + restd + `: the checkpoint's inputs were standardised with std "0.5", this run's with 0.3081`},
		{"checkpoint folder is a file", []string{"-checkpoint", notDir}, "-checkpoint " + notDir + ": mkdir " + notDir + ": not a directory"},
		{"fresh run over a checkpoint", []string{"-checkpoint", ckpt},
			"-checkpoint " + ckpt + " already holds a checkpoint (" + file + "): resume its run with -resume " + ckpt + ", or choose another folder"},
		{"resumed run over another checkpoint", []string{"-resume", ckpt, "-checkpoint", other}, "-checkpoint " + other + " already holds a checkpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMNIST(t, append(args, tc.extra...)...)
			require.Equal(t, 1, code, stderr)
			require.Contains(t, stderr, tc.want)
			require.NotContains(t, stderr, "Usage:")
			require.NotContains(t, stdout, "test accuracy")
		})
	}
	require.Equal(t, good, clitest.Must(os.ReadFile(file)), "refused resumes leave the checkpoint alone")
}

// TestLoadRefusesOtherModels: -load of something that is not an MNIST model
// is a clear error.
func TestLoadRefusesOtherModels(t *testing.T) {
	dir := t.TempDir()
	bag, err := nn.NewSequential(nn.Shape{50}, rand.New(rand.NewPCG(1, 0)), layers.NewEmbeddingBag(50, 2, layers.BagSum))
	require.NoError(t, err)
	sentiment := filepath.Join(dir, "sentiment.bin")
	require.NoError(t, nn.SaveFile(sentiment, bag, map[string][]byte{"model": []byte("logreg"), "format": []byte("polarity"), "vectorizer": []byte("...")}))
	dense, err := nn.NewSequential(nn.Shape{4}, rand.New(rand.NewPCG(1, 0)), layers.NewDense(4, 10))
	require.NoError(t, err)
	anon := filepath.Join(dir, "dense.bin")
	require.NoError(t, nn.SaveFile(anon, dense, nil))
	img, err := nn.NewSequential(nn.Shape{1, 28, 28}, rand.New(rand.NewPCG(1, 0)), layers.NewFlatten(), layers.NewDense(784, 2))
	require.NoError(t, err)
	twoClasses := filepath.Join(dir, "two.bin")
	require.NoError(t, nn.SaveFile(twoClasses, img, nil))
	text := filepath.Join(dir, "text.bin")
	require.NoError(t, os.WriteFile(text, []byte("not a model at all"), 0o644))
	for _, tc := range []struct{ file, want string }{
		{sentiment, sentiment + `: not a model saved by mnist: its metadata names the model "logreg", not mlp, lenet or cnn`},
		{anon, anon + ": not an MNIST model: it takes inputs of shape [4], not [1 28 28] images"},
		{twoClasses, twoClasses + ": not an MNIST model: it gives outputs of shape [2], not 10 class scores"},
		{text, "not a descent model file"},
		{filepath.Join(dir, "missing.bin"), "missing.bin: no such file or directory"},
	} {
		code, _, stderr := runMNIST(t, "-data", mnistDir, "-load", tc.file, "-eval")
		require.Equal(t, 1, code, stderr)
		require.Contains(t, stderr, tc.want)
	}
	// Training a loaded model checks it the same way.
	code, _, stderr := runMNIST(t, "-data", mnistDir, "-load", sentiment, "-quiet", "-save", "-", "-epochs", "1", "-train-limit", "100")
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "not a model saved by mnist")
}
