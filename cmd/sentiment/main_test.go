package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/internal/cli/clitest"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// The shared copies of the data sets beside the repository, as on every
// developer machine and in CI.
const (
	mrDir   = "../../../shared/data/rt-polarity"
	imdbDir = "../../../shared/data/imdb"
)

func runSentiment(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return clitest.Run(func(stdout, stderr io.Writer) int {
		return run(context.Background(), args, strings.NewReader(stdin), stdout, stderr)
	})
}

var lastJSON = clitest.LastJSON

func TestInvalidFlagsExitTwoWithUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-format", "csv"}, `unknown format "csv" (want imdb, polarity, sst2 or tsv)`},
		{[]string{"-ngrams", "3"}, "-ngrams 3 must be 1 or 2"},
		{[]string{"-ngrams", "0"}, "-ngrams 0 must be 1 or 2"},
		{[]string{"-vocab", "-1"}, "-vocab -1 must not be negative"},
		{[]string{"-min-count", "0"}, "-min-count 0 must be at least 1"},
		{[]string{"-vectorizer", "word2vec"}, `unknown vectorizer "word2vec"`},
		{[]string{"-model", "cnn"}, `unknown model "cnn" (want logreg or mlp)`},
		{[]string{"-model", "mlp", "-hidden", "0"}, "-hidden 0 must be at least 1"},
		{[]string{"-hidden", "32"}, "-hidden needs -model mlp"},
		{[]string{"-epochs", "0"}, "-epochs 0 must be at least 1"},
		{[]string{"-epochs", "-2"}, "-epochs -2 must be at least 1"},
		{[]string{"-batch", "0"}, "-batch 0 must be at least 1"},
		{[]string{"-optimizer", "adamax"}, `unknown optimizer "adamax"`},
		{[]string{"-lr", "0"}, "-lr 0 must be a positive number"},
		{[]string{"-lr", "-0.1"}, "-lr -0.1 must be a positive number"},
		{[]string{"-lr", "NaN"}, "-lr NaN must be a positive number"},
		{[]string{"-lr", "Inf"}, "-lr +Inf must be a positive number"},
		{[]string{"-weight-decay", "-1e-4"}, "-weight-decay -0.0001 must be a non-negative number"},
		{[]string{"-weight-decay", "NaN"}, "-weight-decay NaN must be a non-negative number"},
		{[]string{"-model", "mlp", "-dropout", "1"}, "-dropout 1 must be in [0, 1)"},
		{[]string{"-model", "mlp", "-dropout", "-0.1"}, "-dropout -0.1 must be in [0, 1)"},
		{[]string{"-dropout", "0.5"}, "-dropout needs -model mlp"},
		{[]string{"-folds", "1"}, "-folds 1 must be 0 (the test split) or at least 2"},
		{[]string{"-folds", "-3"}, "-folds -3 must be 0"},
		{[]string{"-val", "-1"}, "-val -1 must not be negative"},
		{[]string{"-train-limit", "-5"}, "-train-limit -5 must not be negative"},
		{[]string{"-top", "0"}, "-top 0 must be at least 1"},
		{[]string{"-format", "tsv"}, "-format tsv needs -data"},
		{[]string{"-predict", "great film"}, "-predict, -explain and -eval need -load FILE"},
		{[]string{"-explain"}, "-predict, -explain and -eval need -load FILE"},
		{[]string{"-eval"}, "-predict, -explain and -eval need -load FILE"},
		{[]string{"-load", "m.bin", "-eval", "-explain"}, "-eval evaluates on the test set"},
		{[]string{"-format", "polarity", "-save", "mr.bin"}, "-save needs a single training run, not 10-fold cross-validation"},
		{[]string{"-batch", "many"}, `invalid value "many" for flag -batch`},
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"-checkpoint", ""}, "-checkpoint needs a folder"},
		{[]string{"-resume", ""}, "-resume needs the folder of a checkpoint"},
		{[]string{"-resume"}, "flag needs an argument: -resume"},
		{[]string{"-load", "m.bin", "-checkpoint", "ckpt"}, "-checkpoint, -resume and -skip-nonfinite are for training: not with -load"},
		{[]string{"-load", "m.bin", "-resume", "ckpt"}, "-checkpoint, -resume and -skip-nonfinite are for training: not with -load"},
		{[]string{"-load", "m.bin", "-skip-nonfinite"}, "-checkpoint, -resume and -skip-nonfinite are for training: not with -load"},
		{[]string{"-skip-nonfinite=maybe"}, `invalid boolean value "maybe" for -skip-nonfinite`},
		{[]string{"-format", "polarity", "-checkpoint", "ckpt"}, "-checkpoint and -resume need a single training run, not 10-fold cross-validation (add -folds 0)"},
		{[]string{"-folds", "5", "-resume", "ckpt"}, "-checkpoint and -resume need a single training run, not 5-fold cross-validation (add -folds 0)"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runSentiment(t, "", tc.args...)
			require.Equal(t, 2, code, stderr)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.want)
			require.Contains(t, stderr, "Usage: sentiment")
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	code, stdout, stderr := runSentiment(t, "", "-h")
	require.Equal(t, 0, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "Usage: sentiment")
	require.Contains(t, stderr, "-vectorizer")
}

