package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// regressionSamples is the size of the linear-regression training set.
const regressionSamples = 256

// linearData returns n samples of y = 2·x₁ − x₂ + 0.5 + ε with
// x₁ ~ N(0, 1), x₂ ~ N(0, 3²) and ε ~ N(0, 0.1²), drawn from a fixed seed.
// The two scales make the loss surface an elongated bowl, as real features
// usually do.
func linearData(n int) (*datasets.TensorDataset, error) {
	rng := rand.New(rand.NewPCG(7, 7))
	x, y := nn.NewTensor(n, 2), nn.NewTensor(n, 1)
	xs, ys := x.Float32s(), y.Float32s()
	for i := range n {
		x1, x2 := rng.NormFloat64(), 3*rng.NormFloat64()
		xs[2*i], xs[2*i+1] = float32(x1), float32(x2)
		ys[i] = float32(2*x1 - x2 + 0.5 + 0.1*rng.NormFloat64())
	}
	return datasets.NewTensorDataset(x, y)
}

// linearModel is Dense(2→1), always from the same seed, so every run starts
// from the same weights.
func linearModel() (*nn.Sequential, error) {
	return nn.NewSequential(nn.Shape{2}, rand.New(rand.NewPCG(3, 3)), layers.NewDense(2, 1))
}

// descend trains a fresh linear model on d with plain SGD at rate lr, in
// batches of size batch reshuffled every epoch, for the given epochs. It
// returns the mean squared error on all of d, measured before training,
// every `every` steps and at the end of every epoch, against the epoch
// (fractional within an epoch). A run whose loss overflows stops there.
func descend(d *datasets.TensorDataset, lr float64, batch, epochs, every int) (plotter.XYs, error) {
	m, err := linearModel()
	if err != nil {
		return nil, err
	}
	opt, err := optim.NewSGD(m.Params(), optim.SGDConfig{LR: lr})
	if err != nil {
		return nil, err
	}
	tr := &backprop.Trainer{Model: m, Loss: backprop.NewMSE(), Optimizer: opt}
	loader, err := datasets.NewLoader(d.Len(), batch, true, false, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		return nil, err
	}
	mse := backprop.NewMSE()
	fullLoss := func() float64 { return mse.Forward(m.Forward(d.X, false), d.Y) }
	type xy struct{ x, y *tensor.Dense }
	bufs := map[int]xy{} // batch tensors by batch size
	pts := plotter.XYs{{X: 0, Y: fullLoss()}}
	perEpoch := loader.Batches()
	for e := range epochs {
		loader.Reset()
		for s := 0; ; s++ {
			idx, ok := loader.Next()
			if !ok {
				break
			}
			b, ok := bufs[len(idx)]
			if !ok {
				b = xy{nn.NewTensor(len(idx), 2), nn.NewTensor(len(idx), 1)}
				bufs[len(idx)] = b
			}
			d.Batch(b.x, b.y, idx)
			if _, err := tr.Step(b.x, b.y); err != nil {
				return pts, nil // diverged: the loss is no longer finite
			}
			if (s+1)%every == 0 || s+1 == perEpoch {
				l := fullLoss()
				if !(l < 1e15) {
					return pts, nil
				}
				pts = append(pts, plotter.XY{X: float64(e) + float64(s+1)/float64(perEpoch), Y: l})
			}
		}
	}
	return pts, nil
}

// logPlot returns a plot with a logarithmic loss axis.
func logPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = decades{}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return p
}

// addLine adds pts to p as a line in colour i of palette8, with a legend.
func addLine(p *plot.Plot, pts plotter.XYs, i int, label string) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	l.Color = palette8[i%len(palette8)]
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(label, l)
	return nil
}

