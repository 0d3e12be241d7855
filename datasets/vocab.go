package datasets

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Vocab is the vocabulary of a bag-of-words model: the terms kept from a
// training corpus, ranked, with their document frequencies. Term id i is
// the rank of the term when the kept terms are sorted by decreasing document
// frequency and then by term (byte order), so the same corpus always gives
// the same ids. A term is a token or, for bigrams, two tokens joined by one
// space (see [Terms]). Build one with [BuildVocab]; it is read-only
// afterwards and safe for concurrent use.
type Vocab struct {
	terms []string
	df    []int32
	docs  int

	// Lookup without building term strings: every token that is a term or
	// half of a bigram term has a number; uniCol gives the column of the
	// token as a unigram (-1 if it is not one) and bigrams the column of a
	// pair of token numbers.
	tokens  map[string]int32
	uniCol  []int32
	bigrams *pairTable // value: the column
}

// BuildVocab builds the vocabulary of the training texts for the given
// n-grams (1: tokens, 2: tokens and bigrams, see [Terms]): the document
// frequency df(t) of a term is the number of texts it occurs in; the terms
// with df ≥ minCount (minCount ≤ 1 keeps every term) are ranked by (−df,
// term) and the first maxSize are kept (maxSize 0 keeps them all). This is
// the rule of the reference Python scripts.
//
// The texts are tokenised on all cores; the result does not depend on their
// number. BuildVocab returns an error when no term is kept (an empty corpus,
// or a minCount above every term's frequency).
func BuildVocab(texts []string, ngrams, minCount, maxSize int) (*Vocab, error) {
	if ngrams != 1 && ngrams != 2 {
		return nil, fmt.Errorf("datasets: vocabulary: n-grams %d, want 1 or 2", ngrams)
	}
	if maxSize < 0 {
		return nil, fmt.Errorf("datasets: vocabulary: negative maximum size %d", maxSize)
	}
	if len(texts) > maxDocs {
		return nil, fmt.Errorf("datasets: vocabulary: %d texts, more than the %d supported", len(texts), maxDocs)
	}
	minCount = min(max(minCount, 1), maxDocs)

	// Count document frequencies, one table per worker, then add them up.
	counts := make([]*dfTable, workers(len(texts)))
	parallel(len(texts), len(counts), func(w, lo, hi int) {
		if counts[w] == nil {
			counts[w] = newDFTable()
		}
		counts[w].add(texts, lo, hi, ngrams)
	})
	var all *dfTable
	for _, c := range counts {
		switch {
		case c == nil: // a worker that got no texts
		case all == nil:
			all = c
		default:
			all.merge(c)
		}
	}
	if all == nil {
		return nil, errors.New("datasets: vocabulary: no training texts")
	}

	// Rank the candidates and keep the first maxSize.
	kept := all.candidates(minCount, maxSize)
	slices.SortFunc(kept, func(a, b rankedTerm) int {
		if a.df != b.df {
			return int(b.df - a.df)
		}
		return strings.Compare(a.term, b.term)
	})
	if maxSize > 0 && len(kept) > maxSize {
		kept = kept[:maxSize]
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("datasets: vocabulary: no term occurs in %d or more of the %d training texts", minCount, len(texts))
	}
	terms, df := make([]string, len(kept)), make([]int32, len(kept))
	for i, k := range kept {
		terms[i], df[i] = k.term, k.df
	}
	return newVocab(terms, df, len(texts))
}

// maxDocs bounds the number of training documents so that document
// frequencies fit an int32.
const maxDocs = 1<<31 - 1

// newVocab makes a vocabulary of ranked terms and builds its lookup tables.
// It returns an error if a term is not a token or two tokens joined by one
// space, or appears twice.
func newVocab(terms []string, df []int32, docs int) (*Vocab, error) {
	v := &Vocab{terms: terms, df: df, docs: docs, tokens: make(map[string]int32, len(terms))}
	token := func(t string) int32 {
		n, ok := v.tokens[t]
		if !ok {
			n = int32(len(v.uniCol))
			v.tokens[t] = n
			v.uniCol = append(v.uniCol, -1)
		}
		return n
	}
	for col, t := range terms {
		a, b, bigram := strings.Cut(t, " ")
		switch {
		case a == "" || bigram && (b == "" || strings.IndexByte(b, ' ') >= 0):
			return nil, fmt.Errorf("term %d %q is neither a token nor two tokens joined by one space", col, t)
		case !bigram:
			n := token(a)
			if v.uniCol[n] >= 0 {
				return nil, fmt.Errorf("term %d %q appears twice", col, t)
			}
			v.uniCol[n] = int32(col)
		default:
			if v.bigrams == nil {
				v.bigrams = newPairTable(len(terms))
			}
			s, isNew := v.bigrams.upsert(pairKey(token(a), token(b)))
			if !isNew {
				return nil, fmt.Errorf("term %d %q appears twice", col, t)
			}
			s.v0 = int32(col)
		}
	}
	return v, nil
}

