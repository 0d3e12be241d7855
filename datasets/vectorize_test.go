package datasets

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// The 3-document corpus of the hand-computed tests. Document frequencies:
// good 2, movie 2, bad 1, plot 1, so the ids are good 0, movie 1, bad 2,
// plot 3 (ties broken by term).
var handTexts = []string{"Good, good movie", "bad movie", "good plot"}

func fit(t *testing.T, texts []string, cfg VectorizerConfig) *Vectorizer {
	t.Helper()
	v, err := FitVectorizer(texts, cfg)
	require.NoError(t, err)
	return v
}

// rows returns every row of b.
func rows(b *Bags) (cols [][]int32, vals [][]float32) {
	for i := range b.Len() {
		c, v := b.Row(i)
		cols = append(cols, c)
		vals = append(vals, v)
	}
	return cols, vals
}

func requireRowsNear(t *testing.T, want, got [][]float32) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.InDeltaSlice(t, want[i], got[i], 1e-6, "row %d", i)
	}
}

func TestVectorizerBinary(t *testing.T) {
	v := fit(t, handTexts, VectorizerConfig{})
	require.Equal(t, []string{"good", "movie", "bad", "plot"}, v.Vocab().Terms())
	require.Equal(t, 4, v.Cols())
	require.False(t, v.Weighted())
	b, err := v.Transform(handTexts, []uint8{1, 0, 1})
	require.NoError(t, err)
	cols, vals := rows(b)
	require.Equal(t, [][]int32{{0, 1}, {1, 2}, {0, 3}}, cols)
	require.Equal(t, [][]float32{nil, nil, nil}, vals)
	require.False(t, b.Weighted())
	require.Equal(t, 6, b.NNZ())
	require.Equal(t, []int{1, 2}, b.ClassCounts())

	// Unknown terms are dropped; each known term counts once.
	c, w := v.Row("good GOOD acting, bad plot twist")
	require.Equal(t, []int32{0, 2, 3}, c)
	require.Nil(t, w)
	c, _ = v.Row("nothing known here")
	require.Empty(t, c)
}

func TestVectorizerCounts(t *testing.T) {
	v := fit(t, handTexts, VectorizerConfig{Weighting: Counts})
	require.True(t, v.Weighted())
	b, err := v.Transform(handTexts, []uint8{1, 0, 1})
	require.NoError(t, err)
	cols, vals := rows(b)
	require.Equal(t, [][]int32{{0, 1}, {1, 2}, {0, 3}}, cols)
	require.Equal(t, [][]float32{{2, 1}, {1, 1}, {1, 1}}, vals)

	c, w := v.Row("good good good, bad movie? good!")
	require.Equal(t, []int32{0, 1, 2}, c)
	require.Equal(t, []float32{4, 1, 1}, w)
	c, w = v.Row("")
	require.Empty(t, c)
	require.NotNil(t, w, "weighted rows have values, even empty")
}

