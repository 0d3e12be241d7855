package layers_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// bagTestBatch draws n random bags over vocab columns: every third row (and
// row 1 when n > 1) is empty when withEmpty, the others hold 1 to maxLen
// distinct columns in random (unsorted) order. With weighted the values are
// drawn from [0.5, 2), else the batch is multi-hot. It returns the batch
// and its dense form [n, vocab].
func bagTestBatch(rng *rand.Rand, n, vocab, maxLen int, weighted, withEmpty bool) (*nn.Sparse, *tensor.Dense) {
	var s nn.Sparse
	s.Reset(vocab, weighted)
	dense := nn.NewTensor(n, vocab)
	ds := dense.Float32s()
	for i := range n {
		var cols []int32
		var vals []float32
		if !(withEmpty && (i%3 == 2 || i == 1)) {
			perm := rng.Perm(vocab)
			for _, c := range perm[:1+rng.IntN(min(maxLen, vocab))] {
				v := float32(1)
				if weighted {
					v = float32(0.5 + 1.5*rng.Float64())
					vals = append(vals, v)
				}
				cols = append(cols, int32(c))
				ds[i*vocab+c] = v
			}
		}
		s.AppendRow(cols, vals)
	}
	return &s, dense
}

func bagTestLayer(t testing.TB, vocab, dim int, mode layers.BagMode) *layers.EmbeddingBag {
	t.Helper()
	l := layers.NewEmbeddingBag(vocab, dim, mode)
	_, err := l.Build(nn.Shape{vocab}, rand.New(rand.NewPCG(uint64(vocab), uint64(dim))))
	require.NoError(t, err)
	return l
}

// TestEmbeddingBagByHand checks both modes and both input forms on one bag
// worked out by hand: W rows w1 = (1, 2), w3 = (−1, 4), values 2 and 1.
func TestEmbeddingBagByHand(t *testing.T) {
	for _, tc := range []struct {
		mode layers.BagMode
		want []float32 // two bags: {1: 2, 3: 1} and {} (empty)
		dW   []float32 // for dY = [(1, −1), (5, 5)]
	}{
		// y = 2·w1 + w3 + b = (2 − 1, 4 + 4) + (0.5, −0.5)
		{layers.BagSum, []float32{1.5, 7.5, 0.5, -0.5}, []float32{0, 0, 2, -2, 0, 0, 1, -1}},
		// y = (2·w1 + w3)/3 + b; dW_c += x_c · dY / 3
		{layers.BagMean, []float32{1.0/3 + 0.5, 8.0/3 - 0.5, 0.5, -0.5}, []float32{0, 0, 2.0 / 3, -2.0 / 3, 0, 0, 1.0 / 3, -1.0 / 3}},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			l := bagTestLayer(t, 4, 2, tc.mode)
			copy(l.W().Data(), []float32{9, 9, 1, 2, 9, 9, -1, 4})
			copy(l.B().Data(), []float32{0.5, -0.5})
			var s nn.Sparse
			s.Reset(4, true)
			s.AppendRow([]int32{3, 1}, []float32{1, 2})
			s.AppendRow(nil, nil)
			dense := nn.FromSlice([]float32{0, 2, 0, 1, 0, 0, 0, 0}, 2, 4)
			dy := nn.FromSlice([]float32{1, -1, 5, 5}, 2, 2)
			for _, sparse := range []bool{true, false} {
				nn.ZeroGrads(l.Params())
				var y *tensor.Dense
				if sparse {
					y = l.ForwardSparse(&s, true)
				} else {
					y = l.Forward(dense, true)
				}
				require.Equal(t, []int{2, 2}, []int(y.Shape()))
				require.InDeltaSlice(t, tc.want, y.Float32s(), 1e-6, "sparse %v", sparse)
				dx := l.Backward(dy)
				require.Equal(t, sparse, dx == nil, "sparse %v: input gradient", sparse)
				require.InDeltaSlice(t, tc.dW, l.W().GradData(), 1e-6, "sparse %v", sparse)
				require.Equal(t, []float32{6, 4}, l.B().GradData(), "db = Σ_i dY_i")
			}
		})
	}
}

