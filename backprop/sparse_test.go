package backprop_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// bagSet is a datasets.SparseDataset of documents held as sorted column
// lists, with optional values and a class label each.
type bagSet struct {
	cols   int
	docs   [][]int32
	vals   [][]float32 // nil for a multi-hot set
	labels []float32
}

var _ datasets.SparseDataset = (*bagSet)(nil)

func (s *bagSet) Len() int              { return len(s.docs) }
func (s *bagSet) Cols() int             { return s.cols }
func (s *bagSet) TargetShape() nn.Shape { return nil }

func (s *bagSet) SparseBatch(x *nn.Sparse, y *tensor.Dense, idx []int) {
	x.Reset(s.cols, s.vals != nil)
	ys := y.Float32s()
	if len(ys) != len(idx) {
		panic(fmt.Sprintf("bagSet: %d targets for %d samples", len(ys), len(idx)))
	}
	for b, i := range idx {
		var v []float32
		if s.vals != nil {
			v = s.vals[i]
		}
		x.AppendRow(s.docs[i], v)
		ys[b] = s.labels[i]
	}
}

// split returns the first n documents and the rest as two sets.
func (s *bagSet) split(n int) (*bagSet, *bagSet) {
	a, b := *s, *s
	a.docs, b.docs = s.docs[:n], s.docs[n:]
	a.labels, b.labels = s.labels[:n], s.labels[n:]
	if s.vals != nil {
		a.vals, b.vals = s.vals[:n], s.vals[n:]
	}
	return &a, &b
}

// dense returns the set as a TensorDataset of [N, cols] rows.
func (s *bagSet) dense(t testing.TB) *datasets.TensorDataset {
	x := nn.NewTensor(len(s.docs), s.cols)
	xs := x.Float32s()
	for i, doc := range s.docs {
		for k, c := range doc {
			v := float32(1)
			if s.vals != nil {
				v = s.vals[i][k]
			}
			xs[i*s.cols+int(c)] = v
		}
	}
	d, err := datasets.NewTensorDataset(x, nn.FromSlice(slices.Clone(s.labels), len(s.labels)))
	require.NoError(t, err)
	return d
}

// sentimentBags draws n documents over vocab terms. Terms 0–4 are
// "positive", 5–9 "negative", the rest neutral. A document of class 1
// holds two to four draws of positive terms, of class 0 of negative ones,
// plus 10 to 30 neutral terms; with probability 0.1 it also holds one term
// of the other class (so fewer than 1 % of the documents are ambiguous). With counts the values are counts in [1, 4].
func sentimentBags(n, vocab int, counts bool, seed uint64) *bagSet {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &bagSet{cols: vocab}
	for range n {
		label := rng.IntN(2)
		set := map[int32]bool{}
		signal := func(cls int) int32 { return int32((1-cls)*5 + rng.IntN(5)) }
		for range 2 + rng.IntN(3) {
			set[signal(label)] = true
		}
		if rng.Float64() < 0.1 {
			set[signal(1-label)] = true
		}
		for range 10 + rng.IntN(21) {
			set[int32(10+rng.IntN(vocab-10))] = true
		}
		doc := make([]int32, 0, len(set))
		for c := range set {
			doc = append(doc, c)
		}
		slices.Sort(doc)
		s.docs = append(s.docs, doc)
		s.labels = append(s.labels, float32(label))
		if counts {
			v := make([]float32, len(doc))
			for k := range v {
				v[k] = float32(1 + rng.IntN(4))
			}
			s.vals = append(s.vals, v)
		}
	}
	return s
}

func bagModel(t testing.TB, vocab int, seed uint64, ls ...nn.Layer) *nn.Sequential {
	t.Helper()
	m, err := nn.NewSequential(nn.Shape{vocab}, rand.New(rand.NewPCG(seed, 0)), ls...)
	require.NoError(t, err)
	return m
}

func bagAdam(t testing.TB, m *nn.Sequential, lr float64) *optim.Adam {
	t.Helper()
	cfg := optim.DefaultAdam()
	cfg.LR = lr
	o, err := optim.NewAdam(m.Params(), cfg)
	require.NoError(t, err)
	return o
}

