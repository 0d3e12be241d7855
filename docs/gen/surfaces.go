package main

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// surface is a function of two variables with its gradient, the box it is
// drawn in, and the contour levels that show its shape.
type surface struct {
	name           string
	f              func(x, y float64) float64
	grad           func(x, y float64) (gx, gy float64)
	x0, x1, y0, y1 float64   // the box drawn
	levels         []float64 // contour levels of f
	start          [2]float64
	steps          int
	minimum        *[2]float64 // marked with a star, if any
}

// rosenbrock is f(x, y) = (1 − x)² + 100·(y − x²)², whose minimum f = 0 at
// (1, 1) lies at the bottom of a long, curved, flat valley.
var rosenbrock = surface{
	name: "Rosenbrock",
	f:    func(x, y float64) float64 { return (1-x)*(1-x) + 100*(y-x*x)*(y-x*x) },
	grad: func(x, y float64) (float64, float64) {
		return -2*(1-x) - 400*x*(y-x*x), 200 * (y - x*x)
	},
	x0: -2, x1: 2, y0: -1, y1: 3,
	levels:  []float64{0.25, 1, 4, 16, 64, 256, 1024, 4096},
	start:   [2]float64{-1.2, 1},
	steps:   2000,
	minimum: &[2]float64{1, 1},
}

// saddle is z = x² − y²: a minimum along x, a maximum along y, and a saddle
// point at the origin where the gradient vanishes.
var saddle = surface{
	name: "saddle z = x² − y²",
	f:    func(x, y float64) float64 { return x*x - y*y },
	grad: func(x, y float64) (float64, float64) { return 2 * x, -2 * y },
	x0:   -2, x1: 2, y0: -2, y1: 2,
	levels: []float64{-3, -2, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 2, 3},
	start:  [2]float64{-1.8, 1e-3},
	steps:  400,
}

// racer is one optimizer: its name in the pictures and its name for
// cli.NewOptimizer, which builds it as the commands do.
type racer struct {
	name, cli string
}

// make builds r's optimizer over p at learning rate lr, with the
// optimizer's default weight decay (0, and 0.01 for AdamW).
func (r racer) make(p []*nn.Param, lr float64) (optim.Optimizer, error) {
	return cli.NewOptimizer(r.cli, p, lr, -1)
}

// label names the racer with its learning rate.
func (r racer) label(lr float64) string { return fmt.Sprintf("%s γ=%g", r.name, lr) }

// racers are the eight optimizers of package optim, each with PyTorch's
// defaults apart from the learning rate (momentum 0.9 for the two momentum
// variants, λ = 0.01 for AdamW).
var racers = []racer{
	{"SGD", "sgd"}, {"momentum", "momentum"}, {"Nesterov", "nesterov"}, {"AdaGrad", "adagrad"},
	{"RMSprop", "rmsprop"}, {"AdaDelta", "adadelta"}, {"Adam", "adam"}, {"AdamW", "adamw"},
}

// trajectory runs r's optimizer at learning rate lr on s from s.start for s.steps steps, or
// until it leaves the drawn box, and returns the points visited. The two
// coordinates are one 2-element nn.Param: its gradient is filled from
// s.grad where a model's backward pass would fill it.
func trajectory(s surface, r racer, lr float64) (plotter.XYs, error) {
	p := nn.NewParam("xy", 2)
	copy(p.Data(), []float32{float32(s.start[0]), float32(s.start[1])})
	opt, err := r.make([]*nn.Param{p}, lr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.label(lr), err)
	}
	pts := plotter.XYs{{X: s.start[0], Y: s.start[1]}}
	for range s.steps {
		x, y := float64(p.Data()[0]), float64(p.Data()[1])
		p.ZeroGrad()
		gx, gy := s.grad(x, y)
		p.GradData()[0] += float32(gx)
		p.GradData()[1] += float32(gy)
		opt.Step()
		x, y = float64(p.Data()[0]), float64(p.Data()[1])
		if math.IsNaN(x) || math.IsNaN(y) {
			break
		}
		// Clamp the last point to the box, and stop there.
		cx := math.Max(s.x0, math.Min(s.x1, x))
		cy := math.Max(s.y0, math.Min(s.y1, y))
		pts = append(pts, plotter.XY{X: cx, Y: cy})
		if cx != x || cy != y {
			break
		}
	}
	return pts, nil
}

