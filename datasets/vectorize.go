package datasets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// Weighting says what value a bag-of-words row holds for each term of a
// document.
type Weighting uint8

const (
	// Binary is multi-hot: each distinct term of the document once, with
	// weight 1. Its rows carry no values.
	Binary Weighting = iota
	// Counts weighs each distinct term by its number of occurrences in the
	// document.
	Counts
	// TFIDF weighs each distinct term t by tf · idf(t), with tf the count
	// (or 1 + ln count with SublinearTF) and idf(t) = ln((1 + N) / (1 +
	// df(t))) + 1, N the number of training documents (scikit-learn's
	// smooth idf), then normalises the row (L2 by default).
	TFIDF
)

var weightingNames = [...]string{Binary: "binary", Counts: "count", TFIDF: "tfidf"}

// String returns "binary", "count" or "tfidf".
func (w Weighting) String() string {
	if int(w) < len(weightingNames) {
		return weightingNames[w]
	}
	return fmt.Sprintf("Weighting(%d)", w)
}

// ParseWeighting returns the weighting named s: "binary" (or "multi-hot"),
// "count" (or "counts") or "tfidf" (or "tf-idf").
func ParseWeighting(s string) (Weighting, error) {
	switch strings.ToLower(s) {
	case "binary", "multi-hot", "multihot":
		return Binary, nil
	case "count", "counts":
		return Counts, nil
	case "tfidf", "tf-idf":
		return TFIDF, nil
	}
	return 0, fmt.Errorf("datasets: unknown weighting %q (want binary, count or tfidf)", s)
}

// Norm is the normalisation of a TF-IDF row.
type Norm uint8

const (
	// L2 divides the row by its Euclidean norm (scikit-learn's default).
	L2 Norm = iota
	// L1 divides the row by the sum of its weights: a TF-IDF-weighted mean.
	L1
	// NoNorm leaves the weights as they are.
	NoNorm
)

var normNames = [...]string{L2: "l2", L1: "l1", NoNorm: "none"}

// String returns "l2", "l1" or "none".
func (n Norm) String() string {
	if int(n) < len(normNames) {
		return normNames[n]
	}
	return fmt.Sprintf("Norm(%d)", n)
}

// VectorizerConfig sets how texts become bag-of-words rows. The zero value
// is unigrams, every term of the training texts, binary weights.
type VectorizerConfig struct {
	// NGrams is 1 for tokens only, 2 for tokens and bigrams (see [Terms]);
	// 0 means 1.
	NGrams int
	// MinCount is the minimum document frequency of a kept term; 0 means 1.
	MinCount int
	// MaxSize keeps at most this many terms, the most frequent ones (see
	// [BuildVocab]); 0 keeps them all.
	MaxSize int
	// Weighting is the value of a term in a row.
	Weighting Weighting
	// Norm normalises TF-IDF rows (L2 unless set); other weightings are not
	// normalised.
	Norm Norm
	// SublinearTF makes TF-IDF use tf = 1 + ln(count) instead of the count.
	SublinearTF bool
	// OOV adds one column, the last, for the terms outside the vocabulary:
	// a document's unknown terms all count as that one term (its idf uses
	// the number of training documents with at least one unknown term).
	// Without it unknown terms are dropped.
	OOV bool
}

// Vectorizer turns texts into sparse bag-of-words rows over a vocabulary
// built from training texts. It holds everything needed to vectorise a new
// text the way the training texts were (vocabulary, document frequencies,
// settings), and saves it with [Vectorizer.MarshalBinary], for instance in
// a model file's metadata. It is read-only and safe for concurrent use.
//
// A row's columns are the ids of its distinct terms, sorted; unknown terms
// are dropped, or counted in the out-of-vocabulary column when OOV is set.
//
// Make one with [FitVectorizer] or [Vectorizer.UnmarshalBinary]; the zero
// value has no vocabulary and cannot be used.
type Vectorizer struct {
	cfg      VectorizerConfig
	vocab    *Vocab
	oovDF    int        // training documents with an unknown term (with OOV)
	idf      []float64  // per column, for TFIDF
	builders *sync.Pool // of *rowBuilder, for Row and AppendRow
}