func TestVectorizerTFIDF(t *testing.T) {
	// idf = ln((1+N)/(1+df)) + 1 with N = 3.
	idf2 := math.Log(4.0/3) + 1 // df 2: good, movie
	idf1 := math.Log(4.0/2) + 1 // df 1: bad, plot
	require.InDelta(t, 1.2876821, idf2, 1e-7)
	require.InDelta(t, 1.6931472, idf1, 1e-7)
	l2 := func(w ...float64) []float32 {
		var s float64
		for _, x := range w {
			s += x * x
		}
		out := make([]float32, len(w))
		for i, x := range w {
			out[i] = float32(x / math.Sqrt(s))
		}
		return out
	}

	v := fit(t, handTexts, VectorizerConfig{Weighting: TFIDF})
	require.InDelta(t, idf2, v.IDF(0), 1e-12)
	require.InDelta(t, idf1, v.IDF(3), 1e-12)
	b, err := v.Transform(handTexts, []uint8{1, 0, 1})
	require.NoError(t, err)
	_, vals := rows(b)
	requireRowsNear(t, [][]float32{
		{2 / float32(math.Sqrt(5)), 1 / float32(math.Sqrt(5))}, // 2·idf2, 1·idf2: the idf cancels
		l2(idf2, idf1),
		l2(idf2, idf1),
	}, vals)
	require.InDelta(t, 0.6053485, vals[1][0], 1e-6)
	require.InDelta(t, 0.7959605, vals[1][1], 1e-6)

	// L1: divided by the sum; no norm: tf·idf; sublinear tf: 1 + ln(count).
	v = fit(t, handTexts, VectorizerConfig{Weighting: TFIDF, Norm: L1})
	_, w := v.Row("good good movie bad")
	s := 2*idf2 + idf2 + idf1
	requireRowsNear(t, [][]float32{{float32(2 * idf2 / s), float32(idf2 / s), float32(idf1 / s)}}, [][]float32{w})
	v = fit(t, handTexts, VectorizerConfig{Weighting: TFIDF, Norm: NoNorm})
	_, w = v.Row("good good movie bad")
	requireRowsNear(t, [][]float32{{float32(2 * idf2), float32(idf2), float32(idf1)}}, [][]float32{w})
	v = fit(t, handTexts, VectorizerConfig{Weighting: TFIDF, Norm: NoNorm, SublinearTF: true})
	_, w = v.Row("good good movie bad")
	requireRowsNear(t, [][]float32{{float32((1 + math.Ln2) * idf2), float32(idf2), float32(idf1)}}, [][]float32{w})
}

func TestVectorizerOOV(t *testing.T) {
	// MaxSize 3 drops "plot", so text 2 has an unknown term: the OOV column
	// (3) has df 1.
	v := fit(t, handTexts, VectorizerConfig{MaxSize: 3, OOV: true, Weighting: TFIDF, Norm: NoNorm})
	require.Equal(t, 4, v.Cols())
	require.Equal(t, 1, v.OOVDocs())
	require.InDelta(t, math.Log(4.0/2)+1, v.IDF(3), 1e-12)
	b, err := v.Transform(handTexts, []uint8{1, 0, 1})
	require.NoError(t, err)
	cols, _ := rows(b)
	require.Equal(t, [][]int32{{0, 1}, {1, 2}, {0, 3}}, cols)
	c, w := v.Row("plot twist, good")
	require.Equal(t, []int32{0, 3}, c)
	requireRowsNear(t, [][]float32{{float32(v.IDF(0)), float32(2 * v.IDF(3))}}, [][]float32{w})

	vb := fit(t, handTexts, VectorizerConfig{OOV: true})
	require.Equal(t, 5, vb.Cols())
	require.Equal(t, 0, vb.OOVDocs(), "every training term is in the vocabulary")
	c, _ = vb.Row("unknown words only")
	require.Equal(t, []int32{4}, c)
}

func TestVectorizerBigrams(t *testing.T) {
	texts := []string{"not good at all", "not bad", "good, not bad"}
	v := fit(t, texts, VectorizerConfig{NGrams: 2, Weighting: Counts})
	// df: not 3, bad 2, good 2, "not bad" 2, then df 1 by term.
	require.Equal(t, []string{"not", "bad", "good", "not bad", "all", "at", "at all", "good at", "good not", "not good"}, v.Vocab().Terms())
	c, w := v.Row("Not bad. Not bad at all, not good")
	// not ×3, bad ×2, good, "not bad" ×2, all, at, "at all", "not good";
	// "bad not", "bad at", "all not" are unknown.
	require.Equal(t, []int32{0, 1, 2, 3, 4, 5, 6, 9}, c)
	require.Equal(t, []float32{3, 2, 1, 2, 1, 1, 1, 1}, w)
}

