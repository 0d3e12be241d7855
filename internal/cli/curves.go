package cli

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/descent-ml/descent/backprop"
)

// WriteFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so path never holds a partial file.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	// CreateTemp makes the file 0600; give it the mode os.WriteFile would
	// (before the umask), since these are files for people to read.
	err = tmp.Chmod(0o644)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteCSV writes one row per epoch of h to path: epoch, loss, accuracy,
// val_loss, val_accuracy, lr, seconds, samples_per_sec (empty where not
// measured).
func WriteCSV(path string, h backprop.History) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds", "samples_per_sec"})
	for _, e := range h.Epochs {
		_ = w.Write([]string{strconv.Itoa(e.Epoch + 1), num(e.Loss), num(e.Accuracy), num(e.ValLoss), num(e.ValAccuracy),
			num(e.LR), num(e.Seconds), num(e.SamplesPerSec)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return WriteFileAtomic(path, b.Bytes())
}

func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// WritePlot draws the loss (left) and accuracy (right) of every epoch of h,
// training and validation, into a PNG at path.
func WritePlot(path, title string, h backprop.History) error {
	loss, err := curves(title+": loss", "loss", h, func(e backprop.EpochStats) (float64, float64) { return e.Loss, e.ValLoss })
	if err != nil {
		return err
	}
	acc, err := curves(title+": accuracy", "accuracy", h, func(e backprop.EpochStats) (float64, float64) { return e.Accuracy, e.ValAccuracy })
	if err != nil {
		return err
	}
	img := vgimg.New(10*vg.Inch, 4*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	loss.Draw(tiles.At(dc, 0, 0))
	acc.Draw(tiles.At(dc, 1, 0))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return fmt.Errorf("drawing %s: %w", path, err)
	}
	return WriteFileAtomic(path, b.Bytes())
}

func curves(title, ylabel string, h backprop.History, get func(backprop.EpochStats) (train, val float64)) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	var tr, va plotter.XYs
	for _, e := range h.Epochs {
		t, v := get(e)
		if !math.IsNaN(t) {
			tr = append(tr, plotter.XY{X: float64(e.Epoch + 1), Y: t})
		}
		if !math.IsNaN(v) {
			va = append(va, plotter.XY{X: float64(e.Epoch + 1), Y: v})
		}
	}
	for _, s := range []struct {
		name string
		pts  plotter.XYs
		c    color.RGBA
	}{{"train", tr, color.RGBA{R: 31, G: 119, B: 180, A: 255}}, {"validation", va, color.RGBA{R: 255, G: 127, B: 14, A: 255}}} {
		if len(s.pts) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.pts)
		if err != nil {
			return nil, err
		}
		l.Color, pts.Color = s.c, s.c
		l.Width = vg.Points(1.5)
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	p.Legend.Top = ylabel == "loss" // the empty corner: losses fall, accuracies rise
	p.Legend.Left = false
	return p, nil
}