// FitVectorizer builds a vectoriser from the training texts: their
// vocabulary ([BuildVocab] with cfg's n-grams, minimum count and maximum
// size) and, for TF-IDF, their document frequencies.
func FitVectorizer(texts []string, cfg VectorizerConfig) (*Vectorizer, error) {
	cfg.NGrams = max(cfg.NGrams, 1)
	cfg.MinCount = min(max(cfg.MinCount, 1), maxDocs)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	vocab, err := BuildVocab(texts, cfg.NGrams, cfg.MinCount, cfg.MaxSize)
	if err != nil {
		return nil, err
	}
	v := &Vectorizer{cfg: cfg, vocab: vocab, builders: newBuilderPool()}
	if cfg.OOV {
		v.oovDF = v.countOOV(texts)
	}
	v.setIDF()
	return v, nil
}

func (c *VectorizerConfig) check() error {
	switch {
	case c.NGrams != 1 && c.NGrams != 2:
		return fmt.Errorf("datasets: vectoriser: n-grams %d, want 1 or 2", c.NGrams)
	case c.MaxSize < 0 || c.MaxSize > maxDocs:
		return fmt.Errorf("datasets: vectoriser: maximum size %d out of range [0, %d]", c.MaxSize, maxDocs)
	case c.Weighting > TFIDF:
		return fmt.Errorf("datasets: vectoriser: unknown weighting %d", c.Weighting)
	case c.Norm > NoNorm:
		return fmt.Errorf("datasets: vectoriser: unknown norm %d", c.Norm)
	}
	return nil
}

// countOOV returns the number of texts with at least one term outside the
// vocabulary.
func (v *Vectorizer) countOOV(texts []string) int {
	nw := workers(len(texts))
	found := make([]int, nw)
	builders := make([]rowBuilder, nw)
	oov := int32(v.vocab.Len())
	parallel(len(texts), nw, func(w, lo, hi int) {
		rb := &builders[w]
		for _, s := range texts[lo:hi] {
			v.bag(rb, s)
			if rb.cnt.count(oov) > 0 {
				found[w]++
			}
		}
	})
	total := 0
	for _, f := range found {
		total += f
	}
	return total
}

// setIDF caches the idf of every column for TF-IDF.
func (v *Vectorizer) setIDF() {
	v.idf = nil
	if v.cfg.Weighting == TFIDF {
		v.idf = make([]float64, v.Cols())
		for i := range v.idf {
			v.idf[i] = v.IDF(i)
		}
	}
}

// Config returns the settings the vectoriser was built with (NGrams and
// MinCount at least 1).
func (v *Vectorizer) Config() VectorizerConfig { return v.cfg }

// Vocab returns the vocabulary.
func (v *Vectorizer) Vocab() *Vocab { return v.vocab }

// Cols returns the number of columns of a row: the vocabulary size, plus
// one with OOV.
func (v *Vectorizer) Cols() int {
	if v.cfg.OOV {
		return v.vocab.Len() + 1
	}
	return v.vocab.Len()
}

// CheckModel returns an error wrapping [nn.ErrMismatch] unless m takes the
// vectoriser's rows as input, that is per-sample input shape [Cols()]. A
// program that loads a model and its vectoriser from different places (or
// from a file it did not write) calls it before classifying anything:
//
//	datasets: vectoriser: file does not match the model: the vectoriser gives 30001 columns (30000 terms and OOV), the model takes input [10000]
func (v *Vectorizer) CheckModel(m *nn.Sequential) error {
	if in := m.InputShape(); len(in) == 1 && in[0] == v.Cols() {
		return nil
	}
	oov := ""
	if v.cfg.OOV {
		oov = " and OOV"
	}
	return fmt.Errorf("datasets: vectoriser: %w: the vectoriser gives %d columns (%d terms%s), the model takes input %v",
		nn.ErrMismatch, v.Cols(), v.vocab.Len(), oov, m.InputShape())
}

// Weighted reports whether rows carry values (false for Binary).
func (v *Vectorizer) Weighted() bool { return v.cfg.Weighting != Binary }

