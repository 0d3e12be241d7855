package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/internal/cli/clitest"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// interrupted runs sentiment with args in process and interrupts it, as
// SIGINT would, after its n-th training batch.
func interrupted(t *testing.T, n int, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	o, err := parseFlags(args, io.Discard)
	require.NoError(t, err)
	ctx, after := clitest.CancelAfter(n)
	o.afterBatch = after
	return clitest.Run(func(stdout, stderr io.Writer) int { return execute(ctx, o, strings.NewReader(""), stdout, stderr) })
}

// corpus writes a train.tsv of 400 texts and a test.tsv of 200 into a new
// folder and returns it.
func corpus(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, dir, "train.tsv", synthetic(400, 1))
	writeFile(t, dir, "test.tsv", synthetic(200, 2))
	return dir
}

// TestInterruptResumeBitIdentical interrupts an MLP with dropout twice,
// first without -checkpoint (the checkpoint goes to
// ./sentiment-checkpoint), resumes it each time with the command it
// printed, and requires the weights and test loss of an uninterrupted run.
func TestInterruptResumeBitIdentical(t *testing.T) {
	data := corpus(t)
	t.Chdir(t.TempDir())
	// 350 training texts in batches of 16: 22 batches per epoch.
	args := []string{"-format", "tsv", "-data", data, "-model", "mlp", "-hidden", "8", "-dropout", "0.3", "-epochs", "3",
		"-batch", "16", "-val", "50", "-quiet", "-json"}
	code, out, stderr := runSentiment(t, "", append(args, "-save", "ref.bin")...)
	require.Equal(t, 0, code, stderr)
	want := lastJSON(t, out)
	require.Greater(t, want["test_accuracy"].(float64), 0.9)

	args = append(args, "-save", "resumed.bin")
	code, _, stderr = interrupted(t, 30, args...)
	require.Equal(t, 130, code, stderr)
	require.Contains(t, stderr, "sentiment: interrupted (SIGINT): backprop: FitSparse: training stopped in epoch 2/3 after batch 8/22; checkpoint saved to "+
		filepath.Join(defaultCheckpoint, cli.CheckpointFile))
	resume := clitest.ResumeArgs(t, "sentiment", stderr)
	require.Equal(t, append([]string{"-resume", defaultCheckpoint}, args...), resume)

	code, _, stderr = interrupted(t, 20, resume...) // batch 6 of epoch 3
	require.Equal(t, 130, code, stderr)
	require.Contains(t, stderr, "training stopped in epoch 3/3 after batch 6/22")
	require.Equal(t, resume, clitest.ResumeArgs(t, "sentiment", stderr))
	code, out, stderr = runSentiment(t, "", resume...)
	require.Equal(t, 0, code, stderr)
	res := lastJSON(t, out)
	require.Equal(t, want["test_loss"], res["test_loss"])
	require.Equal(t, want["val_accuracy"], res["val_accuracy"])
	require.Len(t, res["epoch_seconds"], 3)
	clitest.RequireSameWeights(t, "ref.bin", "resumed.bin")

	// The checkpoint holds the vectoriser: it classifies text as a model.
	ck := filepath.Join(defaultCheckpoint, cli.CheckpointFile)
	require.Equal(t, mustPredict(t, "ref.bin", "a superb story"), mustPredict(t, ck, "a superb story"))
}

