package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// result is the final JSON line.
type result struct {
	Model           string    `json:"model"`
	Hidden          int       `json:"hidden,omitempty"`
	Dropout         float64   `json:"dropout,omitempty"`
	Format          string    `json:"format"`
	NGrams          int       `json:"ngrams"`
	Vectorizer      string    `json:"vectorizer"`
	MinCount        int       `json:"min_count"`
	MaxVocab        int       `json:"max_vocab"`
	Epochs          int       `json:"epochs"`
	Batch           int       `json:"batch"`
	Optimizer       string    `json:"optimizer"`
	LR              float64   `json:"lr"`
	WeightDecay     float64   `json:"weight_decay"`
	Seed            uint64    `json:"seed"`
	VocabSize       int       `json:"vocab_size"`
	Params          int       `json:"params"`
	TrainSamples    int       `json:"train_samples"`
	ValSamples      int       `json:"val_samples,omitempty"`
	TestSamples     int       `json:"test_samples"`
	TestSplit       string    `json:"test_split"`
	SamplesPerSec   float64   `json:"train_samples_per_sec"`
	EpochSeconds    []float64 `json:"epoch_seconds"`
	LoadSeconds     float64   `json:"load_seconds"`
	PrepSeconds     float64   `json:"prep_seconds"`
	ValAccuracy     *float64  `json:"val_accuracy,omitempty"`
	TestAccuracy    float64   `json:"test_accuracy"`
	TestAccuracyStd *float64  `json:"test_accuracy_std,omitempty"`
	TestLoss        cli.Float `json:"test_loss"` // null when NaN
	Folds           int       `json:"folds,omitempty"`
	FoldAccuracies  []float64 `json:"fold_accuracies,omitempty"`
	PeakRSSMiB      float64   `json:"peak_rss_mib"`
	GOMAXPROCS      int       `json:"gomaxprocs"`
	Saved           string    `json:"saved,omitempty"`
	EvaluatedLoaded bool      `json:"evaluated_loaded_model,omitempty"`
	SkippedBatches  int       `json:"skipped_batches"`
	ResumedFrom     string    `json:"resumed_from,omitempty"`
	Checkpoint      string    `json:"checkpoint,omitempty"`
}