// IDF returns the inverse document frequency of column col, ln((1 + N) /
// (1 + df)) + 1, whatever the weighting.
func (v *Vectorizer) IDF(col int) float64 {
	df := v.oovDF
	if col < v.vocab.Len() {
		df = v.vocab.DF(col)
	}
	n := float64(v.vocab.docs)
	return math.Log((1+n)/(1+float64(df))) + 1
}

// OOVDocs returns the number of training texts with a term outside the
// vocabulary, the document frequency of the OOV column (0 without OOV).
func (v *Vectorizer) OOVDocs() int { return v.oovDF }

// rowBuilder holds one goroutine's buffers for building rows.
type rowBuilder struct {
	tok  tokenizer
	nums []int32   // token numbers of the document's tokens, -1 if unknown
	cols []int32   // the document's distinct columns, in order of first sight
	cnt  colCounts // their numbers of occurrences
	w    []float64 // weights of the row being built
	tmp  []int32   // scratch for sortCols
}

// colCounts counts the occurrences of columns in one document: a small
// open-addressing hash table sized to the document, which stays in the
// fastest cache however large the vocabulary is.
type colCounts struct {
	keys   []int32 // column + 1; 0 marks an empty slot
	counts []int32
	mask   int
}

// reset empties the table for up to n distinct columns.
func (c *colCounts) reset(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if len(c.keys) < size {
		c.keys, c.counts = make([]int32, size), make([]int32, size)
	} else {
		clear(c.keys[:size])
	}
	c.mask = size - 1
}

// add counts one occurrence of col and reports whether it is the first.
func (c *colCounts) add(col int32) bool {
	k := col + 1
	for i := int(uint64(k)*0x9e3779b97f4a7c15>>32) & c.mask; ; i = (i + 1) & c.mask {
		switch c.keys[i] {
		case k:
			c.counts[i]++
			return false
		case 0:
			c.keys[i], c.counts[i] = k, 1
			return true
		}
	}
}

// count returns the number of occurrences of col.
func (c *colCounts) count(col int32) int32 {
	k := col + 1
	for i := int(uint64(k)*0x9e3779b97f4a7c15>>32) & c.mask; ; i = (i + 1) & c.mask {
		switch c.keys[i] {
		case k:
			return c.counts[i]
		case 0:
			return 0
		}
	}
}

// bag tokenises text and counts its terms by column: afterwards rb.cols
// lists the distinct columns and rb.cnt their occurrences. Unknown terms
// count in the OOV column, or not at all.
func (v *Vectorizer) bag(rb *rowBuilder, text string) {
	oov := int32(-1)
	if v.cfg.OOV {
		oov = int32(v.vocab.Len())
	}
	t, voc := &rb.tok, v.vocab
	t.tokenize(text)
	rb.cnt.reset(t.numTerms(v.cfg.NGrams))
	cols, nums := rb.cols[:0], rb.nums[:0]
	for i := range t.starts {
		n, ok := voc.tokens[string(t.buf[t.starts[i]:t.ends[i]])]
		col := oov
		if !ok {
			n = -1
		} else if c := voc.uniCol[n]; c >= 0 {
			col = c
		}
		nums = append(nums, n)
		if col >= 0 && rb.cnt.add(col) {
			cols = append(cols, col)
		}
	}
	if v.cfg.NGrams == 2 {
		for i := 1; i < len(nums); i++ {
			col := oov
			if a, b := nums[i-1], nums[i]; a >= 0 && b >= 0 && voc.bigrams != nil {
				if s := voc.bigrams.get(pairKey(a, b)); s != nil {
					col = s.v0
				}
			}
			if col >= 0 && rb.cnt.add(col) {
				cols = append(cols, col)
			}
		}
	}
	rb.cols, rb.nums = cols, nums
}

func newBuilderPool() *sync.Pool {
	return &sync.Pool{New: func() any { return new(rowBuilder) }}
}

