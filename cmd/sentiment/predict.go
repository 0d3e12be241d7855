package main

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// classifier is a saved model with its vectoriser: it classifies raw text.
type classifier struct {
	model  *nn.Sequential
	vec    *datasets.Vectorizer
	labels [2]string
	format string // the -format it was trained on ("" if not recorded)
	kind   string // "logreg", "mlp", or "" if not recorded
	x      nn.Sparse
}

// loadClassifier reads a model file written by a training run and checks
// that its metadata holds a vectoriser that fits the model.
func loadClassifier(path string) (*classifier, error) {
	m, meta, err := nn.LoadFile(path, layers.FromSpec)
	if err != nil {
		return nil, err
	}
	vb, ok := meta[metaVectorizer]
	if !ok {
		return nil, fmt.Errorf("%s: no vectoriser in the model's metadata: not a model saved by sentiment", path)
	}
	c := &classifier{model: m, vec: &datasets.Vectorizer{}, labels: [2]string{"negative", "positive"},
		format: string(meta[metaFormat]), kind: string(meta[metaModel])}
	if err := c.vec.UnmarshalBinary(vb); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if l, ok := meta[metaLabels]; ok {
		names := strings.Split(string(l), ",")
		if len(names) != 2 || names[0] == "" || names[1] == "" {
			return nil, fmt.Errorf("%s: labels %q in the metadata, want two names separated by a comma", path, l)
		}
		c.labels = [2]string{names[0], names[1]}
	}
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("%s: the model has no layers", path)
	}
	if _, ok := m.Layers[0].(nn.SparseLayer); !ok {
		return nil, fmt.Errorf("%s: the model's first layer, %s, does not read bags of words", path, m.Layers[0].Spec().Kind)
	}
	if err := c.vec.CheckModel(m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.CheckShapes(nil, nn.Shape{2}); err != nil {
		return nil, fmt.Errorf("%s: %w (two logits: %s, %s)", path, err, c.labels[0], c.labels[1])
	}
	return c, nil
}

// logOdds returns log p(positive)/p(negative) = z₁ − z₀ for the rows of
// c.x, in float64.
func (c *classifier) logOdds(dst []float64) []float64 {
	z := c.model.ForwardSparse(&c.x, false).Float32s()
	dst = dst[:0]
	for i := range c.x.Rows() {
		dst = append(dst, float64(z[2*i+1])-float64(z[2*i]))
	}
	return dst
}

// classify returns the log-odds of positive for one text.
func (c *classifier) classify(text string) float64 {
	c.x.Reset(c.vec.Cols(), c.vec.Weighted())
	c.vec.AppendRow(&c.x, text)
	var buf [1]float64
	return c.logOdds(buf[:0])[0]
}

// sigmoid returns 1/(1 + e^(−z)): p(positive) for log-odds z.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// decide returns the label of log-odds z and that label's probability.
func (c *classifier) decide(z float64) (string, float64) {
	p := sigmoid(z)
	if z > 0 {
		return c.labels[1], p
	}
	return c.labels[0], 1 - p
}

// useSaved runs the -load modes: -eval, -explain, -predict, or classify the
// lines of stdin.
func useSaved(o *options, stdin io.Reader, stdout, stderr io.Writer) error {
	c, err := loadClassifier(o.load)
	if err != nil {
		return err
	}
	switch {
	case o.eval:
		return evalSaved(o, c, stdout, stderr)
	case o.explain && o.set["predict"]:
		return explainText(c, o.predict, o.top, stdout)
	case o.explain:
		return explainModel(c, o.top, stdout)
	case o.set["predict"]:
		label, p := c.decide(c.classify(o.predict))
		_, err := fmt.Fprintf(stdout, "%s %.4f\n", label, p)
		return err
	}
	return classifyLines(c, stdin, stdout)
}

// classifyLines classifies every line of r (one text per line) and writes
// one line per text: "LABEL P<TAB>PREVIEW", P the probability of LABEL and
// PREVIEW the first 60 characters of the text.
func classifyLines(c *classifier, r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), datasets.MaxLineBytes+2)
	bw := bufio.NewWriter(w)
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSuffix(sc.Text(), "\r")
		label, p := c.decide(c.classify(text))
		fmt.Fprintf(bw, "%s %.4f\t%s\n", label, p, preview(text, 60))
		// Flush line by line, so that an interactive user sees each answer.
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("standard input:%d: line longer than %d bytes", n+1, datasets.MaxLineBytes)
		}
		return fmt.Errorf("standard input:%d: %w", n+1, err)
	}
	return nil
}