func newResult(o *options) result {
	r := result{Model: o.model, Format: o.format, NGrams: o.ngrams, Vectorizer: o.vectorizer, MinCount: o.minCount,
		MaxVocab: o.vocab, Epochs: o.epochs, Batch: o.batch, Optimizer: o.optimizer, LR: o.lr,
		WeightDecay: o.weightDecay, Seed: o.seed, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if o.model == "mlp" {
		r.Hidden, r.Dropout = o.hidden, o.dropout
	}
	return r
}

// prepared is a split turned into bags of words, ready for training: the
// texts are no longer needed.
type prepared struct {
	vec               *datasets.Vectorizer
	train, val, test  *datasets.Bags // val is nil without -val
	seconds           float64        // tokenise + vocabulary + vectorise
	trainTexts, texts int            // training texts; all texts vectorised
}

// prepare fits the vectoriser on the training texts (vocabulary and
// document frequencies from them only) and vectorises the three parts.
func prepare(o *options, train, val, test *datasets.Corpus) (*prepared, error) {
	start := time.Now()
	vec, err := datasets.FitVectorizer(train.Texts, datasets.VectorizerConfig{
		NGrams: o.ngrams, MinCount: o.minCount, MaxSize: o.vocab, Weighting: o.weighting})
	if err != nil {
		return nil, err
	}
	p := &prepared{vec: vec, trainTexts: train.Len()}
	for _, part := range []struct {
		c   *datasets.Corpus
		dst **datasets.Bags
	}{{train, &p.train}, {val, &p.val}, {test, &p.test}} {
		if part.c == nil {
			continue
		}
		if *part.dst, err = vec.Transform(part.c.Texts, part.c.Labels); err != nil {
			return nil, err
		}
		p.texts += part.c.Len()
	}
	p.seconds = time.Since(start).Seconds()
	return p, nil
}

// splitVal holds out n documents of c, drawn at random with the seed, for
// validation. Both parts keep the corpus order.
func splitVal(c *datasets.Corpus, n int, seed uint64) (train, val *datasets.Corpus, err error) {
	if n == 0 {
		return c, nil, nil
	}
	if n >= c.Len() {
		return nil, nil, fmt.Errorf("-val %d leaves no training text out of %d", n, c.Len())
	}
	perm := rand.New(rand.NewPCG(seed, 2)).Perm(c.Len())
	tr, va := perm[:c.Len()-n], perm[c.Len()-n:]
	slices.Sort(tr)
	slices.Sort(va)
	return c.Select(tr), c.Select(va), nil
}

// buildModel returns the model for rows of cols columns:
//
//	logreg  EmbeddingBag(cols, 2, sum)
//	mlp     EmbeddingBag(cols, hidden, sum) → ReLU → [Dropout] → Dense(hidden, 2)
func buildModel(o *options, cols int) (*nn.Sequential, error) {
	rng := rand.New(rand.NewPCG(o.seed, 1))
	if o.model == "logreg" {
		return nn.NewSequential(nn.Shape{cols}, rng, layers.NewEmbeddingBag(cols, 2, layers.BagSum))
	}
	ls := []nn.Layer{layers.NewEmbeddingBag(cols, o.hidden, layers.BagSum), layers.NewReLU()}
	if o.dropout > 0 {
		ls = append(ls, layers.NewDropout(o.dropout))
	}
	ls = append(ls, layers.NewDense(o.hidden, 2))
	return nn.NewSequential(nn.Shape{cols}, rng, ls...)
}

// runEnv is what a training run needs besides the flags: the context whose
// cancellation stops it between batches, and, for a run that can be
// resumed (not a fold of a cross-validation), the checkpoint folder.
type runEnv struct {
	ctx    context.Context
	ck     cli.Checkpointing // zero for no checkpoint
	meta   map[string][]byte // the model's metadata (modelMeta), for the checkpoints
	resume *backprop.Checkpoint
}

// trained is the outcome of train.
type trained struct {
	hist    backprop.History
	skipped int // batches skipped for a non-finite loss or gradient
}

// train trains model on p.train (validating on p.val after every epoch),
// drawing progress bars on bars (nil: none) and the per-epoch table on
// table (nil: none). With r.ck it saves checkpoints (after every epoch
// with -checkpoint or -resume, else only when stopped), and with
// r.resume it carries on from that checkpoint.
func train(r runEnv, o *options, model *nn.Sequential, p *prepared, bars, table io.Writer) (trained, error) {
	opt, err := cli.NewOptimizer(o.optimizer, model.Params(), o.lr, o.weightDecay)
	if err != nil {
		return trained{}, err
	}
	tr := &backprop.Trainer{Model: model, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: opt, SkipNonFinite: o.skipNonFinite}
	cfg := backprop.Config{Epochs: o.epochs, BatchSize: o.batch, Shuffle: true, Seed: o.seed, ValBatchSize: 1000}
	if p.val != nil {
		cfg.SparseValidation = p.val
	}
	if bars != nil {
		cfg.Callbacks = append(cfg.Callbacks, backprop.NewProgressBar(bars))
	}
	if table != nil {
		cfg.Callbacks = append(cfg.Callbacks, backprop.NewLog(table))
	}
	if o.afterBatch != nil {
		cfg.Callbacks = append(cfg.Callbacks, cli.BatchFunc(o.afterBatch))
	}
	if r.ck.Path != "" {
		cfg.Checkpoint, cfg.CheckpointEvery = r.ck.Path, r.ck.Every
		cfg.CheckpointMeta = o.settings().Meta("sentiment", maps.Clone(r.meta))
		cfg.Resume = r.resume
	}
	// A signal stops training only while FitSparse runs; before (reading
	// and vectorising the data) and after (evaluating, saving) it ends the
	// command at once.
	if r.ctx != nil {
		stop, done := cli.Training(r.ctx)
		defer done()
		cfg.Stop = stop
	}
	hist, err := backprop.FitSparse(tr, p.train, cfg)
	return trained{hist, tr.Skipped()}, err
}

// settings returns the flags that decide the result of a training run: a
// checkpoint records them, and -resume requires the same (the data itself
// is checked through the vocabulary built from it).
func (o *options) settings() cli.Settings {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	s := cli.Settings{
		"format": o.format, "vocab": strconv.Itoa(o.vocab), "min-count": strconv.Itoa(o.minCount),
		"ngrams": strconv.Itoa(o.ngrams), "vectorizer": o.vectorizer, "model": o.model, "epochs": strconv.Itoa(o.epochs),
		"batch": strconv.Itoa(o.batch), "optimizer": o.optimizer, "lr": g(o.lr), "weight-decay": g(o.weightDecay),
		"seed": strconv.FormatUint(o.seed, 10), "val": strconv.Itoa(o.val), "train-limit": strconv.Itoa(o.trainLimit),
	}
	if o.model == "mlp" {
		s["hidden"], s["dropout"] = strconv.Itoa(o.hidden), g(o.dropout)
	}
	return s
}

// readResume reads the -resume checkpoint and checks it against the flags
// and against the vectoriser built again from the data (mine is vec
// serialised, as modelMeta records it): a different vocabulary means
// different data (or a different vocabulary setting), which no checkpoint
// can carry on.
func readResume(o *options, vec *datasets.Vectorizer, mine []byte, notes io.Writer) (*backprop.Checkpoint, error) {
	ck, err := cli.ReadCheckpoint(o.resume, "sentiment", o.settings(), notes)
	if err != nil {
		return nil, err
	}
	if saved := ck.Meta[metaVectorizer]; !bytes.Equal(saved, mine) {
		var old datasets.Vectorizer
		what := "cannot be read"
		if old.UnmarshalBinary(saved) == nil {
			what = fmt.Sprintf("has %d terms", old.Vocab().Len())
		}
		return nil, fmt.Errorf("-resume %s: the vocabulary built from the data (%d terms) is not the checkpoint's, which %s: was the data changed?",
			o.resume, vec.Vocab().Len(), what)
	}
	return ck, nil
}

// evaluation is a model's score on a labelled set.
type evaluation struct {
	loss, accuracy float64
	correct, n     int
	confusion      [2][2]int // [true class][predicted class]
}

// evaluate runs m over every row of b in inference mode.
func evaluate(m *nn.Sequential, b *datasets.Bags) evaluation {
	const size = 1000
	var x nn.Sparse
	loss := backprop.NewSoftmaxCrossEntropy()
	var e evaluation
	var lossSum float64
	idx := make([]int, 0, size)
	for lo := 0; lo < b.Len(); lo += size {
		hi := min(lo+size, b.Len())
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		y := nn.NewTensor(len(idx))
		b.SparseBatch(&x, y, idx)
		out := m.ForwardSparse(&x, false)
		lossSum += loss.Forward(out, y) * float64(len(idx))
		z := out.Float32s()
		for i, t := range y.Float32s() {
			pred := 0
			if z[2*i+1] > z[2*i] {
				pred = 1
			}
			e.confusion[int(t)][pred]++
			if pred == int(t) {
				e.correct++
			}
		}
	}
	e.n = b.Len()
	e.loss = lossSum / float64(e.n)
	e.accuracy = float64(e.correct) / float64(e.n)
	return e
}

// freeTexts returns the memory of texts nobody references any more to the
// system, so that the peak RSS of a run is set by its vectorising, not by
// training with the texts still in the heap.
func freeTexts() {
	runtime.GC()
	debug.FreeOSMemory()
}

func trainCommand(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	start := time.Now()
	c, err := loadCorpora(o, stderr)
	if err != nil {
		return err
	}
	res := newResult(o)
	res.LoadSeconds = cli.Round(time.Since(start).Seconds(), 3)
	var bars io.Writer
	if !o.quiet {
		bars = stderr
	}
	if c.test == nil && o.format == "tsv" && !o.set["folds"] {
		// No test split: cross-validate, as for MR.
		if o.set["save"] && o.save != "-" {
			return fmt.Errorf("%s has no test split, so it is cross-validated and no model is saved: add -folds 0 to train on 9/10 of it, test on the rest and save", c.where)
		}
		if o.checkpoint != "" || o.resume != "" {
			return fmt.Errorf("%s has no test split, so it is cross-validated, which cannot be checkpointed: add -folds 0 to train on 9/10 of it, test on the rest", c.where)
		}
		o.folds, o.save = 10, "-"
	}
	if o.folds >= 2 {
		return crossValidate(ctx, o, c, res, bars, stdout)
	}

	trainC, testC, testName, err := testSplit(c)
	if err != nil {
		return err
	}
	trainC = firstN(trainC, o.trainLimit)
	trainC, valC, err := splitVal(trainC, o.val, o.seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d training, %d validation, %d %s %s from %s (read in %.1fs)\n", o.format,
		trainC.Len(), o.val, testC.Len(), testName, c.noun, c.where, res.LoadSeconds)
	p, err := prepare(o, trainC, valC, testC)
	if err != nil {
		return err
	}
	// The texts are vectorised: drop them before training.
	c, trainC, valC, testC = nil, nil, nil, nil
	freeTexts()

	res.VocabSize, res.PrepSeconds = p.vec.Vocab().Len(), cli.Round(p.seconds, 3)
	res.TrainSamples, res.TestSamples, res.TestSplit = p.train.Len(), p.test.Len(), testName
	if p.val != nil {
		res.ValSamples = p.val.Len()
	}
	fmt.Fprintf(stdout, "vectoriser: %s, %s, %d terms (min count %d), %d texts in %.2fs (%.0f MiB of bags)\n",
		ngramsName(o.ngrams), o.vectorizer, res.VocabSize, o.minCount, p.texts, p.seconds, bagsMiB(p))
	model, err := buildModel(o, p.vec.Cols())
	if err != nil {
		return err
	}
	res.Params = nn.NumParams(model.Params())
	fmt.Fprintf(stdout, "model %s (%d parameters), %s lr %g, batch %d, %d epochs, GOMAXPROCS %d\n",
		modelName(o), res.Params, o.optimizer, o.lr, o.batch, o.epochs, res.GOMAXPROCS)
	// The vectoriser is serialised once, for the checkpoints, the -resume
	// check and the saved model.
	meta, err := modelMeta(o, p.vec)
	if err != nil {
		return err
	}
	r := runEnv{ctx: ctx, meta: meta}
	if o.resume != "" {
		if r.resume, err = readResume(o, p.vec, meta[metaVectorizer], stderr); err != nil {
			return err
		}
		res.ResumedFrom = o.resume
		cli.PrintResume(stdout, r.resume)
	}
	if r.ck, err = cli.PrepareCheckpoint("sentiment", o.checkpoint, o.resume, defaultCheckpoint, stderr); err != nil {
		return err
	}
	if r.ck.Every > 0 {
		res.Checkpoint = r.ck.Dir
	}
	out, err := train(r, o, model, p, bars, stdout)
	if err != nil {
		return cli.Stopped(ctx, err, cli.ResumeCommand("sentiment", o.args, r.ck.Dir))
	}
	hist := out.hist
	res.SkippedBatches = out.skipped
	if out.skipped > 0 {
		fmt.Fprintf(stdout, "skipped %d batches with a non-finite loss or gradient\n", out.skipped)
	}
	res.Epochs = len(hist.Epochs)
	res.SamplesPerSec, res.EpochSeconds = cli.Throughput(hist, p.train.Len())
	if last, ok := hist.Last(); ok && p.val != nil {
		v := last.ValAccuracy
		res.ValAccuracy = &v
	}
	e := evaluate(model, p.test)
	res.TestAccuracy, res.TestLoss = e.accuracy, cli.Float(cli.Round(e.loss, 6))
	printScore(stdout, testName, e)
	if err := writeCurves(o, hist); err != nil {
		return err
	}
	if o.save != "-" {
		if err := saveModel(o.save, model, meta, e.accuracy, testName); err != nil {
			return err
		}
		res.Saved = o.save
		fmt.Fprintf(stdout, "model saved to %s\n", o.save)
	}
	return finish(o, &res, stdout)
}

// finish prints the JSON line when asked for.
func finish(o *options, res *result, stdout io.Writer) error {
	res.PeakRSSMiB = cli.Round(cli.PeakRSSMiB(), 1)
	if !o.json {
		return nil
	}
	return cli.WriteJSONLine(stdout, res)
}

func modelName(o *options) string {
	if o.model == "mlp" {
		s := fmt.Sprintf("mlp: EmbeddingBag(V,%d) → ReLU", o.hidden)
		if o.dropout > 0 {
			s += fmt.Sprintf(" → Dropout(%g)", o.dropout)
		}
		return s + fmt.Sprintf(" → Dense(%d,2)", o.hidden)
	}
	return "logreg: EmbeddingBag(V,2)"
}

func writeCurves(o *options, hist backprop.History) error {
	if o.csv != "" {
		if err := cli.WriteCSV(o.csv, hist); err != nil {
			return err
		}
	}
	if o.plot != "" {
		if err := cli.WritePlot(o.plot, fmt.Sprintf("%s %s", o.format, o.model), hist); err != nil {
			return err
		}
	}
	return nil
}

// saveModel writes the model with, in its metadata, everything needed to
// classify raw text (meta, from modelMeta, which it leaves unchanged: the
// vectoriser, the labels, the format and model kind) and its score on the
// test split.
func saveModel(path string, m *nn.Sequential, meta map[string][]byte, acc float64, testName string) error {
	meta = maps.Clone(meta)
	meta["test_accuracy"] = []byte(strconv.FormatFloat(acc, 'g', -1, 64))
	meta["test_split"] = []byte(testName)
	return nn.SaveFile(path, m, meta)
}

// modelMeta returns the metadata a model (or a checkpoint, which -load
// reads as a model) needs to classify raw text: the vectoriser, the labels,
// the format and model kind.
func modelMeta(o *options, vec *datasets.Vectorizer) (map[string][]byte, error) {
	vb, err := vec.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		metaVectorizer: vb,
		metaLabels:     []byte(strings.Join(datasets.SentimentClasses(), ",")),
		metaFormat:     []byte(o.format),
		metaModel:      []byte(o.model),
	}, nil
}