// TestFitSparseSentiment trains bag-of-words logistic regression and a
// bag-of-words MLP with FitSparse and Adam on a synthetic corpus of 2,000
// documents over 500 terms, and requires > 95 % held-out accuracy (a
// majority-class guess scores about 50 %).
func TestFitSparseSentiment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts bool
		layers func() []nn.Layer
	}{
		{"logistic/multi-hot/sum", false, func() []nn.Layer { return []nn.Layer{layers.NewEmbeddingBag(500, 2, layers.BagSum)} }},
		{"logistic/counts/mean", true, func() []nn.Layer { return []nn.Layer{layers.NewEmbeddingBag(500, 2, layers.BagMean)} }},
		{"mlp/multi-hot/sum", false, func() []nn.Layer {
			return []nn.Layer{layers.NewEmbeddingBag(500, 16, layers.BagSum), layers.NewReLU(), layers.NewDense(16, 2)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			train, test := sentimentBags(2000, 500, tc.counts, 7).split(1600)
			m := bagModel(t, 500, 3, tc.layers()...)
			tr := &backprop.Trainer{Model: m, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: bagAdam(t, m, 0.05)}
			_, acc0 := backprop.EvaluateSparse(m, backprop.NewSoftmaxCrossEntropy(), test, 0)
			h, err := backprop.FitSparse(tr, train, backprop.Config{
				Epochs: 8, BatchSize: 32, Shuffle: true, Seed: 1, SparseValidation: test, ValBatchSize: 100,
			})
			require.NoError(t, err)
			require.Len(t, h.Epochs, 8)
			last, _ := h.Last()
			loss, acc := backprop.EvaluateSparse(m, backprop.NewSoftmaxCrossEntropy(), test, 64)
			require.Less(t, acc0, 0.7, "the untrained model should not already know the labels")
			require.Greater(t, acc, 0.95)
			require.Equal(t, last.ValAccuracy, acc, "the validation pass is EvaluateSparse")
			require.InDelta(t, last.ValLoss, loss, 1e-6)
			require.Greater(t, last.Accuracy, 0.95)
			require.Less(t, last.Loss, h.Epochs[0].Loss)
		})
	}
}

// TestFitSparseMatchesFit trains the same model twice from the same seeds,
// once with FitSparse on sparse rows and once with Fit on their dense form:
// the loop is shared and, with sorted columns, the two forward and backward
// passes add the same terms in the same order, so every loss and weight
// must agree bit for bit. Validation is given in the other form each time.
func TestFitSparseMatchesFit(t *testing.T) {
	for _, tc := range []struct {
		mode   layers.BagMode
		counts bool
		layers func() []nn.Layer
	}{
		{layers.BagSum, false, func() []nn.Layer { return []nn.Layer{layers.NewEmbeddingBag(120, 2, layers.BagSum)} }},
		{layers.BagMean, true, func() []nn.Layer { return []nn.Layer{layers.NewEmbeddingBag(120, 2, layers.BagMean)} }},
		{layers.BagSum, true, func() []nn.Layer {
			return []nn.Layer{layers.NewEmbeddingBag(120, 4, layers.BagSum), layers.NewTanh(), layers.NewDense(4, 2)}
		}},
		{layers.BagMean, false, func() []nn.Layer {
			return []nn.Layer{layers.NewEmbeddingBag(120, 4, layers.BagMean), layers.NewTanh(), layers.NewDense(4, 2)}
		}},
	} {
		t.Run(fmt.Sprintf("%s/counts=%v/%d-layers", tc.mode, tc.counts, len(tc.layers())), func(t *testing.T) {
			data := sentimentBags(300, 120, tc.counts, 11)
			train, val := data.split(250)
			cfg := backprop.Config{Epochs: 3, BatchSize: 16, Shuffle: true, Seed: 5, ValBatchSize: 20}
			run := func(sparse bool) (backprop.History, *nn.Sequential) {
				m := bagModel(t, 120, 4, tc.layers()...)
				tr := &backprop.Trainer{Model: m, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: bagAdam(t, m, 0.01), ClipNorm: 1, L2: 1e-3}
				c := cfg
				var h backprop.History
				var err error
				if sparse {
					c.Validation = val.dense(t)
					h, err = backprop.FitSparse(tr, train, c)
				} else {
					c.SparseValidation = val
					h, err = backprop.Fit(tr, train.dense(t), c)
				}
				require.NoError(t, err)
				return h, m
			}
			hs, ms := run(true)
			hd, md := run(false)
			require.Len(t, hs.Epochs, 3)
			for i := range hs.Epochs {
				a, b := hs.Epochs[i], hd.Epochs[i]
				require.Equal(t, a.Loss, b.Loss, "epoch %d", i)
				require.Equal(t, a.Accuracy, b.Accuracy, "epoch %d", i)
				require.Equal(t, a.ValLoss, b.ValLoss, "epoch %d", i)
				require.Equal(t, a.ValAccuracy, b.ValAccuracy, "epoch %d", i)
			}
			require.Less(t, hs.Epochs[2].Loss, hs.Epochs[0].Loss)
			for i, p := range ms.Params() {
				require.Equal(t, md.Params()[i].Data(), p.Data(), "param %d", i)
			}
		})
	}
}