// sortCols sorts distinct column ids below cols in place and returns the
// scratch slice tmp, grown as needed. Long rows are sorted by an LSD radix
// sort on two or three digits of the id, which is several times faster than
// a comparison sort for the few hundred ids of a document.
func sortCols(a, tmp []int32, cols int) []int32 {
	if len(a) < 64 {
		for i := 1; i < len(a); i++ { // insertion sort
			x, j := a[i], i
			for ; j > 0 && a[j-1] > x; j-- {
				a[j] = a[j-1]
			}
			a[j] = x
		}
		return tmp
	}
	nbits := bits.Len(uint(max(cols-1, 1)))
	passes := (nbits + 10) / 11 // digits of at most 11 bits
	digit := uint((nbits + passes - 1) / passes)
	tmp = slices.Grow(tmp[:0], len(a))[:len(a)]
	var count [1 << 11]int32
	src, dst := a, tmp
	for p := range passes {
		shift, mask := uint(p)*digit, int32(1)<<digit-1
		buckets := count[:1<<digit]
		clear(buckets)
		for _, x := range src {
			buckets[x>>shift&mask]++
		}
		sum := int32(0)
		for i, c := range buckets {
			buckets[i] = sum
			sum += c
		}
		for _, x := range src {
			d := x >> shift & mask
			dst[buckets[d]] = x
			buckets[d]++
		}
		src, dst = dst, src
	}
	if passes%2 == 1 {
		copy(a, src)
	}
	return tmp
}

// appendRow appends the row of text to cols and, when the rows are
// weighted, to vals.
func (v *Vectorizer) appendRow(rb *rowBuilder, text string, cols []int32, vals []float32) ([]int32, []float32) {
	v.bag(rb, text)
	rb.tmp = sortCols(rb.cols, rb.tmp, v.Cols())
	cols = append(cols, rb.cols...)
	switch v.cfg.Weighting {
	case Counts:
		for _, c := range rb.cols {
			vals = append(vals, float32(rb.cnt.count(c)))
		}
	case TFIDF:
		w := rb.w[:0]
		var norm float64
		for _, c := range rb.cols {
			tf := float64(rb.cnt.count(c))
			if v.cfg.SublinearTF {
				tf = 1 + math.Log(tf)
			}
			x := tf * v.idf[c]
			w = append(w, x)
			switch v.cfg.Norm {
			case L2:
				norm += x * x
			case L1:
				norm += x
			}
		}
		rb.w = w
		scale := 1.0
		if v.cfg.Norm == L2 && norm > 0 {
			scale = 1 / math.Sqrt(norm)
		} else if v.cfg.Norm == L1 && norm > 0 {
			scale = 1 / norm
		}
		for _, x := range w {
			vals = append(vals, float32(x*scale))
		}
	}
	return cols, vals
}

// Row returns the row of one text: its columns, sorted, and their values
// (nil for Binary).
func (v *Vectorizer) Row(text string) (cols []int32, vals []float32) {
	rb := v.builders.Get().(*rowBuilder)
	defer v.builders.Put(rb)
	cols, vals = v.appendRow(rb, text, nil, nil)
	if v.Weighted() && vals == nil {
		vals = []float32{}
	}
	return cols, vals
}

// AppendRow appends the row of text to the batch x, which must have been
// reset for v.Cols() columns, weighted as v.Weighted() says (see
// [nn.Sparse.Reset]). It is how a trained model classifies a new text.
func (v *Vectorizer) AppendRow(x *nn.Sparse, text string) {
	if x.Cols != v.Cols() || (x.Values != nil) != v.Weighted() {
		panic(fmt.Sprintf("datasets: Vectorizer.AppendRow: batch of %d columns (weighted %t), want %d (weighted %t)",
			x.Cols, x.Values != nil, v.Cols(), v.Weighted()))
	}
	cols, vals := v.Row(text)
	x.AppendRow(cols, vals)
}