// TestResumeRefusesOtherCheckpoints checks the resume errors that are
// particular to sentiment (the others are shared with mnist): other data,
// and so another vocabulary; other settings; another program's checkpoint.
func TestResumeRefusesOtherCheckpoints(t *testing.T) {
	data := corpus(t)
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	args := []string{"-format", "tsv", "-data", data, "-epochs", "2", "-batch", "16", "-quiet", "-save", "-"}
	code, _, stderr := interrupted(t, 5, append(args, "-checkpoint", ckpt)...)
	require.Equal(t, 130, code, stderr)
	file := filepath.Join(ckpt, cli.CheckpointFile)
	good, err := os.ReadFile(file)
	require.NoError(t, err)

	m, meta, err := nn.LoadFile(file, layers.FromSpec)
	require.NoError(t, err)
	meta[cli.MetaProgram] = []byte("mnist")
	other := filepath.Join(t.TempDir(), "mnist")
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, nn.SaveFile(filepath.Join(other, cli.CheckpointFile), m, meta))

	changed := t.TempDir()
	writeFile(t, changed, "train.tsv", synthetic(400, 1)+"1\tbrand new words in the data\n")
	writeFile(t, changed, "test.tsv", synthetic(200, 2))

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"other data", []string{"-format", "tsv", "-data", changed, "-epochs", "2", "-batch", "16", "-quiet", "-save", "-", "-resume", ckpt},
			"-resume " + ckpt + ": the vocabulary built from the data ("},
		{"other settings", append(args, "-resume", ckpt, "-lr", "0.01", "-ngrams", "1"),
			"the checkpoint was written with other settings: -lr 0.005 there, 0.01 here; -ngrams 2 there, 1 here"},
		{"other program", append(args, "-resume", other), "a checkpoint of mnist, not of sentiment"},
		{"missing", append(args, "-resume", filepath.Join(ckpt, "nowhere")), "nowhere: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runSentiment(t, "", tc.args...)
			require.Equal(t, 1, code, stderr)
			require.Contains(t, stderr, tc.want)
			require.NotContains(t, stderr, "Usage:")
			if tc.name == "other data" {
				m := regexp.MustCompile(`\((\d+) terms\) is not the checkpoint's, which has (\d+) terms: was the data changed\?`).FindStringSubmatch(stderr)
				require.NotNil(t, m, stderr)
				require.Greater(t, clitest.Must(strconv.Atoi(m[1])), clitest.Must(strconv.Atoi(m[2])), "the new words are in the new vocabulary")
			}
		})
	}
	require.Equal(t, good, clitest.Must(os.ReadFile(file)), "refused resumes leave the checkpoint alone")

	// A cross-validation cannot be resumed; an interrupted one says so.
	code, _, stderr = interrupted(t, 5, "-format", "tsv", "-data", filepath.Join(data, "train.tsv"), "-folds", "4", "-quiet")
	require.Equal(t, 130, code, stderr)
	require.Contains(t, stderr, "sentiment: interrupted (SIGINT): fold 1: backprop: FitSparse: training stopped in epoch 1/5 after batch 5/")
	require.Contains(t, stderr, "(no checkpoint file set); this run cannot be resumed")
	require.NotContains(t, stderr, "to resume")
	code, _, stderr = runSentiment(t, "", "-format", "tsv", "-data", filepath.Join(data, "train.tsv"), "-checkpoint", ckpt, "-quiet")
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "it is cross-validated, which cannot be checkpointed: add -folds 0")
}

// TestNonFiniteStopsOrIsSkipped: a learning rate that blows the MLP up
// stops training with an error naming where. With -skip-nonfinite the
// diverged run stops once a whole epoch was skipped, saying how many steps
// in a row were non-finite, and saves no model.
func TestNonFiniteStopsOrIsSkipped(t *testing.T) {
	saved := filepath.Join(t.TempDir(), "diverged.bin")
	args := []string{"-format", "tsv", "-data", corpus(t), "-model", "mlp", "-hidden", "8", "-optimizer", "sgd", "-lr", "1e20",
		"-epochs", "2", "-batch", "16", "-quiet", "-save", saved}
	code, _, stderr := runSentiment(t, "", args...)
	require.Equal(t, 1, code, stderr)
	require.Regexp(t, `sentiment: backprop: epoch 1/2, batch \d+/25, step \d+: non-finite (loss NaN|gradient in layer \d \((EmbeddingBag|Dense)\) parameter "[Wb]": element \d+ is (NaN|[+-]Inf)); parameters not updated\n`, stderr)

	code, out, stderr := runSentiment(t, "", append(args, "-skip-nonfinite", "-json")...)
	require.Equal(t, 1, code, stderr)
	m := regexp.MustCompile(`sentiment: backprop: epoch 2/2, batch 25/25, step 50: non-finite .*; parameters not updated; SkipNonFinite gives up after (\d+) non-finite steps in a row\n`).FindStringSubmatch(stderr)
	require.NotNil(t, m, stderr)
	inARow := clitest.Must(strconv.Atoi(m[1]))
	require.GreaterOrEqual(t, inARow, 25, "every batch of epoch 2")
	require.Less(t, inARow, 50, "the first steps were finite")
	require.NotContains(t, out, "test accuracy")
	require.NoFileExists(t, saved)
}
