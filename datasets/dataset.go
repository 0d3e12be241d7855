package datasets

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// Dataset is a collection of samples that can fill batch tensors.
type Dataset interface {
	// Len returns the number of samples.
	Len() int
	// InputShape returns the shape of one input sample, e.g. [1 28 28].
	InputShape() nn.Shape
	// TargetShape returns the shape of one target; it is empty for a class
	// index.
	TargetShape() nn.Shape
	// Batch writes the samples with the given indices into x, of shape
	// [len(idx), InputShape...], and their targets into y, of shape
	// [len(idx), TargetShape...]; class indices are stored as float32.
	// It panics if an index is out of range or a tensor has the wrong shape.
	Batch(x, y *tensor.Dense, idx []int)
}

// SparseDataset is a collection of samples whose inputs are sparse rows,
// such as bag-of-words documents: a batch is an [nn.Sparse] in CSR form
// over Cols columns, never a dense [N, Cols] tensor.
type SparseDataset interface {
	// Len returns the number of samples.
	Len() int
	// Cols returns the number of columns of every row (the vocabulary size).
	Cols() int
	// TargetShape returns the shape of one target; empty for a class index.
	TargetShape() nn.Shape
	// SparseBatch resets x and appends the rows with the given indices, and
	// writes their targets into y, of shape [len(idx), TargetShape...].
	SparseBatch(x *nn.Sparse, y *tensor.Dense, idx []int)
}

// TensorDataset is a [Dataset] over samples held in two float32 tensors: X
// of shape [N, input...] and Y of shape [N, target...] (or [N] for class
// indices).
type TensorDataset struct {
	X, Y *tensor.Dense
	in   nn.Shape
	tgt  nn.Shape
}

// NewTensorDataset returns a dataset over x and y, which must agree in their
// first dimension. The tensors are aliased, not copied.
func NewTensorDataset(x, y *tensor.Dense) (*TensorDataset, error) {
	xs, ys := x.Shape(), y.Shape()
	if len(xs) < 2 || len(ys) < 1 {
		return nil, fmt.Errorf("datasets: TensorDataset wants x of shape [N, ...] and y of shape [N, ...], got %v and %v", []int(xs), []int(ys))
	}
	if xs[0] != ys[0] {
		return nil, fmt.Errorf("datasets: TensorDataset: x has %d samples, y has %d", xs[0], ys[0])
	}
	return &TensorDataset{X: x, Y: y, in: slices.Clone(nn.Shape(xs[1:])), tgt: slices.Clone(nn.Shape(ys[1:]))}, nil
}

// Len returns the number of samples.
func (d *TensorDataset) Len() int { return d.X.Shape()[0] }

// InputShape returns the per-sample input shape.
func (d *TensorDataset) InputShape() nn.Shape { return d.in }

// TargetShape returns the per-sample target shape.
func (d *TensorDataset) TargetShape() nn.Shape { return d.tgt }

// Batch copies the selected rows of X and Y into x and y.
func (d *TensorDataset) Batch(x, y *tensor.Dense, idx []int) {
	gather(x.Float32s(), d.X.Float32s(), d.in.Size(), idx, "x")
	gather(y.Float32s(), d.Y.Float32s(), d.tgt.Size(), idx, "y")
}

func gather(dst, src []float32, row int, idx []int, what string) {
	if len(dst) != len(idx)*row {
		panic(fmt.Sprintf("datasets: batch %s has %d values, want %d×%d", what, len(dst), len(idx), row))
	}
	for b, i := range idx {
		copy(dst[b*row:(b+1)*row], src[i*row:(i+1)*row])
	}
}

// Subset is a view of a dataset restricted to some of its samples.
type Subset struct {
	Data    Dataset
	Indices []int
	scratch []int
}

// NewSubset returns the samples of d at the given indices (aliased, not
// copied). It returns an error if an index is out of range.
func NewSubset(d Dataset, indices []int) (*Subset, error) {
	n := d.Len()
	for _, i := range indices {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("datasets: subset index %d out of range [0, %d)", i, n)
		}
	}
	return &Subset{Data: d, Indices: indices}, nil
}

// Len returns the number of samples in the subset.
func (s *Subset) Len() int { return len(s.Indices) }

