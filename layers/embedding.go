package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/internal/gemm"
	"github.com/descent-ml/descent/nn"
)

// This file holds the two lookup-table layers of text models:
//
//   - [EmbeddingBag] reads a bag of words (a sparse row of term weights) and
//     returns the weighted sum, or mean, of the rows of W it names, plus a
//     bias. On its own it is logistic regression on bag-of-words features.
//   - [Embedding] reads a sequence of token ids and returns their rows of W.

var (
	_ nn.SparseLayer     = (*EmbeddingBag)(nil)
	_ nn.ParamBackwarder = (*EmbeddingBag)(nil)
	_ nn.Layer           = (*Embedding)(nil)
	_ nn.ParamBackwarder = (*Embedding)(nil)
)

// BagMode says how an [EmbeddingBag] reduces the rows of its bag.
type BagMode int

const (
	// BagSum adds the rows, each times its value: y = Σ_k v_k·W[c_k] + b.
	BagSum BagMode = iota
	// BagMean divides that sum by the sum of the values: for a multi-hot
	// bag (every value 1) the mean of the rows, as PyTorch's
	// EmbeddingBag(mode="mean"); for term counts the mean over the
	// document's tokens, as in fastText.
	BagMean
)

// String returns "sum" or "mean".
func (m BagMode) String() string {
	switch m {
	case BagSum:
		return "sum"
	case BagMean:
		return "mean"
	}
	return fmt.Sprintf("BagMode(%d)", int(m))
}

// EmbeddingBag maps a bag of words to a vector of dim values without ever
// building the bag's dense form. A bag is one row of an [nn.Sparse] batch,
// the columns c_k (term ids in [0, vocab)) with values v_k (1 for a
// multi-hot batch, else counts or TF-IDF weights). For row i,
//
//	s_i = Σ_k v_k · W[c_k]          (the rows of W the bag names, weighted)
//	S_i = Σ_k v_k                   (BagMean only)
//	y_i = s_i + b                   (BagSum)
//	y_i = s_i / S_i + b             (BagMean; y_i = b when S_i = 0)
//
// with W of shape [vocab, dim] and bias b of shape [dim]. This is x_i·W + b
// for the dense bag vector x_i of length vocab, computed in O(nnz · dim)
// instead of O(vocab · dim): with dim = 2 under softmax cross-entropy (or
// dim = 1 under BCE with logits) it is exactly logistic regression on the
// bag-of-words features, and before a ReLU and a [Dense] it is the first
// layer of a bag-of-words MLP.
//
// BagMean divides by the sum of the values, not by their number: the two
// agree for multi-hot bags (the only mean PyTorch allows, which refuses
// per-sample weights with mode "mean"), and dividing by Σ v makes the dense
// form smooth in x, so its gradient can be checked. Values should be
// non-negative; a bag whose values sum to zero (an empty bag) gives y = b.
//
// EmbeddingBag is an [nn.SparseLayer]: as the first layer of a model it
// reads sparse batches through [nn.Sequential.ForwardSparse]. Its dense
// Forward reads the same bags as an [N, vocab] tensor of values (zeros are
// skipped), so that it can be used on small dense data and checked against
// finite differences. Like [Dense], it keeps a reference to its last input
// (dense or sparse) for the backward pass: do not modify the input between
// Forward and the matching Backward.
//
// After a sparse forward pass, Backward adds into the gradient of W only the
// rows the batch named, and [EmbeddingBag.TouchedRows] lists them, so that a
// lazy optimizer (like torch.optim.SparseAdam) could update those rows only.
type EmbeddingBag struct {
	// Init fills W at Build, with fanIn = vocab and fanOut = dim. nil (the
	// default) means U(−1/√vocab, 1/√vocab), PyTorch's initialisation of
	// nn.Linear(vocab, dim). The bias is always drawn from
	// U(−1/√vocab, 1/√vocab), after W, as PyTorch's nn.Linear does.
	Init nn.Initializer

	vocab, dim int
	mode       BagMode
	name       string // "EmbeddingBag(200000→2, sum)", for messages
	w, b       *nn.Param
	params     []*nn.Param
	inS, outS  nn.Shape

	y, dx nn.Buffer
	yt    *tensor.Dense // output of the last forward pass
	x     *tensor.Dense // input of the last dense Forward, or nil
	sx    *nn.Sparse    // input of the last ForwardSparse, or nil
	inv   []float32     // BagMean: 1/S_i of each row of the last forward (0 for S_i = 0)
	g     []float32     // scratch: dY with each row scaled by inv
	shape []int

	bwd     *nn.Sparse // the batch the last Backward differentiated (nil: none, or dense)
	listed  bool       // touched lists the distinct columns of bwd
	touched []int32    // see TouchedRows
	mark    []bool     // mark[c]: c is in touched
}