func TestVectorizerErrors(t *testing.T) {
	for _, c := range []struct {
		cfg VectorizerConfig
		msg string
	}{
		{VectorizerConfig{NGrams: 3}, "datasets: vectoriser: n-grams 3, want 1 or 2"},
		{VectorizerConfig{MaxSize: -1}, "datasets: vectoriser: maximum size -1 out of range"},
		{VectorizerConfig{Weighting: 7}, "datasets: vectoriser: unknown weighting 7"},
		{VectorizerConfig{Norm: 9}, "datasets: vectoriser: unknown norm 9"},
		{VectorizerConfig{MinCount: 5}, "datasets: vocabulary: no term occurs in 5 or more of the 3 training texts"},
	} {
		_, err := FitVectorizer(handTexts, c.cfg)
		require.ErrorContains(t, err, c.msg)
	}
	v := fit(t, handTexts, VectorizerConfig{})
	_, err := v.Transform(handTexts, []uint8{1})
	require.EqualError(t, err, "datasets: vectoriser: 3 texts but 1 labels")

	for s, w := range map[string]Weighting{"binary": Binary, "multi-hot": Binary, "count": Counts, "TF-IDF": TFIDF} {
		got, err := ParseWeighting(s)
		require.NoError(t, err)
		require.Equal(t, w, got)
	}
	_, err = ParseWeighting("bm25")
	require.EqualError(t, err, `datasets: unknown weighting "bm25" (want binary, count or tfidf)`)
	require.Equal(t, "tfidf", TFIDF.String())
	require.Equal(t, "l1", L1.String())
}

// Rows do not depend on the number of cores, nor on chunking.
func TestTransformDeterministic(t *testing.T) {
	texts := randomCorpus(rand.New(rand.NewPCG(7, 8)), 4000)
	labels := make([]uint8, len(texts))
	for i := range labels {
		labels[i] = uint8(i % 2)
	}
	v := fit(t, texts[:3000], VectorizerConfig{NGrams: 2, MaxSize: 400, Weighting: TFIDF, OOV: true})
	run := func(procs int) *Bags {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		b, err := v.Transform(texts, labels)
		require.NoError(t, err)
		return b
	}
	b1, b3 := run(1), run(3)
	require.Equal(t, b1, b3)
	for i, text := range texts {
		c, w := v.Row(text)
		bc, bw := b1.Row(i)
		require.Equal(t, c, bc)
		require.Equal(t, w, bw)
		require.True(t, isSorted(c), "row %d not sorted", i)
	}
}

func isSorted(c []int32) bool {
	for i := 1; i < len(c); i++ {
		if c[i] <= c[i-1] {
			return false
		}
	}
	return true
}

func TestVectorizerMarshalRoundTrip(t *testing.T) {
	texts := randomCorpus(rand.New(rand.NewPCG(9, 10)), 500)
	probe := append(randomCorpus(rand.New(rand.NewPCG(11, 12)), 50), "", "w999 unknown")
	for _, cfg := range []VectorizerConfig{
		{},
		{NGrams: 2, MinCount: 2, MaxSize: 100, Weighting: TFIDF, OOV: true},
		{NGrams: 2, Weighting: TFIDF, Norm: L1, SublinearTF: true},
		{Weighting: Counts, OOV: true},
	} {
		v := fit(t, texts, cfg)
		data, err := v.MarshalBinary()
		require.NoError(t, err)
		var u Vectorizer
		require.NoError(t, u.UnmarshalBinary(data))
		require.Equal(t, v.Config(), u.Config())
		require.Equal(t, v.Vocab().Terms(), u.Vocab().Terms())
		require.Equal(t, v.Cols(), u.Cols())
		require.Equal(t, v.OOVDocs(), u.OOVDocs())
		for i := range v.Vocab().Len() {
			require.Equal(t, v.Vocab().DF(i), u.Vocab().DF(i))
		}
		for _, s := range probe {
			c1, w1 := v.Row(s)
			c2, w2 := u.Row(s)
			require.Equal(t, c1, c2)
			require.Equal(t, w1, w2)
		}
		again, err := u.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, data, again)
	}
}