// batchSizes draws docs/images/batch-sizes.png: batch, mini-batch and
// stochastic gradient descent on the same linear regression, at the same
// learning rate, against the number of passes over the data.
func batchSizes(path string) ([]string, error) {
	d, err := linearData(regressionSamples)
	if err != nil {
		return nil, err
	}
	const lr, epochs = 0.02, 30
	p := logPlot(fmt.Sprintf("linear regression, %d samples, SGD γ=%g", regressionSamples, lr),
		"epoch (passes over the training set)", "MSE on all samples")
	var report []string
	for i, run := range []struct {
		name         string
		batch, every int
	}{
		{fmt.Sprintf("batch (%d samples, 1 step per epoch)", regressionSamples), regressionSamples, 1},
		{fmt.Sprintf("mini-batch (16 samples, %d steps per epoch)", regressionSamples/16), 16, 1},
		{fmt.Sprintf("stochastic (1 sample, %d steps per epoch)", regressionSamples), 1, 4},
	} {
		pts, err := descend(d, lr, run.batch, epochs, run.every)
		if err != nil {
			return nil, err
		}
		if err := addLine(p, pts, i, run.name); err != nil {
			return nil, err
		}
		report = append(report, fmt.Sprintf("batch %-3d loss after %d epochs %.4g", run.batch, epochs, pts[len(pts)-1].Y))
	}
	return report, savePlot(path, p, 7*vg.Inch, 4.5*vg.Inch)
}

// hessianMax returns the largest eigenvalue of the Hessian of the mean
// squared error of a linear model with bias on d: H = (2/N)·AᵀA with
// A = [X 1], found by power iteration in float64.
func hessianMax(d *datasets.TensorDataset) float64 {
	n := d.Len()
	xs := d.X.Float32s()
	var h [3][3]float64
	for i := range n {
		a := [3]float64{float64(xs[2*i]), float64(xs[2*i+1]), 1}
		for r := range 3 {
			for c := range 3 {
				h[r][c] += 2 * a[r] * a[c] / float64(n)
			}
		}
	}
	v := [3]float64{1, 1, 1}
	lambda := 0.0
	for range 500 {
		var w [3]float64
		for r := range 3 {
			for c := range 3 {
				w[r] += h[r][c] * v[c]
			}
		}
		lambda = math.Sqrt(w[0]*w[0] + w[1]*w[1] + w[2]*w[2])
		for r := range 3 {
			v[r] = w[r] / lambda
		}
	}
	return lambda
}

// learningRates draws docs/images/learning-rate.png: batch gradient descent
// on the linear regression at three learning rates, in units of 2/λ_max,
// the rate above which gradient descent on a quadratic diverges.
func learningRates(path string) ([]string, error) {
	d, err := linearData(regressionSamples)
	if err != nil {
		return nil, err
	}
	lmax := hessianMax(d)
	crit := 2 / lmax
	const steps = 60
	p := logPlot(fmt.Sprintf("batch gradient descent on linear regression: λ_max = %.1f, 2/λ_max = %.3f", lmax, crit),
		"step (= epoch)", "MSE on all samples")
	var report []string
	for i, run := range []struct {
		name string
		frac float64
	}{
		{"too small", 0.05},
		{"about right", 0.5},
		{"too large", 1.1},
	} {
		lr := run.frac * crit
		pts, err := descend(d, lr, regressionSamples, steps, 1)
		if err != nil {
			return nil, err
		}
		label := fmt.Sprintf("%s: γ = %.3g = %g·(2/λ_max)", run.name, lr, run.frac)
		if err := addLine(p, pts, []int{0, 2, 3}[i], label); err != nil {
			return nil, err
		}
		report = append(report, fmt.Sprintf("γ = %.4f (%g·2/λ_max): loss %.4g after %d steps", lr, run.frac, pts[len(pts)-1].Y, len(pts)-1))
	}
	return report, savePlot(path, p, 7*vg.Inch, 4.5*vg.Inch)
}

// decades is a tick marker for logarithmic axes: a labelled tick at every
// power of ten in the range, unlabelled ticks at 2…9 times each; ranges of
// less than two decades also label 2 and 5 times each power.
type decades struct{}

// Ticks implements plot.Ticker.
func (decades) Ticks(lo, hi float64) []plot.Tick {
	short := hi < 100*lo
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		d := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * d
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			switch {
			case m != 1 && !(short && (m == 2 || m == 5)):
			case e >= 4 || e <= -4:
				t.Label = strconv.Itoa(int(m)) + "e" + strconv.Itoa(int(e))
			default:
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