// NewEmbeddingBag returns a bag layer over vocab terms with dim outputs and
// the given reduction. A vocab of 0 means "take it from the input shape at
// Build".
func NewEmbeddingBag(vocab, dim int, mode BagMode) *EmbeddingBag {
	return &EmbeddingBag{vocab: vocab, dim: dim, mode: mode}
}

// Vocab returns the number of terms (0 before Build if it is inferred).
func (l *EmbeddingBag) Vocab() int { return l.vocab }

// Dim returns the number of outputs per bag.
func (l *EmbeddingBag) Dim() int { return l.dim }

// Mode returns the reduction.
func (l *EmbeddingBag) Mode() BagMode { return l.mode }

// W returns the table, of shape [vocab, dim] (nil before Build).
func (l *EmbeddingBag) W() *nn.Param { return l.w }

// B returns the bias, of shape [dim] (nil before Build).
func (l *EmbeddingBag) B() *nn.Param { return l.b }

// Build checks that the per-sample input is flat with vocab columns (taking
// vocab from it when NewEmbeddingBag was given 0), creates W and b and
// initialises them from rng.
func (l *EmbeddingBag) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	switch {
	case l.dim <= 0:
		return nil, fmt.Errorf("EmbeddingBag: %d outputs, want at least 1", l.dim)
	case l.vocab < 0:
		return nil, fmt.Errorf("EmbeddingBag: vocabulary of %d terms, want at least 1 (or 0 to infer)", l.vocab)
	case l.mode != BagSum && l.mode != BagMean:
		return nil, fmt.Errorf("EmbeddingBag: unknown mode %d, want BagSum or BagMean", int(l.mode))
	case len(in) != 1:
		return nil, fmt.Errorf("EmbeddingBag wants a flat input [vocab], got %v", in)
	case l.vocab != 0 && in[0] != l.vocab:
		return nil, fmt.Errorf("EmbeddingBag(%d→%d) expects %d columns, got %d", l.vocab, l.dim, l.vocab, in[0])
	case in[0] <= 0:
		return nil, fmt.Errorf("EmbeddingBag: input shape %v has no columns", in)
	case rng == nil:
		return nil, fmt.Errorf("EmbeddingBag(%d→%d): Build needs a random source", in[0], l.dim)
	}
	l.vocab = in[0]
	l.name = fmt.Sprintf("EmbeddingBag(%d→%d, %s)", l.vocab, l.dim, l.mode)
	l.w = nn.NewParam("W", l.vocab, l.dim)
	l.b = nn.NewParam("b", l.dim)
	l.params = []*nn.Param{l.w, l.b}
	l.inS, l.outS = nn.Shape{l.vocab}, nn.Shape{l.dim}
	if l.Init != nil {
		l.Init(l.w.Data(), l.vocab, l.dim, rng)
	} else {
		linearUniform(l.w.Data(), l.vocab, l.dim, rng)
	}
	linearUniform(l.b.Data(), l.vocab, l.dim, rng)
	l.yt, l.x, l.sx = nil, nil, nil
	l.bwd, l.listed, l.touched, l.mark = nil, false, nil, nil
	return nn.Shape{l.dim}, nil
}

// linearUniform draws from U(−1/√fanIn, 1/√fanIn), PyTorch's default for
// the weights and bias of nn.Linear(fanIn, fanOut).
func linearUniform(w []float32, fanIn, _ int, rng *rand.Rand) {
	a := 1 / math.Sqrt(float64(fanIn))
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * a)
	}
}

// output zeroes the output buffer for n rows, where the forward passes
// accumulate s_i, and returns its values; for BagMean it also sizes inv.
func (l *EmbeddingBag) output(n int) (ys []float32) {
	l.shape = nn.BatchShape(l.shape, n, l.outS)
	l.yt = l.y.Zeroed(l.shape...)
	if l.mode == BagMean {
		if cap(l.inv) < n {
			l.inv = make([]float32, n)
		}
		l.inv = l.inv[:n]
	}
	return l.yt.Float32s()
}