// writeFile writes data to dir/name, creating folders, and returns its path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	return p
}

func gzipString(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.String()
}

// TestLoaderErrorsNameFileAndLine checks that bad data stops the command
// with status 1 and an error that says which file and line is wrong.
func TestLoaderErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string // -data DIR is added
		data  string   // what -data names, relative to the folder; "" for the folder
		want  string   // expected in the error, after the folder
	}{
		{"empty file", map[string]string{"train.tsv": ""}, []string{"-format", "tsv"}, "train.tsv",
			"train.tsv: empty file"},
		{"line without label", map[string]string{"train.tsv": "1\tgood\nno label here\n"}, []string{"-format", "tsv"}, "train.tsv",
			"train.tsv:2: no tab: want label<TAB>text"},
		{"unknown label", map[string]string{"train.tsv": "1\tgood\n0\tbad\nmaybe\tso so\n"}, []string{"-format", "tsv"}, "",
			`train.tsv:3: unknown label "maybe"`},
		{"unknown label in the test file", map[string]string{"train.tsv": "1\tgood\n0\tbad\n", "test.tsv.gz": "pos\tfine\nfoo\tbar\n"},
			[]string{"-format", "tsv"}, "", `test.tsv.gz:2: unknown label "foo"`},
		{"invalid UTF-8", map[string]string{"train.tsv": "1\tgood\n0\tbad \xff\xfe\n"}, []string{"-format", "tsv"}, "train.tsv",
			"train.tsv:2: invalid UTF-8"},
		{"no train.tsv in the folder", map[string]string{"test.tsv": "1\tgood\n"}, []string{"-format", "tsv"}, "",
			": no train.tsv or train.tsv.gz"},
		{"byte undefined in cp1252", map[string]string{"rt-polarity.pos": "good\nnice \x81 film\n", "rt-polarity.neg": "bad\n"},
			[]string{"-format", "polarity"}, "", "rt-polarity.pos:2: byte 0x81 is not defined in Windows-1252"},
		{"empty line in MR", map[string]string{"rt-polarity.pos": "good\n", "rt-polarity.neg": "bad\n\nworse\n"},
			[]string{"-format", "polarity"}, "", "rt-polarity.neg:2: empty line"},
		{"missing MR file", map[string]string{"rt-polarity.pos": "good\n"}, []string{"-format", "polarity"}, "",
			"rt-polarity.neg"},
		{"SST-2 unknown label", map[string]string{"train.tsv": "sentence\tlabel\ngood \t1\n", "dev.tsv": "sentence\tlabel\nfine \t1\nbad \t2\n"},
			[]string{"-format", "sst2"}, "", `dev.tsv:3: unknown label "2"`},
		{"SST-2 missing dev.tsv", map[string]string{"train.tsv": "sentence\tlabel\ngood \t1\n"}, []string{"-format", "sst2"}, "",
			"dev.tsv"},
		{"aclImdb without test/pos", map[string]string{"aclImdb/train/pos/0_9.txt": "good", "aclImdb/train/neg/0_1.txt": "bad",
			"aclImdb/test/neg/0_2.txt": "bad"}, []string{"-format", "imdb", "-download=false"}, "",
			filepath.Join("aclImdb", "test", "pos") + ": no such folder"},
		{"empty IMDB review", map[string]string{"aclImdb/train/pos/0_9.txt": "good", "aclImdb/train/neg/0_1.txt": "",
			"aclImdb/test/pos/0_8.txt": "good", "aclImdb/test/neg/0_2.txt": "bad"}, []string{"-format", "imdb", "-download=false"}, "",
			filepath.Join("aclImdb", "train", "neg", "0_1.txt") + ": empty review"},
		{"no IMDB at all", map[string]string{"README": "nothing here"}, []string{"-format", "imdb", "-download=false"}, "",
			"train.tsv.gz, test.tsv.gz, an aclImdb folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				if strings.HasSuffix(name, ".gz") {
					data = gzipString(t, data)
				}
				writeFile(t, dir, name, data)
			}
			args := append([]string{"-data", filepath.Join(dir, tc.data), "-quiet", "-save", "-"}, tc.args...)
			code, _, stderr := runSentiment(t, "", args...)
			require.Equal(t, 1, code, stderr)
			require.Contains(t, stderr, dir, "the error names the file")
			require.Contains(t, stderr, tc.want)
			require.NotContains(t, stderr, "Usage:")
		})
	}
}

