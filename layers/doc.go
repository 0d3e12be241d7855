// Package layers holds the building blocks of a model, each implementing
// [nn.Layer]:
//
//   - [Dense]: a fully connected layer, Y = X·W + b.
//   - Activations, applied element by element (or row by row): [ReLU],
//     [LeakyReLU], [Sigmoid], [Tanh] and [Softmax] (over the last axis).
//   - [Flatten]: [N, a, b, c] → [N, a·b·c], without copying.
//   - [Dropout]: inverted dropout, seeded from the model's random source.
//   - For images: [Conv2D], [MaxPool2D], [AvgPool2D] and [BatchNorm].
//
// Every layer file carries, next to its Backward, the math of the backward
// pass in the code's own symbols (dX = dY · Wᵀ, dW += Xᵀ · dY, ...), so a
// reader can learn backpropagation by reading the files top to bottom.
//
// # Buffers and ownership
//
// A layer owns the tensors it returns. Forward's output and Backward's input
// gradient live in [nn.Buffer]s that are sized on first use and reused, so a
// warmed-up training step allocates nothing; a new batch size reallocates once.
// A returned tensor stays valid until the next call of the same method on the
// same layer, and the caller must not modify it.
//
// Layers keep references rather than copies of what the backward pass needs
// where they can: [Dense] keeps its input X, so the caller must not modify the
// input between Forward and the matching Backward. Layers that need their own
// output (Sigmoid, Tanh, Softmax, ReLU) keep it in their own buffer. A few
// layers return tensors that alias their argument instead of a buffer:
// [Flatten] always (a new header over the same values), and [Dropout] at
// inference or with rate 0 (the input itself). Backward differentiates the
// most recent Forward, in training or in inference mode.
//
// Parameter gradients accumulate (+=) into [nn.Param].Grad until they are
// cleared, as everywhere in descent. A tensor of the wrong shape passed to
// Forward or Backward is a programmer error and panics with a message naming
// the layer and the shapes; a layer that cannot accept its input shape says
// so from Build, as an error.
//
// docs/backprop.md derives every layer's backward pass in the symbols of
// these files, and docs/custom-models.md shows how to write a new layer.
package layers
