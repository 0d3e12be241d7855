package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/internal/cli/clitest"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// mnistDir is the shared copy of MNIST beside the repository: the four
// original IDX files, as on every developer machine and in CI.
const mnistDir = "../../../shared/data/mnist"

func runMNIST(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return clitest.Run(func(stdout, stderr io.Writer) int { return run(context.Background(), args, stdout, stderr) })
}

var lastJSON = clitest.LastJSON

func TestInvalidFlagsExitTwoWithUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-batch", "0"}, "-batch 0 must be positive"},
		{[]string{"-lr", "-0.1"}, "-lr -0.1 must be a positive number"},
		{[]string{"-optimizer", "adamax"}, `unknown optimizer "adamax"`},
		{[]string{"-model", "resnet"}, `unknown model "resnet"`},
		{[]string{"-schedule", "sometimes"}, `unknown schedule "sometimes"`},
		{[]string{"-dataset", "cifar"}, `unknown dataset "cifar"`},
		{[]string{"-hidden", "128,x"}, `hidden size "x"`},
		{[]string{"-dropout", "1"}, "-dropout 1 must be in [0, 1)"},
		{[]string{"-dropout", "-0.5"}, "-dropout -0.5 must be in [0, 1)"},
		{[]string{"-shift", "-1"}, "-shift -1 must be 0 to 8 pixels"},
		{[]string{"-shift", "9"}, "-shift 9 must be 0 to 8 pixels"},
		{[]string{"-lr", "0"}, "-lr 0 must be a positive number"},
		{[]string{"-lr", "NaN"}, "-lr NaN must be a positive number"},
		{[]string{"-l1", "Inf"}, "must be finite and not negative"},
		{[]string{"-clip-norm", "NaN"}, "must be finite and not negative"},
		{[]string{"-weight-decay", "-1"}, "must be finite and not negative"},
		{[]string{"-epochs", "-3"}, "-epochs -3 must be positive"},
		{[]string{"-eval"}, "-eval needs -load"},
		{[]string{"-no-such-flag"}, "flag provided but not defined"},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"-checkpoint", ""}, "-checkpoint needs a folder"},
		{[]string{"-resume", ""}, "-resume needs the folder of a checkpoint"},
		{[]string{"-resume=", "-checkpoint", "ckpt"}, "-resume needs the folder of a checkpoint"},
		{[]string{"-load", "m.bin", "-eval", "-checkpoint", "ckpt"}, "-checkpoint, -resume and -skip-nonfinite are for training: not with -eval"},
		{[]string{"-load", "m.bin", "-eval", "-resume", "ckpt"}, "-checkpoint, -resume and -skip-nonfinite are for training: not with -eval"},
		{[]string{"-load", "m.bin", "-eval", "-skip-nonfinite"}, "-checkpoint, -resume and -skip-nonfinite are for training: not with -eval"},
		{[]string{"-skip-nonfinite=maybe"}, `invalid boolean value "maybe" for -skip-nonfinite`},
		{[]string{"-resume"}, "flag needs an argument: -resume"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMNIST(t, tc.args...)
			require.Equal(t, 2, code)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.want)
			require.Contains(t, stderr, "Usage: mnist")
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	code, stdout, stderr := runMNIST(t, "-h")
	require.Equal(t, 0, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "Usage: mnist")
	require.Contains(t, stderr, "-resume")
}

func TestMissingDataIsAClearError(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runMNIST(t, "-data", dir, "-download=false", "-quiet")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "train-images-idx3-ubyte.gz")
	require.Contains(t, stderr, dir)
	require.Contains(t, stderr, "-data DIR")
}

