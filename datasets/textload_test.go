package datasets

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// writeText writes data to dir/name, creating folders, and returns the path.
func writeText(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func TestLoadTSV(t *testing.T) {
	dir := t.TempDir()
	content := "1\tA great film.<br />Loved it\n0\tBoring\ttoo long\r\npos\tyes\nnegative\tno"
	for _, name := range []string{"raw.tsv", "packed.tsv.gz"} {
		data := []byte(content)
		if strings.HasSuffix(name, ".gz") {
			data = gzipBytes(t, data)
		}
		p := writeText(t, dir, name, data)
		c, err := LoadTSV(p)
		require.NoError(t, err)
		require.Equal(t, []string{"A great film.<br />Loved it", "Boring\ttoo long", "yes", "no"}, c.Texts)
		require.Equal(t, []uint8{1, 0, 1, 0}, c.Labels)
		require.Equal(t, Source{p, 2}, c.Sources[1])
		require.Equal(t, p+":4", c.Sources[3].String())
		require.Equal(t, []int{2, 2}, c.ClassCounts())
	}

	// An optional header and a byte-order mark are skipped.
	c, err := ReadTSV(strings.NewReader("\uFEFFlabel\ttext\n1\tok\n"), "h.tsv")
	require.NoError(t, err)
	require.Equal(t, []string{"ok"}, c.Texts)
	require.Equal(t, 2, c.Sources[0].Line)
}

func TestReadTSVErrors(t *testing.T) {
	long := "1\t" + strings.Repeat("x", MaxLineBytes) + "\n"
	for _, c := range []struct {
		name, content, msg string
	}{
		{"empty", "", "datasets: in.tsv: empty file"},
		{"header only", "label\ttext\n", "datasets: in.tsv: no documents"},
		{"no tab", "1\tgood\nno label here\n", "datasets: in.tsv:2: no tab: want label<TAB>text"},
		{"empty line", "1\tgood\n\n0\tbad\n", "datasets: in.tsv:2: no tab"},
		{"unknown label", "1\tgood\n0\tbad\n2\tmeh\n", `datasets: in.tsv:3: unknown label "2": want 0 or 1 (or neg/pos, negative/positive)`},
		{"label with spaces", " 1\tgood\n", `datasets: in.tsv:1: unknown label " 1"`},
		{"invalid UTF-8", "1\tgood\n0\tbad \xff byte\n", "datasets: in.tsv:2: invalid UTF-8 at byte 6 of the line"},
		{"long line", "1\tfine\n" + long, fmt.Sprintf("datasets: in.tsv:2: line longer than %d bytes", MaxLineBytes)},
		{"bad gzip", "\x1f\x8b\x00garbage", "datasets: in.tsv: bad gzip data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTSV(strings.NewReader(c.content), "in.tsv")
			require.ErrorContains(t, err, c.msg)
			require.True(t, strings.HasPrefix(err.Error(), "datasets: in.tsv"), err.Error())
		})
	}
	_, err := LoadTSV(filepath.Join(t.TempDir(), "none.tsv"))
	require.ErrorContains(t, err, "none.tsv: no such file")

	// A truncated gzip stream is an error, not a short corpus.
	gz := gzipBytes(t, []byte(strings.Repeat("1\tgood enough\n", 1000)))
	_, err = ReadTSV(bytes.NewReader(gz[:len(gz)/2]), "cut.tsv.gz")
	require.ErrorContains(t, err, "datasets: cut.tsv.gz: unexpected EOF")
}

