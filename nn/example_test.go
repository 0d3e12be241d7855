package nn_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// affine is a minimal fully connected layer, y = x·W + b, written out here so
// that the examples (and the tests of package nn, which reuse it) need no
// other package. The real one is layers.Dense.
type affine struct {
	units, in int
	w, b      *nn.Param
	x, y      *tensor.Dense // the last training input, and the last output
	out, dx   nn.Buffer
}

func newAffine(units int) *affine { return &affine{units: units} }

// Build checks that the input is flat and creates W [in, units] (Glorot
// uniform) and b [units] (zeros).
func (l *affine) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("affine wants a flat input, got %v", in)
	}
	l.in = in[0]
	l.w = nn.NewParam("W", l.in, l.units)
	nn.GlorotUniform(l.w.Data(), l.in, l.units, rng)
	l.b = nn.NewParam("b", l.units)
	return nn.Shape{l.units}, nil
}

// Forward computes y[i,j] = b[j] + Σ_p x[i,p]·W[p,j].
func (l *affine) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	n := nn.CheckInput("affine", x, nn.Shape{l.in})
	l.y = l.out.Get(n, l.units)
	xs, ys, w, b := x.Float32s(), l.y.Float32s(), l.w.Data(), l.b.Data()
	for i := range n {
		row := ys[i*l.units : (i+1)*l.units]
		copy(row, b)
		for p, xv := range xs[i*l.in : (i+1)*l.in] {
			for j, wv := range w[p*l.units : (p+1)*l.units] {
				row[j] += xv * wv
			}
		}
	}
	if train {
		l.x = x
	}
	return l.y
}

// Backward: dX = dY · Wᵀ, dW += Xᵀ · dY, db += Σ_rows dY.
func (l *affine) Backward(dy *tensor.Dense) *tensor.Dense {
	nn.CheckGrad("affine", dy, l.y)
	n := dy.Shape()[0]
	dx := l.dx.Zeroed(n, l.in)
	xs, dys, dxs := l.x.Float32s(), dy.Float32s(), dx.Float32s()
	w, dw, db := l.w.Data(), l.w.GradData(), l.b.GradData()
	for i := range n {
		g := dys[i*l.units : (i+1)*l.units]
		for j, v := range g {
			db[j] += v
		}
		for p := range l.in {
			wrow, dwrow := w[p*l.units:(p+1)*l.units], dw[p*l.units:(p+1)*l.units]
			xv := xs[i*l.in+p]
			var s float32
			for j, v := range g {
				s += v * wrow[j]
				dwrow[j] += xv * v
			}
			dxs[i*l.in+p] = s
		}
	}
	return dx
}

func (l *affine) Params() []*nn.Param { return []*nn.Param{l.w, l.b} }

func (l *affine) Spec() nn.Spec {
	return nn.Spec{Kind: "affine", Attrs: map[string]float64{"units": float64(l.units)}}
}

// buildLayer makes an unbuilt layer from its spec; it is what nn.Load calls
// for every layer in a file (layers.FromSpec in a real program).
func buildLayer(s nn.Spec) (nn.Layer, error) {
	if s.Kind != "affine" {
		return nil, fmt.Errorf("unknown layer kind %q", s.Kind)
	}
	units, ok := s.Int("units")
	if !ok || units < 1 || units > 1<<16 || len(s.Attrs) != 1 {
		return nil, fmt.Errorf("bad affine spec %v", s)
	}
	return newAffine(units), nil
}

func ExampleNewSequential() {
	rng := rand.New(rand.NewPCG(1, 0))
	model, err := nn.NewSequential(nn.Shape{4}, rng, newAffine(8), newAffine(3))
	if err != nil {
		panic(err)
	}
	for i, l := range model.Layers {
		fmt.Printf("layer %d: %v, %d params\n", i, l.Spec(), nn.NumParams(l.Params()))
	}
	fmt.Println("output shape:", model.OutputShape())

	// A wiring mistake is an error from NewSequential, naming the layer.
	_, err = nn.NewSequential(nn.Shape{1, 28, 28}, rng, newAffine(10))
	fmt.Println(err)
	// Output:
	// layer 0: affine(units=8), 40 params
	// layer 1: affine(units=3), 27 params
	// output shape: [3]
	// nn: layer 0 (affine): input [1 28 28]: affine wants a flat input, got [1 28 28]
}

func ExampleSave() {
	rng := rand.New(rand.NewPCG(1, 0))
	model, err := nn.NewSequential(nn.Shape{2}, rng, newAffine(3), newAffine(1))
	if err != nil {
		panic(err)
	}
	var file bytes.Buffer
	meta := map[string][]byte{"dataset": []byte("xor")}
	if err := nn.Save(&file, model, meta); err != nil {
		panic(err)
	}
	fmt.Println("file size:", file.Len(), "bytes")

	data := file.Bytes()
	loaded, meta, err := nn.Load(bytes.NewReader(data), buildLayer)
	if err != nil {
		panic(err)
	}
	x := nn.FromSlice([]float32{0, 1, 1, 0}, 2, 2)
	want := append([]float32(nil), model.Forward(x, false).Float32s()...)
	got := loaded.Forward(x, false).Float32s()
	fmt.Println("same outputs:", fmt.Sprint(got) == fmt.Sprint(want))
	fmt.Println("dataset:", string(meta["dataset"]))

	// A damaged file is refused with an error that says why.
	var bad bytes.Buffer
	if err := nn.Save(&bad, model, nil); err != nil {
		panic(err)
	}
	bad.Bytes()[40] ^= 1 // flip one bit of the body
	_, _, err = nn.Load(&bad, buildLayer)
	fmt.Println("corrupted:", errors.Is(err, nn.ErrChecksum))
	_, _, err = nn.Load(bytes.NewReader(data[:100]), buildLayer)
	fmt.Println(err)
	// Output:
	// file size: 252 bytes
	// same outputs: true
	// dataset: xor
	// corrupted: true
	// nn: load: truncated file: 100 bytes, the header declares 252
}