// contours draws level lines of a surface by marching squares: f is
// sampled on an n×n grid over the box, and in every cell each level that
// separates the cell's corners becomes one straight segment (two, where
// the level crosses all four edges) between the points where it crosses the
// edges, found by linear interpolation.
//
// gonum's plotter.Contour joins such segments into paths, but its path
// tracer fails on these grids ("contour: not a linear path", or a runaway
// allocation), and its output is not reproducible bit for bit
// (gonum/plot#622); drawing the segments one by one is both.
type contours struct {
	s     surface
	n     int
	z     []float64 // z[r·n + c] = f(x_c, y_r)
	style draw.LineStyle
}

func newContours(s surface, n int) *contours {
	g := &contours{s: s, n: n, z: make([]float64, n*n),
		style: draw.LineStyle{Color: color.Gray{Y: 185}, Width: vg.Points(0.6)}}
	for r := range n {
		for c := range n {
			g.z[r*n+c] = s.f(g.x(c), g.y(r))
		}
	}
	return g
}

func (g *contours) x(c int) float64 { return g.s.x0 + (g.s.x1-g.s.x0)*float64(c)/float64(g.n-1) }
func (g *contours) y(r int) float64 { return g.s.y0 + (g.s.y1-g.s.y0)*float64(r)/float64(g.n-1) }

// segments calls fn with the end points, in data coordinates, of every
// segment of the level line f = level.
func (g *contours) segments(level float64, fn func(x0, y0, x1, y1 float64)) {
	n := g.n
	for r := 0; r+1 < n; r++ {
		for col := 0; col+1 < n; col++ {
			// Corners counter-clockwise from the bottom left; edge e runs
			// from corner e to corner e+1.
			xs := [4]float64{g.x(col), g.x(col + 1), g.x(col + 1), g.x(col)}
			ys := [4]float64{g.y(r), g.y(r), g.y(r + 1), g.y(r + 1)}
			zs := [4]float64{g.z[r*n+col], g.z[r*n+col+1], g.z[(r+1)*n+col+1], g.z[(r+1)*n+col]}
			var px, py [4]float64
			k := 0
			for e := range 4 {
				a, b := e, (e+1)%4
				if (zs[a] >= level) == (zs[b] >= level) {
					continue
				}
				t := (level - zs[a]) / (zs[b] - zs[a])
				px[k], py[k] = xs[a]+t*(xs[b]-xs[a]), ys[a]+t*(ys[b]-ys[a])
				k++
			}
			for i := 0; i+1 < k; i += 2 {
				fn(px[i], py[i], px[i+1], py[i+1])
			}
		}
	}
}

// Plot implements plot.Plotter.
func (g *contours) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, level := range g.s.levels {
		g.segments(level, func(x0, y0, x1, y1 float64) {
			c.StrokeLine2(g.style, trX(x0), trY(y0), trX(x1), trY(y1))
		})
	}
}

// DataRange implements plot.DataRanger: the box.
func (g *contours) DataRange() (xmin, xmax, ymin, ymax float64) {
	return g.s.x0, g.s.x1, g.s.y0, g.s.y1
}

// palette8 are eight colours that stay apart (Tableau 10, less grey and
// olive).
var palette8 = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {23, 190, 207, 255},
}

// tuneGrid is the learning rates tried for each optimizer on Rosenbrock:
// 1, 2 and 5 per decade from 1e-5 to 5.
var tuneGrid = func() []float64 {
	var g []float64
	for e := -5; e <= 0; e++ {
		for _, m := range []float64{1, 2, 5} {
			g = append(g, m*math.Pow(10, float64(e)))
		}
	}
	return g
}()