// TestMRCrossValidationRealData runs the default MR evaluation, 10-fold
// cross-validation with uni+bigrams, on the real data (about 5 s on two
// cores) and checks the JSON line: per-fold accuracies, their mean and
// standard deviation. The defaults give 79.4%; a model that learnt nothing
// would score 50%.
func TestMRCrossValidationRealData(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "folds.csv")
	code, stdout, stderr := runSentiment(t, "", "-format", "polarity", "-data", mrDir, "-quiet", "-json", "-csv", csv)
	require.Equal(t, 0, code, stderr)
	res := lastJSON(t, stdout)
	for _, key := range []string{"model", "format", "ngrams", "vectorizer", "epochs", "batch", "optimizer", "lr", "seed",
		"vocab_size", "train_samples_per_sec", "epoch_seconds", "prep_seconds", "test_accuracy", "test_loss", "peak_rss_mib",
		"fold_accuracies", "test_accuracy_std"} {
		require.Contains(t, res, key)
	}
	acc := res["test_accuracy"].(float64)
	t.Logf("MR 10-fold CV: %.4f ± %.4f, %.0f samples/s, prep %.2fs", acc, res["test_accuracy_std"], res["train_samples_per_sec"], res["prep_seconds"])
	require.GreaterOrEqual(t, acc, 0.77)
	folds := res["fold_accuracies"].([]any)
	require.Len(t, folds, 10)
	var sum float64
	for _, f := range folds {
		require.Greater(t, f.(float64), 0.7)
		sum += f.(float64)
	}
	require.InDelta(t, sum/10, acc, 1e-12, "test_accuracy is the mean of the folds")
	std := res["test_accuracy_std"].(float64)
	require.True(t, std > 0 && std < 0.05, "std %g", std)
	require.Equal(t, 2.0, res["ngrams"])
	require.Equal(t, "adam", res["optimizer"])
	require.Len(t, res["epoch_seconds"], 5)
	require.Contains(t, stdout, "10-fold cross-validation accuracy")
	require.Len(t, regexp.MustCompile(`(?m)^fold +\d+/10: .*test accuracy \d+\.\d\d%$`).FindAllString(stdout, -1), 10, "one line per fold")
	rows, err := os.ReadFile(csv)
	require.NoError(t, err)
	require.Equal(t, 6, strings.Count(string(rows), "\n"), "header and the 5 epochs' means")
	_, err = os.Stat("sentiment-polarity.bin")
	require.True(t, os.IsNotExist(err), "cross-validation saves no model")
}

