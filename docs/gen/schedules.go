package main

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/descent-ml/descent/optim"
)

// schedulePlot draws docs/images/schedules.png: the learning rate that each
// schedule of package optim gives epoch by epoch, starting from 0.1, over
// 30 epochs. ReduceOnPlateau is fed a made-up validation loss that falls
// for 10 epochs and then stalls.
func schedulePlot(path string) ([]string, error) {
	const base, epochs = 0.1, 30
	step, err := optim.NewStepLR(base, 10, 0.1)
	if err != nil {
		return nil, err
	}
	exp, err := optim.NewExponentialLR(base, 0.9)
	if err != nil {
		return nil, err
	}
	cos, err := optim.NewCosineLR(base, 0, epochs)
	if err != nil {
		return nil, err
	}
	then, err := optim.NewCosineLR(base, 0, epochs-5)
	if err != nil {
		return nil, err
	}
	warm, err := optim.NewWarmup(base, 5, then)
	if err != nil {
		return nil, err
	}
	plateau, err := optim.NewReduceOnPlateau(base, 0.5, 3, 0, 0)
	if err != nil {
		return nil, err
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("learning-rate schedules from γ = %g over %d epochs", base, epochs)
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "learning rate"
	var ticks []plot.Tick
	for e := 0; e <= epochs; e += 5 {
		ticks = append(ticks, plot.Tick{Value: float64(e), Label: strconv.Itoa(e)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	var report []string
	for i, s := range []struct {
		name  string
		sched optim.Schedule
	}{
		{"StepLR(×0.1 every 10)", step},
		{"ExponentialLR(×0.9)", exp},
		{"CosineLR(to 0 over 30)", cos},
		{"Warmup(5) then CosineLR", warm},
		{"ReduceOnPlateau(×0.5, patience 3)", plateau},
	} {
		var pts plotter.XYs
		lr := s.sched.LR()
		for e := range epochs {
			pts = append(pts, plotter.XY{X: float64(e), Y: lr})
			valLoss := math.Max(0.3, 1-0.07*float64(e)) // falls, then stalls
			lr = s.sched.Step(valLoss)
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		l.Color = palette8[i]
		l.Width = vg.Points(1.6)
		p.Add(l)
		p.Legend.Add(s.name, l)
		report = append(report, fmt.Sprintf("%-34s epoch 0: %.4g, epoch 10: %.4g, epoch 29: %.4g", s.name, pts[0].Y, pts[10].Y, pts[29].Y))
	}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return report, savePlot(path, p, 7*vg.Inch, 4.5*vg.Inch)
}