func TestReadSST2(t *testing.T) {
	c, err := ReadSST2(strings.NewReader("sentence\tlabel\nit 's a charming journey . \t1\na tab\tinside \t0\n"), "dev.tsv")
	require.NoError(t, err)
	require.Equal(t, []string{"it 's a charming journey . ", "a tab\tinside "}, c.Texts)
	require.Equal(t, []uint8{1, 0}, c.Labels)
	require.Equal(t, 3, c.Sources[1].Line)

	for _, e := range []struct{ content, msg string }{
		{"index\tsentence\n0\tuh\n", "datasets: test.tsv:1: unlabelled file (header index<TAB>sentence, the GLUE test set)"},
		{"text\tlabel\nfoo\t1\n", `datasets: test.tsv:1: header "text\tlabel", want "sentence<TAB>label"`},
		{"sentence\tlabel\nno tab\n", "datasets: test.tsv:2: no tab: want sentence<TAB>label"},
		{"sentence\tlabel\nfine\t1\nbad\tpos\n", `datasets: test.tsv:3: unknown label "pos": want 0 or 1`},
		{"sentence\tlabel\n", "datasets: test.tsv: no documents"},
		{"", "datasets: test.tsv: empty file"},
	} {
		_, err := ReadSST2(strings.NewReader(e.content), "test.tsv")
		require.ErrorContains(t, err, e.msg)
	}
}

func TestReadPolarityCP1252(t *testing.T) {
	// 0x93/0x94 are curly double quotes, 0xE9 é, 0x97 an em dash, 0x85 an
	// ellipsis, 0x80 the euro sign; the trailing space stays in the text.
	raw := "caf\xe9 \x93quoted\x94 \x97 dash\x85 \n\x80 5 \n"
	c, err := ReadPolarity(strings.NewReader(raw), "rt-polarity.pos", Positive)
	require.NoError(t, err)
	require.Equal(t, []string{"café “quoted” — dash… ", "€ 5 "}, c.Texts)
	require.Equal(t, []uint8{1, 1}, c.Labels)
	require.Equal(t, []string{"café", "quoted", "dash"}, Tokenize(c.Texts[0]))

	// Every byte decodes to its Windows-1252 character (Latin-1 above 0x9F).
	var all []byte
	for b := 0x20; b < 0x100; b++ {
		if b != 0x81 && b != 0x8D && b != 0x8F && b != 0x90 && b != 0x9D && b != 0x7F {
			all = append(all, byte(b))
		}
	}
	c, err = ReadPolarity(bytes.NewReader(all), "all", Negative)
	require.NoError(t, err)
	runes := []rune(c.Texts[0])
	require.Len(t, runes, len(all))
	for i, b := range all {
		switch {
		case b < 0x80 || b >= 0xA0:
			require.Equal(t, rune(b), runes[i])
		default:
			require.Equal(t, cp1252[b-0x80], runes[i])
		}
	}
	require.Contains(t, c.Texts[0], "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")

	_, err = ReadPolarity(strings.NewReader("fine\nbad \x81 byte\n"), "rt-polarity.neg", Negative)
	require.EqualError(t, err, "datasets: rt-polarity.neg:2: byte 0x81 is not defined in Windows-1252 (cp1252)")
	_, err = ReadPolarity(strings.NewReader("fine\n\nmore\n"), "rt-polarity.neg", Negative)
	require.EqualError(t, err, "datasets: rt-polarity.neg:2: empty line")
	_, err = ReadPolarity(strings.NewReader(""), "rt-polarity.neg", Negative)
	require.EqualError(t, err, "datasets: rt-polarity.neg: empty file")
}