// TestIMDBSliceWithValidation trains on the first 2,000 IMDB training
// reviews with 400 of them held out, for three epochs, and tests on all
// 25,000 test reviews.
func TestIMDBSliceWithValidation(t *testing.T) {
	code, stdout, stderr := runSentiment(t, "", "-data", imdbDir, "-train-limit", "2000", "-val", "400", "-epochs", "3",
		"-quiet", "-json", "-save", "-")
	require.Equal(t, 0, code, stderr)
	res := lastJSON(t, stdout)
	t.Logf("IMDB, 1600 training reviews: validation %.4f, test %.4f", res["val_accuracy"], res["test_accuracy"])
	require.Equal(t, 1600.0, res["train_samples"])
	require.Equal(t, 400.0, res["val_samples"])
	require.Equal(t, 25000.0, res["test_samples"])
	require.Greater(t, res["val_accuracy"].(float64), 0.7)
	require.Greater(t, res["test_accuracy"].(float64), 0.75)
	require.Less(t, res["prep_seconds"].(float64), 10.0*raceSlowdown, "preparing 27,000 reviews")
	require.Contains(t, stdout, "val_acc")
}

// mrModel trains a logistic regression on MR's fixed split (test = fold 1
// of 10) with the command's own functions, so that the test holds the
// model as it was before saving, and returns the classifier and the test
// sentences.
func mrModel(t *testing.T, args ...string) (*options, *classifier, *datasets.Corpus) {
	t.Helper()
	o, err := parseFlags(append([]string{"-format", "polarity", "-data", mrDir, "-folds", "0", "-quiet"}, args...), io.Discard)
	require.NoError(t, err)
	c, err := loadCorpora(o, io.Discard)
	require.NoError(t, err)
	trainC, testC, name, err := testSplit(c)
	require.NoError(t, err)
	require.Equal(t, "fold 1 of 10", name)
	p, err := prepare(o, firstN(trainC, o.trainLimit), nil, testC)
	require.NoError(t, err)
	model, err := buildModel(o, p.vec.Cols())
	require.NoError(t, err)
	out, err := train(runEnv{}, o, model, p, nil, nil)
	require.NoError(t, err)
	require.Len(t, out.hist.Epochs, o.epochs)
	return o, &classifier{model: model, vec: p.vec, labels: [2]string{"negative", "positive"}}, testC
}

var probLine = regexp.MustCompile(`^(positive|negative) ([01]\.\d{4})$`)

// TestSaveLoadPredictGivesTheSameProbabilities saves a trained model,
// loads it back and checks that every prediction is the same, bit for bit
// in process and as printed by -predict and by the standard-input mode.
func TestSaveLoadPredictGivesTheSameProbabilities(t *testing.T) {
	o, before, test := mrModel(t)
	texts := append([]string{"a gorgeous , witty , seductive movie .", "a dull , tedious mess .", ""}, test.Texts[:200]...)
	want := make([]float64, len(texts))
	for i, s := range texts {
		want[i] = before.classify(s)
	}
	correct := 0
	for i, z := range want[3:] {
		if (z > 0) == (test.Labels[i] == 1) {
			correct++
		}
	}
	require.Greater(t, correct, 140, "the model gets most of 200 test sentences right")

	path := filepath.Join(t.TempDir(), "mr.bin")
	require.NoError(t, saveModel(path, before.model, clitest.Must(modelMeta(o, before.vec)), 0.5, "fold 1 of 10"))
	after, err := loadClassifier(path)
	require.NoError(t, err)
	require.Equal(t, "polarity", after.format)
	require.Equal(t, "logreg", after.kind)
	for i, s := range texts {
		require.Equal(t, math.Float64bits(want[i]), math.Float64bits(after.classify(s)), "text %d %q", i, s)
	}

	// -predict prints the label and its probability.
	for _, i := range []int{0, 1, 3, 4} {
		code, stdout, stderr := runSentiment(t, "", "-load", path, "-predict", texts[i])
		require.Equal(t, 0, code, stderr)
		label, p := before.decide(want[i])
		require.Equal(t, fmt.Sprintf("%s %.4f\n", label, p), stdout)
		require.Regexp(t, probLine, strings.TrimSpace(stdout))
	}
	require.True(t, strings.HasPrefix(mustPredict(t, path, texts[0]), "positive "))
	require.True(t, strings.HasPrefix(mustPredict(t, path, texts[1]), "negative "))

	// Standard input: one line per text, in order.
	in := strings.Join(texts, "\n") + "\n"
	code, stdout, stderr := runSentiment(t, in, "-load", path)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, len(texts))
	for i, line := range lines {
		head, prev, ok := strings.Cut(line, "\t")
		require.True(t, ok, "line %d %q has no tab", i, line)
		label, p := before.decide(want[i])
		require.Equal(t, fmt.Sprintf("%s %.4f", label, p), head, "line %d", i)
		require.Equal(t, preview(texts[i], 60), prev)
	}
}

