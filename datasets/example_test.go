package datasets_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/nn"
)

// A Loader hands out the indices of one epoch's mini-batches. The batch
// size picks the kind of gradient descent: the whole set (batch), 1
// (stochastic) or anything between (mini-batch).
func ExampleNewLoader() {
	for _, size := range []int{10, 1, 4} {
		loader, err := datasets.NewLoader(10, size, false, false, nil)
		if err != nil {
			panic(err)
		}
		loader.Reset()
		fmt.Printf("batch size %2d, steps per epoch %2d:", size, loader.Batches())
		for {
			idx, ok := loader.Next()
			if !ok {
				break
			}
			fmt.Print(" ", idx)
		}
		fmt.Println()
	}

	// Shuffled, from a seeded source: a new order every epoch, the same
	// orders on every run.
	loader, err := datasets.NewLoader(6, 3, true, false, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		panic(err)
	}
	for epoch := range 2 {
		loader.Reset()
		a, _ := loader.Next()
		first := append([]int(nil), a...) // the slice is the loader's: copy to keep it
		b, _ := loader.Next()
		fmt.Printf("epoch %d: %v %v\n", epoch, first, b)
	}
	// Output:
	// batch size 10, steps per epoch  1: [0 1 2 3 4 5 6 7 8 9]
	// batch size  1, steps per epoch 10: [0] [1] [2] [3] [4] [5] [6] [7] [8] [9]
	// batch size  4, steps per epoch  3: [0 1 2 3] [4 5 6 7] [8 9]
	// epoch 0: [1 5 4] [2 0 3]
	// epoch 1: [5 4 3] [1 0 2]
}

// A TensorDataset serves samples held in two tensors; Split carves a
// validation set off it, and Batch copies chosen samples into batch
// tensors the caller owns.
func ExampleSplit() {
	x := nn.FromSlice([]float32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, 5, 2) // 5 samples of 2 features
	y := nn.FromSlice([]float32{0, 1, 0, 1, 0}, 5)                   // their classes
	data, err := datasets.NewTensorDataset(x, y)
	if err != nil {
		panic(err)
	}
	train, val, err := datasets.Split(data, 2, nil) // nil: no shuffle, the last 2 validate
	if err != nil {
		panic(err)
	}
	fmt.Println("training", train.Len(), "validation", val.Len(), "input shape", data.InputShape())

	bx, by := nn.NewTensor(2, 2), nn.NewTensor(2)
	val.Batch(bx, by, []int{1, 0}) // indices into the validation subset
	fmt.Println("x", bx.Float32s(), "y", by.Float32s())
	// Output:
	// training 3 validation 2 input shape [2]
	// x [4 4 3 3] y [0 1]
}