// pairKey packs two token numbers into one map key.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// Len returns the number of terms.
func (v *Vocab) Len() int { return len(v.terms) }

// Term returns the term with id i.
func (v *Vocab) Term(i int) string { return v.terms[i] }

// DF returns the document frequency of term i in the training texts.
func (v *Vocab) DF(i int) int { return int(v.df[i]) }

// Docs returns the number of training texts the vocabulary was built from.
func (v *Vocab) Docs() int { return v.docs }

// ID returns the id of term, and false if the term is not in the vocabulary.
func (v *Vocab) ID(term string) (int, bool) {
	a, b, bigram := strings.Cut(term, " ")
	ta, ok := v.tokens[a]
	if !ok {
		return 0, false
	}
	if !bigram {
		c := v.uniCol[ta]
		return int(c), c >= 0
	}
	tb, ok := v.tokens[b]
	if !ok || v.bigrams == nil {
		return 0, false
	}
	if s := v.bigrams.get(pairKey(ta, tb)); s != nil {
		return int(s.v0), true
	}
	return 0, false
}

// Terms returns the terms in id order. The slice is the vocabulary's own and
// must not be modified.
func (v *Vocab) Terms() []string { return v.terms }

// dfTable counts document frequencies. Tokens are numbered in order of first
// sight, and bigrams are counted by the pair of their tokens' numbers, so a
// bigram's string is built only if it is a candidate for the vocabulary.
// tokLast[i] is the last document that counted token i (for a bigram, the
// slot's v1), so that a term repeated inside a document counts once.
type dfTable struct {
	tokIndex       map[string]int32
	toks           []string
	tokDF, tokLast []int32
	bigrams        *pairTable // v0: df, v1: last document
	tok            tokenizer
	nums           []int32 // token numbers of the current document
}

func newDFTable() *dfTable {
	return &dfTable{tokIndex: make(map[string]int32, 1<<14), bigrams: newPairTable(1 << 16)}
}

// token returns the number of token t, adding it if it is new.
func (c *dfTable) token(t string) int32 {
	n, ok := c.tokIndex[t]
	if !ok {
		n = int32(len(c.toks))
		c.tokIndex[t] = n
		c.toks = append(c.toks, t)
		c.tokDF = append(c.tokDF, 0)
		c.tokLast = append(c.tokLast, -1)
	}
	return n
}

// add counts the terms of texts[lo:hi].
func (c *dfTable) add(texts []string, lo, hi, ngrams int) {
	t := &c.tok
	for doc := lo; doc < hi; doc++ {
		d := int32(doc)
		t.tokenize(texts[doc])
		nums := c.nums[:0]
		for i := range t.starts {
			b := t.buf[t.starts[i]:t.ends[i]]
			n, ok := c.tokIndex[string(b)] // no allocation for the lookup
			if !ok {
				n = c.token(string(b))
			}
			nums = append(nums, n)
			if c.tokLast[n] != d {
				c.tokLast[n] = d
				c.tokDF[n]++
			}
		}
		c.nums = nums
		if ngrams == 2 {
			for i := 1; i < len(nums); i++ {
				s, isNew := c.bigrams.upsert(pairKey(nums[i-1], nums[i]))
				if isNew || s.v1 != d {
					s.v1 = d
					s.v0++
				}
			}
		}
	}
}

// merge adds o's counts (of other documents) to c's.
func (c *dfTable) merge(o *dfTable) {
	renum := make([]int32, len(o.toks))
	for i, t := range o.toks {
		n := c.token(t)
		c.tokDF[n] += o.tokDF[i]
		renum[i] = n
	}
	c.bigrams.reserve(c.bigrams.n + o.bigrams.n)
	for k, os := range o.bigrams.all() {
		s, _ := c.bigrams.upsert(pairKey(renum[k>>32], renum[uint32(k)]))
		s.v0 += os.v0
	}
}

// rankedTerm is a candidate term of the vocabulary.
type rankedTerm struct {
	term string
	df   int32
}