// finish turns the sums s_i held in ys into y_i = s_i·inv_i + b (BagMean,
// with inv_i = 1/S_i, or 0 for S_i = 0) or y_i = s_i + b (BagSum).
func (l *EmbeddingBag) finish(ys []float32, n int) {
	b, d := l.b.Data(), l.dim
	for i := range n {
		row := ys[i*d : (i+1)*d : (i+1)*d]
		if l.mode == BagMean {
			s := l.inv[i]
			for j := range row {
				row[j] *= s
			}
		}
		for j, bv := range b[:d] {
			row[j] += bv
		}
	}
}

// bagSum adds s = Σ_k v_k·W[c_k] into acc (of length d) for the columns
// c_k in cols with values v_k in vals (all 1 when vals is nil), and returns
// S = Σ_k v_k. It costs O(len(cols)·d). The terms are added in the order of
// cols, as the dense Forward adds them in column order, so that sorted bags
// give bit-identical results on both paths.
func bagSum(acc, w []float32, d int, cols []int32, vals []float32) float32 {
	if vals == nil {
		if d == 2 { // logistic regression: keep the two sums in registers
			a0, a1 := acc[0], acc[1]
			for _, c := range cols {
				r := w[2*int(c) : 2*int(c)+2 : 2*int(c)+2]
				a0 += r[0]
				a1 += r[1]
			}
			acc[0], acc[1] = a0, a1
		} else {
			for _, c := range cols {
				for j, wv := range w[int(c)*d : int(c)*d+d : int(c)*d+d] {
					acc[j] += wv
				}
			}
		}
		return float32(len(cols))
	}
	vals = vals[:len(cols)]
	var sum float32
	if d == 2 {
		a0, a1 := acc[0], acc[1]
		for k, c := range cols {
			v := vals[k]
			sum += v
			r := w[2*int(c) : 2*int(c)+2 : 2*int(c)+2]
			a0 += v * r[0]
			a1 += v * r[1]
		}
		acc[0], acc[1] = a0, a1
		return sum
	}
	for k, c := range cols {
		v := vals[k]
		sum += v
		for j, wv := range w[int(c)*d : int(c)*d+d : int(c)*d+d] {
			acc[j] += v * wv
		}
	}
	return sum
}

// inverse returns 1/sum, or 0 when sum is 0 (an empty bag gives y = b).
func inverse(sum float32) float32 {
	if sum == 0 {
		return 0
	}
	return 1 / sum
}

// ForwardSparse returns y_i = Σ_k v_k·W[c_k] + b (divided by Σ_k v_k before
// adding b for BagMean) for every row of x, in O(nnz·dim). The output has
// shape [x.Rows(), dim] and is owned by the layer. It panics, naming the
// layer, if x is malformed or has other than vocab columns.
func (l *EmbeddingBag) ForwardSparse(x *nn.Sparse, train bool) *tensor.Dense {
	if l.w == nil {
		panic("EmbeddingBag: ForwardSparse called before Build")
	}
	if x.Cols != l.vocab {
		panic(fmt.Sprintf("%s: sparse batch of %d columns, want %d", l.name, x.Cols, l.vocab))
	}
	if err := x.Validate(); err != nil {
		panic(fmt.Sprintf("%s: %v", l.name, err))
	}
	n := x.Rows()
	if n < 1 {
		panic(fmt.Sprintf("%s: sparse batch without rows", l.name))
	}
	ys := l.output(n)
	w, d := l.w.Data(), l.dim
	ptr := x.Indptr
	for i := range n {
		lo, hi := int(ptr[i]), int(ptr[i+1])
		var vals []float32
		if x.Values != nil {
			vals = x.Values[lo:hi]
		}
		sum := bagSum(ys[i*d:(i+1)*d], w, d, x.Indices[lo:hi], vals)
		if l.mode == BagMean {
			l.inv[i] = inverse(sum)
		}
	}
	l.finish(ys, n)
	l.x, l.sx = nil, x
	return l.yt
}

// Forward is the same layer on a dense batch x of shape [N, vocab], each
// row the values of one bag (zeros are skipped): Y = X·W + b, or for
// BagMean y_i = (x_i·W) / Σ_p x_ip + b. The output has shape [N, dim] and is
// owned by the layer.
func (l *EmbeddingBag) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	if l.w == nil {
		panic("EmbeddingBag: Forward called before Build")
	}
	n := nn.CheckInput(l.name, x, l.inS)
	ys := l.output(n)
	xs, w, d, v := x.Float32s(), l.w.Data(), l.dim, l.vocab
	for i := range n {
		acc := ys[i*d : (i+1)*d : (i+1)*d]
		var sum float32
		for p, xv := range xs[i*v : (i+1)*v] {
			if xv == 0 {
				continue
			}
			sum += xv
			for j, wv := range w[p*d : p*d+d : p*d+d] {
				acc[j] += xv * wv
			}
		}
		if l.mode == BagMean {
			l.inv[i] = inverse(sum)
		}
	}
	l.finish(ys, n)
	l.x, l.sx = x, nil
	return l.yt
}