// Keys of the model file's metadata.
const (
	metaVectorizer = "vectorizer"
	metaLabels     = "labels"
	metaFormat     = "format"
	metaModel      = "model"
)

// testSplit returns the training and test texts of c: its own test (or
// dev) split, or, when it has none, the fixed split of the reference
// scripts, whose test set is fold 0 of 10 (named "fold 1 of 10").
func testSplit(c *corpora) (train, test *datasets.Corpus, name string, err error) {
	if c.test != nil {
		return c.train, c.test, c.testName, nil
	}
	train, test, err = c.train.Fold(10, 0)
	return train, test, "fold 1 of 10", err
}

// printScore prints the accuracy and loss on the test split (named split)
// and the confusion matrix:
//
//	test accuracy 91.20% (22799/25000), test loss 0.2306
//	confusion matrix (rows: true class, columns: predicted)
//	            negative  positive
//	  negative     11390      1110
//	  positive      1091     11409
func printScore(w io.Writer, split string, e evaluation) {
	name, note := "test", ""
	switch split {
	case "dev", "test":
		name = split
	default:
		note = " [" + split + "]"
	}
	fmt.Fprintf(w, "%s accuracy %.2f%% (%d/%d), %s loss %.4f%s\n", name, 100*e.accuracy, e.correct, e.n, name, e.loss, note)
	fmt.Fprintf(w, "confusion matrix (rows: true class, columns: predicted)\n%10s %9s %9s\n", "", "negative", "positive")
	for i, row := range e.confusion {
		fmt.Fprintf(w, "%10s %9d %9d\n", datasets.SentimentClasses()[i], row[0], row[1])
	}
}