// TestStepSparseMatchesStep takes steps on random bags (with empty rows and
// unsorted columns) through StepSparse and through Step on their dense
// form, from the same weights: the losses and weights must agree to
// float32 rounding.
func TestStepSparseMatchesStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const vocab = 60
	mk := func() (*backprop.Trainer, *nn.Sequential) {
		m := bagModel(t, vocab, 9, layers.NewEmbeddingBag(vocab, 6, layers.BagMean), layers.NewReLU(), layers.NewDense(6, 3))
		return &backprop.Trainer{Model: m, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: bagAdam(t, m, 0.01), L1: 1e-4}, m
	}
	ts, ms := mk()
	td, md := mk()
	for step := range 5 {
		n := 1 + step*3
		var x nn.Sparse
		x.Reset(vocab, true)
		dense := nn.NewTensor(n, vocab)
		y := nn.NewTensor(n)
		for i := range n {
			var cols []int32
			var vals []float32
			if i%4 != 3 {
				for _, c := range rng.Perm(vocab)[:1+rng.IntN(15)] {
					v := float32(0.5 + rng.Float64())
					cols, vals = append(cols, int32(c)), append(vals, v)
					dense.Float32s()[i*vocab+c] = v
				}
			}
			x.AppendRow(cols, vals)
			y.Float32s()[i] = float32(rng.IntN(3))
		}
		ls, err := ts.StepSparse(&x, y)
		require.NoError(t, err)
		ld, err := td.Step(dense, y)
		require.NoError(t, err)
		require.InDelta(t, ld, ls, 1e-6, "step %d", step)
		require.InDeltaSlice(t, td.Output().Float32s(), ts.Output().Float32s(), 1e-6, "step %d", step)
	}
	require.Equal(t, 5, ts.Steps())
	for i, p := range ms.Params() {
		require.InDeltaSlice(t, md.Params()[i].Data(), p.Data(), 1e-5, "param %d", i)
	}
}

// TestStepSparseZeroAllocs: a warmed-up StepSparse allocates nothing, for
// logistic regression and for a bag MLP, with and without the regularising
// and clipping steps.
func TestStepSparseZeroAllocs(t *testing.T) {
	data := sentimentBags(64, 1000, true, 3)
	idx := make([]int, 64)
	for i := range idx {
		idx[i] = i
	}
	var x nn.Sparse
	y := nn.NewTensor(64)
	data.SparseBatch(&x, y, idx)
	for _, ls := range [][]nn.Layer{
		{layers.NewEmbeddingBag(1000, 2, layers.BagSum)},
		{layers.NewEmbeddingBag(1000, 16, layers.BagMean), layers.NewReLU(), layers.NewDense(16, 2)},
	} {
		m := bagModel(t, 1000, 1, ls...)
		adam := bagAdam(t, m, 1e-3)
		for _, tr := range []*backprop.Trainer{
			{Model: m, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: adam},
			{Model: m, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: adam, ClipValue: 1, ClipNorm: 5, L1: 1e-5, L2: 1e-4},
		} {
			_, err := tr.StepSparse(&x, y)
			require.NoError(t, err)
			allocs := testing.AllocsPerRun(50, func() {
				if _, err := tr.StepSparse(&x, y); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs, m.Layers[0].Spec().String())
		}
	}
}

// TestStepSparseNaN: a non-finite gradient from a sparse batch is reported
// like a dense one, and no update is made.
func TestStepSparseNaN(t *testing.T) {
	bag := layers.NewEmbeddingBag(10, 2, layers.BagSum)
	m := bagModel(t, 10, 1, bag)
	tr := &backprop.Trainer{Model: m, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: bagAdam(t, m, 0.1)}
	var x nn.Sparse
	x.Reset(10, true)
	x.AppendRow([]int32{3}, []float32{float32(math.Inf(1))})
	before := slices.Clone(bag.W().Data())
	_, err := tr.StepSparse(&x, nn.FromSlice([]float32{1}, 1))
	require.ErrorContains(t, err, "backprop: step 1: ")
	require.ErrorContains(t, err, "parameters not updated")
	require.Equal(t, before, bag.W().Data())
}

// spike passes values forward unchanged and sends back dY with one element
// replaced by a non-finite value.
type spike struct {
	nn.Layer // Build, Params and Spec of an identity-shaped layer
	at       int
	v        float32
	dx       nn.Buffer
}

func (s *spike) Forward(x *tensor.Dense, train bool) *tensor.Dense { return x }
func (s *spike) Backward(dy *tensor.Dense) *tensor.Dense {
	dx := s.dx.Get(dy.Shape()...)
	copy(dx.Float32s(), dy.Float32s())
	dx.Float32s()[s.at] = s.v
	return dx
}

// TestStepSparseNonFiniteGradientNamed checks that a single non-finite
// gradient element is found wherever it lies in a table (including the
// tail after the last group of four) and named by its index.
func TestStepSparseNonFiniteGradientNamed(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		col, j int
		v      float32
	}{{0, 0, inf}, {2, 1, -inf}, {6, 0, float32(math.NaN())}, {6, 1, inf}, {3, 0, inf}} {
		bag := layers.NewEmbeddingBag(7, 2, layers.BagSum) // 14 weights: three groups of four and a tail of two
		m := bagModel(t, 7, 1, bag, &spike{Layer: layers.NewTanh(), at: tc.j, v: tc.v})
		tr := &backprop.Trainer{Model: m, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: bagAdam(t, m, 0.1)}
		var x nn.Sparse
		x.Reset(7, false)
		x.AppendRow([]int32{int32(tc.col)}, nil)
		before := slices.Clone(bag.W().Data())
		_, err := tr.StepSparse(&x, nn.FromSlice([]float32{1}, 1))
		require.EqualError(t, err, fmt.Sprintf(`backprop: step 1: non-finite gradient in layer 0 (EmbeddingBag) parameter "W": element %d is %g; parameters not updated`, 2*tc.col+tc.j, tc.v))
		require.Equal(t, before, bag.W().Data())
	}
}