// TestMLPOneEpochRealData trains the default MLP for one epoch on the real
// MNIST and requires at least 95% test accuracy from the -json line, then
// checks the plot and CSV it wrote and that the saved model evaluates to the
// same accuracy.
func TestMLPOneEpochRealData(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "mlp.bin")
	plot := filepath.Join(dir, "curves.png")
	csv := filepath.Join(dir, "curves.csv")
	code, stdout, stderr := runMNIST(t, "-data", mnistDir, "-epochs", "1", "-quiet", "-json",
		"-save", model, "-plot", plot, "-csv", csv)
	require.Equal(t, 0, code, stderr)
	res := lastJSON(t, stdout)
	acc := res["test_accuracy"].(float64)
	t.Logf("one epoch: test accuracy %.4f, %.0f samples/s", acc, res["train_samples_per_sec"])
	require.GreaterOrEqual(t, acc, 0.95)
	for _, key := range []string{"model", "dataset", "epochs", "batch", "optimizer", "lr", "seed",
		"train_samples_per_sec", "epoch_seconds", "test_accuracy", "test_loss", "peak_rss_mib"} {
		require.Contains(t, res, key)
	}
	require.Len(t, res["epoch_seconds"], 1)
	require.Contains(t, stdout, "confusion matrix")
	png, err := os.ReadFile(plot)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "plot is not a PNG")
	rows, err := os.ReadFile(csv)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(rows), "\n"), "header and one epoch")

	code, stdout, stderr = runMNIST(t, "-data", mnistDir, "-load", model, "-eval", "-json")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, acc, lastJSON(t, stdout)["test_accuracy"], "evaluating the saved model")
}

func TestSameSeedSameAccuracy(t *testing.T) {
	saved := filepath.Join(t.TempDir(), "lenet.bin")
	args := []string{"-data", mnistDir, "-model", "lenet", "-epochs", "1", "-train-limit", "1000", "-val", "500",
		"-quiet", "-json", "-save", saved, "-seed", "7"}
	code, out1, stderr := runMNIST(t, args...)
	require.Equal(t, 0, code, stderr)
	code, out2, stderr := runMNIST(t, args...)
	require.Equal(t, 0, code, stderr)
	r1, r2 := lastJSON(t, out1), lastJSON(t, out2)
	require.Equal(t, r1["test_accuracy"], r2["test_accuracy"])
	require.Equal(t, r1["test_loss"], r2["test_loss"])
	require.Greater(t, r1["test_accuracy"].(float64), 0.5, "a thousand images already teach LeNet something")

	// The saved LeNet evaluates as a LeNet, whatever the command line's
	// model defaults are.
	code, out3, stderr := runMNIST(t, "-data", mnistDir, "-load", saved, "-eval", "-json")
	require.Equal(t, 0, code, stderr)
	r3 := lastJSON(t, out3)
	require.Equal(t, "lenet", r3["model"])
	require.Equal(t, r1["test_accuracy"], r3["test_accuracy"])
	require.Equal(t, []any{}, r3["epoch_seconds"])
}

// TestLoadChecksShapes: a file whose metadata says it is an MNIST model but
// whose layers take other inputs or give another number of class scores is
// refused with an error naming both shapes, before any image goes through
// it.
func TestLoadChecksShapes(t *testing.T) {
	dir := t.TempDir()
	meta := map[string][]byte{"model": []byte("mlp"), "dataset": []byte("mnist")}
	for _, tc := range []struct {
		name   string
		in     nn.Shape
		layers []nn.Layer
		want   string
	}{
		{"four-inputs", nn.Shape{4}, []nn.Layer{layers.NewDense(4, 10)},
			"not an MNIST model: it takes inputs of shape [4], not [1 28 28] images"},
		{"three-classes", nn.Shape{1, 28, 28}, []nn.Layer{layers.NewFlatten(), layers.NewDense(784, 3)},
			"not an MNIST model: it gives outputs of shape [3], not 10 class scores"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := nn.NewSequential(tc.in, rand.New(rand.NewPCG(1, 0)), tc.layers...)
			require.NoError(t, err)
			file := filepath.Join(dir, tc.name+".bin")
			require.NoError(t, nn.SaveFile(file, m, meta))
			code, stdout, stderr := runMNIST(t, "-data", mnistDir, "-load", file, "-eval")
			require.Equal(t, 1, code, stderr)
			require.Equal(t, "mnist: "+file+": "+tc.want+"\n", stderr)
			require.NotContains(t, stdout, "test accuracy")
		})
	}
}