// Backward takes dY of shape [N, dim] and accumulates the parameter
// gradients. With G = dY for BagSum, and g_i = dY_i / S_i (0 when S_i = 0)
// for BagMean:
//
//	db   += Σ_i dY_i
//	dW_c += Σ_i x_ic · g_i          (only the rows c that some bag names)
//
// After ForwardSparse it returns nil (no gradient flows into a bag of
// words) and adds into the rows of W the batch names only (see
// TouchedRows). After a
// dense Forward it returns dX of shape [N, vocab]:
//
//	dX_ip = g_i · W_pᵀ                   (BagSum: dX = dY · Wᵀ)
//	dX_ip = g_i · W_pᵀ − g_i · m_iᵀ      (BagMean, m_i = s_i/S_i = y_i − b)
//
// where the BagMean term comes from ∂(s_i/S_i)/∂x_ip = (W_p − m_i)/S_i.
func (l *EmbeddingBag) Backward(dy *tensor.Dense) *tensor.Dense {
	g := l.backwardParams(dy)
	if l.sx != nil {
		return nil
	}
	n, d, v := dy.Shape()[0], l.dim, l.vocab

	// dX = G · Wᵀ ([N, dim] · [dim, vocab]) ...
	l.shape = nn.BatchShape(l.shape, n, l.inS)
	dx := l.dx.Get(l.shape...)
	dxs := dx.Float32s()
	gemm.Sgemm(false, true, n, v, d, 1, g, d, l.w.Data(), d, 0, dxs, v)
	if l.mode == BagMean {
		// ... − g_i · m_iᵀ in every column of row i, with m_i = y_i − b.
		ys, b := l.yt.Float32s(), l.b.Data()
		for i := range n {
			var c float32
			for j, gv := range g[i*d : (i+1)*d] {
				c += gv * (ys[i*d+j] - b[j])
			}
			row := dxs[i*v : (i+1)*v]
			for p := range row {
				row[p] -= c
			}
		}
	}
	return dx
}

// BackwardParams accumulates db and dW as Backward does, without computing
// dX (see [nn.ParamBackwarder]): after a dense Forward it skips the
// O(N·vocab·dim) product dY·Wᵀ.
func (l *EmbeddingBag) BackwardParams(dy *tensor.Dense) { l.backwardParams(dy) }

// backwardParams accumulates db and dW from dY and returns G, dY with its
// rows scaled by 1/S_i for BagMean (dY itself for BagSum).
func (l *EmbeddingBag) backwardParams(dy *tensor.Dense) []float32 {
	nn.CheckGrad(l.name, dy, l.yt)
	n, d := dy.Shape()[0], l.dim
	dys := dy.Float32s()

	// db += Σ_i dY_i
	db := l.b.GradData()[:d]
	for i := range n {
		for j, v := range dys[i*d : (i+1)*d] {
			db[j] += v
		}
	}

	// G = dY, rows scaled by 1/S_i for BagMean.
	g := dys
	if l.mode == BagMean {
		if cap(l.g) < n*d {
			l.g = make([]float32, n*d)
		}
		g = l.g[:n*d]
		for i := range n {
			s := l.inv[i]
			for j, v := range dys[i*d : (i+1)*d] {
				g[i*d+j] = v * s
			}
		}
	}

	dw := l.w.GradData()
	l.bwd, l.listed = l.sx, false
	if l.sx != nil {
		l.backwardSparse(g, dw)
		return g
	}

	// Dense input: dW_p += Σ_i x_ip · g_i over the non-zero x_ip.
	xs, v := l.x.Float32s(), l.vocab
	for i := range n {
		gi := g[i*d : (i+1)*d : (i+1)*d]
		for p, xv := range xs[i*v : (i+1)*v] {
			if xv == 0 {
				continue
			}
			for j, gv := range gi {
				dw[p*d+j] += xv * gv
			}
		}
	}
	return g
}