func TestFitSparseErrors(t *testing.T) {
	data := sentimentBags(20, 30, false, 1)
	bagged := bagModel(t, 30, 1, layers.NewEmbeddingBag(30, 2, layers.BagSum))
	denseFirst := bagModel(t, 30, 1, layers.NewDense(30, 2))
	narrow := bagModel(t, 29, 1, layers.NewEmbeddingBag(29, 2, layers.BagSum))
	trainer := func(m *nn.Sequential) *backprop.Trainer {
		return &backprop.Trainer{Model: m, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: bagAdam(t, m, 0.1)}
	}
	ok := backprop.Config{Epochs: 1, BatchSize: 4}
	withVal := func(v datasets.SparseDataset) backprop.Config {
		c := ok
		c.SparseValidation = v
		return c
	}
	both := withVal(data)
	both.Validation = data.dense(t)
	for _, tc := range []struct {
		tr   *backprop.Trainer
		d    datasets.SparseDataset
		cfg  backprop.Config
		want string
	}{
		{nil, data, ok, "backprop: FitSparse: no Trainer or no Model"},
		{trainer(bagged), data, backprop.Config{Epochs: 1}, "backprop: FitSparse: epochs 1 and batch size 0 must be ≥ 1"},
		{trainer(bagged), &bagSet{cols: 30}, ok, "backprop: the training set is empty"},
		{trainer(denseFirst), data, ok, "backprop: the training set is sparse, but the model's first layer Dense does not read sparse input"},
		{trainer(narrow), data, ok, "backprop: training samples of 30 columns, but the model takes [29]"},
		{trainer(bagged), data, withVal(&bagSet{cols: 31, docs: [][]int32{{1}}, labels: []float32{0}}),
			"backprop: validation samples of 31 columns, but the model takes [30]"},
		{trainer(bagged), data, both, "backprop: FitSparse: set Validation or SparseValidation, not both"},
		{&backprop.Trainer{Model: bagged, Loss: backprop.NewMSE()}, data, ok, "backprop: FitSparse: Trainer has no Optimizer"},
	} {
		_, err := backprop.FitSparse(tc.tr, tc.d, tc.cfg)
		require.EqualError(t, err, tc.want)
	}
	// Fit takes a sparse validation set only for a model that reads it.
	_, err := backprop.Fit(trainer(denseFirst), data.dense(t), withVal(data))
	require.EqualError(t, err, "backprop: the validation set is sparse, but the model's first layer Dense does not read sparse input")
	require.PanicsWithValue(t, "backprop: evaluation samples of 30 columns, but the model takes [29]", func() {
		backprop.EvaluateSparse(narrow, backprop.NewSoftmaxCrossEntropy(), data, 0)
	})
}

// noStep is an optimizer that does nothing, to time a step without the
// update.
type noStep struct{ ps []*nn.Param }

func (o noStep) Step()               {}
func (o noStep) LR() float64         { return 0 }
func (o noStep) SetLR(float64)       {}
func (o noStep) Params() []*nn.Param { return o.ps }

