package datasets

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// referenceVocab is the reference scripts' build_vocab, written naively:
// df by a set of terms per document, sort everything by (−df, term), cut.
func referenceVocab(texts []string, ngrams, minCount, maxSize int) ([]string, []int) {
	df := map[string]int{}
	for _, s := range texts {
		seen := map[string]bool{}
		for _, t := range Terms(s, ngrams) {
			if !seen[t] {
				seen[t] = true
				df[t]++
			}
		}
	}
	var kept []string
	for t, d := range df {
		if d >= minCount {
			kept = append(kept, t)
		}
	}
	slices.SortFunc(kept, func(a, b string) int {
		if df[a] != df[b] {
			return df[b] - df[a]
		}
		return strings.Compare(a, b)
	})
	if maxSize > 0 && len(kept) > maxSize {
		kept = kept[:maxSize]
	}
	dfs := make([]int, len(kept))
	for i, t := range kept {
		dfs[i] = df[t]
	}
	return kept, dfs
}

// randomCorpus returns n texts over a small Zipf-like vocabulary, so that
// frequencies have many ties, with some punctuation and capitals.
func randomCorpus(rng *rand.Rand, n int) []string {
	words := []string{"the", "movie", "was", "not", "good", "bad", "Great", "plot", "acting", "don't", "café", "10", "a", "and", "boring"}
	texts := make([]string, n)
	for i := range texts {
		var b strings.Builder
		for range 1 + rng.IntN(30) {
			w := words[min(rng.IntN(len(words)), rng.IntN(len(words)))]
			if rng.IntN(20) == 0 {
				w = fmt.Sprintf("w%d", rng.IntN(300)) // rare words
			}
			b.WriteString(w)
			b.WriteString([]string{" ", ", ", ". ", "<br />"}[rng.IntN(4)])
		}
		texts[i] = b.String()
	}
	return texts
}

func vocabTerms(v *Vocab) ([]string, []int) {
	dfs := make([]int, v.Len())
	for i := range dfs {
		dfs[i] = v.DF(i)
	}
	return slices.Clone(v.Terms()), dfs
}

func TestBuildVocabMatchesReference(t *testing.T) {
	texts := randomCorpus(rand.New(rand.NewPCG(1, 2)), 3000)
	for _, c := range []struct{ ngrams, minCount, maxSize int }{
		{1, 1, 0}, {2, 1, 0}, {1, 3, 0}, {2, 2, 0}, {1, 1, 50}, {2, 1, 100}, {2, 5, 333}, {2, 1, 1}, {1, 1, 100000},
	} {
		t.Run(fmt.Sprintf("ngrams=%d,min=%d,max=%d", c.ngrams, c.minCount, c.maxSize), func(t *testing.T) {
			wantTerms, wantDF := referenceVocab(texts, c.ngrams, c.minCount, c.maxSize)
			v, err := BuildVocab(texts, c.ngrams, c.minCount, c.maxSize)
			require.NoError(t, err)
			terms, dfs := vocabTerms(v)
			require.Equal(t, wantTerms, terms)
			require.Equal(t, wantDF, dfs)
			require.Equal(t, len(texts), v.Docs())
			for i, term := range terms {
				id, ok := v.ID(term)
				require.True(t, ok, term)
				require.Equal(t, i, id, term)
			}
		})
	}
}

// The vocabulary does not depend on the number of cores.
func TestBuildVocabDeterministic(t *testing.T) {
	texts := randomCorpus(rand.New(rand.NewPCG(3, 4)), 5000)
	build := func(procs int) ([]string, []int) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		v, err := BuildVocab(texts, 2, 1, 500)
		require.NoError(t, err)
		return vocabTerms(v)
	}
	t1, d1 := build(1)
	t4, d4 := build(4)
	require.Equal(t, t1, t4)
	require.Equal(t, d1, d4)
}

func TestBuildVocabRanking(t *testing.T) {
	texts := []string{"b a", "a c c c", "c b", "d", "a b"}
	// df: a 3, b 3, c 2, d 1; "a c" counts once in text 1.
	v, err := BuildVocab(texts, 1, 1, 0)
	require.NoError(t, err)
	terms, dfs := vocabTerms(v)
	require.Equal(t, []string{"a", "b", "c", "d"}, terms)
	require.Equal(t, []int{3, 3, 2, 1}, dfs)

	v, err = BuildVocab(texts, 1, 2, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, v.Terms())

	// Ties at the cut are broken by term.
	v, err = BuildVocab(texts, 1, 1, 1)
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, v.Terms())

	v, err = BuildVocab(texts, 2, 1, 0)
	require.NoError(t, err)
	terms, dfs = vocabTerms(v)
	require.Equal(t, []string{"a", "b", "c", "a b", "a c", "b a", "c b", "c c", "d"}, terms)
	require.Equal(t, []int{3, 3, 2, 1, 1, 1, 1, 1, 1}, dfs)
	// A bigram may be kept when one of its tokens is not ("c b" and "c c"
	// tie with "d" and come first).
	v, err = BuildVocab(texts, 2, 1, 8)
	require.NoError(t, err)
	require.NotContains(t, v.Terms(), "d")

	for _, q := range []struct {
		term string
		id   int
		ok   bool
	}{{"a", 0, true}, {"c b", 6, true}, {"b c", 0, false}, {"d", 0, false}, {"e", 0, false}, {"", 0, false}, {"a  b", 0, false}, {"a b c", 0, false}} {
		id, ok := v.ID(q.term)
		require.Equal(t, q.ok, ok, "%q", q.term)
		if ok {
			require.Equal(t, q.id, id, "%q", q.term)
		}
	}
}

func TestBuildVocabErrors(t *testing.T) {
	_, err := BuildVocab([]string{"a"}, 3, 1, 0)
	require.EqualError(t, err, "datasets: vocabulary: n-grams 3, want 1 or 2")
	_, err = BuildVocab([]string{"a"}, 1, 1, -1)
	require.EqualError(t, err, "datasets: vocabulary: negative maximum size -1")
	_, err = BuildVocab(nil, 1, 1, 0)
	require.EqualError(t, err, "datasets: vocabulary: no training texts")
	_, err = BuildVocab([]string{"a b", "b c", "..."}, 1, 3, 0)
	require.EqualError(t, err, "datasets: vocabulary: no term occurs in 3 or more of the 3 training texts")
}

func TestPairTable(t *testing.T) {
	tb := newPairTable(0)
	rng := rand.New(rand.NewPCG(5, 6))
	want := map[uint64]int32{}
	for i := range 20000 {
		k := pairKey(rng.Int32N(300), rng.Int32N(300))
		if i%7 == 0 {
			k = 0 // the pair (0, 0)
		}
		s, isNew := tb.upsert(k)
		_, had := want[k]
		require.Equal(t, !had, isNew)
		s.v0++
		want[k]++
	}
	require.Equal(t, len(want), tb.n)
	for k, n := range want {
		s := tb.get(k)
		require.NotNil(t, s)
		require.Equal(t, n, s.v0)
	}
	require.Nil(t, tb.get(pairKey(301, 0)))
	got := map[uint64]int32{}
	for k, s := range tb.all() {
		got[k] = s.v0
	}
	require.Equal(t, want, got)
}
