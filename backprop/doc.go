// Package backprop trains models: it holds the losses, the training step
// and loop, and the finite-difference gradient checker that keeps every
// backward pass honest.
//
// # One training step
//
// A mini-batch travels through [Trainer.Step] in one direction and its
// gradient comes back the other way:
//
//  1. Forward. The model maps the batch x, of shape [N, in...], to a
//     prediction ŷ = Model.Forward(x, true), layer by layer. Each layer keeps
//     what its backward pass will need (its input, or its output).
//  2. Loss. [Loss].Forward(ŷ, y) reduces prediction and target to one number,
//     the mean over the batch, and computes dLoss/dŷ on the way.
//  3. Seed gradient. [Loss].Backward returns dLoss/dŷ, the gradient that
//     starts backpropagation: for softmax cross-entropy it is
//     (softmax(ŷ) − onehot(y)) / N, for the mean squared error 2(ŷ − y)/count.
//     The 1/N of the mean is in the seed, so no layer divides by the batch.
//  4. Backward. Model.Backward(seed) runs the layers in reverse order. The
//     chain rule is applied one layer at a time: each receives dLoss/dOutput,
//     adds dLoss/dθ into its parameters' gradients (accumulating, +=) and
//     returns dLoss/dInput for the layer before it.
//  5. Regularise and clip. L1/L2 add their gradients to the weights'; then
//     every gradient element is clamped (ClipValue) and the global norm is
//     capped (ClipNorm). A NaN or infinite loss or gradient stops here with
//     an error naming the step and the parameter, and no update is made;
//     with [Trainer.SkipNonFinite] the batch is dropped and counted
//     ([Trainer.Skipped]) instead, and training goes on until a whole epoch
//     or [Trainer.MaxSkips] batches in a row were skipped.
//  6. Step. The optimizer updates every parameter from its gradient. The
//     gradients are cleared at the start of the next step.
//
// [Fit] repeats this over the batches of a [datasets.Dataset] for a number
// of epochs, evaluates a validation set in inference mode, drives a
// learning-rate schedule, calls [Callback]s ([EarlyStopping], [ProgressBar],
// [Log]) and records a [History]. A warmed-up Step allocates nothing.
//
// # Stopping and resuming
//
// [Config].Stop ends a Fit between batches (the commands close it on
// Ctrl-C), with a [*StopError] wrapping [ErrStopped] (and [ErrCheckpointSave]
// when its checkpoint could not be written). [Config].Checkpoint names a
// file where Fit then saves its complete state, and with CheckpointEvery
// also after every few epochs: a model file whose metadata entry
// [CheckpointKey] holds the optimizer, schedule, random generators,
// position and history (see [Checkpoint]). [ReadCheckpoint] reads it back
// and [Config].Resume carries on from it, ending with the weights of a run
// that was never stopped, bit for bit.
//
// # Losses
//
// [SoftmaxCrossEntropy] (fused with the softmax, on logits, with class-index
// or distribution targets), [BCEWithLogits] (fused with the sigmoid), [MSE]
// and [Huber] implement [Loss]. Each file-level comment derives its gradient.
// Losses compute in float64 internally and are stable for extreme logits.
//
// # Gradient checking
//
// [CheckLayer], [CheckLoss] and [CheckModel] compare analytic gradients with
// central finite differences and report the worst relative error and where
// it occurred; see [CheckLayer] for the error measure and the tolerances that
// float32 arithmetic allows.
//
// # Conventions
//
//   - Ownership. The tensor a [Loss]'s Backward returns belongs to the loss
//     and is valid until its next Forward; [Trainer.Output] belongs to the
//     model's last layer and is valid until the next forward pass. Neither
//     may be modified. The batch tensors passed to [Trainer.Step] are the
//     caller's; the model's first layer may keep a reference to x until the
//     step's backward pass is done.
//   - Allocation. After the first step, [Trainer.Step] and
//     [Trainer.StepSparse] allocate nothing, and neither do a loss's Forward
//     and Backward; [Fit] allocates its batch tensors once per run.
//     [Evaluate] allocates its batch tensors on every call, and the gradient
//     checkers allocate freely: they are for tests.
//   - Errors. A Trainer without a model, loss or optimizer, a [Config] with
//     no epochs or batch size, a data set that does not fit the model, and a
//     NaN or infinite loss or gradient are returned as errors that name the
//     step, layer and parameter where they can.
//   - Panics. Shapes a programmer wired wrongly by hand panic with a message
//     naming the loss and the shapes: a target that does not fit the
//     prediction, a class index out of range, a Backward before any Forward,
//     [Evaluate] on a data set whose samples do not fit the model, and
//     [NewHuber] with a threshold that is not positive.
//   - Determinism. Every random choice (shuffling, the checkers' projections)
//     comes from a seed in [Config] or [CheckOptions]: the same seeds give
//     bit-identical results.
//
// docs/architecture.md follows one mini-batch through Step; docs/backprop.md
// derives every loss's gradient and explains the checkers' error measure.
package backprop
