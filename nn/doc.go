// Package nn holds the contracts every part of descent speaks: a [Param] (a
// value with its gradient), a [Layer] with explicit forward and backward
// passes, a [Sequential] model that checks its wiring when it is built,
// weight initialisers, and the model file format ([Save], [Load]).
//
// Conventions, stated once for the whole module:
//
//   - Storage is *tensor.Dense from gorgonia.org/tensor, float32, contiguous,
//     row-major. The first axis of every activation is the batch: a layer built
//     for per-sample shape [C H W] takes tensors of shape [N C H W].
//   - Layers own their output and gradient buffers. The tensor returned by
//     Forward or Backward stays valid until the next call of the same method and
//     must not be modified by the caller. Buffers are sized on first use and
//     reused, so a warmed-up training step allocates nothing; a change of batch
//     size reallocates once.
//   - Parameter gradients accumulate (+=) until [Param.ZeroGrad] clears them, so
//     one value may feed several consumers.
//   - Wiring mistakes are errors returned by [NewSequential], naming the layer.
//     A programmer error that slips past that check (a tensor of the wrong shape
//     passed to Forward by hand) panics with a message naming the layer and the
//     shapes. I/O and bad data are returned as errors, never panics.
//   - Randomness comes from an explicit *rand.Rand (math/rand/v2): the same seed
//     gives bit-identical weights. Nothing in descent reads global state.
//
// docs/architecture.md follows a mini-batch through these types, and
// docs/custom-models.md uses them from a program of its own.
package nn
