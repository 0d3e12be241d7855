package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// savePlot renders p as a PNG of the given size and writes it to path with
// writeFileAtomic.
func savePlot(path string, p *plot.Plot, w, h vg.Length) error {
	c := vgimg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return fmt.Errorf("drawing %s: %w", path, err)
	}
	return writeFileAtomic(path, b.Bytes())
}

// saveTiles draws rows of plots, each w×h, into one PNG at path, written
// with writeFileAtomic.
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
	return writeFileAtomic(path, b.Bytes())
}

// writeFileAtomic writes data to a temporary file beside path, makes it
// readable by everyone (0644, like a file checked out of git), syncs it and
// renames it over path, so path never holds half an image. On error the
// temporary file is removed and path is left as it was.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
