package layers_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// A Dense layer from 3 to 2 features on a batch of two samples: the forward
// pass Y = X·W + b, then the backward pass for an output gradient dY.
func ExampleDense() {
	d := layers.NewDense(3, 2)
	if _, err := d.Build(nn.Shape{3}, rand.New(rand.NewPCG(1, 2))); err != nil {
		panic(err)
	}
	copy(d.W().Data(), []float32{
		1, 0, // W is [in, out]: row p holds the weights from input p
		0, 1,
		1, -1,
	})
	copy(d.B().Data(), []float32{0.5, -0.5})

	x := nn.FromSlice([]float32{
		1, 2, 3,
		0, -1, 0.5,
	}, 2, 3)
	y := d.Forward(x, true)
	fmt.Println("Y  =", y.Float32s(), y.Shape())

	dy := nn.FromSlice([]float32{
		1, 0,
		0, 2,
	}, 2, 2)
	dx := d.Backward(dy)
	fmt.Println("dW =", d.W().GradData()) // Xᵀ · dY
	fmt.Println("db =", d.B().GradData()) // Σ_rows dY
	fmt.Println("dX =", dx.Float32s())    // dY · Wᵀ
	// Output:
	// Y  = [4.5 -1.5 1 -2] (2, 2)
	// dW = [1 0 2 -2 3 1]
	// db = [1 2]
	// dX = [1 0 1 0 2 -2]
}

// A small classifier: Flatten, Dense, ReLU, Dropout, Dense, Softmax. Each row
// of the output is a probability distribution over the 3 classes.
func ExampleSoftmax() {
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := nn.NewSequential(nn.Shape{2, 4}, rng,
		layers.NewFlatten(),
		layers.NewDense(0, 16), // in = 0: inferred as 8 from the input
		layers.NewReLU(),
		layers.NewDropout(0.25),
		layers.NewDense(16, 3),
		layers.NewSoftmax(),
	)
	if err != nil {
		panic(err)
	}
	x := nn.NewTensor(5, 2, 4)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(rng.NormFloat64())
	}
	p := m.Forward(x, false).Float32s()
	for i := 0; i < 5; i++ {
		row := p[3*i : 3*i+3]
		fmt.Printf("sample %d: sums to %.4f\n", i, row[0]+row[1]+row[2])
	}
	fmt.Println("parameters:", nn.NumParams(m.Params()))
	// Output:
	// sample 0: sums to 1.0000
	// sample 1: sums to 1.0000
	// sample 2: sums to 1.0000
	// sample 3: sums to 1.0000
	// sample 4: sums to 1.0000
	// parameters: 195
}