func mustPredict(t *testing.T, path, text string) string {
	t.Helper()
	code, stdout, stderr := runSentiment(t, "", "-load", path, "-predict", text)
	require.Equal(t, 0, code, stderr)
	return stdout
}

func TestPredictStandardInput(t *testing.T) {
	o, c, _ := mrModel(t, "-epochs", "1", "-train-limit", "2000")
	path := filepath.Join(t.TempDir(), "mr.bin")
	require.NoError(t, saveModel(path, c.model, clitest.Must(modelMeta(o, c.vec)), 0.5, "fold 1 of 10"))
	lines := []string{
		"an utterly charming and hilarious film",
		"",
		"invalid UTF-8 \xff\xfe here, and a\ttab",
		"windows line ending\r",
		strings.Repeat("long ", 100),
	}
	code, stdout, stderr := runSentiment(t, strings.Join(lines, "\n"), "-load", path) // no final newline
	require.Equal(t, 0, code, stderr)
	out := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, out, len(lines), stdout)
	line := regexp.MustCompile(`^(positive|negative) [01]\.\d{4}\t[^\t\r\n]*$`)
	for i, l := range out {
		require.Regexp(t, line, l, "output line %d", i)
	}
	require.True(t, strings.HasSuffix(out[4], "…"), "a long text is cut: %q", out[4])
	require.Equal(t, 60, len([]rune(strings.SplitN(out[4], "\t", 2)[1]))-1)
	require.Contains(t, out[2], "here, and a tab")
	require.True(t, strings.HasSuffix(out[3], "\twindows line ending"))

	// No input, no output.
	code, stdout, _ = runSentiment(t, "", "-load", path)
	require.Equal(t, 0, code)
	require.Empty(t, stdout)
}

// explained parses the output of -explain into the two lists of terms:
// the values and terms towards positive, then towards negative.
func explained(t *testing.T, out string) (pos, neg map[string]float64) {
	t.Helper()
	pos, neg = map[string]float64{}, map[string]float64{}
	var cur map[string]float64
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasSuffix(line, "towards positive:"):
			cur = pos
		case strings.HasSuffix(line, "towards negative:"):
			cur = neg
		case cur != nil && strings.HasPrefix(line, "  "):
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[0], 64)
			require.NoError(t, err, line)
			cur[strings.Join(f[1:], " ")] = v
		}
	}
	return pos, neg
}

func countIn(m map[string]float64, words ...string) int {
	n := 0
	for _, w := range words {
		if _, ok := m[w]; ok {
			n++
		}
	}
	return n
}