func TestLoadMRAndFolds(t *testing.T) {
	dir := t.TempDir()
	var pos, neg strings.Builder
	for j := range 23 {
		fmt.Fprintf(&pos, "good %d \n", j)
		fmt.Fprintf(&neg, "bad %d \n", j)
	}
	writeText(t, dir, "rt-polarity.pos", []byte(pos.String()))
	writeText(t, dir, "rt-polarity.neg", []byte(neg.String()))
	c, err := LoadMR(dir)
	require.NoError(t, err)
	require.Equal(t, 46, c.Len())
	require.Equal(t, []int{23, 23}, c.ClassCounts())
	require.Equal(t, "good 0 ", c.Texts[0])
	require.Equal(t, "bad 0 ", c.Texts[23])
	require.Equal(t, Source{filepath.Join(dir, "rt-polarity.neg"), 1}, c.Sources[23])

	// Line j of either file is in fold j mod k.
	folds := c.Folds(10)
	for i, f := range folds {
		require.Equal(t, (c.Sources[i].Line-1)%10, f, "document %d", i)
	}
	train, test, err := c.Fold(10, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"good 0 ", "good 10 ", "good 20 ", "bad 0 ", "bad 10 ", "bad 20 "}, test.Texts)
	require.Equal(t, 40, train.Len())
	require.Equal(t, "good 1 ", train.Texts[0])
	train, test, err = c.Fold(10, 9)
	require.NoError(t, err)
	require.Equal(t, []string{"good 9 ", "good 19 ", "bad 9 ", "bad 19 "}, test.Texts)
	require.Equal(t, 42, train.Len())
	_, _, err = c.Fold(10, 10)
	require.EqualError(t, err, "datasets: fold 10 of 10: want k ≥ 2 and 0 ≤ fold < k")
	_, _, err = c.Fold(50, 30)
	require.EqualError(t, err, "datasets: fold 30 of 50 of 46 documents is empty")

	// The archive's folder is found too; a missing file is ErrMissing.
	sub := filepath.Join(t.TempDir(), "rt-polaritydata")
	writeText(t, sub, "rt-polarity.pos", []byte("yes\n"))
	_, err = LoadMR(filepath.Dir(sub))
	require.ErrorIs(t, err, ErrMissing)
	require.ErrorContains(t, err, "rt-polarity.neg")
	writeText(t, sub, "rt-polarity.neg", []byte("no\n"))
	c, err = LoadMR(filepath.Dir(sub))
	require.NoError(t, err)
	require.Equal(t, []string{"yes", "no"}, c.Texts)
}

// aclTree is a small data set in the aclImdb layout: path → content.
func aclTree() map[string]string {
	return map[string]string{
		"aclImdb/README":                 "readme",
		"aclImdb/imdb.vocab":             "the\nand\n",
		"aclImdb/train/urls_pos.txt":     "http://x\n",
		"aclImdb/train/pos/0_9.txt":      "Train pos zero.<br />Great!",
		"aclImdb/train/pos/1_7.txt":      "Train pos one\twith a tab",
		"aclImdb/train/pos/10_8.txt":     "Train pos ten",
		"aclImdb/train/neg/0_2.txt":      "Train neg zero",
		"aclImdb/train/neg/2_1.txt":      "Train neg two",
		"aclImdb/train/neg/other.txt":    "Train neg without an id",
		"aclImdb/train/neg/notes.md":     "not a review",
		"aclImdb/train/unsup/0_0.txt":    "unlabelled, ignored",
		"aclImdb/test/pos/0_10.txt":      "Test pos zero, café",
		"aclImdb/test/neg/0_1.txt":       "Test neg zero",
		"aclImdb/test/neg/1_4.txt":       "Test neg one",
		"aclImdb/train/labeledBow.feat":  "0:1\n",
		"aclImdb/test/unsup/ignored.txt": "",
	}
}

func writeTree(t *testing.T, dir string, tree map[string]string) {
	for name, content := range tree {
		writeText(t, dir, name, []byte(content))
	}
}

// tarTree packs a tree into a tar archive (gzipped with gz), in the given
// order of names.
func tarTree(t testing.TB, tree map[string]string, gz bool) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "aclImdb/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)}))
	for name, content := range tree {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}))
		_, err := tw.Write([]byte(content))
		require.NoError(t, err)
	}
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "aclImdb/train/pos/link.txt", Typeflag: tar.TypeSymlink, Linkname: "0_9.txt", ModTime: time.Unix(0, 0)}))
	require.NoError(t, tw.Close())
	if gz {
		return gzipBytes(t, b.Bytes())
	}
	return b.Bytes()
}

var (
	aclTrainTexts = []string{"Train pos zero.<br />Great!", "Train neg zero", "Train pos one\twith a tab", "Train neg two",
		"Train pos ten", "Train neg without an id"}
	aclTrainLabels = []uint8{1, 0, 1, 0, 1, 0}
	aclTestTexts   = []string{"Test pos zero, café", "Test neg zero", "Test neg one"}
	aclTestLabels  = []uint8{1, 0, 0}
)

