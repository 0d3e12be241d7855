package main

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/descent-ml/descent/internal/cli"
)

// savePlot renders p as a PNG of the given size and writes it to path with
// cli.WriteFileAtomic.
func savePlot(path string, p *plot.Plot, w, h vg.Length) error {
	c := vgimg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return fmt.Errorf("drawing %s: %w", path, err)
	}
	return cli.WriteFileAtomic(path, b.Bytes())
}

// saveTiles draws rows of plots, each w×h, into one PNG at path, written
// with cli.WriteFileAtomic.
func saveTiles(path string, rows [][]*plot.Plot, w, h vg.Length) error {
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	c := vgimg.New(vg.Length(cols)*w, vg.Length(len(rows))*h)
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(rows), Cols: cols, PadX: vg.Millimeter * 3, PadY: vg.Millimeter * 3,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	for i, r := range rows {
		for j, p := range r {
			p.Draw(tiles.At(dc, j, i))
		}
	}
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return fmt.Errorf("drawing %s: %w", path, err)
	}
	return cli.WriteFileAtomic(path, b.Bytes())
}