// TestEmbeddingBagGradCheck checks the dense path (input and parameter
// gradients) against finite differences. BagMean's bags are non-empty:
// at S = 0 the mean jumps (an empty bag gives b, a bag of ε·e_p gives W_p).
func TestEmbeddingBagGradCheck(t *testing.T) {
	for _, tc := range []struct {
		mode     layers.BagMode
		n        int
		weighted bool
		empty    bool
	}{
		{layers.BagSum, 1, true, false},
		{layers.BagSum, 5, true, true},
		{layers.BagSum, 4, false, true},
		{layers.BagMean, 1, false, false},
		{layers.BagMean, 5, true, false},
		{layers.BagMean, 4, false, false},
	} {
		t.Run(fmt.Sprintf("%s/n=%d/weighted=%v", tc.mode, tc.n, tc.weighted), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.mode)))
			l := bagTestLayer(t, 9, 3, tc.mode)
			// Make W and b O(1), so that the check is not all below the floor.
			for _, p := range l.Params() {
				for i := range p.Data() {
					p.Data()[i] = float32(2*rng.Float64() - 1)
				}
			}
			_, x := bagTestBatch(rng, tc.n, 9, 5, tc.weighted, tc.empty)
			res := backprop.CheckLayer(l, x, true, backprop.CheckOptions{Seed: 3})
			require.Less(t, res.MaxRelErr, 1e-2, "%v", res)
			require.Equal(t, tc.n*9+9*3+3, res.Checked)
		})
	}
}

// TestEmbeddingBagSparseMatchesDense runs the same bags through
// ForwardSparse and the dense Forward and compares outputs and parameter
// gradients; it also checks that a sparse Backward touches only the rows
// its batch names and reports exactly those.
func TestEmbeddingBagSparseMatchesDense(t *testing.T) {
	for _, mode := range []layers.BagMode{layers.BagSum, layers.BagMean} {
		for _, weighted := range []bool{false, true} {
			for _, nd := range [][2]int{{1, 5}, {2, 2}, {7, 1}, {33, 5}, {33, 2}} {
				n, dim := nd[0], nd[1]
				t.Run(fmt.Sprintf("%s/weighted=%v/n=%d/dim=%d", mode, weighted, n, dim), func(t *testing.T) {
					const vocab = 50
					rng := rand.New(rand.NewPCG(uint64(n), uint64(dim)))
					l := bagTestLayer(t, vocab, dim, mode)
					s, x := bagTestBatch(rng, n, vocab, 12, weighted, n > 1)
					dy := denseTestTensor(rng, -1, 1, n, dim)

					// Sparse, with W's gradient pre-filled: untouched rows must keep it.
					before := make([]float32, vocab*dim)
					for i := range before {
						before[i] = float32(rng.Float64())
					}
					copy(l.W().GradData(), before)
					l.B().ZeroGrad()
					ys := slices.Clone(l.ForwardSparse(s, true).Float32s())
					require.Nil(t, l.Backward(dy))
					gotW, gotB := slices.Clone(l.W().GradData()), slices.Clone(l.B().GradData())

					want := map[int32]bool{}
					for _, c := range s.Indices {
						want[c] = true
					}
					touched := l.TouchedRows()
					require.NotNil(t, touched)
					require.Len(t, touched, len(want))
					for _, c := range touched {
						require.True(t, want[c], "row %d reported but not in the batch", c)
					}
					for c := range vocab {
						if !want[int32(c)] {
							require.Equal(t, before[c*dim:(c+1)*dim], gotW[c*dim:(c+1)*dim], "untouched row %d changed", c)
						}
					}

					// Dense from the same pre-filled gradient.
					copy(l.W().GradData(), before)
					l.B().ZeroGrad()
					yd := l.Forward(x, true).Float32s()
					require.NotNil(t, l.Backward(dy))
					require.Nil(t, l.TouchedRows(), "after a dense Backward every row may be touched")
					require.InDeltaSlice(t, yd, ys, 1e-6)
					require.InDeltaSlice(t, l.W().GradData(), gotW, 1e-6)
					require.InDeltaSlice(t, l.B().GradData(), gotB, 1e-6)
				})
			}
		}
	}
}