func TestLoadAclImdb(t *testing.T) {
	dir := t.TempDir()
	tree := aclTree()
	writeTree(t, dir, tree)
	archives := t.TempDir()
	tgz := writeText(t, archives, "aclImdb_v1.tar.gz", tarTree(t, tree, true))
	plain := writeText(t, archives, "reviews.tar", tarTree(t, tree, false))

	for _, p := range []string{dir, filepath.Join(dir, "aclImdb"), tgz, plain} {
		train, test, err := LoadAclImdb(p)
		require.NoError(t, err, p)
		require.Equal(t, aclTrainTexts, train.Texts, p)
		require.Equal(t, aclTrainLabels, train.Labels, p)
		require.Equal(t, aclTestTexts, test.Texts, p)
		require.Equal(t, aclTestLabels, test.Labels, p)
	}
	train, _, err := LoadAclImdb(dir)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "aclImdb", "train", "pos", "0_9.txt"), train.Sources[0].String())
	train, _, err = LoadAclImdb(tgz)
	require.NoError(t, err)
	require.Equal(t, tgz+":aclImdb/train/neg/0_2.txt", train.Sources[1].String())

	// LoadIMDB finds the folder, or the archive.
	train, _, err = LoadIMDB(dir)
	require.NoError(t, err)
	require.Equal(t, aclTrainTexts, train.Texts)
	_, test, err := LoadIMDB(archives)
	require.NoError(t, err)
	require.Equal(t, aclTestTexts, test.Texts)
}

func TestLoadAclImdbErrors(t *testing.T) {
	t.Run("missing folder", func(t *testing.T) {
		dir := t.TempDir()
		tree := aclTree()
		for name := range tree {
			if strings.HasPrefix(name, "aclImdb/test/pos/") {
				delete(tree, name)
			}
		}
		writeTree(t, dir, tree)
		_, _, err := LoadAclImdb(dir)
		require.EqualError(t, err, "datasets: "+filepath.Join(dir, "aclImdb", "test", "pos")+
			": no such folder: want the aclImdb layout, train/pos, train/neg, test/pos and test/neg holding one review per .txt file")

		tgz := writeText(t, t.TempDir(), "a.tar.gz", tarTree(t, tree, true))
		_, _, err = LoadAclImdb(tgz)
		require.EqualError(t, err, "datasets: "+tgz+": no test/pos/*.txt reviews: want the aclImdb layout (aclImdb/train/pos/0_9.txt, ...)")
	})
	for _, c := range []struct {
		name, file, content, msg string
	}{
		{"invalid UTF-8", "aclImdb/train/neg/2_1.txt", "line one\nbad \xc3\x28 here", ":2: invalid UTF-8 at byte 13"},
		{"empty review", "aclImdb/test/pos/0_10.txt", "", ": empty review"},
		{"long review", "aclImdb/test/pos/0_10.txt", strings.Repeat("a", MaxLineBytes+1), fmt.Sprintf(": review longer than %d bytes", MaxLineBytes)},
	} {
		t.Run(c.name, func(t *testing.T) {
			tree := aclTree()
			tree[c.file] = c.content
			dir := t.TempDir()
			writeTree(t, dir, tree)
			_, _, err := LoadAclImdb(dir)
			require.EqualError(t, err, "datasets: "+filepath.Join(dir, c.file)+c.msg)
			tgz := writeText(t, t.TempDir(), "a.tar.gz", tarTree(t, tree, true))
			_, _, err = LoadAclImdb(tgz)
			require.EqualError(t, err, "datasets: "+tgz+":"+c.file+c.msg)
		})
	}
	t.Run("truncated archive", func(t *testing.T) {
		data := tarTree(t, aclTree(), true)
		tgz := writeText(t, t.TempDir(), "a.tar.gz", data[:len(data)-40])
		_, _, err := LoadAclImdb(tgz)
		require.ErrorContains(t, err, "datasets: "+tgz+": ")
	})
	t.Run("no such path", func(t *testing.T) {
		_, _, err := LoadAclImdb(filepath.Join(t.TempDir(), "nothing"))
		require.ErrorContains(t, err, "no such file or directory")
	})
}