func ngramsName(n int) string {
	if n == 2 {
		return "uni+bigrams"
	}
	return "unigrams"
}

func bagsMiB(p *prepared) float64 {
	n := p.train.Bytes() + p.test.Bytes()
	if p.val != nil {
		n += p.val.Bytes()
	}
	return float64(n) / (1 << 20)
}

// crossValidate runs k-fold cross-validation over the training texts (for
// MR, all of them): for each fold, a vectoriser fitted on the other folds
// (less -val), a model trained on them and tested on the fold. It reports
// every fold's accuracy, their mean and standard deviation.
func crossValidate(ctx context.Context, o *options, c *corpora, res result, bars, stdout io.Writer) error {
	k := o.folds
	if c.train.Len() < k {
		return fmt.Errorf("%d-fold cross-validation of %d texts", k, c.train.Len())
	}
	fmt.Fprintf(stdout, "%s: %d %s from %s (read in %.1fs), %d-fold cross-validation\n",
		o.format, c.train.Len(), c.noun, c.where, res.LoadSeconds, k)
	fmt.Fprintf(stdout, "model %s, %s lr %g, batch %d, %d epochs, %s, %s, GOMAXPROCS %d\n",
		modelName(o), o.optimizer, o.lr, o.batch, o.epochs, ngramsName(o.ngrams), o.vectorizer, res.GOMAXPROCS)
	var hists []backprop.History
	var accs, losses, vals []float64
	var prep, trainSecs float64
	var trained int
	res.TestSplit = fmt.Sprintf("%d-fold cross-validation", k)
	for f := range k {
		trainC, testC, err := c.train.Fold(k, f)
		if err != nil {
			return err
		}
		trainC = firstN(trainC, o.trainLimit)
		trainC, valC, err := splitVal(trainC, o.val, o.seed)
		if err != nil {
			return err
		}
		p, err := prepare(o, trainC, valC, testC)
		if err != nil {
			return fmt.Errorf("fold %d: %w", f+1, err)
		}
		model, err := buildModel(o, p.vec.Cols())
		if err != nil {
			return err
		}
		out, err := train(runEnv{ctx: ctx}, o, model, p, bars, nil)
		if err != nil {
			return cli.Stopped(ctx, fmt.Errorf("fold %d: %w", f+1, err), "")
		}
		hist := out.hist
		res.SkippedBatches += out.skipped
		e := evaluate(model, p.test)
		hists = append(hists, hist)
		accs, losses = append(accs, e.accuracy), append(losses, e.loss)
		prep += p.seconds
		var secs float64
		for _, ep := range hist.Epochs {
			secs += ep.Seconds
			trained += p.train.Len()
		}
		trainSecs += secs
		val := ""
		if last, ok := hist.Last(); ok && p.val != nil {
			vals = append(vals, last.ValAccuracy)
			val = fmt.Sprintf(", validation accuracy %.2f%%", 100*last.ValAccuracy)
		}
		if f == 0 {
			res.VocabSize, res.Params = p.vec.Vocab().Len(), nn.NumParams(model.Params())
			res.TrainSamples, res.TestSamples = p.train.Len(), p.test.Len()
			if p.val != nil {
				res.ValSamples = p.val.Len()
			}
		}
		fmt.Fprintf(stdout, "fold %2d/%d: %d training, %d test, %d terms, prep %.2fs, %d epochs in %.2fs%s, test accuracy %.2f%%\n",
			f+1, k, p.train.Len(), p.test.Len(), p.vec.Vocab().Len(), p.seconds, len(hist.Epochs), secs, val, 100*e.accuracy)
	}
	mean, std := cli.MeanStd(accs)
	meanLoss, _ := cli.MeanStd(losses)
	res.Folds = k
	res.FoldAccuracies = accs
	res.TestAccuracy, res.TestAccuracyStd, res.TestLoss = mean, &std, cli.Float(cli.Round(meanLoss, 6))
	res.PrepSeconds = cli.Round(prep, 3)
	if trainSecs > 0 {
		res.SamplesPerSec = math.Round(float64(trained) / trainSecs)
	}
	meanHist := cli.MeanHistory(hists)
	_, res.EpochSeconds = cli.Throughput(meanHist, 0)
	if len(vals) > 0 {
		v, _ := cli.MeanStd(vals)
		res.ValAccuracy = &v
	}
	fmt.Fprintln(stdout, "mean over the folds:")
	if err := printTable(stdout, meanHist); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d-fold cross-validation accuracy %.2f%% ± %.2f (mean ± standard deviation over the folds), test loss %.4f\n",
		k, 100*mean, 100*std, meanLoss)
	if err := writeCurves(o, meanHist); err != nil {
		return err
	}
	return finish(o, &res, stdout)
}

// printTable prints a history as backprop.Log does during training.
func printTable(w io.Writer, h backprop.History) error {
	l := backprop.NewLog(w)
	for _, e := range h.Epochs {
		if _, err := l.OnEpochEnd(backprop.EpochInfo{EpochStats: e}); err != nil {
			return err
		}
	}
	return nil
}