// backwardSparse adds dW_c += v_k · g_i for every stored value v_k (column
// c) of every row i of the last sparse batch.
func (l *EmbeddingBag) backwardSparse(g, dw []float32) {
	x, d := l.sx, l.dim
	ptr, cols, vals := x.Indptr, x.Indices, x.Values
	for i := range x.Rows() {
		lo, hi := int(ptr[i]), int(ptr[i+1])
		gi := g[i*d : (i+1)*d : (i+1)*d]
		switch {
		case d == 2 && vals == nil: // logistic regression, multi-hot
			g0, g1 := gi[0], gi[1]
			for _, c := range cols[lo:hi] {
				dr := dw[2*int(c) : 2*int(c)+2 : 2*int(c)+2]
				dr[0] += g0
				dr[1] += g1
			}
		case d == 2:
			g0, g1 := gi[0], gi[1]
			for k, c := range cols[lo:hi] {
				v := vals[lo+k]
				dr := dw[2*int(c) : 2*int(c)+2 : 2*int(c)+2]
				dr[0] += v * g0
				dr[1] += v * g1
			}
		case vals == nil:
			for _, c := range cols[lo:hi] {
				dr := dw[int(c)*d : int(c)*d+d : int(c)*d+d]
				for j, gv := range gi {
					dr[j] += gv
				}
			}
		default:
			for k, c := range cols[lo:hi] {
				v := vals[lo+k]
				dr := dw[int(c)*d : int(c)*d+d : int(c)*d+d]
				for j, gv := range gi {
					dr[j] += v * gv
				}
			}
		}
	}
}

// TouchedRows returns the distinct rows of W, in order of first appearance,
// into whose gradient the last Backward added, when that Backward followed
// a ForwardSparse: the columns of that batch. Every other row of W's
// gradient was left as it was. It returns nil before any Backward and after
// a dense Backward (which may touch every row).
//
// An optimizer may use it to update only those rows (lazy Adam, as
// torch.optim.SparseAdam does), so that a step costs O(nnz·dim) rather than
// O(vocab·dim). The list is computed on the first call after each Backward,
// in O(nnz), from the batch itself: call it before that batch is changed
// (before the next batch is loaded into the same [nn.Sparse]). The slice is
// owned by the layer and valid until the next call after a Backward; a
// warmed-up call allocates nothing.
func (l *EmbeddingBag) TouchedRows() []int32 {
	if l.bwd == nil {
		return nil
	}
	if !l.listed {
		if l.mark == nil {
			l.mark = make([]bool, l.vocab)
			l.touched = make([]int32, 0, 1024)
		}
		for _, c := range l.touched {
			l.mark[c] = false
		}
		l.touched = l.touched[:0]
		for _, c := range l.bwd.Indices {
			if !l.mark[c] {
				l.mark[c] = true
				l.touched = append(l.touched, c)
			}
		}
		l.listed = true
	}
	return l.touched
}

// Params returns W and b (nil before Build).
func (l *EmbeddingBag) Params() []*nn.Param { return l.params }

// Spec returns EmbeddingBag with attributes vocab, dim and mode (0 sum,
// 1 mean).
func (l *EmbeddingBag) Spec() nn.Spec {
	return nn.Spec{Kind: "EmbeddingBag", Attrs: map[string]float64{
		"vocab": float64(l.vocab), "dim": float64(l.dim), "mode": float64(l.mode),
	}}
}

// Embedding maps a sequence of token ids to their rows of a table W of
// shape [vocab, dim]: for an input of shape [N, T] (ids stored as float32,
// exact integers in [0, vocab)) the output has shape [N, T, dim] with
//
//	Y[i, t] = W[x_it]
//
// An id that is not an integer in range is a programmer error (the
// vectorizer must map unknown words to a reserved id): Forward panics with a
// message naming the layer, the id and its position.
type Embedding struct {
	// Init fills W at Build, with fanIn = vocab and fanOut = dim. nil (the
	// default) means N(0, 1), PyTorch's initialisation of nn.Embedding.
	Init nn.Initializer

	vocab, dim int
	name       string // "Embedding(1000→16)", for messages
	w          *nn.Param
	params     []*nn.Param
	inS, outS  nn.Shape

	y, dx nn.Buffer
	yt    *tensor.Dense
	ids   []int32 // ids of the last Forward
	shape []int
	inSh  []int // [N, T] of the last Forward
}

// NewEmbedding returns an embedding table of vocab rows of dim values.
func NewEmbedding(vocab, dim int) *Embedding {
	return &Embedding{vocab: vocab, dim: dim}
}