// TestEmbeddingBagTouchedRowsReset checks that each sparse Backward reports
// the rows of its own batch only.
func TestEmbeddingBagTouchedRowsReset(t *testing.T) {
	l := bagTestLayer(t, 10, 2, layers.BagSum)
	require.Nil(t, l.TouchedRows())
	var s nn.Sparse
	s.Reset(10, false)
	s.AppendRow([]int32{4, 1}, nil)
	s.AppendRow([]int32{1, 7}, nil)
	dy := nn.NewTensor(2, 2)
	l.ForwardSparse(&s, true)
	l.Backward(dy)
	require.Equal(t, []int32{4, 1, 7}, l.TouchedRows())
	s.Reset(10, false)
	s.AppendRow([]int32{7, 2}, nil)
	s.AppendRow(nil, nil)
	l.ForwardSparse(&s, true)
	l.Backward(dy)
	require.Equal(t, []int32{7, 2}, l.TouchedRows())
	s.Reset(10, false)
	s.AppendRow(nil, nil)
	l.ForwardSparse(&s, true)
	l.Backward(nn.NewTensor(1, 2))
	require.Equal(t, []int32{}, l.TouchedRows())
}

// TestEmbeddingBagInModel checks ForwardSparse through a Sequential MLP
// against the dense Forward, and that Backward ends in nil.
func TestEmbeddingBagInModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	bag := layers.NewEmbeddingBag(0, 8, layers.BagMean)
	m, err := nn.NewSequential(nn.Shape{40}, rng, bag, layers.NewReLU(), layers.NewDense(8, 3))
	require.NoError(t, err)
	require.Equal(t, 40, bag.Vocab())
	require.Equal(t, 40*8+8+8*3+3, nn.NumParams(m.Params()))
	s, x := bagTestBatch(rng, 6, 40, 10, true, true)
	want := slices.Clone(m.Forward(x, true).Float32s())
	got := m.ForwardSparse(s, true)
	require.InDeltaSlice(t, want, got.Float32s(), 1e-6)
	require.Nil(t, m.Backward(denseTestTensor(rng, -1, 1, 6, 3)))
}

func TestEmbeddingBagInit(t *testing.T) {
	a := bagTestLayer(t, 400, 3, layers.BagSum)
	b := bagTestLayer(t, 400, 3, layers.BagSum)
	require.Equal(t, a.W().Data(), b.W().Data())
	require.Equal(t, a.B().Data(), b.B().Data())
	bound := 1 / math.Sqrt(400)
	for _, p := range a.Params() {
		var maxAbs float64
		for _, v := range p.Data() {
			maxAbs = max(maxAbs, math.Abs(float64(v)))
		}
		require.LessOrEqual(t, maxAbs, bound, p.Name)
		require.Greater(t, maxAbs, 0.6*bound, "%s should spread over U(±1/√vocab)", p.Name)
	}
	c := layers.NewEmbeddingBag(400, 3, layers.BagSum)
	var fanIn, fanOut int
	c.Init = func(w []float32, in, out int, _ *rand.Rand) { fanIn, fanOut = in, out }
	_, err := c.Build(nn.Shape{400}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	require.Equal(t, []int{400, 3}, []int{fanIn, fanOut})
}

func TestEmbeddingBagBuildAndPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		l    *layers.EmbeddingBag
		in   nn.Shape
		want string
	}{
		{layers.NewEmbeddingBag(10, 0, layers.BagSum), nn.Shape{10}, "0 outputs"},
		{layers.NewEmbeddingBag(10, 2, layers.BagMode(5)), nn.Shape{10}, "unknown mode 5"},
		{layers.NewEmbeddingBag(10, 2, layers.BagSum), nn.Shape{11}, "EmbeddingBag(10→2) expects 10 columns, got 11"},
		{layers.NewEmbeddingBag(10, 2, layers.BagSum), nn.Shape{2, 5}, "flat input"},
		{layers.NewEmbeddingBag(-1, 2, layers.BagSum), nn.Shape{10}, "vocabulary of -1"},
	} {
		_, err := tc.l.Build(tc.in, rng)
		require.ErrorContains(t, err, tc.want)
	}
	fresh := layers.NewEmbeddingBag(10, 2, layers.BagSum)
	require.Contains(t, denseTestPanic(func() { fresh.ForwardSparse(&nn.Sparse{}, true) }), "before Build")

	l := bagTestLayer(t, 10, 2, layers.BagMean)
	var s nn.Sparse
	s.Reset(12, false)
	s.AppendRow([]int32{1}, nil)
	require.Equal(t, "EmbeddingBag(10→2, mean): sparse batch of 12 columns, want 10",
		denseTestPanic(func() { l.ForwardSparse(&s, true) }))
	s.Reset(10, false)
	s.AppendRow([]int32{3, 10}, nil)
	require.Equal(t, "EmbeddingBag(10→2, mean): nn: sparse batch: column 10 at position 1 outside [0, 10)",
		denseTestPanic(func() { l.ForwardSparse(&s, true) }))
	s.Reset(10, false)
	require.Contains(t, denseTestPanic(func() { l.ForwardSparse(&s, true) }), "without rows")
	require.Contains(t, denseTestPanic(func() { l.Forward(nn.NewTensor(2, 9), true) }), "EmbeddingBag(10→2, mean)")
	l.Forward(nn.NewTensor(2, 10), true)
	require.Contains(t, denseTestPanic(func() { l.Backward(nn.NewTensor(3, 2)) }), "[3 2]")
}

func TestEmbeddingBagZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, c := range []struct {
		mode     layers.BagMode
		dim      int
		weighted bool
	}{{layers.BagSum, 4, true}, {layers.BagMean, 4, false}, {layers.BagSum, 2, false}, {layers.BagMean, 2, true}} {
		mode := c.mode
		l := bagTestLayer(t, 300, c.dim, mode)
		s, x := bagTestBatch(rng, 16, 300, 40, c.weighted, true)
		dy := denseTestTensor(rng, -1, 1, 16, c.dim)
		sparse := func() {
			l.ForwardSparse(s, true)
			l.Backward(dy)
			l.TouchedRows()
		}
		dense := func() {
			l.Forward(x, true)
			l.Backward(dy)
		}
		sparse()
		require.Zero(t, testing.AllocsPerRun(20, sparse), mode)
		dense()
		require.Zero(t, testing.AllocsPerRun(20, dense), mode)
	}
}

// paramsOnly hides a layer's input gradient from the gradient checker: the
// input of an Embedding holds token ids, which cannot be perturbed.
type paramsOnly struct{ nn.Layer }

func (p paramsOnly) Backward(dy *tensor.Dense) *tensor.Dense {
	p.Layer.Backward(dy)
	return nil
}

func embeddingTestIDs(rng *rand.Rand, vocab int, shape ...int) *tensor.Dense {
	x := nn.NewTensor(shape...)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(rng.IntN(vocab))
	}
	return x
}