// preview returns the first n characters of s, on one line: invalid UTF-8
// and control characters (tabs included) become spaces, and "…" marks a
// cut.
func preview(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range strings.ToValidUTF8(s, " ") {
		if count == n {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			r = ' '
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}

// termName names column col of the vectoriser.
func (c *classifier) termName(col int) string {
	if col < c.vec.Vocab().Len() {
		return c.vec.Vocab().Term(col)
	}
	return "(out of vocabulary)"
}

// linear returns the bag layer when the model is logistic regression (one
// EmbeddingBag with two outputs), whose log-odds are exactly linear in the
// row: z₁ − z₀ = (b₁ − b₀) + Σ_k v_k·(W[c_k,1] − W[c_k,0]).
func (c *classifier) linear() *layers.EmbeddingBag {
	if len(c.model.Layers) != 1 {
		return nil
	}
	if bag, ok := c.model.Layers[0].(*layers.EmbeddingBag); ok && bag.Dim() == 2 && bag.Mode() == layers.BagSum {
		return bag
	}
	return nil
}

// termEffects returns, for every column t, the change in log-odds of
// positive that the term causes on its own: logOdds({t}) − logOdds({}),
// the one-term text (value 1) against the empty text. For logistic
// regression this is W[t,1] − W[t,0], read from the weights; for another
// model it is computed by running every one-term text through it.
func (c *classifier) termEffects() []float64 {
	cols := c.vec.Cols()
	eff := make([]float64, cols)
	if bag := c.linear(); bag != nil {
		w := bag.W().Data()
		for t := range eff {
			eff[t] = float64(w[2*t+1]) - float64(w[2*t])
		}
		return eff
	}
	weighted := c.vec.Weighted()
	c.x.Reset(cols, weighted)
	c.x.AppendRow(nil, []float32{})
	empty := c.logOdds(nil)[0]
	one := []float32{1}
	if !weighted {
		one = nil
	}
	const size = 1024
	var z []float64
	var col [1]int32
	for lo := 0; lo < cols; lo += size {
		c.x.Reset(cols, weighted)
		for t := lo; t < min(lo+size, cols); t++ {
			col[0] = int32(t)
			c.x.AppendRow(col[:], one)
		}
		z = c.logOdds(z)
		for i, v := range z {
			eff[lo+i] = v - empty
		}
	}
	return eff
}

// explainModel prints the top terms towards each class.
func explainModel(c *classifier, top int, w io.Writer) error {
	eff := c.termEffects()
	how := "W[t,1] − W[t,0] of the logistic regression"
	if c.linear() == nil {
		how = "log-odds of the one-term text minus log-odds of the empty text, through the whole network"
	}
	fmt.Fprintf(w, "terms that push hardest towards each class, by the change in log-odds of %s that the term causes on its own\n(%s), out of %d terms\n",
		c.labels[1], how, len(eff))
	order := descending(eff)
	printTerms(w, "towards "+c.labels[1], order, eff, top, func(i int) string { return c.termName(i) }, 1)
	slices.Reverse(order)
	printTerms(w, "towards "+c.labels[0], order, eff, top, func(i int) string { return c.termName(i) }, -1)
	return nil
}

// descending returns the indices of v ordered by descending value, equal
// values in index order (-0 and 0 are equal; NaN, below every number for
// cmp.Compare, comes last).
func descending(v []float64) []int {
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(v[b], v[a]) })
	return order
}

// printTerms prints up to top items of order whose value has the given
// sign.
func printTerms(w io.Writer, title string, order []int, val []float64, top int, name func(int) string, sign float64) {
	fmt.Fprintf(w, "%s:\n", title)
	n := 0
	for _, i := range order {
		if n == top || val[i]*sign <= 0 {
			break
		}
		fmt.Fprintf(w, "  %+9.4f  %s\n", val[i], name(i))
		n++
	}
	if n == 0 {
		fmt.Fprintln(w, "  (none)")
	}
}

