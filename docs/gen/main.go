// Command gen draws every image in docs/images from descent's own code,
// deterministically (every random source is seeded):
//
//	go run ./docs/gen                              # MNIST from the usual place
//	go run ./docs/gen -data ../shared/data/mnist   # MNIST from this folder
//
// It writes, each through a temporary file renamed into place:
//
//	rosenbrock.png         the eight optimizers on the Rosenbrock function
//	saddle.png             the eight optimizers leaving the saddle of x² − y²
//	batch-sizes.png        batch, mini-batch and stochastic gradient descent
//	learning-rate.png      a learning rate too small, about right, too large
//	schedules.png          the learning-rate schedules
//	mnist-optimizers.png   the MNIST MLP's training loss under each optimizer
//	mnist-mlp-curves.png   go run ./cmd/mnist's loss and accuracy curves
//
// The MNIST files are read from -data, else $DESCENT_DATA/mnist, else the
// cache folder (see datasets.IDXSet.Dir); gen never downloads them. It
// prints what each picture shows and how long it took.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/descent-ml/descent/datasets"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "folder holding the four MNIST files (default: $"+datasets.DataEnv+"/mnist, else the cache folder)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := generate(*data, stdout); err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 1
	}
	return 0
}

// generate draws every picture into docs/images of the module that holds
// the working directory.
func generate(dataFlag string, stdout io.Writer) error {
	start := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	out := filepath.Join(root, "docs", "images")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	dir, err := datasets.MNIST().Dir(dataFlag)
	if err != nil {
		return err
	}
	// Check for MNIST before drawing anything, so that a missing data set
	// is reported at once.
	data, err := loadMNIST(dir)
	if err != nil {
		return fmt.Errorf("%w\n(go run ./cmd/mnist downloads the files; gen never does)", err)
	}
	jobs := []struct {
		name string
		draw func(path string) ([]string, error)
	}{
		{"rosenbrock.png", rosenbrockRace},
		{"saddle.png", saddleRace},
		{"batch-sizes.png", batchSizes},
		{"learning-rate.png", learningRates},
		{"schedules.png", schedulePlot},
		{"mnist-optimizers.png", func(p string) ([]string, error) { return optimizerCurves(p, data) }},
		{"mnist-mlp-curves.png", func(p string) ([]string, error) { return mlpCurves(root, p, dir) }},
	}
	for _, job := range jobs {
		t := time.Now()
		path := filepath.Join(out, job.name)
		lines, err := job.draw(path)
		if err != nil {
			return fmt.Errorf("%s: %w", job.name, err)
		}
		rel, _ := filepath.Rel(root, path)
		fmt.Fprintf(stdout, "%s (%.1f s)\n", rel, time.Since(t).Seconds())
		for _, l := range lines {
			fmt.Fprintln(stdout, "  "+l)
		}
	}
	fmt.Fprintf(stdout, "all %d images in %.1f s\n", len(jobs), time.Since(start).Seconds())
	return nil
}

// moduleRoot returns the folder holding go.mod, walking up from the
// working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "docs")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run gen inside the descent repository (no go.mod with a docs folder above the working directory)")
		}
		dir = parent
	}
}