// withCRC replaces the checksum of a marshalled vectoriser.
func withCRC(b []byte) []byte {
	b = b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func TestVectorizerUnmarshalCorrupt(t *testing.T) {
	v := fit(t, []string{"good movie", "bad movie", "not good, not bad"}, VectorizerConfig{NGrams: 2, Weighting: TFIDF, OOV: true, MaxSize: 6})
	good, err := v.MarshalBinary()
	require.NoError(t, err)

	// Every truncation and every flipped bit is caught, without a panic.
	for n := range len(good) {
		var u Vectorizer
		require.Error(t, u.UnmarshalBinary(good[:n]), "truncated to %d bytes", n)
	}
	for i := range good {
		for bit := range 8 {
			b := append([]byte(nil), good...)
			b[i] ^= 1 << bit
			var u Vectorizer
			require.Error(t, u.UnmarshalBinary(b), "byte %d bit %d", i, bit)
		}
	}

	// Damage behind a valid checksum is caught by the content checks.
	body := func(edit func(b []byte) []byte) []byte {
		return withCRC(edit(append([]byte(nil), good...)))
	}
	// The terms start after the header: magic, 6 bytes, 5 one-byte uvarints.
	const terms = 4 + 6 + 5
	require.Equal(t, byte(v.Vocab().Len()), good[terms-1])
	for _, c := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"magic", body(func(b []byte) []byte { b[0] = 'X'; return b }), `bad magic "XVEC"`},
		{"version", body(func(b []byte) []byte { b[4] = 2; return b }), "format version 2, want 1"},
		{"n-grams", body(func(b []byte) []byte { b[5] = 3; return b }), "n-grams 3, want 1 or 2"},
		{"weighting", body(func(b []byte) []byte { b[6] = 3; return b }), "unknown weighting 3"},
		{"flag", body(func(b []byte) []byte { b[9] = 2; return b }), "flag byte 9 is 2"},
		{"no OOV but an OOV df", body(func(b []byte) []byte { b[9] = 0; return b }), "OOV document frequency"},
		{"too many terms", body(func(b []byte) []byte { b[terms-1] = 100; return b }), "100 terms announced"},
		{"more terms than the maximum", body(func(b []byte) []byte { b[11] = 3; return b }), "more than the maximum size 3"},
		{"fewer terms", body(func(b []byte) []byte { b[terms-1]--; return b }), "bytes after the last term"},
		{"no terms", body(func(b []byte) []byte { b[terms-1] = 0; return b }), "empty vocabulary"},
		{"rank order", body(func(b []byte) []byte {
			// The first two terms are "bad" and "good" (df 2): swap letters
			// of the first so that it sorts after the second.
			require.Equal(t, "\x03bad", string(b[terms:terms+4]))
			copy(b[terms+1:], "zad")
			return b
		}), `term 1 "good" (df 2) out of rank order after "zad"`},
		{"unigram file with bigrams", body(func(b []byte) []byte { b[5] = 1; return b }), "bigram terms in a unigram vocabulary"},
		{"invalid UTF-8", body(func(b []byte) []byte { b[terms+1] = 0xff; return b }), "invalid UTF-8"},
	} {
		var u Vectorizer
		err := u.UnmarshalBinary(c.data)
		require.ErrorContains(t, err, c.msg, c.name)
		require.ErrorContains(t, err, "datasets: vectoriser: ", c.name)
	}
}