// InputShape returns the underlying dataset's input shape.
func (s *Subset) InputShape() nn.Shape { return s.Data.InputShape() }

// TargetShape returns the underlying dataset's target shape.
func (s *Subset) TargetShape() nn.Shape { return s.Data.TargetShape() }

// Batch maps idx through the subset's indices and fills x and y. It is not
// safe for concurrent use (it keeps a scratch slice to avoid allocating).
func (s *Subset) Batch(x, y *tensor.Dense, idx []int) {
	s.scratch = s.scratch[:0]
	for _, i := range idx {
		s.scratch = append(s.scratch, s.Indices[i])
	}
	s.Data.Batch(x, y, s.scratch)
}

// Split carves a validation set of nVal samples off the end of d, after a
// shuffle drawn from rng when rng is not nil (a nil rng keeps the order, as
// Keras's validation_split does). It returns the training and validation
// subsets.
func Split(d Dataset, nVal int, rng *rand.Rand) (train, val *Subset, err error) {
	n := d.Len()
	perm, err := splitPerm(n, nVal, rng)
	if err != nil {
		return nil, nil, err
	}
	train = &Subset{Data: d, Indices: perm[:n-nVal]}
	val = &Subset{Data: d, Indices: perm[n-nVal:]}
	return train, val, nil
}

// splitPerm returns the order in which [Split] and [Bags.Split] take n
// samples, the last nVal of which are the validation set: 0..n-1, shuffled
// by rng when rng is not nil. nVal must be in [0, n).
func splitPerm(n, nVal int, rng *rand.Rand) ([]int, error) {
	if nVal < 0 || nVal >= n {
		return nil, fmt.Errorf("datasets: validation size %d must be in [0, %d)", nVal, n)
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	if rng != nil {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	}
	return perm, nil
}

// Loader yields the mini-batches of one epoch as slices of sample indices.
// Batch size equal to the dataset size gives batch gradient descent, 1 gives
// stochastic gradient descent, anything between mini-batch descent.
type Loader struct {
	n, size  int
	shuffle  bool
	dropLast bool
	rng      *rand.Rand
	perm     []int
	pos      int
}

// NewLoader returns a loader over n samples in batches of size. With shuffle
// the order is redrawn from rng at every [Loader.Reset]; with dropLast a final
// batch smaller than size is skipped.
func NewLoader(n, size int, shuffle, dropLast bool, rng *rand.Rand) (*Loader, error) {
	switch {
	case n <= 0:
		return nil, fmt.Errorf("datasets: loader over %d samples", n)
	case size <= 0:
		return nil, fmt.Errorf("datasets: batch size %d must be positive", size)
	case dropLast && size > n:
		return nil, fmt.Errorf("datasets: batch size %d with drop-last leaves no batch of %d samples", size, n)
	case shuffle && rng == nil:
		return nil, errors.New("datasets: a shuffling loader needs a random source")
	}
	l := &Loader{n: n, size: size, shuffle: shuffle, dropLast: dropLast, rng: rng, perm: make([]int, n)}
	for i := range l.perm {
		l.perm[i] = i
	}
	l.pos = n // Reset must be called before the first epoch.
	return l, nil
}

// Reset starts a new epoch, reshuffling the order when shuffling is on.
func (l *Loader) Reset() {
	if l.shuffle {
		l.rng.Shuffle(l.n, func(i, j int) { l.perm[i], l.perm[j] = l.perm[j], l.perm[i] })
	}
	l.pos = 0
}

// Next returns the indices of the next batch, and false when the epoch is
// over. The slice is owned by the loader and valid until the next Reset.
func (l *Loader) Next() ([]int, bool) {
	end := min(l.pos+l.size, l.n)
	if l.pos >= l.n || (l.dropLast && end-l.pos < l.size) {
		return nil, false
	}
	b := l.perm[l.pos:end]
	l.pos = end
	return b, true
}

// Batches returns the number of batches in one epoch.
func (l *Loader) Batches() int {
	if l.dropLast {
		return l.n / l.size
	}
	return (l.n + l.size - 1) / l.size
}

// BatchSize returns the configured batch size.
func (l *Loader) BatchSize() int { return l.size }
