package optim_test

import (
	"fmt"

	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// Minimise f(θ) = Σ (θᵢ − tᵢ)² with SGD and momentum. In a real model the
// gradient comes from the backward pass; here it is 2(θ − t).
func ExampleSGD() {
	target := []float32{3, -1}
	p := nn.NewParam("theta", 2)

	cfg := optim.DefaultSGD()
	cfg.LR, cfg.Momentum = 0.05, 0.9
	opt, err := optim.NewSGD([]*nn.Param{p}, cfg)
	if err != nil {
		panic(err)
	}
	for range 200 {
		p.ZeroGrad()
		for i, th := range p.Data() {
			p.GradData()[i] += 2 * (th - target[i]) // backward pass
		}
		opt.Step()
	}
	fmt.Printf("θ = [%.4f %.4f] after %d steps\n", p.Data()[0], p.Data()[1], opt.Steps())
	// Output: θ = [3.0000 -1.0000] after 200 steps
}

// Adam on the same problem, with a learning rate changed from the default.
func ExampleAdam() {
	target := []float32{3, -1}
	p := nn.NewParam("theta", 2)

	cfg := optim.DefaultAdam()
	cfg.LR = 0.1
	opt, err := optim.NewAdam([]*nn.Param{p}, cfg)
	if err != nil {
		panic(err)
	}
	for range 500 {
		p.ZeroGrad()
		for i, th := range p.Data() {
			p.GradData()[i] += 2 * (th - target[i])
		}
		opt.Step()
	}
	fmt.Printf("θ = [%.3f %.3f]\n", p.Data()[0], p.Data()[1])
	// State holds the first and second moments of each parameter.
	for _, s := range opt.State() {
		fmt.Println(s)
	}
	// Output:
	// θ = [3.000 -1.000]
	// theta.exp_avg[2]
	// theta.exp_avg_sq[2]
}

// Clip the global gradient norm between the backward pass and the step.
func ExampleClipNorm() {
	w := nn.NewParam("W", 1, 2)
	b := nn.NewParam("b", 1)
	copy(w.GradData(), []float32{3, 0})
	copy(b.GradData(), []float32{4})

	norm, err := optim.ClipNorm([]*nn.Param{w, b}, 1)
	if err != nil {
		panic(err) // a NaN or Inf gradient: stop rather than train on it
	}
	fmt.Printf("norm before: %g\n", norm)
	fmt.Printf("clipped: W %.4f, b %.4f\n", w.GradData(), b.GradData())
	// Output:
	// norm before: 5
	// clipped: W [0.6000 0.0000], b [0.8000]
}

// Warm up for 3 epochs, then anneal along a cosine over 4 epochs. The rate
// returned at the end of each epoch goes to the optimizer.
func ExampleNewWarmup() {
	cosine, err := optim.NewCosineLR(0.1, 0, 4)
	if err != nil {
		panic(err)
	}
	sched, err := optim.NewWarmup(0.1, 3, cosine)
	if err != nil {
		panic(err)
	}
	p := nn.NewParam("w", 1)
	opt, err := optim.NewSGD([]*nn.Param{p}, optim.SGDConfig{LR: sched.LR()})
	if err != nil {
		panic(err)
	}
	for epoch := range 8 {
		fmt.Printf("epoch %d: lr %.4f\n", epoch, opt.LR())
		// … train one epoch with opt, compute the validation loss …
		opt.SetLR(sched.Step(0))
	}
	// Output:
	// epoch 0: lr 0.0333
	// epoch 1: lr 0.0667
	// epoch 2: lr 0.1000
	// epoch 3: lr 0.1000
	// epoch 4: lr 0.0854
	// epoch 5: lr 0.0500
	// epoch 6: lr 0.0146
	// epoch 7: lr 0.0000
}

// Reduce the rate when the validation loss stops improving for 2 epochs.
func ExampleNewReduceOnPlateau() {
	sched, err := optim.NewReduceOnPlateau(0.1, 0.5, 2, 1e-3, 1e-4)
	if err != nil {
		panic(err)
	}
	for _, loss := range []float64{0.9, 0.7, 0.69, 0.6999, 0.71, 0.65, 0.66, 0.67} {
		fmt.Printf("loss %.4f → lr %g\n", loss, sched.Step(loss))
	}
	// Output:
	// loss 0.9000 → lr 0.1
	// loss 0.7000 → lr 0.1
	// loss 0.6900 → lr 0.1
	// loss 0.6999 → lr 0.1
	// loss 0.7100 → lr 0.05
	// loss 0.6500 → lr 0.05
	// loss 0.6600 → lr 0.05
	// loss 0.6700 → lr 0.025
}

// Add an L2 penalty on the weight matrices only (not biases), and report it
// with the loss.
func ExampleL2() {
	w := nn.NewParam("W", 2, 2)
	b := nn.NewParam("b", 2)
	copy(w.Data(), []float32{1, 2, -1, 0})
	copy(b.Data(), []float32{5, 5})
	params := []*nn.Param{w, b}

	loss := 0.25 // from the loss function, after the backward pass
	loss += optim.L2(optim.Weights(params), 0.1)
	fmt.Printf("regularised loss %.2f, dW %v, db %v\n", loss, w.GradData(), b.GradData())
	// Output: regularised loss 0.55, dW [0.1 0.2 -0.1 0], db [0 0]
}
