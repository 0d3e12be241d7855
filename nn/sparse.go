package nn

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Sparse is a batch of sparse rows in compressed sparse row (CSR) form: a
// bag-of-words batch whose dense form, rows × Cols, is never built. Row i
// holds the columns Indices[Indptr[i]:Indptr[i+1]] with the values
// Values[Indptr[i]:Indptr[i+1]]; a nil Values means every stored value is 1
// (multi-hot). Columns within a row need not be sorted but must not repeat.
//
// A Sparse is reused from batch to batch: [Sparse.Reset] empties it without
// freeing its slices, so a warmed-up batch loop does not allocate.
type Sparse struct {
	// Cols is the number of columns (the vocabulary size).
	Cols int
	// Indptr has Rows()+1 entries; Indptr[0] is 0.
	Indptr []int32
	// Indices holds the column of every stored value.
	Indices []int32
	// Values holds the stored values, or is nil when they are all 1.
	Values []float32
}

// Rows returns the number of rows in the batch.
func (s *Sparse) Rows() int { return max(len(s.Indptr)-1, 0) }

// NNZ returns the number of stored values.
func (s *Sparse) NNZ() int { return len(s.Indices) }

// Reset empties the batch for cols columns, keeping its memory; weighted
// says whether rows will carry values.
func (s *Sparse) Reset(cols int, weighted bool) {
	s.Cols = cols
	s.Indptr = append(s.Indptr[:0], 0)
	s.Indices = s.Indices[:0]
	if weighted {
		if s.Values == nil {
			s.Values = make([]float32, 0, 64)
		}
		s.Values = s.Values[:0]
	} else {
		s.Values = nil
	}
}

// AppendRow adds a row with the given columns and values (values nil for a
// multi-hot row of a batch without Values).
func (s *Sparse) AppendRow(cols []int32, values []float32) {
	if len(s.Indptr) == 0 {
		s.Indptr = append(s.Indptr, 0)
	}
	s.Indices = append(s.Indices, cols...)
	if s.Values != nil {
		if len(values) != len(cols) {
			panic(fmt.Sprintf("nn: Sparse.AppendRow: %d values for %d columns", len(values), len(cols)))
		}
		s.Values = append(s.Values, values...)
	}
	s.Indptr = append(s.Indptr, int32(len(s.Indices)))
}

// Validate returns an error if the batch is not well formed: Indptr not
// starting at 0 or decreasing, a column out of [0, Cols), or Values of the
// wrong length.
func (s *Sparse) Validate() error {
	if len(s.Indptr) == 0 || s.Indptr[0] != 0 {
		return fmt.Errorf("nn: sparse batch: Indptr must start with 0")
	}
	for i := 1; i < len(s.Indptr); i++ {
		if s.Indptr[i] < s.Indptr[i-1] {
			return fmt.Errorf("nn: sparse batch: Indptr decreases at row %d", i-1)
		}
	}
	if int(s.Indptr[len(s.Indptr)-1]) != len(s.Indices) {
		return fmt.Errorf("nn: sparse batch: Indptr ends at %d but there are %d indices", s.Indptr[len(s.Indptr)-1], len(s.Indices))
	}
	if s.Values != nil && len(s.Values) != len(s.Indices) {
		return fmt.Errorf("nn: sparse batch: %d values for %d indices", len(s.Values), len(s.Indices))
	}
	for k, c := range s.Indices {
		if c < 0 || int(c) >= s.Cols {
			return fmt.Errorf("nn: sparse batch: column %d at position %d outside [0, %d)", c, k, s.Cols)
		}
	}
	return nil
}

// SparseLayer is implemented by a first layer that can read a [Sparse]
// batch directly, such as EmbeddingBag. Its dense Forward reads the same
// batch as an [N, Cols] tensor; ForwardSparse must give the same output at a
// cost proportional to the number of stored values. After ForwardSparse,
// Backward accumulates the parameter gradients and returns nil: nobody needs
// the gradient with respect to a bag of words.
type SparseLayer interface {
	Layer
	ForwardSparse(x *Sparse, train bool) *tensor.Dense
}