// candidates returns the terms with df ≥ minCount, unordered. When there are
// more than maxSize > 0 of them it leaves out, without sorting or building
// their strings, those that cannot rank among the first maxSize by (−df,
// term): if d is the df of the maxSize-th term, every term with df > d
// stays, and so do all those with df = d, among which the caller's sort by
// term decides.
func (c *dfTable) candidates(minCount, maxSize int) []rankedTerm {
	hi := int32(0)
	for _, d := range c.tokDF {
		hi = max(hi, d)
	}
	for _, s := range c.bigrams.all() {
		hi = max(hi, s.v0)
	}
	hist := make([]int, hi+1)
	for _, d := range c.tokDF {
		hist[d]++
	}
	for _, s := range c.bigrams.all() {
		hist[s.v0]++
	}
	cut := int32(min(minCount, len(hist)))
	n := 0
	for _, h := range hist[cut:] {
		n += h
	}
	if maxSize > 0 && n > maxSize {
		above := 0 // the number of terms with df > cut
		for cut = int32(len(hist) - 1); above+hist[cut] < maxSize; cut-- {
			above += hist[cut]
		}
		n = above + hist[cut]
	}
	kept := make([]rankedTerm, 0, n)
	for i, d := range c.tokDF {
		if d >= cut {
			kept = append(kept, rankedTerm{c.toks[i], d})
		}
	}
	for k, s := range c.bigrams.all() {
		if s.v0 >= cut {
			kept = append(kept, rankedTerm{c.toks[k>>32] + " " + c.toks[uint32(k)], s.v0})
		}
	}
	return kept
}

// pairTable is a hash table from pairs of token numbers (see pairKey) to two
// int32 values, with open addressing and linear probing: a key and its
// values share one 16-byte slot, so a lookup costs about one cache miss,
// which matters for the millions of bigrams of a large corpus.
//
// Each table hashes with its own seed: copying a table into another in slot
// order would otherwise insert keys in hash order, which makes linear
// probing build long clusters.
type pairTable struct {
	slots []pairSlot
	n     int    // keys stored
	shift uint   // 64 − log2(len(slots))
	seed  uint64 // mixed into the hash
}

// pairSeeds draws the tables' seeds.
var pairSeeds atomic.Uint64

type pairSlot struct {
	key    uint64 // the pair key + 1; 0 marks an empty slot
	v0, v1 int32
}

func newPairTable(hint int) *pairTable {
	t := &pairTable{seed: pairSeeds.Add(0x9e3779b97f4a7c15)}
	t.resize(max(16, hint*4/3))
	return t
}

// reserve grows the table, if needed, to hold n keys without resizing.
func (t *pairTable) reserve(n int) {
	if 4*n > 3*len(t.slots) {
		t.resize(n * 4 / 3)
	}
}

// resize rehashes into a table of at least n slots (a power of two).
func (t *pairTable) resize(n int) {
	size := 16
	for size < n {
		size *= 2
	}
	old := t.slots
	t.slots = make([]pairSlot, size)
	t.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for _, s := range old {
		if s.key != 0 {
			*t.slot(s.key) = s
		}
	}
}

// slot returns the slot of stored key k (key + 1), or the empty slot where
// it would go.
func (t *pairTable) slot(k uint64) *pairSlot {
	// splitmix64's finaliser spreads the structured keys over the table.
	h := k ^ t.seed
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	mask := uint64(len(t.slots) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		if s := &t.slots[i]; s.key == k || s.key == 0 {
			return s
		}
	}
}

// get returns the slot of key, or nil if key is absent.
func (t *pairTable) get(key uint64) *pairSlot {
	if s := t.slot(key + 1); s.key != 0 {
		return s
	}
	return nil
}

// upsert returns the slot of key, adding it with zero values if it is
// absent (isNew). The pointer is valid until the next upsert.
func (t *pairTable) upsert(key uint64) (s *pairSlot, isNew bool) {
	s = t.slot(key + 1)
	if s.key != 0 {
		return s, false
	}
	if 4*(t.n+1) > 3*len(t.slots) { // keep the load at most 3/4
		t.resize(2 * len(t.slots))
		s = t.slot(key + 1)
	}
	s.key = key + 1
	t.n++
	return s, true
}

// all iterates over the stored keys and their slots, in table order.
func (t *pairTable) all() func(yield func(uint64, *pairSlot) bool) {
	return func(yield func(uint64, *pairSlot) bool) {
		for i := range t.slots {
			if s := &t.slots[i]; s.key != 0 && !yield(s.key-1, s) {
				return
			}
		}
	}
}

// workers returns the number of goroutines to spread n documents over.
func workers(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), (n+255)/256))
}

// parallel calls fn(w, lo, hi) for consecutive chunks [lo, hi) of [0, n) on
// nw goroutines, w being the goroutine's number (0 ≤ w < nw): each worker
// takes the next chunk when it is done with one, so a slow chunk does not
// hold the others up. Chunks are handed out in order, but which worker gets
// which chunk varies from run to run; callers make their result independent
// of it.
func parallel(n, nw int, fn func(w, lo, hi int)) {
	chunk := chunkSize(n, nw)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range nw {
		wg.Go(func() {
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				fn(w, lo, min(lo+chunk, n))
			}
		})
	}
	wg.Wait()
}

// chunkSize splits n documents into about 16 chunks per worker, of at least
// 64 documents.
func chunkSize(n, nw int) int { return max(64, (n+16*nw-1)/(16*nw)) }
