package nn

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"
)

// NewTensor returns a zeroed float32 tensor of the given shape.
func NewTensor(shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("nn: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, n)))
}

// FromSlice returns a tensor of the given shape that aliases data. It panics
// if len(data) does not match the shape.
func FromSlice(data []float32, shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(data) {
		panic(fmt.Sprintf("nn: FromSlice: %d values for shape %v", len(data), shape))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// Buffer is a reusable float32 tensor owned by a layer or loss. [Buffer.Get]
// returns a tensor of the requested shape, reusing the previous one when the
// shape is unchanged, so that a warmed-up training step does not allocate.
// The zero value is ready to use.
type Buffer struct {
	t     *tensor.Dense
	back  []float32
	shape []int
}

// Get returns a tensor of the given shape. Its contents are whatever the last
// user left there unless the shape changed, in which case it is zeroed.
// The tensor stays valid until Get is called with another shape.
func (b *Buffer) Get(shape ...int) *tensor.Dense {
	if b.t != nil && slices.Equal(b.shape, shape) {
		return b.t
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if cap(b.back) < n {
		b.back = make([]float32, n)
	}
	data := b.back[:n]
	clear(data)
	b.shape = append(b.shape[:0], shape...)
	// Pass our own copy of the shape so the variadic argument does not escape
	// and the fast path above stays allocation-free.
	b.t = tensor.New(tensor.WithShape(slices.Clone(b.shape)...), tensor.WithBacking(data))
	return b.t
}

// Zeroed returns a tensor of the given shape with every element set to zero.
func (b *Buffer) Zeroed(shape ...int) *tensor.Dense {
	t := b.Get(shape...)
	clear(t.Float32s())
	return t
}

// BatchShape returns [n, sample...] without allocating when dst has capacity.
func BatchShape(dst []int, n int, sample Shape) []int {
	dst = append(dst[:0], n)
	return append(dst, sample...)
}