func TestEmbedding(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	l := layers.NewEmbedding(5, 3)
	out, err := l.Build(nn.Shape{4}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	require.Equal(t, nn.Shape{4, 3}, out)
	w := l.W().Data()
	// Y[i, t] = W[x_it], and a repeated id gets both gradients.
	x := nn.FromSlice([]float32{0, 4, 4, 2, 1, 1, 1, 3}, 2, 4)
	y := l.Forward(x, true)
	require.Equal(t, []int{2, 4, 3}, []int(y.Shape()))
	for k, id := range x.Float32s() {
		require.Equal(t, w[int(id)*3:int(id)*3+3], y.Float32s()[k*3:k*3+3], "position %d", k)
	}
	dy := denseTestTensor(rng, -1, 1, 2, 4, 3)
	dx := l.Backward(dy)
	require.Equal(t, []int{2, 4}, []int(dx.Shape()))
	require.Equal(t, make([]float32, 8), dx.Float32s())
	g, d := l.W().GradData(), dy.Float32s()
	for j := range 3 {
		require.Equal(t, d[j], g[0*3+j])
		require.InDelta(t, d[1*3+j]+d[2*3+j], g[4*3+j], 1e-7)
		require.InDelta(t, d[4*3+j]+d[5*3+j]+d[6*3+j], g[1*3+j], 1e-6)
		require.Equal(t, d[7*3+j], g[3*3+j])
		require.Equal(t, d[3*3+j], g[2*3+j])
	}

	// N(0, 1) by default, reproducible.
	big := layers.NewEmbedding(1000, 10)
	_, err = big.Build(nn.Shape{1}, rand.New(rand.NewPCG(2, 2)))
	require.NoError(t, err)
	var sum, sq float64
	for _, v := range big.W().Data() {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	require.InDelta(t, 0, sum/1e4, 0.05)
	require.InDelta(t, 1, sq/1e4, 0.05)
}

func TestEmbeddingGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{1, 3} {
		l := layers.NewEmbedding(6, 4)
		_, err := l.Build(nn.Shape{5}, rand.New(rand.NewPCG(1, 1)))
		require.NoError(t, err)
		x := embeddingTestIDs(rng, 6, n, 5)
		res := backprop.CheckLayer(paramsOnly{l}, x, true, backprop.CheckOptions{Seed: 4})
		require.Less(t, res.MaxRelErr, 1e-2, "%v", res)
		require.Equal(t, 24, res.Checked)
	}
}

func TestEmbeddingBuildAndPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	_, err := layers.NewEmbedding(0, 4).Build(nn.Shape{3}, rng)
	require.ErrorContains(t, err, "vocabulary 0 and width 4 must be ≥ 1")
	_, err = layers.NewEmbedding(10, 4).Build(nn.Shape{3, 2}, rng)
	require.ErrorContains(t, err, "sequence of token ids [T], got [3 2]")

	l := layers.NewEmbedding(10, 2)
	_, err = l.Build(nn.Shape{3}, rng)
	require.NoError(t, err)
	for _, tc := range []struct {
		bad  float32
		want string
	}{
		{10, "Embedding(10→2): token id 10 at [1 2] is not an integer in [0, 10)"},
		{-1, "token id -1 at [1 2]"},
		{2.5, "token id 2.5 at [1 2]"},
		{float32(math.NaN()), "token id NaN at [1 2]"},
		{1e30, "token id 1e+30 at [1 2]"},
	} {
		x := nn.FromSlice([]float32{0, 1, 2, 3, 4, tc.bad}, 2, 3)
		require.Contains(t, denseTestPanic(func() { l.Forward(x, true) }), tc.want)
	}
	require.Contains(t, denseTestPanic(func() { l.Forward(nn.NewTensor(2, 4), true) }), "Embedding(10→2)")
}

func TestEmbeddingZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	l := layers.NewEmbedding(100, 8)
	_, err := l.Build(nn.Shape{12}, rng)
	require.NoError(t, err)
	x := embeddingTestIDs(rng, 100, 4, 12)
	dy := denseTestTensor(rng, -1, 1, 4, 12, 8)
	step := func() {
		l.Forward(x, true)
		l.Backward(dy)
	}
	step()
	require.Zero(t, testing.AllocsPerRun(20, step))
}

// An EmbeddingBag with two outputs is logistic regression on bags of words:
// each bag adds the rows of W its words name, times their counts, plus b.
func ExampleEmbeddingBag() {
	bag := layers.NewEmbeddingBag(4, 2, layers.BagSum) // vocabulary: good, bad, film, not
	if _, err := bag.Build(nn.Shape{4}, rand.New(rand.NewPCG(1, 2))); err != nil {
		panic(err)
	}
	copy(bag.W().Data(), []float32{
		0, 1, // good: votes for class 1 (positive)
		1, 0, // bad
		0, 0, // film
		0.5, 0, // not
	})
	copy(bag.B().Data(), []float32{0.25, 0})

	var batch nn.Sparse
	batch.Reset(4, true)
	batch.AppendRow([]int32{0, 2}, []float32{2, 1}) // "good good film"
	batch.AppendRow([]int32{3, 0}, []float32{1, 1}) // "not good"
	batch.AppendRow(nil, nil)                       // an empty review: just b
	y := bag.ForwardSparse(&batch, true)
	fmt.Println("logits =", y.Float32s(), y.Shape())

	bag.Backward(nn.FromSlice([]float32{1, -1, 0, 0, 0, 0}, 3, 2))
	fmt.Println("rows with a gradient:", bag.TouchedRows())
	fmt.Println("dW =", bag.W().GradData())
	// Output:
	// logits = [0.25 2 0.75 1 0.25 0] (3, 2)
	// rows with a gradient: [0 2 3]
	// dW = [2 -2 0 0 1 -1 0 0]
}