// Transform vectorises texts, labelled by labels (class indices, one per
// text), into bags over the vectoriser's columns. The texts are processed on
// all cores; the result does not depend on their number.
func (v *Vectorizer) Transform(texts []string, labels []uint8) (*Bags, error) {
	if len(texts) != len(labels) {
		return nil, fmt.Errorf("datasets: vectoriser: %d texts but %d labels", len(texts), len(labels))
	}
	n := len(texts)
	nw := workers(n)
	chunk := chunkSize(n, nw)
	type part struct {
		cols []int32
		vals []float32
		ends []int64 // row ends, relative to the part
	}
	parts := make([]part, (n+chunk-1)/chunk)
	builders := make([]rowBuilder, nw)
	parallel(n, nw, func(w, lo, hi int) {
		var p part
		p.ends = make([]int64, 0, hi-lo)
		for _, s := range texts[lo:hi] {
			p.cols, p.vals = v.appendRow(&builders[w], s, p.cols, p.vals)
			p.ends = append(p.ends, int64(len(p.cols)))
		}
		parts[lo/chunk] = p
	})
	nnz := 0
	for _, p := range parts {
		nnz += len(p.cols)
	}
	b := &Bags{
		cols:    v.Cols(),
		indptr:  make([]int64, 1, n+1),
		indices: make([]int32, 0, nnz),
		labels:  slices.Clone(labels),
	}
	if v.Weighted() {
		b.values = make([]float32, 0, nnz)
	}
	for _, p := range parts {
		base := int64(len(b.indices))
		for _, e := range p.ends {
			b.indptr = append(b.indptr, base+e)
		}
		b.indices = append(b.indices, p.cols...)
		if v.Weighted() {
			b.values = append(b.values, p.vals...)
		}
	}
	return b, nil
}

// The binary form of a Vectorizer, little-endian:
//
//	"DVEC"             magic
//	u8                 format version (1)
//	u8 × 5             n-grams, weighting, norm, sublinear tf (0/1), OOV (0/1)
//	uvarint × 4        minimum count, maximum size, N (training documents),
//	                   OOV document frequency
//	uvarint            number of terms V
//	V × (uvarint len, len bytes, uvarint df)   the terms in id order
//	u32                CRC-32 (IEEE) of everything before it
const (
	vecMagic   = "DVEC"
	vecVersion = 1
)

