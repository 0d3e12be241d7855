// Package optim holds the gradient-descent family: optimizers that update
// parameters from their gradients, gradient clipping, L1/L2 regularisation
// and learning-rate schedules.
//
// An optimizer is built over a fixed list of parameters and keeps its state
// (moments, step counts) per parameter. Step reads each [nn.Param].Grad and
// updates [nn.Param].Value in place; it neither clears nor otherwise changes
// the gradients (call [nn.ZeroGrads] or Sequential.ZeroGrad before the next
// backward pass). After the first Step, Step allocates nothing.
//
// Each optimizer's doc comment gives its update rule as equations, with
// PyTorch's torch.optim semantics and defaults: [SGD] (momentum, dampening,
// Nesterov), [AdaGrad], [RMSprop], [AdaDelta], and [Adam] built by [NewAdam]
// (L2 weight decay) or [NewAdamW] (decoupled weight decay).
//
// # Conventions
//
//   - Errors. Constructors return an error naming the optimizer and the
//     setting for an invalid configuration (a learning rate that is not
//     positive and finite, β outside [0, 1), Nesterov without momentum) or
//     an invalid parameter list (empty, nil, without a gradient, listed
//     twice); schedule constructors likewise. [ClipValue] and [ClipNorm]
//     return an error, and leave every gradient untouched, when a gradient
//     holds a NaN (ClipNorm: or ±Inf).
//   - Panics. Values that can only come from a programming mistake panic
//     with a message: [Optimizer].SetLR with a negative or infinite rate,
//     SetSteps with a negative count, [L1] and [L2] with a negative λ.
//   - Allocation. Optimizers allocate their state when they are built;
//     Step, the clipping functions and the penalties allocate nothing.
//   - Aliasing. State returns the optimizer's own storage: restore a
//     checkpoint by copying values into it. The parameter list given to a
//     constructor is kept, not copied.
//
// docs/optimizers.md explains each rule, with pictures of them at work.
package optim