func TestLoadIMDBAndSentiment(t *testing.T) {
	dir := t.TempDir()
	_, _, err := LoadIMDB(dir)
	require.ErrorIs(t, err, ErrMissing)
	require.ErrorContains(t, err, "datasets: imdb: data files missing from "+dir+": train.tsv.gz, test.tsv.gz, an aclImdb folder or aclImdb_v1.tar.gz")

	writeText(t, dir, "train.tsv.gz", gzipBytes(t, []byte("1\tgood\n0\tbad\n")))
	writeText(t, dir, "test.tsv", []byte("0\tmeh\n"))
	_, _, err = LoadIMDB(dir)
	require.ErrorIs(t, err, ErrMissing, "test.tsv.gz is missing and train.tsv too")
	writeText(t, dir, "test.tsv.gz", gzipBytes(t, []byte("0\tmeh\n")))
	train, test, err := LoadSentiment("imdb", dir)
	require.NoError(t, err)
	require.Equal(t, []string{"good", "bad"}, train.Texts)
	require.Equal(t, []string{"meh"}, test.Texts)

	sst := t.TempDir()
	writeText(t, sst, "train.tsv", []byte("sentence\tlabel\ngood \t1\n"))
	_, _, err = LoadSentiment("sst2", sst)
	require.ErrorIs(t, err, ErrMissing)
	require.ErrorContains(t, err, "dev.tsv")
	writeText(t, sst, "dev.tsv", []byte("sentence\tlabel\nbad \t0\n"))
	train, dev, err := LoadSentiment("sst2", sst)
	require.NoError(t, err)
	require.Equal(t, []string{"good "}, train.Texts)
	require.Equal(t, []string{"bad "}, dev.Texts)

	_, _, err = LoadSentiment("mr", t.TempDir())
	require.True(t, errors.Is(err, ErrMissing))
	_, _, err = LoadSentiment("yelp", dir)
	require.EqualError(t, err, `datasets: unknown sentiment data set "yelp" (want imdb, sst2 or mr)`)
}

// sharedText returns the folder of a real text data set, which sits beside
// the repository (../shared/data/NAME from the module root) on the
// development machines and in CI.
func sharedText(t testing.TB, name string) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		require.NotEqual(t, root, parent, "no go.mod above %s", wd)
		root = parent
	}
	dir := filepath.Join(root, "..", "shared", "data", name)
	_, err = os.Stat(dir)
	require.NoError(t, err, "the real %s files must be at %s (the shared data folder beside the repository)", name, dir)
	return dir
}

// vocabSize fits a vectoriser and returns its vocabulary size.
func vocabSize(t *testing.T, texts []string, ngrams, maxSize int) int {
	v, err := FitVectorizer(texts, VectorizerConfig{NGrams: ngrams, MaxSize: maxSize})
	require.NoError(t, err)
	return v.Cols()
}