// BenchmarkEmbeddingBagStep times one StepSparse (ZeroGrad, forward,
// softmax cross-entropy, backward, the NaN check and the optimizer's
// update) on multi-hot batches of 64 reviews, at the scale of the PyTorch
// reference runs on IMDB (/work/shared/bench/SENTIMENT.md):
//
//   - logistic: uni+bigram logistic regression, EmbeddingBag(200000→2),
//     300 distinct terms per review (PyTorch: 17,671 samples/s on one
//     thread, 23,010 on two);
//   - mlp64: unigram MLP, EmbeddingBag(30000→64) → ReLU → Dense(64→2), 138
//     terms per review (PyTorch with dense Adam: 3,857 samples/s on one
//     thread; with SparseAdam 17,718).
//
// The noop variants skip the optimizer's update, to show its share. Terms
// are drawn uniformly, which touches more cache lines than real text.
func BenchmarkEmbeddingBagStep(b *testing.B) {
	const batch = 64
	for _, bc := range []struct {
		name               string
		vocab, nnz, hidden int // hidden 0: logistic regression
		adam               bool
	}{
		{"logistic", 200_000, 300, 0, true},
		{"logistic/noop", 200_000, 300, 0, false},
		{"mlp64", 30_000, 138, 64, true},
		{"mlp64/noop", 30_000, 138, 64, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ls := []nn.Layer{layers.NewEmbeddingBag(bc.vocab, 2, layers.BagSum)}
			if bc.hidden > 0 {
				ls = []nn.Layer{layers.NewEmbeddingBag(bc.vocab, bc.hidden, layers.BagSum), layers.NewReLU(), layers.NewDense(bc.hidden, 2)}
			}
			m := bagModel(b, bc.vocab, 1, ls...)
			var opt optim.Optimizer = noStep{m.Params()}
			if bc.adam {
				opt = bagAdam(b, m, 1e-3)
			}
			tr := &backprop.Trainer{Model: m, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: opt}
			xs, ys := benchBatches(bc.vocab, bc.nnz, batch, 16)
			for i := range xs {
				if _, err := tr.StepSparse(&xs[i], ys[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			start, steps := time.Now(), 0
			for ; b.Loop(); steps++ {
				if _, err := tr.StepSparse(&xs[steps%len(xs)], ys[steps%len(xs)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(steps*batch)/time.Since(start).Seconds(), "samples/s")
		})
	}
}

// benchBatches draws k multi-hot batches of n rows, each of nnz distinct
// uniform columns out of vocab, with random binary labels.
func benchBatches(vocab, nnz, n, k int) ([]nn.Sparse, []*tensor.Dense) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]nn.Sparse, k)
	ys := make([]*tensor.Dense, k)
	cols := make([]int32, 0, nnz)
	for i := range xs {
		xs[i].Reset(vocab, false)
		ys[i] = nn.NewTensor(n)
		for r := range n {
			seen := map[int32]bool{}
			cols = cols[:0]
			for len(cols) < nnz {
				if c := int32(rng.IntN(vocab)); !seen[c] {
					seen[c] = true
					cols = append(cols, c)
				}
			}
			xs[i].AppendRow(cols, nil)
			ys[i].Float32s()[r] = float32(rng.IntN(2))
		}
	}
	return xs, ys
}

// Bag-of-words logistic regression: an EmbeddingBag with two outputs,
// trained with FitSparse on a corpus of sparse rows and scored with
// EvaluateSparse on held-out documents.
func ExampleFitSparse() {
	train, test := sentimentBags(1200, 300, false, 42).split(1000)
	rng := rand.New(rand.NewPCG(1, 0))
	model, err := nn.NewSequential(nn.Shape{train.Cols()}, rng, layers.NewEmbeddingBag(train.Cols(), 2, layers.BagSum))
	if err != nil {
		panic(err)
	}
	cfg := optim.DefaultAdam()
	cfg.LR = 0.02
	adam, err := optim.NewAdam(model.Params(), cfg)
	if err != nil {
		panic(err)
	}
	trainer := &backprop.Trainer{Model: model, Loss: backprop.NewSoftmaxCrossEntropy(), Optimizer: adam}
	hist, err := backprop.FitSparse(trainer, train, backprop.Config{Epochs: 5, BatchSize: 32, Shuffle: true, Seed: 1})
	if err != nil {
		panic(err)
	}
	_, acc := backprop.EvaluateSparse(model, backprop.NewSoftmaxCrossEntropy(), test, 100)
	fmt.Printf("epochs %d, held-out accuracy above 0.95: %v\n", len(hist.Epochs), acc > 0.95)
	// Output: epochs 5, held-out accuracy above 0.95: true
}