// TestExplain checks that -explain lists plausible words on each side, that
// the listed values are what the model computes for one-term texts, and
// that the contributions of a text's terms add up to its log-odds.
func TestExplain(t *testing.T) {
	o, c, _ := mrModel(t)
	path := filepath.Join(t.TempDir(), "mr.bin")
	require.NoError(t, saveModel(path, c.model, clitest.Must(modelMeta(o, c.vec)), 0.5, "fold 1 of 10"))

	code, stdout, stderr := runSentiment(t, "", "-load", path, "-explain", "-top", "40")
	require.Equal(t, 0, code, stderr)
	pos, neg := explained(t, stdout)
	require.Len(t, pos, 40)
	require.Len(t, neg, 40)
	t.Logf("towards negative: %v", neg)
	negWords := []string{"bad", "worst", "dull", "boring", "mess", "unfunny", "tedious", "lacks", "fails", "stupid", "flat", "too", "badly", "pointless"}
	posWords := []string{"good", "great", "best", "beautiful", "wonderful", "fun", "powerful", "heart", "funny", "performances",
		"solid", "entertaining", "enjoyable", "beautifully", "moving", "refreshing", "engrossing", "captures", "touching"}
	require.GreaterOrEqual(t, countIn(neg, negWords...), 3, "negative list %v", neg)
	require.GreaterOrEqual(t, countIn(pos, posWords...), 3, "positive list %v", pos)
	require.Zero(t, countIn(pos, negWords...), "positive list %v", pos)
	require.Zero(t, countIn(neg, posWords...), "negative list %v", neg)
	empty := c.classify("")
	for term, v := range neg {
		require.Less(t, v, 0.0)
		if !strings.Contains(term, " ") { // a one-word text is exactly that term
			require.InDelta(t, c.classify(term)-empty, v, 1e-4, term)
		}
	}
	for _, v := range pos {
		require.Greater(t, v, 0.0)
	}

	// One text: the terms that decided it, adding up to its log-odds.
	text := "a dull , lifeless film , but the acting is wonderful"
	code, stdout, stderr = runSentiment(t, "", "-load", path, "-explain", "-predict", text)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(stdout, "\n")
	require.Equal(t, strings.TrimSpace(mustPredict(t, path, text)), lines[0])
	var z, e, sum float64
	var n int
	_, err := fmt.Sscanf(lines[1], "log-odds of positive %g; empty text %g; %d known terms, contributions adding up to %g", &z, &e, &n, &sum)
	require.NoError(t, err, lines[1])
	require.InDelta(t, c.classify(text), z, 1e-4)
	require.InDelta(t, z, e+sum, 1e-3, "logistic regression is additive")
	pos, neg = explained(t, stdout)
	require.Contains(t, neg, "dull")
	require.Contains(t, pos, "wonderful")
	require.LessOrEqual(t, len(pos)+len(neg), n)
}

// TestExplainMLP checks the occlusion explanation of an MLP against the
// model itself: a term's listed effect is the log-odds of the one-term
// text minus that of the empty text.
func TestExplainMLP(t *testing.T) {
	o, c, _ := mrModel(t, "-model", "mlp", "-hidden", "8", "-epochs", "2", "-train-limit", "4000", "-ngrams", "1")
	require.Nil(t, c.linear())
	path := filepath.Join(t.TempDir(), "mlp.bin")
	require.NoError(t, saveModel(path, c.model, clitest.Must(modelMeta(o, c.vec)), 0.5, "fold 1 of 10"))
	code, stdout, stderr := runSentiment(t, "", "-load", path, "-explain", "-top", "10")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "through the whole network")
	pos, neg := explained(t, stdout)
	require.Len(t, pos, 10)
	require.Len(t, neg, 10)
	empty := c.classify("")
	for term, v := range pos {
		require.InDelta(t, c.classify(term)-empty, v, 1e-4, term)
	}
	for term, v := range neg {
		require.InDelta(t, c.classify(term)-empty, v, 1e-4, term)
	}

	text := "a dull and lifeless film"
	z, _, cols, contrib := c.contributions(text)
	require.Len(t, contrib, len(cols))
	for k, col := range cols {
		without := strings.Join(strings.Fields(strings.ReplaceAll(" "+text+" ", " "+c.termName(int(col))+" ", " ")), " ")
		require.InDelta(t, z-c.classify(without), contrib[k], 1e-4, "term %q", c.termName(int(col)))
	}
	code, stdout, stderr = runSentiment(t, "", "-load", path, "-explain", "-predict", text)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "not additive")
}