// The real sets load with their published sizes, and give the vocabulary
// sizes of the reference runs (shared/bench/SENTIMENT.md).
func TestSentimentReal(t *testing.T) {
	t.Run("SST-2", func(t *testing.T) {
		train, dev, err := LoadSST2(sharedText(t, "sst2"))
		require.NoError(t, err)
		require.Equal(t, 67349, train.Len())
		require.Equal(t, []int{29780, 37569}, train.ClassCounts())
		require.Equal(t, 872, dev.Len())
		require.Equal(t, []int{428, 444}, dev.ClassCounts())
		require.Equal(t, 13810, vocabSize(t, train.Texts, 1, 0))
		require.Equal(t, 80935, vocabSize(t, train.Texts, 2, 0))
		_, err = LoadSST2File(filepath.Join(sharedText(t, "sst2"), "test.tsv"))
		require.ErrorContains(t, err, "test.tsv:1: unlabelled file")
	})
	t.Run("MR", func(t *testing.T) {
		c, err := LoadMR(sharedText(t, "rt-polarity"))
		require.NoError(t, err)
		require.Equal(t, []int{5331, 5331}, c.ClassCounts())
		train, test, err := c.Fold(10, 0)
		require.NoError(t, err)
		require.Equal(t, 9594, train.Len()) // 534 + 534 lines j with j mod 10 = 0 are in fold 0
		require.Equal(t, 1068, test.Len())
		require.Equal(t, 18144, vocabSize(t, train.Texts, 1, 0))
		require.Equal(t, 116551, vocabSize(t, train.Texts, 2, 0))
		// The cp1252 bytes decode: 0xE9 on line 356 of rt-polarity.pos, 0x97
		// (an em dash) on line 791 of rt-polarity.neg.
		require.Contains(t, c.Texts[355], "by andré turpin")
		require.Contains(t, c.Texts[5331+790], "all its aspects — from")
	})
	t.Run("IMDB", func(t *testing.T) {
		dir := sharedText(t, "imdb")
		train, test, err := LoadIMDB(dir)
		require.NoError(t, err)
		require.Equal(t, 25000, train.Len())
		require.Equal(t, []int{12500, 12500}, train.ClassCounts())
		require.Equal(t, 25000, test.Len())
		require.Equal(t, []int{12500, 12500}, test.ClassCounts())
		require.True(t, strings.HasPrefix(train.Texts[0], "Bromwell High"), train.Texts[0][:40])

		v, err := FitVectorizer(train.Texts, VectorizerConfig{MaxSize: 30000})
		require.NoError(t, err)
		require.Equal(t, 30000, v.Cols())
		bags, err := v.Transform(train.Texts, train.Labels)
		require.NoError(t, err)
		// 138 distinct unigram terms per training review on average.
		require.Equal(t, 138, int(math.Round(float64(bags.NNZ())/25000)))
		require.Less(t, bags.Bytes(), 20<<20)

		// The lossless archive gives the same reviews in the same order
		// (the TSVs replaced tabs by spaces).
		atrain, atest, err := LoadAclImdb(filepath.Join(dir, "aclImdb_v1_labelled.tar.gz"))
		require.NoError(t, err)
		for _, p := range [][2]*Corpus{{train, atrain}, {test, atest}} {
			require.Equal(t, p[0].Labels, p[1].Labels)
			for i, s := range p[1].Texts {
				if s != p[0].Texts[i] {
					require.Equal(t, p[0].Texts[i], strings.ReplaceAll(s, "\t", " "), p[1].Sources[i].String())
				}
			}
		}
		require.Equal(t, filepath.Join(dir, "aclImdb_v1_labelled.tar.gz")+":aclImdb/train/neg/0_3.txt", atrain.Sources[1].String())
	})
}

// checkCorpus checks what a reader accepted: at least one document, one
// label (0 or 1) and one source per text, every text valid UTF-8.
func checkCorpus(t *testing.T, c *Corpus, name string) {
	require.NotZero(t, c.Len())
	require.Len(t, c.Labels, c.Len())
	require.Len(t, c.Sources, c.Len())
	for i, text := range c.Texts {
		require.True(t, utf8.ValidString(text), "text %d", i)
		require.LessOrEqual(t, len(text), 4*MaxLineBytes) // cp1252 decoding may grow a line
		require.LessOrEqual(t, c.Labels[i], uint8(Positive))
		require.True(t, strings.HasPrefix(c.Sources[i].File, name), c.Sources[i].File)
	}
	Tokenize(c.Texts[0])
}

// fuzzText runs a text reader on fuzzed data: it must return an error
// naming the input, or a sound corpus. (Gzipped seeds lead the fuzzer into
// the gzip path; gzipping every input would cost more than the parsing.)
func fuzzText(t *testing.T, data []byte, read func(io.Reader, string) (*Corpus, error)) {
	c, err := read(bytes.NewReader(data), "f")
	if err != nil {
		require.Nil(t, c)
		require.True(t, strings.HasPrefix(err.Error(), "datasets: f"), err.Error())
		return
	}
	checkCorpus(t, c, "f")
}