// Vocab returns the number of rows of the table.
func (l *Embedding) Vocab() int { return l.vocab }

// Dim returns the width of a row.
func (l *Embedding) Dim() int { return l.dim }

// W returns the table, of shape [vocab, dim] (nil before Build).
func (l *Embedding) W() *nn.Param { return l.w }

// Build checks that the per-sample input is a sequence [T], creates W and
// initialises it from rng. The output shape is [T, dim].
func (l *Embedding) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	switch {
	case l.vocab <= 0 || l.dim <= 0:
		return nil, fmt.Errorf("Embedding: vocabulary %d and width %d must be ≥ 1", l.vocab, l.dim)
	case len(in) != 1 || in[0] <= 0:
		return nil, fmt.Errorf("Embedding wants a sequence of token ids [T], got %v", in)
	case rng == nil:
		return nil, fmt.Errorf("Embedding(%d→%d): Build needs a random source", l.vocab, l.dim)
	}
	l.name = fmt.Sprintf("Embedding(%d→%d)", l.vocab, l.dim)
	l.w = nn.NewParam("W", l.vocab, l.dim)
	l.params = []*nn.Param{l.w}
	l.inS, l.outS = nn.Shape{in[0]}, nn.Shape{in[0], l.dim}
	if l.Init != nil {
		l.Init(l.w.Data(), l.vocab, l.dim, rng)
	} else {
		for i, w := 0, l.w.Data(); i < len(w); i++ {
			w[i] = float32(rng.NormFloat64())
		}
	}
	l.yt, l.ids = nil, l.ids[:0]
	return append(nn.Shape(nil), l.outS...), nil
}

// Forward returns Y[i, t] = W[x_it] for x of shape [N, T]. The output has
// shape [N, T, dim] and is owned by the layer.
func (l *Embedding) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	if l.w == nil {
		panic("Embedding: Forward called before Build")
	}
	n := nn.CheckInput(l.name, x, l.inS)
	xs := x.Float32s()
	if cap(l.ids) < len(xs) {
		l.ids = make([]int32, len(xs))
	}
	l.ids = l.ids[:len(xs)]
	for k, v := range xs {
		id := int(v)
		if float32(id) != v || id < 0 || id >= l.vocab {
			tt := l.inS[0]
			panic(fmt.Sprintf("%s: token id %g at [%d %d] is not an integer in [0, %d)", l.name, v, k/tt, k%tt, l.vocab))
		}
		l.ids[k] = int32(id)
	}
	l.shape = nn.BatchShape(l.shape, n, l.outS)
	l.yt = l.y.Get(l.shape...)
	ys, w, d := l.yt.Float32s(), l.w.Data(), l.dim
	for k, id := range l.ids {
		copy(ys[k*d:(k+1)*d], w[int(id)*d:int(id)*d+d])
	}
	l.inSh = nn.BatchShape(l.inSh, n, l.inS)
	return l.yt
}

// Backward takes dY of shape [N, T, dim] and scatters it into the rows of
// W's gradient that the last Forward read:
//
//	dW[x_it] += dY[i, t]     (a row read twice gets both gradients)
//
// The ids are not differentiable: Backward returns a tensor of zeros of the
// input's shape [N, T], so that a layer before it (if any) receives a
// well-formed gradient.
func (l *Embedding) Backward(dy *tensor.Dense) *tensor.Dense {
	l.BackwardParams(dy)
	return l.dx.Zeroed(l.inSh...)
}

// BackwardParams accumulates dW as Backward does, without building the
// zero gradient of the ids (see [nn.ParamBackwarder]).
func (l *Embedding) BackwardParams(dy *tensor.Dense) {
	nn.CheckGrad(l.name, dy, l.yt)
	dys, dw, d := dy.Float32s(), l.w.GradData(), l.dim
	for k, id := range l.ids {
		dr := dw[int(id)*d : int(id)*d+d : int(id)*d+d]
		for j, v := range dys[k*d : (k+1)*d] {
			dr[j] += v
		}
	}
}

// Params returns W (nil before Build).
func (l *Embedding) Params() []*nn.Param { return l.params }

// Spec returns Embedding with attributes vocab and dim.
func (l *Embedding) Spec() nn.Spec {
	return nn.Spec{Kind: "Embedding", Attrs: map[string]float64{"vocab": float64(l.vocab), "dim": float64(l.dim)}}
}