// MarshalBinary encodes the vectoriser (settings, vocabulary and document
// frequencies) so that [Vectorizer.UnmarshalBinary] rebuilds one that gives
// the same rows. It implements encoding.BinaryMarshaler.
func (v *Vectorizer) MarshalBinary() ([]byte, error) {
	size := 64
	for _, t := range v.vocab.terms {
		size += len(t) + 8
	}
	b := make([]byte, 0, size)
	b = append(b, vecMagic...)
	b = append(b, vecVersion, byte(v.cfg.NGrams), byte(v.cfg.Weighting), byte(v.cfg.Norm), b2u(v.cfg.SublinearTF), b2u(v.cfg.OOV))
	for _, x := range []int{v.cfg.MinCount, v.cfg.MaxSize, v.vocab.docs, v.oovDF, v.vocab.Len()} {
		b = binary.AppendUvarint(b, uint64(x))
	}
	for i, t := range v.vocab.terms {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
		b = binary.AppendUvarint(b, uint64(v.vocab.df[i]))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// UnmarshalBinary decodes a vectoriser written by
// [Vectorizer.MarshalBinary], replacing v's content. It checks everything
// (magic, version, checksum, settings, that the terms are valid UTF-8,
// distinct and in rank order with plausible frequencies) and returns an
// error, never panics, on corrupt input. It implements
// encoding.BinaryUnmarshaler.
func (v *Vectorizer) UnmarshalBinary(data []byte) error {
	nv, err := decodeVectorizer(data)
	if err != nil {
		return fmt.Errorf("datasets: vectoriser: %w", err)
	}
	*v = *nv
	return nil
}

func decodeVectorizer(data []byte) (*Vectorizer, error) {
	const head = len(vecMagic) + 6
	if len(data) < head+4 {
		return nil, fmt.Errorf("%d bytes, too short", len(data))
	}
	if string(data[:4]) != vecMagic {
		return nil, fmt.Errorf("bad magic %q, want %q", data[:4], vecMagic)
	}
	if data[4] != vecVersion {
		return nil, fmt.Errorf("format version %d, want %d", data[4], vecVersion)
	}
	body := data[:len(data)-4]
	if got, want := crc32.ChecksumIEEE(body), binary.LittleEndian.Uint32(data[len(data)-4:]); got != want {
		return nil, fmt.Errorf("checksum mismatch (CRC-32 %08x, stored %08x)", got, want)
	}
	cfg := VectorizerConfig{
		NGrams:    int(data[5]),
		Weighting: Weighting(data[6]),
		Norm:      Norm(data[7]),
	}
	for i, p := range []*bool{&cfg.SublinearTF, &cfg.OOV} {
		switch data[8+i] {
		case 0:
		case 1:
			*p = true
		default:
			return nil, fmt.Errorf("flag byte %d is %d, want 0 or 1", 8+i, data[8+i])
		}
	}
	if err := cfg.check(); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "datasets: vectoriser: "))
	}
	r := uvarintReader{b: body[head:]}
	var hdr [5]int
	for i := range hdr {
		hdr[i] = r.int(maxDocs)
	}
	cfg.MinCount, cfg.MaxSize = hdr[0], hdr[1]
	docs, oovDF, nterms := hdr[2], hdr[3], hdr[4]
	switch {
	case r.err != nil:
		return nil, r.err
	case cfg.MinCount < 1:
		return nil, errors.New("minimum count 0")
	case nterms < 1:
		return nil, errors.New("empty vocabulary")
	case nterms > len(r.b)/3: // every term takes at least 3 bytes
		return nil, fmt.Errorf("%d terms announced in %d bytes", nterms, len(r.b))
	case cfg.MaxSize > 0 && nterms > cfg.MaxSize:
		return nil, fmt.Errorf("%d terms, more than the maximum size %d", nterms, cfg.MaxSize)
	case oovDF > docs || (!cfg.OOV && oovDF != 0):
		return nil, fmt.Errorf("OOV document frequency %d for %d documents (OOV %t)", oovDF, docs, cfg.OOV)
	}
	terms, dfs := make([]string, nterms), make([]int32, nterms)
	for i := range nterms {
		term := r.string()
		df := r.int(docs)
		switch {
		case r.err != nil:
			return nil, fmt.Errorf("term %d: %w", i, r.err)
		case term == "" || !utf8.ValidString(term):
			return nil, fmt.Errorf("term %d: empty or invalid UTF-8", i)
		case df < cfg.MinCount:
			return nil, fmt.Errorf("term %d %q: document frequency %d below the minimum count %d", i, term, df, cfg.MinCount)
		case i > 0 && (df > int(dfs[i-1]) || df == int(dfs[i-1]) && term <= terms[i-1]):
			return nil, fmt.Errorf("term %d %q (df %d) out of rank order after %q (df %d)", i, term, df, terms[i-1], dfs[i-1])
		}
		terms[i], dfs[i] = term, int32(df)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last term", len(r.b))
	}
	vocab, err := newVocab(terms, dfs, docs)
	if err != nil {
		return nil, err
	}
	if cfg.NGrams == 1 && vocab.bigrams != nil {
		return nil, errors.New("bigram terms in a unigram vocabulary")
	}
	v := &Vectorizer{cfg: cfg, vocab: vocab, oovDF: oovDF, builders: newBuilderPool()}
	v.setIDF()
	return v, nil
}

// string reads a uvarint length and that many bytes.
func (r *uvarintReader) string() string {
	n := r.int(maxDocs)
	if r.err == nil && n > len(r.b) {
		r.err = fmt.Errorf("%d bytes announced, %d left", n, len(r.b))
	}
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// uvarintReader reads uvarints from b, keeping the first error.
type uvarintReader struct {
	b   []byte
	err error
}

// int reads a uvarint no larger than limit.
func (r *uvarintReader) int(limit int) int {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.b)
	switch {
	case n == 0:
		r.err = errors.New("truncated")
	case n < 0 || x > uint64(limit):
		r.err = fmt.Errorf("value out of range (limit %d)", limit)
	default:
		r.b = r.b[n:]
		return int(x)
	}
	return 0
}

// Bags is a labelled corpus of bag-of-words rows, the output of
// [Vectorizer.Transform]: one CSR matrix for the whole corpus, never dense.
// Row i holds the sorted columns Indices[Indptr[i]:Indptr[i+1]] and, unless
// the weighting is Binary, their values. It implements [SparseDataset], with
// class indices (0 negative, 1 positive for the sentiment sets) as targets.
//
// [Bags.Select] and [Bags.Split] give views on some of the rows that share
// the storage, for validation splits and cross-validation.
type Bags struct {
	cols    int
	indptr  []int64
	indices []int32
	values  []float32
	labels  []uint8
	rows    []int // the rows of a view, nil for all of them
}