func TestBagsSparseBatch(t *testing.T) {
	for _, w := range []Weighting{Binary, TFIDF} {
		v := fit(t, handTexts, VectorizerConfig{Weighting: w})
		b, err := v.Transform(handTexts, []uint8{1, 0, 1})
		require.NoError(t, err)
		require.Equal(t, 3, b.Len())
		require.Equal(t, 4, b.Cols())
		require.Equal(t, nn.Shape{}, b.TargetShape())

		var x nn.Sparse
		y := nn.NewTensor(2)
		b.SparseBatch(&x, y, []int{2, 0})
		require.NoError(t, x.Validate())
		require.Equal(t, 2, x.Rows())
		require.Equal(t, 4, x.Cols)
		require.Equal(t, []int32{0, 2, 4}, x.Indptr)
		require.Equal(t, []int32{0, 3, 0, 1}, x.Indices)
		require.Equal(t, []float32{1, 1}, y.Float32s())
		if w == Binary {
			require.Nil(t, x.Values)
		} else {
			_, v2 := b.Row(2)
			_, v0 := b.Row(0)
			require.Equal(t, append(append([]float32{}, v2...), v0...), x.Values)
		}

		// A view: rows 1 and 2, then row 2 of the view (corpus row 0... of
		// the selection order).
		s, err := b.Select([]int{1, 2})
		require.NoError(t, err)
		require.Equal(t, 2, s.Len())
		require.Equal(t, uint8(0), s.Label(0))
		ss, err := s.Select([]int{1})
		require.NoError(t, err)
		c, _ := ss.Row(0)
		require.Equal(t, []int32{0, 3}, c)
		require.Equal(t, 2, ss.NNZ())
		y1 := nn.NewTensor(1)
		ss.SparseBatch(&x, y1, []int{0})
		require.Equal(t, []int32{0, 3}, x.Indices)
		require.Equal(t, []float32{1}, y1.Float32s())
		_, err = b.Select([]int{3})
		require.EqualError(t, err, "datasets: Bags.Select: index 3 out of range [0, 3)")

		require.PanicsWithValue(t, "datasets: Bags.SparseBatch: y of shape [3], want [2]", func() {
			b.SparseBatch(&x, nn.NewTensor(3), []int{0, 1})
		})
		require.PanicsWithValue(t, "datasets: Bags.SparseBatch: index 2 out of range [0, 2)", func() {
			s.SparseBatch(&x, y1, []int{2})
		})
	}
}

