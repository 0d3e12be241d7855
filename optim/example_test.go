package optim_test

import (
	"fmt"
	"math"

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

// Nesterov momentum evaluates the gradient where momentum is about to take
// the parameters: with μ = 0.9 it settles on the minimum of the same
// problem with less overshoot than heavy-ball momentum.
func ExampleNewSGD_nesterov() {
	target := []float32{3, -1}
	for _, nesterov := range []bool{false, true} {
		p := nn.NewParam("theta", 2)
		opt, err := optim.NewSGD([]*nn.Param{p}, optim.SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: nesterov})
		if err != nil {
			panic(err)
		}
		peak := float32(0)
		for range 200 {
			p.ZeroGrad()
			for i, th := range p.Data() {
				p.GradData()[i] += 2 * (th - target[i])
			}
			opt.Step()
			peak = max(peak, p.Data()[0])
		}
		fmt.Printf("nesterov %-5v: θ = [%.4f %.4f], furthest θ₀ reached %.2f\n", nesterov, p.Data()[0], p.Data()[1], peak)
	}
	// Output:
	// nesterov false: θ = [3.0000 -1.0000], furthest θ₀ reached 4.81
	// nesterov true : θ = [3.0000 -1.0000], furthest θ₀ reached 4.18
}

// AdaGrad divides each element's step by the root of its summed squared
// gradients, so its first step is γ·sign(g) whatever the gradient's size,
// and later steps shrink as the sum grows.
func ExampleAdaGrad() {
	p := nn.NewParam("w", 2)
	opt, err := optim.NewAdaGrad([]*nn.Param{p}, optim.DefaultAdaGrad()) // γ = 0.01
	if err != nil {
		panic(err)
	}
	for step := 1; step <= 3; step++ {
		copy(p.GradData(), []float32{0.001, 100}) // the same gradient every step
		before := append([]float32(nil), p.Data()...)
		opt.Step()
		fmt.Printf("step %d moves w by [%.5f %.5f]\n", step, p.Data()[0]-before[0], p.Data()[1]-before[1])
	}
	// Output:
	// step 1 moves w by [-0.01000 -0.01000]
	// step 2 moves w by [-0.00707 -0.00707]
	// step 3 moves w by [-0.00577 -0.00577]
}

// RMSprop divides by a running root mean square instead of AdaGrad's
// growing sum, so a constant gradient keeps a steady step. With α = 0.99
// the average starts at (1 − α)·g², which makes the first steps 10γ.
func ExampleRMSprop() {
	p := nn.NewParam("w", 2)
	opt, err := optim.NewRMSprop([]*nn.Param{p}, optim.DefaultRMSprop()) // γ = 0.01, α = 0.99
	if err != nil {
		panic(err)
	}
	for step := 1; step <= 300; step++ {
		copy(p.GradData(), []float32{0.001, 100})
		before := append([]float32(nil), p.Data()...)
		opt.Step()
		if step == 1 || step == 10 || step == 300 {
			fmt.Printf("step %3d moves w by [%.4f %.4f]\n", step, p.Data()[0]-before[0], p.Data()[1]-before[1])
		}
	}
	// Output:
	// step   1 moves w by [-0.1000 -0.1000]
	// step  10 moves w by [-0.0323 -0.0323]
	// step 300 moves w by [-0.0103 -0.0103]
}

// AdaDelta needs no learning rate to set the scale of its steps (γ = 1 by
// default): it multiplies the gradient by the ratio of the RMS of its past
// updates to the RMS of its gradients. The updates start at √ε-sized steps
// and grow as they accumulate.
func ExampleAdaDelta() {
	target := []float32{3, -1}
	p := nn.NewParam("theta", 2)
	opt, err := optim.NewAdaDelta([]*nn.Param{p}, optim.DefaultAdaDelta()) // γ = 1, ρ = 0.9, ε = 1e-6
	if err != nil {
		panic(err)
	}
	for step := 1; step <= 3000; step++ {
		p.ZeroGrad()
		for i, th := range p.Data() {
			p.GradData()[i] += 2 * (th - target[i])
		}
		opt.Step()
		if step == 1 || step == 100 || step == 3000 {
			fmt.Printf("step %4d: θ = [%.4f %.4f]\n", step, p.Data()[0], p.Data()[1])
		}
	}
	// Output:
	// step    1: θ = [0.0032 -0.0032]
	// step  100: θ = [0.3861 -0.3488]
	// step 3000: θ = [3.0000 -1.0000]
}

// AdamW decays the weights directly, θ ← θ − γλθ, before the Adam step
// (Adam's WeightDecay instead adds λθ to the gradient, where the adaptive
// denominator then rescales it). Without a gradient the two differ
// plainly: AdamW shrinks θ by the factor 1 − γλ each step, Adam moves it
// by about γ whatever its size.
func ExampleNewAdamW() {
	for _, name := range []string{"Adam", "AdamW"} {
		p := nn.NewParam("w", 2)
		copy(p.Data(), []float32{10, 0.1})
		cfg := optim.DefaultAdam()
		cfg.LR, cfg.WeightDecay = 0.01, 0.1
		newOpt := optim.NewAdam
		if name == "AdamW" {
			newOpt = optim.NewAdamW
		}
		opt, err := newOpt([]*nn.Param{p}, cfg)
		if err != nil {
			panic(err)
		}
		for range 10 {
			p.ZeroGrad() // the loss's gradient is zero: only the decay acts
			opt.Step()
		}
		fmt.Printf("%-5s after 10 steps: w = [%.4f %.4f]\n", name, p.Data()[0], p.Data()[1])
	}
	// Output:
	// Adam  after 10 steps: w = [9.9000 0.0076]
	// AdamW after 10 steps: w = [9.9004 0.0990]
}

// ClipValue clamps every gradient element to [−v, v]; unlike ClipNorm it
// changes the gradient's direction. A NaN is reported, not clamped.
func ExampleClipValue() {
	w := nn.NewParam("W", 2, 2)
	copy(w.GradData(), []float32{0.5, -3, 2, 0.1})
	if err := optim.ClipValue([]*nn.Param{w}, 1); err != nil {
		panic(err)
	}
	fmt.Println("clipped:", w.GradData())

	w.GradData()[1] = float32(math.NaN())
	fmt.Println(optim.ClipValue([]*nn.Param{w}, 1))
	// Output:
	// clipped: [0.5 -1 1 0.1]
	// optim: ClipValue: parameter 0 (W[2 2]): gradient is NaN at index 1
}