// TestTrainSaveEval trains on MR's fixed split through run, saves, and
// checks that -eval of the saved model gives the same test accuracy.
func TestTrainSaveEval(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "mr.bin")
	plot := filepath.Join(dir, "curves.png")
	code, stdout, stderr := runSentiment(t, "", "-format", "polarity", "-data", mrDir, "-folds", "0", "-epochs", "2",
		"-quiet", "-json", "-save", model, "-plot", plot)
	require.Equal(t, 0, code, stderr)
	res := lastJSON(t, stdout)
	require.Equal(t, "fold 1 of 10", res["test_split"])
	require.Equal(t, 1068.0, res["test_samples"])
	require.Greater(t, res["test_accuracy"].(float64), 0.7)
	require.Contains(t, stdout, "confusion matrix")
	png, err := os.ReadFile(plot)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")))

	code, stdout2, stderr := runSentiment(t, "", "-load", model, "-eval", "-data", mrDir, "-json")
	require.Equal(t, 0, code, stderr)
	ev := lastJSON(t, stdout2)
	require.Equal(t, res["test_accuracy"], ev["test_accuracy"])
	require.Equal(t, res["test_loss"], ev["test_loss"])
	require.Equal(t, "polarity", ev["format"], "the format comes from the model file")

	// Same seed, same result, to the last digit.
	code, stdout3, stderr := runSentiment(t, "", "-format", "polarity", "-data", mrDir, "-folds", "0", "-epochs", "2",
		"-quiet", "-json", "-save", "-")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, res["test_loss"], lastJSON(t, stdout3)["test_loss"])
}

func mustMarshal(t *testing.T, c *classifier) []byte {
	t.Helper()
	b, err := c.vec.MarshalBinary()
	require.NoError(t, err)
	return b
}

func TestLoadRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	junk := writeFile(t, dir, "junk.bin", "not a model")
	code, _, stderr := runSentiment(t, "", "-load", junk, "-predict", "hello")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "not a descent model file")
	code, _, stderr = runSentiment(t, "", "-load", filepath.Join(dir, "missing.bin"), "-predict", "hello")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "missing.bin")

	// A model file of another program: no vectoriser in its metadata.
	dense, err := nn.NewSequential(nn.Shape{4}, rand.New(rand.NewPCG(1, 0)), layers.NewDense(4, 2))
	require.NoError(t, err)
	other := filepath.Join(dir, "other.bin")
	require.NoError(t, nn.SaveFile(other, dense, map[string][]byte{"dataset": []byte("xor")}))
	code, _, stderr = runSentiment(t, "", "-load", other, "-explain")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, other+": no vectoriser in the model's metadata")

	// A vectoriser that does not fit the model.
	o, c, _ := mrModel(t, "-epochs", "1", "-train-limit", "500")
	require.NoError(t, nn.SaveFile(other, dense, map[string][]byte{metaVectorizer: mustMarshal(t, c)}))
	code, _, stderr = runSentiment(t, "", "-load", other, "-predict", "fine")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "does not read bags of words")

	// A bag-of-words model whose input is one column wider than the
	// vectoriser's rows, and one with three outputs instead of two logits.
	cols := c.vec.Cols()
	for _, tc := range []struct {
		rows, dim int
		want      string
	}{
		{cols + 1, 2, fmt.Sprintf("datasets: vectoriser: file does not match the model: the vectoriser gives %d columns (%d terms), the model takes input [%d]",
			cols, c.vec.Vocab().Len(), cols+1)},
		{cols, 3, fmt.Sprintf("nn: file does not match the model: the model takes input [%d] and gives output [3]; want output [2] (two logits: negative, positive)", cols)},
	} {
		bag, err := nn.NewSequential(nn.Shape{tc.rows}, rand.New(rand.NewPCG(1, 0)), layers.NewEmbeddingBag(tc.rows, tc.dim, layers.BagSum))
		require.NoError(t, err)
		require.NoError(t, nn.SaveFile(other, bag, map[string][]byte{metaVectorizer: mustMarshal(t, c)}))
		code, stdout, stderr := runSentiment(t, "", "-load", other, "-predict", "fine")
		require.Equal(t, 1, code, stderr)
		require.Empty(t, stdout)
		require.Contains(t, stderr, other+": "+tc.want)
	}
	bad := filepath.Join(dir, "bad-vectorizer.bin")
	require.NoError(t, saveModel(bad, c.model, clitest.Must(modelMeta(o, c.vec)), 0.5, "test"))
	m, meta, err := nn.LoadFile(bad, layers.FromSpec)
	require.NoError(t, err)
	meta[metaVectorizer] = meta[metaVectorizer][:len(meta[metaVectorizer])-1]
	require.NoError(t, nn.SaveFile(bad, m, meta))
	code, _, stderr = runSentiment(t, "", "-load", bad, "-predict", "fine")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, bad+": datasets: vectoriser:")
}