func TestBagsSplit(t *testing.T) {
	texts := randomCorpus(rand.New(rand.NewPCG(13, 14)), 100)
	labels := make([]uint8, len(texts))
	v := fit(t, texts, VectorizerConfig{})
	b, err := v.Transform(texts, labels)
	require.NoError(t, err)
	train, val, err := b.Split(20, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	require.Equal(t, 80, train.Len())
	require.Equal(t, 20, val.Len())
	// Together the two views hold every row once.
	seen := map[int]int{}
	for _, p := range []*Bags{train, val} {
		for i := range p.Len() {
			seen[p.rows[i]]++
		}
	}
	require.Len(t, seen, 100)
	require.Equal(t, b.NNZ(), train.NNZ()+val.NNZ())
	_, val, err = b.Split(10, nil)
	require.NoError(t, err)
	require.Equal(t, []int{90, 91, 92, 93, 94, 95, 96, 97, 98, 99}, val.rows)
	_, _, err = b.Split(100, nil)
	require.EqualError(t, err, "datasets: validation size 100 must be in [0, 100)")
}

func TestBagsSparseBatchAllocs(t *testing.T) {
	texts := randomCorpus(rand.New(rand.NewPCG(15, 16)), 300)
	labels := make([]uint8, len(texts))
	for _, w := range []Weighting{Binary, Counts} {
		v := fit(t, texts, VectorizerConfig{NGrams: 2, Weighting: w})
		b, err := v.Transform(texts, labels)
		require.NoError(t, err)
		view, err := b.Select([]int{5, 4, 3, 2, 1, 0, 299, 298})
		require.NoError(t, err)
		var x nn.Sparse
		y := nn.NewTensor(64)
		idx := make([]int, 64)
		rng := rand.New(rand.NewPCG(1, 2))
		fill := func(n int) {
			for i := range idx {
				idx[i] = rng.IntN(n)
			}
		}
		for range 20 { // warm up: grow x to the largest batch
			fill(len(texts))
			b.SparseBatch(&x, y, idx)
		}
		allocs := testing.AllocsPerRun(100, func() {
			fill(len(texts))
			b.SparseBatch(&x, y, idx)
		})
		require.Zero(t, allocs, w.String())
		y8 := nn.NewTensor(8)
		idx8 := []int{0, 1, 2, 3, 4, 5, 6, 7}
		view.SparseBatch(&x, y8, idx8)
		require.Zero(t, testing.AllocsPerRun(100, func() { view.SparseBatch(&x, y8, idx8) }), "view")
	}
}

func TestVectorizerAppendRow(t *testing.T) {
	v := fit(t, handTexts, VectorizerConfig{Weighting: Counts, OOV: true})
	var x nn.Sparse
	x.Reset(v.Cols(), v.Weighted())
	v.AppendRow(&x, "good good plot")
	v.AppendRow(&x, "something else")
	require.NoError(t, x.Validate())
	require.Equal(t, []int32{0, 2, 3}, x.Indptr)
	require.Equal(t, []int32{0, 3, 4}, x.Indices)
	require.Equal(t, []float32{2, 1, 2}, x.Values)

	var bad nn.Sparse
	bad.Reset(v.Cols(), false)
	require.PanicsWithValue(t, "datasets: Vectorizer.AppendRow: batch of 5 columns (weighted false), want 5 (weighted true)", func() {
		v.AppendRow(&bad, "good")
	})
}

func ExampleFitVectorizer() {
	train := []string{"Good, good movie", "bad movie", "good plot"}
	v, err := FitVectorizer(train, VectorizerConfig{Weighting: TFIDF})
	if err != nil {
		panic(err)
	}
	fmt.Println("vocabulary:", v.Vocab().Terms())
	cols, vals := v.Row("A good movie, a GOOD plot!")
	fmt.Println("columns:", cols)
	fmt.Printf("weights: %.4f\n", vals)

	// Training rows, as one CSR matrix that fills sparse mini-batches.
	bags, err := v.Transform(train, []uint8{Positive, Negative, Positive})
	if err != nil {
		panic(err)
	}
	var x nn.Sparse
	y := nn.NewTensor(2)
	bags.SparseBatch(&x, y, []int{0, 1})
	fmt.Println("batch:", x.Indptr, x.Indices, y.Float32s())

	// The vectoriser travels with the model, e.g. in nn.Save's metadata.
	data, err := v.MarshalBinary()
	if err != nil {
		panic(err)
	}
	var loaded Vectorizer
	if err := loaded.UnmarshalBinary(data); err != nil {
		panic(err)
	}
	cols, _ = loaded.Row("bad plot")
	fmt.Println(len(data), "bytes; reloaded row of \"bad plot\":", cols)
	// Output:
	// vocabulary: [good movie bad plot]
	// columns: [0 1 3]
	// weights: [0.7710 0.3855 0.5069]
	// batch: [0 2 4] [0 1 1 2] [1 0]
	// 43 bytes; reloaded row of "bad plot": [2 3]
}

// BenchmarkVectorizeIMDB measures the preparation of IMDB for a bigram
// model, as the reference runs time it (shared/bench/SENTIMENT.md, "prep"):
// tokenise the 25,000 training reviews and build their unigram + bigram
// vocabulary (200,000 terms), then vectorise the 25,000 training and 25,000
// test reviews into binary bags. Reading the TSVs is not timed.
func BenchmarkVectorizeIMDB(b *testing.B) {
	train, test, err := LoadIMDB(sharedText(b, "imdb"))
	require.NoError(b, err)
	var trainBags, testBags *Bags
	for b.Loop() {
		v, err := FitVectorizer(train.Texts, VectorizerConfig{NGrams: 2, MaxSize: 200000})
		require.NoError(b, err)
		trainBags, err = v.Transform(train.Texts, train.Labels)
		require.NoError(b, err)
		testBags, err = v.Transform(test.Texts, test.Labels)
		require.NoError(b, err)
	}
	b.ReportMetric(float64(trainBags.NNZ())/float64(trainBags.Len()), "terms/review")
	b.ReportMetric(float64(trainBags.Bytes()+testBags.Bytes())/(1<<20), "MiB-bags")
}

func TestSortCols(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	var tmp []int32
	for _, cols := range []int{1, 2, 100, 255, 256, 2049, 30000, 200000, 1 << 22, 1<<31 - 1} {
		for _, n := range []int{0, 1, 5, 63, 64, 65, 300, 5000} {
			n = min(n, cols)
			seen := map[int32]bool{}
			a := make([]int32, 0, n)
			for len(a) < n {
				x := rng.Int32N(int32(cols))
				if n > cols/2 {
					x = int32(len(a)) // dense: a permutation of 0..n-1
				}
				if !seen[x] {
					seen[x] = true
					a = append(a, x)
				}
			}
			rng.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
			want := slices.Clone(a)
			slices.Sort(want)
			tmp = sortCols(a, tmp, cols)
			require.Equal(t, want, a, "cols %d n %d", cols, n)
		}
	}
}

// FuzzVectorizerUnmarshal checks that no input makes UnmarshalBinary panic,
// and that what it accepts marshals back to the same bytes. Each input is
// also tried with its checksum made valid, to reach the content checks.
func FuzzVectorizerUnmarshal(f *testing.F) {
	for _, cfg := range []VectorizerConfig{{}, {NGrams: 2, Weighting: TFIDF, OOV: true, MaxSize: 5}} {
		v, err := FitVectorizer(handTexts, cfg)
		require.NoError(f, err)
		data, err := v.MarshalBinary()
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("DVEC"))
	// Found by fuzzing: a term length that the bytes left could not hold.
	f.Add([]byte("DVEC\x01\x02\x02\x00\x00\x01\x01000\x05\x0400000\x05000000\x0300Qf\x18y"))
	f.Fuzz(func(t *testing.T, data []byte) {
		try := func(data []byte) {
			var v Vectorizer
			if v.UnmarshalBinary(data) != nil {
				return
			}
			again, err := v.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, data, again)
			v.Row("good movie, bad plot")
		}
		try(data)
		if len(data) >= 4 {
			try(withCRC(data))
		}
	})
}

func TestVectorizerCheckModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	model := func(in ...int) *nn.Sequential {
		m, err := nn.NewSequential(nn.Shape(in), rng)
		require.NoError(t, err)
		return m
	}
	v := fit(t, handTexts, VectorizerConfig{}) // 4 terms
	require.NoError(t, v.CheckModel(model(4)))
	oov := fit(t, handTexts, VectorizerConfig{OOV: true})
	require.NoError(t, oov.CheckModel(model(5)))

	for _, c := range []struct {
		v   *Vectorizer
		m   *nn.Sequential
		msg string
	}{
		{v, model(5), "datasets: vectoriser: file does not match the model: the vectoriser gives 4 columns (4 terms), the model takes input [5]"},
		{oov, model(4), "the vectoriser gives 5 columns (4 terms and OOV), the model takes input [4]"},
		{v, model(2, 2), "the vectoriser gives 4 columns (4 terms), the model takes input [2 2]"},
	} {
		err := c.v.CheckModel(c.m)
		require.ErrorIs(t, err, nn.ErrMismatch)
		require.ErrorContains(t, err, c.msg)
	}

	// The same check after a round trip through the binary form, as a
	// program that reads both from a model file does.
	data, err := oov.MarshalBinary()
	require.NoError(t, err)
	var u Vectorizer
	require.NoError(t, u.UnmarshalBinary(data))
	require.ErrorIs(t, u.CheckModel(model(30000)), nn.ErrMismatch)
}

// A vectoriser whose header announces millions of terms in a few bytes is
// refused before the term tables are allocated.
func TestVectorizerUnmarshalBoundsMemory(t *testing.T) {
	b := []byte("DVEC\x01\x01\x00\x00\x00\x00")
	for _, x := range []uint64{1, 0, maxDocs, 0, maxDocs} { // min count, max size, N, OOV df, terms
		b = binary.AppendUvarint(b, x)
	}
	b = append(b, "\x04good\x01"...)
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	var v Vectorizer
	var err error
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = v.UnmarshalBinary(b)
	runtime.ReadMemStats(&after)
	require.ErrorContains(t, err, fmt.Sprintf("datasets: vectoriser: %d terms announced in 6 bytes", maxDocs))
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated")
}