// bestLR returns the learning rate of tuneGrid with which r ends lowest on
// s after s.steps steps without leaving the box, and that end value.
func bestLR(s surface, r racer) (lr, f float64, err error) {
	f = math.Inf(1)
	for _, try := range tuneGrid {
		pts, err := trajectory(s, r, try)
		if err != nil {
			return 0, 0, err
		}
		end := pts[len(pts)-1]
		if len(pts) != s.steps+1 {
			continue // left the box, or NaN
		}
		if v := s.f(end.X, end.Y); v < f {
			lr, f = try, v
		}
	}
	if math.IsInf(f, 1) {
		return 0, 0, fmt.Errorf("%s: no learning rate of the grid stays in the box", r.name)
	}
	return lr, f, nil
}

// surfacePlot returns a plot of s's box with its contour lines, the start
// (a dot) and the minimum (a triangle) if s has one.
func surfacePlot(s surface, title string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "x"
	p.Y.Label.Text = "y"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = s.x0, s.x1, s.y0, s.y1
	p.Add(newContours(s, 241))
	marks := []struct {
		at    [2]float64
		glyph draw.GlyphDrawer
	}{{s.start, draw.CircleGlyph{}}}
	if s.minimum != nil {
		marks = append(marks, struct {
			at    [2]float64
			glyph draw.GlyphDrawer
		}{*s.minimum, draw.PyramidGlyph{}})
	}
	for _, m := range marks {
		sc, err := plotter.NewScatter(plotter.XYs{{X: m.at[0], Y: m.at[1]}})
		if err != nil {
			return nil, err
		}
		sc.Shape = m.glyph
		sc.Radius = vg.Points(3.5)
		p.Add(sc)
	}
	return p, nil
}

// rosenbrockRace draws docs/images/rosenbrock.png: one panel per optimizer,
// each at the learning rate of tuneGrid that ends lowest.
func rosenbrockRace(path string) ([]string, error) {
	s := rosenbrock
	var plots [][]*plot.Plot
	var report []string
	for i, r := range racers {
		lr, f, err := bestLR(s, r)
		if err != nil {
			return nil, err
		}
		pts, err := trajectory(s, r, lr)
		if err != nil {
			return nil, err
		}
		p, err := surfacePlot(s, fmt.Sprintf("%s: f = %.2g", r.label(lr), f))
		if err != nil {
			return nil, err
		}
		l, err := racerLine(pts, i)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		if i%4 == 0 {
			plots = append(plots, nil)
		}
		plots[len(plots)-1] = append(plots[len(plots)-1], p)
		end := pts[len(pts)-1]
		report = append(report, fmt.Sprintf("%-9s best γ=%-6g ends at (%.4f, %.4f), f = %.3g", r.name, lr, end.X, end.Y, f))
	}
	return report, saveTiles(path, plots, 3.4*vg.Inch, 3.2*vg.Inch)
}

// racerLine returns the line of racer i's trajectory pts, in its colour.
func racerLine(pts plotter.XYs, i int) (*plotter.Line, error) {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	l.Color = palette8[i]
	l.Width = vg.Points(1.4)
	return l, nil
}

// saddleLRs are the learning rates on the saddle: 0.01 for all but
// AdaGrad and AdaDelta, whose rates live on other scales (their PyTorch
// defaults are 0.01 and 1).
var saddleLRs = [8]float64{0.01, 0.01, 0.01, 0.1, 0.01, 1, 0.01, 0.01}

// saddleRace draws docs/images/saddle.png: every optimizer on one plot,
// each until it leaves the box.
func saddleRace(path string) ([]string, error) {
	s := saddle
	p, err := surfacePlot(s, fmt.Sprintf("%s from (%g, %g)", s.name, s.start[0], s.start[1]))
	if err != nil {
		return nil, err
	}
	var report []string
	for i, r := range racers {
		lr := saddleLRs[i]
		pts, err := trajectory(s, r, lr)
		if err != nil {
			return nil, err
		}
		l, err := racerLine(pts, i)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		what := fmt.Sprintf("leaves after %d steps", len(pts)-1)
		if len(pts) == s.steps+1 {
			what = fmt.Sprintf("still inside after %d steps", s.steps)
		}
		p.Legend.Add(fmt.Sprintf("%s: %s", r.label(lr), what), l)
		report = append(report, fmt.Sprintf("%-9s γ=%-5g %s", r.name, lr, what))
	}
	p.Legend.Top = false
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return report, savePlot(path, p, 6.5*vg.Inch, 6*vg.Inch)
}