// synthetic returns n label<TAB>text lines whose class shows in one of a
// few sentiment words among neutral ones, drawn from a seeded generator.
func synthetic(n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 3))
	pos := []string{"good", "great", "wonderful", "superb"}
	neg := []string{"bad", "awful", "boring", "dull"}
	neutral := []string{"the", "film", "a", "story", "actors", "plot", "music", "of", "and", "it"}
	var b strings.Builder
	for i := range n {
		label, words := i%2, neg
		if label == 1 {
			words = pos
		}
		fmt.Fprintf(&b, "%d\t", label)
		for range 6 {
			fmt.Fprintf(&b, "%s ", neutral[rng.IntN(len(neutral))])
		}
		fmt.Fprintf(&b, "%s %s\n", words[rng.IntN(len(words))], neutral[rng.IntN(len(neutral))])
	}
	return b.String()
}

// TestTSVFormat trains on label<TAB>text files: a folder with train.tsv
// and test.tsv (tested on test.tsv), and a single file (cross-validated).
func TestTSVFormat(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "train.tsv", synthetic(400, 1))
	writeFile(t, dir, "test.tsv.gz", gzipString(t, synthetic(200, 2)))
	model := filepath.Join(dir, "tsv.bin")
	code, stdout, stderr := runSentiment(t, "", "-format", "tsv", "-data", dir, "-quiet", "-json", "-save", model)
	require.Equal(t, 0, code, stderr)
	res := lastJSON(t, stdout)
	require.Equal(t, "test", res["test_split"])
	require.Equal(t, 200.0, res["test_samples"])
	require.Greater(t, res["test_accuracy"].(float64), 0.95)
	require.Equal(t, "positive", strings.Fields(mustPredict(t, model, "a superb story"))[0])
	require.Equal(t, "negative", strings.Fields(mustPredict(t, model, "the plot was dull"))[0])

	code, stdout, stderr = runSentiment(t, "", "-format", "tsv", "-data", filepath.Join(dir, "train.tsv"), "-folds", "4", "-quiet", "-json")
	require.Equal(t, 0, code, stderr)
	res = lastJSON(t, stdout)
	require.Len(t, res["fold_accuracies"], 4)
	require.Greater(t, res["test_accuracy"].(float64), 0.95)

	// A single file has no test split: 10-fold cross-validation by default,
	// which saves no model.
	file := filepath.Join(dir, "train.tsv")
	code, stdout, stderr = runSentiment(t, "", "-format", "tsv", "-data", file, "-quiet", "-json")
	require.Equal(t, 0, code, stderr)
	require.Len(t, lastJSON(t, stdout)["fold_accuracies"], 10)
	code, _, stderr = runSentiment(t, "", "-format", "tsv", "-data", file, "-quiet", "-save", model)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "add -folds 0")
	code, stdout, stderr = runSentiment(t, "", "-format", "tsv", "-data", file, "-folds", "0", "-quiet", "-json", "-save", model)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "fold 1 of 10", lastJSON(t, stdout)["test_split"])
}