var _ SparseDataset = (*Bags)(nil)

// Len returns the number of rows (documents).
func (b *Bags) Len() int {
	if b.rows != nil {
		return len(b.rows)
	}
	return len(b.labels)
}

// Cols returns the number of columns.
func (b *Bags) Cols() int { return b.cols }

// TargetShape returns the empty shape: a target is one class index.
func (b *Bags) TargetShape() nn.Shape { return nn.Shape{} }

// Weighted reports whether the rows carry values (false for Binary).
func (b *Bags) Weighted() bool { return b.values != nil }

// row maps row i of the view to the stored row.
func (b *Bags) row(i int) int {
	if b.rows != nil {
		return b.rows[i]
	}
	return i
}

// Row returns the columns of row i and their values (nil when not
// weighted). The slices alias the bags' storage and must not be modified.
func (b *Bags) Row(i int) (cols []int32, vals []float32) {
	r := b.row(i)
	lo, hi := b.indptr[r], b.indptr[r+1]
	if b.values != nil {
		vals = b.values[lo:hi:hi]
	}
	return b.indices[lo:hi:hi], vals
}

// Label returns the class index of row i.
func (b *Bags) Label(i int) uint8 { return b.labels[b.row(i)] }

// NNZ returns the number of stored columns over the rows of the view.
func (b *Bags) NNZ() int {
	if b.rows == nil {
		return len(b.indices)
	}
	n := 0
	for _, r := range b.rows {
		n += int(b.indptr[r+1] - b.indptr[r])
	}
	return n
}

// Bytes returns the memory taken by the stored matrix and labels (shared by
// all views of it).
func (b *Bags) Bytes() int {
	return 8*len(b.indptr) + 4*len(b.indices) + 4*len(b.values) + len(b.labels) + 8*len(b.rows)
}

// ClassCounts returns the number of rows with each label, for labels 0 to
// the largest one (at least two entries).
func (b *Bags) ClassCounts() []int {
	c := make([]int, 2)
	for i := range b.Len() {
		l := int(b.Label(i))
		for l >= len(c) {
			c = append(c, 0)
		}
		c[l]++
	}
	return c
}

// SparseBatch resets x for Cols() columns and appends the rows with the
// given indices, and writes their labels, as float32, into y, of shape
// [len(idx)]. Once x has grown to the largest batch it allocates nothing. It
// panics if y has the wrong shape or an index is out of range.
func (b *Bags) SparseBatch(x *nn.Sparse, y *tensor.Dense, idx []int) {
	if ys := y.Shape(); len(ys) != 1 || ys[0] != len(idx) {
		panic(fmt.Sprintf("datasets: Bags.SparseBatch: y of shape %v, want [%d]", []int(y.Shape()), len(idx)))
	}
	n := b.Len()
	x.Reset(b.cols, b.values != nil)
	yv := y.Float32s()
	for k, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("datasets: Bags.SparseBatch: index %d out of range [0, %d)", i, n))
		}
		cols, vals := b.Row(i)
		x.AppendRow(cols, vals)
		yv[k] = float32(b.Label(i))
	}
}

// Select returns a view of the rows with the given indices (rows of b, in
// that order), sharing b's storage. It returns an error if an index is out
// of range.
func (b *Bags) Select(idx []int) (*Bags, error) {
	n := b.Len()
	rows := make([]int, len(idx))
	for k, i := range idx {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("datasets: Bags.Select: index %d out of range [0, %d)", i, n)
		}
		rows[k] = b.row(i)
	}
	v := *b
	v.rows = rows
	return &v, nil
}

// Split carves a validation set of nVal rows off the end of b, after a
// shuffle drawn from rng when rng is not nil (a nil rng keeps the order), as
// [Split] does for dense data sets. Both parts are views sharing b's storage.
func (b *Bags) Split(nVal int, rng *rand.Rand) (train, val *Bags, err error) {
	n := b.Len()
	perm, err := splitPerm(n, nVal, rng)
	if err != nil {
		return nil, nil, err
	}
	train, _ = b.Select(perm[:n-nVal])
	val, _ = b.Select(perm[n-nVal:])
	return train, val, nil
}
