package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/descent-ml/descent/datasets"
)

// corpora is what a -format gives: the training texts and, when the set has
// one, the test texts (IMDB's test set, SST-2's dev set, a test.tsv).
type corpora struct {
	train, test *datasets.Corpus
	testName    string // "test", "dev"; empty when test is nil
	where       string // the folder or file read
	noun        string // "reviews", "sentences", "texts"
}

// loadCorpora reads the data of o.format from o.data or the default folder.
func loadCorpora(o *options, stderr io.Writer) (*corpora, error) {
	d := formatDefaults[o.format]
	if o.format == "tsv" {
		return loadTSV(o.data)
	}
	dir, err := datasets.DataDir(d.dataName, o.data)
	if err != nil {
		return nil, err
	}
	c := &corpora{where: dir}
	switch o.format {
	case "imdb":
		var dl *datasets.Downloader
		if o.download {
			dl = &datasets.Downloader{}
			if !o.quiet {
				dl.Progress = stderr
			}
		}
		if err := datasets.EnsureIMDB(dir, dl); err != nil {
			return nil, err
		}
		c.train, c.test, err = datasets.LoadIMDB(dir)
		c.testName, c.noun = "test", "reviews"
	case "polarity":
		c.train, err = datasets.LoadMR(dir)
		if err == nil {
			c.train = interleave(c.train)
		}
		c.noun = "sentences"
	case "sst2":
		c.train, c.test, err = datasets.LoadSST2(dir)
		c.testName, c.noun = "dev", "texts"
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// loadTSV reads -format tsv data: a label<TAB>text file (training data
// only), or a folder holding train.tsv and optionally test.tsv, each
// possibly gzipped.
func loadTSV(path string) (*corpora, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("-data: %w", err)
	}
	c := &corpora{where: path, noun: "texts"}
	if !st.IsDir() {
		c.train, err = datasets.LoadTSV(path)
		return c, err
	}
	find := func(name string) string {
		for _, p := range []string{filepath.Join(path, name+".gz"), filepath.Join(path, name)} {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
		return ""
	}
	tr := find("train.tsv")
	if tr == "" {
		return nil, fmt.Errorf("%s: no train.tsv or train.tsv.gz: want label<TAB>text lines in train.tsv (and test.tsv), or pass -data FILE", path)
	}
	if c.train, err = datasets.LoadTSV(tr); err != nil {
		return nil, err
	}
	if te := find("test.tsv"); te != "" {
		if c.test, err = datasets.LoadTSV(te); err != nil {
			return nil, err
		}
		c.testName = "test"
	}
	return c, nil
}

// interleave reorders a corpus whose documents come class by class (MR:
// every positive sentence, then every negative one) so that the classes
// alternate: the first document of each class, then the second of each,
// and so on. The order within each class is kept, and so are the folds of
// Corpus.Folds, which number the documents within their class; what
// changes is that any prefix of the corpus (-train-limit) holds both
// classes.
func interleave(c *datasets.Corpus) *datasets.Corpus {
	var byClass [256][]int
	for i, l := range c.Labels {
		byClass[l] = append(byClass[l], i)
	}
	idx := make([]int, 0, c.Len())
	for j := 0; len(idx) < c.Len(); j++ {
		for _, docs := range byClass {
			if j < len(docs) {
				idx = append(idx, docs[j])
			}
		}
	}
	return c.Select(idx)
}

// firstN returns the first n documents of c (all of them when n is 0 or
// at least c.Len()).
func firstN(c *datasets.Corpus, n int) *datasets.Corpus {
	if n <= 0 || n >= c.Len() {
		return c
	}
	return &datasets.Corpus{Texts: c.Texts[:n], Labels: c.Labels[:n], Sources: c.Sources[:n]}
}