// contributions returns the log-odds of text, and for each of its terms
// (the columns of its row) the log-odds of the text minus the log-odds of
// the text without that term (its value set to 0, the others' kept), with
// the log-odds of the empty text. For logistic regression the
// contributions are v_k·(W[c_k,1] − W[c_k,0]) and add up, with the empty
// text's log-odds b₁ − b₀, to the text's.
func (c *classifier) contributions(text string) (z, empty float64, cols []int32, contrib []float64) {
	cols, vals := c.vec.Row(text)
	contrib = make([]float64, len(cols))
	weighted := c.vec.Weighted()
	c.x.Reset(c.vec.Cols(), weighted)
	c.x.AppendRow(cols, vals)
	c.x.AppendRow(nil, []float32{})
	out := c.logOdds(nil)
	z, empty = out[0], out[1]
	if bag := c.linear(); bag != nil {
		wt := bag.W().Data()
		for k, col := range cols {
			v := 1.0
			if weighted {
				v = float64(vals[k])
			}
			contrib[k] = v * (float64(wt[2*col+1]) - float64(wt[2*col]))
		}
		return z, empty, cols, contrib
	}
	// Occlusion: one row per term, the text without it.
	rowC := make([]int32, 0, len(cols))
	var rowV []float32
	const size = 512
	for lo := 0; lo < len(cols); lo += size {
		c.x.Reset(c.vec.Cols(), weighted)
		hi := min(lo+size, len(cols))
		for k := lo; k < hi; k++ {
			rowC = append(append(rowC[:0], cols[:k]...), cols[k+1:]...)
			if weighted {
				rowV = append(append(rowV[:0], vals[:k]...), vals[k+1:]...)
			}
			c.x.AppendRow(rowC, rowV)
		}
		for i, v := range c.logOdds(nil) {
			contrib[lo+i] = z - v
		}
	}
	return z, empty, cols, contrib
}

// explainText prints the decision on one text and the terms that made it.
func explainText(c *classifier, text string, top int, w io.Writer) error {
	z, empty, cols, contrib := c.contributions(text)
	label, p := c.decide(z)
	fmt.Fprintf(w, "%s %.4f\n", label, p)
	var sum float64
	for _, v := range contrib {
		sum += v
	}
	fmt.Fprintf(w, "log-odds of %s %.4f; empty text %.4f; %d known terms, contributions adding up to %.4f", c.labels[1], z, empty, len(cols), sum)
	if c.linear() != nil {
		fmt.Fprintln(w, " (logistic regression: empty text + contributions = log-odds)")
	} else {
		fmt.Fprintln(w, " (the MLP is not additive: each contribution is the log-odds change when that term alone is removed)")
	}
	order := descending(contrib)
	name := func(i int) string { return c.termName(int(cols[i])) }
	printTerms(w, "terms of the text towards "+c.labels[1], order, contrib, top, name, 1)
	slices.Reverse(order)
	printTerms(w, "terms of the text towards "+c.labels[0], order, contrib, top, name, -1)
	return nil
}

// evalSaved evaluates the loaded model on the test split of -format (the
// format it was trained on unless -format is given).
func evalSaved(o *options, c *classifier, stdout, stderr io.Writer) error {
	if !o.set["format"] && c.format != "" {
		o.format = c.format
	}
	if _, ok := formatDefaults[o.format]; !ok {
		return fmt.Errorf("%s: trained on format %q, which this build does not know; pass -format", o.load, o.format)
	}
	if o.format == "tsv" && o.data == "" {
		return fmt.Errorf("-eval of a model trained on -format tsv needs -data")
	}
	start := time.Now()
	data, err := loadCorpora(o, stderr)
	if err != nil {
		return err
	}
	_, test, testName, err := testSplit(data)
	if err != nil {
		return err
	}
	loadSecs := time.Since(start).Seconds()
	start = time.Now()
	bags, err := c.vec.Transform(test.Texts, test.Labels)
	if err != nil {
		return err
	}
	cfg := c.vec.Config()
	res := result{Model: c.kind, Format: o.format, NGrams: cfg.NGrams, Vectorizer: cfg.Weighting.String(),
		MinCount: cfg.MinCount, MaxVocab: cfg.MaxSize, VocabSize: c.vec.Vocab().Len(),
		Params: nn.NumParams(c.model.Params()), TestSamples: bags.Len(), TestSplit: testName,
		LoadSeconds: cli.Round(loadSecs, 3), PrepSeconds: cli.Round(time.Since(start).Seconds(), 3),
		EpochSeconds: []float64{}, EvaluatedLoaded: true, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	e := evaluate(c.model, bags)
	res.TestAccuracy, res.TestLoss = e.accuracy, cli.Float(cli.Round(e.loss, 6))
	fmt.Fprintf(stdout, "%s: %d %s %s from %s\n", o.format, e.n, testName, data.noun, data.where)
	printScore(stdout, testName, e)
	return finish(o, &res, stdout)
}