func FuzzReadTSV(f *testing.F) {
	f.Add([]byte("1\tgood\n0\tbad\r\n"))
	f.Add([]byte("\uFEFFlabel\ttext\npos\tok\nnegative\tno"))
	f.Add([]byte("1\tgood\n2\tmeh\n"))
	f.Add([]byte("1\tgood\nno tab\n"))
	f.Add([]byte("0\tbad \xff byte\n"))
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Add(gzipBytes(f, []byte("1\tgood\n0\tbad\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzText(t, data, ReadTSV)
	})
}

func FuzzReadSST2(f *testing.F) {
	f.Add([]byte("sentence\tlabel\ngood \t1\na tab\tinside \t0\n"))
	f.Add([]byte("index\tsentence\n0\tuh\n"))
	f.Add([]byte("sentence\tlabel\nbad\tpos\n"))
	f.Add([]byte("sentence\tlabel\n"))
	f.Add([]byte("sentence\tlabel\r\nfine\t1\r\n\xc3\x28\t0"))
	f.Add(gzipBytes(f, []byte("sentence\tlabel\ngood \t1\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzText(t, data, ReadSST2)
	})
}

func FuzzReadPolarity(f *testing.F) {
	f.Add([]byte("caf\xe9 \x93ok\x94\n"))
	f.Add([]byte("\x80 5 \n\x97 dash\x85 \n"))
	f.Add([]byte("fine\nbad \x81 byte\n"))
	f.Add([]byte("fine\n\nmore\n"))
	f.Add([]byte("\xff\xfe\x9f\xa0\r\n"))
	f.Add(gzipBytes(f, []byte("caf\xe9 \x93ok\x94\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzText(t, data, func(r io.Reader, name string) (*Corpus, error) { return ReadPolarity(r, name, Negative) })
	})
}

// lyingTar returns a tar stream whose one member, aclImdb/train/pos/0_9.txt,
// claims size bytes but holds only data.
func lyingTar(t testing.TB, size int64, data []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "aclImdb/train/pos/0_9.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: time.Unix(0, 0)}))
	_, err := tw.Write(data)
	require.NoError(t, err)
	return b.Bytes() // no Close: the member stays short, with no end blocks
}

// A tar member that claims more than it holds costs the bytes there, not
// the bytes claimed; one that claims more than a review may hold is refused
// before anything is read.
func TestReadTarBoundsMemory(t *testing.T) {
	for _, c := range []struct {
		name string
		size int64
		msg  string
	}{
		{"claims the largest review", MaxLineBytes, "datasets: a.tar:aclImdb/train/pos/0_9.txt: unexpected EOF"},
		{"claims 1 TiB", 1 << 40, fmt.Sprintf("datasets: a.tar:aclImdb/train/pos/0_9.txt: review longer than %d bytes", MaxLineBytes)},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := lyingTar(t, c.size, []byte("a short review"))
			var g reviewGroups
			var err error
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err = g.readTar(bytes.NewReader(in), "a.tar")
			runtime.ReadMemStats(&after)
			require.EqualError(t, err, c.msg)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated")
		})
	}
}

// FuzzReadAclImdbArchive feeds fuzzed archives, tar or tar.gz, to the
// aclImdb archive reader: an error naming the archive, or two splits of
// sound reviews.
func FuzzReadAclImdbArchive(f *testing.F) {
	tree := aclTree()
	f.Add(tarTree(f, tree, false))
	f.Add(tarTree(f, tree, true))
	tree["aclImdb/train/neg/2_1.txt"] = "bad \xc3\x28 here"
	f.Add(tarTree(f, tree, false))
	f.Add(lyingTar(f, 1<<40, []byte("short")))
	f.Add(lyingTar(f, 100, []byte("short")))
	whole := tarTree(f, aclTree(), false)
	f.Add(whole[:len(whole)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		var g reviewGroups
		if err := g.readTar(bytes.NewReader(data), "a.tar"); err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "datasets: a.tar"), err.Error())
			return
		}
		for s := range splitNames {
			c := g.corpus(s)
			checkCorpus(t, c, "a.tar:")
			require.Equal(t, []int{len(g[s][Negative]), len(g[s][Positive])}, c.ClassCounts())
		}
	})
}
