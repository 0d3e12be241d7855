package datasets

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Class indices of the sentiment data sets.
const (
	Negative = 0
	Positive = 1
)

// SentimentClasses returns the names of the classes of the sentiment data
// sets, in label order, in a new slice.
func SentimentClasses() []string { return []string{"negative", "positive"} }

// MaxLineBytes bounds one line of a text file, and one review file of the
// aclImdb layout (1 MiB; IMDB's longest review has 14 KB). Longer lines are
// an error.
const MaxLineBytes = 1 << 20

// MaxTextFileBytes bounds the (decompressed) size of one text file (1 GiB).
const MaxTextFileBytes = 1 << 30

// Source tells where a document was read: a file, and a line of it (1 for
// the first; 0 when the document is the whole file). Members of an archive
// are named ARCHIVE:MEMBER.
type Source struct {
	File string
	Line int
}

// String returns FILE:LINE, or FILE when Line is 0.
func (s Source) String() string {
	if s.Line == 0 {
		return s.File
	}
	return s.File + ":" + strconv.Itoa(s.Line)
}

// Corpus is a list of labelled documents, as read from a text data set.
// Labels are class indices: [Negative] (0) or [Positive] (1) for the
// sentiment sets. Texts are UTF-8.
type Corpus struct {
	Texts   []string
	Labels  []uint8
	Sources []Source
}

// Len returns the number of documents.
func (c *Corpus) Len() int { return len(c.Texts) }

// ClassCounts returns the number of documents per label, for labels 0 to the
// largest one (at least two entries).
func (c *Corpus) ClassCounts() []int {
	n := make([]int, 2)
	for _, l := range c.Labels {
		for int(l) >= len(n) {
			n = append(n, 0)
		}
		n[l]++
	}
	return n
}

// Select returns the documents with the given indices, in that order. The
// texts are shared, not copied. It panics if an index is out of range.
func (c *Corpus) Select(idx []int) *Corpus {
	s := &Corpus{
		Texts:   make([]string, len(idx)),
		Labels:  make([]uint8, len(idx)),
		Sources: make([]Source, len(idx)),
	}
	for k, i := range idx {
		s.Texts[k], s.Labels[k], s.Sources[k] = c.Texts[i], c.Labels[i], c.Sources[i]
	}
	return s
}

// Folds returns, for k-fold cross-validation, the fold of every document:
// a document that is the j-th (from 0) of its class, in corpus order, is in
// fold j mod k. For the sentence polarity set, loaded by [LoadMR], this is
// the reference scripts' rule "line j of rt-polarity.pos and of
// rt-polarity.neg is in fold j mod k", and every fold has the same number of
// documents of each class, give or take one. It panics if k < 1.
func (c *Corpus) Folds(k int) []int {
	if k < 1 {
		panic("datasets: Corpus.Folds: k must be at least 1")
	}
	folds := make([]int, len(c.Labels))
	var seen [256]int
	for i, l := range c.Labels {
		folds[i] = seen[l] % k
		seen[l]++
	}
	return folds
}

// Fold splits the corpus for fold f of k-fold cross-validation (see
// [Corpus.Folds]): test holds the documents of fold f, train the others,
// both in corpus order. Fold(10, 0) is the reference scripts' fixed 90/10
// split of the sentence polarity set.
func (c *Corpus) Fold(k, f int) (train, test *Corpus, err error) {
	if k < 2 || f < 0 || f >= k {
		return nil, nil, fmt.Errorf("datasets: fold %d of %d: want k ≥ 2 and 0 ≤ fold < k", f, k)
	}
	var tr, te []int
	for i, g := range c.Folds(k) {
		if g == f {
			te = append(te, i)
		} else {
			tr = append(tr, i)
		}
	}
	if len(tr) == 0 || len(te) == 0 {
		return nil, nil, fmt.Errorf("datasets: fold %d of %d of %d documents is empty", f, k, c.Len())
	}
	return c.Select(tr), c.Select(te), nil
}

// ReadTSV reads labelled documents, one per line, in the form
// label<TAB>text (the form of IMDB's train.tsv.gz), raw or gzip-compressed
// (recognised by its magic bytes). The label is 0 or 1, or neg/pos, or
// negative/positive; the text is everything after the first tab. An
// optional header line "label<TAB>text" is skipped. name names the input in
// errors, which say where they are:
//
//	datasets: train.tsv:12: no tab: want label<TAB>text
//
// Lines end with LF or CRLF. The text must be valid UTF-8 (a leading
// byte-order mark is dropped); an empty input, an empty line or a line
// longer than [MaxLineBytes] is an error.
func ReadTSV(r io.Reader, name string) (*Corpus, error) {
	data, err := readText(r, name)
	if err != nil {
		return nil, err
	}
	c := &Corpus{}
	err = eachLine(data, name, true, func(line string, n int) error {
		if n == 1 && line == "label\ttext" {
			return nil
		}
		label, text, ok := strings.Cut(line, "\t")
		if !ok {
			return errors.New("no tab: want label<TAB>text")
		}
		l, err := parseLabel(label)
		if err != nil {
			return err
		}
		c.add(text, l, name, n)
		return nil
	})
	return c.done(name, err)
}

// parseLabel reads a class label: 0/1, neg/pos or negative/positive.
func parseLabel(s string) (uint8, error) {
	switch s {
	case "0", "neg", "negative":
		return Negative, nil
	case "1", "pos", "positive":
		return Positive, nil
	}
	return 0, fmt.Errorf("unknown label %q: want 0 or 1 (or neg/pos, negative/positive)", truncate(s, 20))
}

// LoadTSV reads the label<TAB>text file at path, raw or gzip-compressed, as
// [ReadTSV] does.
func LoadTSV(path string) (*Corpus, error) { return loadFile(path, ReadTSV) }

// ReadSST2 reads a labelled file of GLUE's SST-2 (train.tsv, dev.tsv): a
// header line "sentence<TAB>label", then sentence<TAB>label lines, the label
// (0 or 1) after the last tab. The unlabelled test.tsv (header
// "index<TAB>sentence") is refused: GLUE keeps its labels private. Input and
// errors are as for [ReadTSV].
func ReadSST2(r io.Reader, name string) (*Corpus, error) {
	data, err := readText(r, name)
	if err != nil {
		return nil, err
	}
	c := &Corpus{}
	err = eachLine(data, name, true, func(line string, n int) error {
		if n == 1 {
			switch line {
			case "sentence\tlabel":
				return nil
			case "index\tsentence":
				return errors.New("unlabelled file (header index<TAB>sentence, the GLUE test set); train on train.tsv and evaluate on dev.tsv")
			}
			return fmt.Errorf("header %q, want \"sentence<TAB>label\"", truncate(line, 40))
		}
		i := strings.LastIndexByte(line, '\t')
		if i < 0 {
			return errors.New("no tab: want sentence<TAB>label")
		}
		if label := line[i+1:]; label != "0" && label != "1" {
			return fmt.Errorf("unknown label %q: want 0 or 1", truncate(label, 20))
		}
		c.add(line[:i], line[i+1]-'0', name, n)
		return nil
	})
	return c.done(name, err)
}

// LoadSST2File reads the SST-2 file at path, as [ReadSST2] does.
func LoadSST2File(path string) (*Corpus, error) { return loadFile(path, ReadSST2) }

// ReadPolarity reads one file of the sentence polarity data set (Pang and
// Lee's rt-polarity.pos or rt-polarity.neg): one document per line, all with
// the given label, encoded in Windows-1252 (cp1252) and decoded here to
// UTF-8. Each line is one document (its trailing space included); a byte
// that cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D), an empty
// line or an empty input is an error.
func ReadPolarity(r io.Reader, name string, label uint8) (*Corpus, error) {
	raw, err := readText(r, name)
	if err != nil {
		return nil, err
	}
	data, err := decodeCP1252(raw)
	if err != nil {
		line := 1 + bytes.Count(raw[:err.(*cp1252Error).off], []byte{'\n'})
		return nil, fmt.Errorf("datasets: %s:%d: %v", name, line, err)
	}
	c := &Corpus{}
	err = eachLine(data, name, false, func(line string, n int) error {
		if line == "" {
			return errors.New("empty line")
		}
		c.add(line, label, name, n)
		return nil
	})
	return c.done(name, err)
}

// LoadMR reads the sentence polarity data set (MR, Pang and Lee 2005) from
// dir, which holds rt-polarity.pos and rt-polarity.neg (or a folder
// rt-polaritydata that does): the positive sentences first, then the
// negative ones, each file in line order. MR has no test split; use
// [Corpus.Fold] for cross-validation.
func LoadMR(dir string) (*Corpus, error) {
	if !exists(filepath.Join(dir, "rt-polarity.pos")) && exists(filepath.Join(dir, "rt-polaritydata", "rt-polarity.pos")) {
		dir = filepath.Join(dir, "rt-polaritydata")
	}
	c := &Corpus{}
	for _, f := range []struct {
		name  string
		label uint8
	}{{"rt-polarity.pos", Positive}, {"rt-polarity.neg", Negative}} {
		p := filepath.Join(dir, f.name)
		if !exists(p) {
			return nil, missingText("rt-polarity", dir, f.name, "rt-polarity.pos and rt-polarity.neg from https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz")
		}
		part, err := loadFile(p, func(r io.Reader, name string) (*Corpus, error) { return ReadPolarity(r, name, f.label) })
		if err != nil {
			return nil, err
		}
		c.append(part)
	}
	return c, nil
}

// LoadSST2 reads GLUE's SST-2 from dir: train.tsv (67,349 phrases) and
// dev.tsv (872 sentences), the labelled splits.
func LoadSST2(dir string) (train, dev *Corpus, err error) {
	var out [2]*Corpus
	for i, name := range []string{"train.tsv", "dev.tsv"} {
		p := filepath.Join(dir, name)
		if !exists(p) {
			return nil, nil, missingText("sst2", dir, name, "train.tsv and dev.tsv from GLUE's SST-2.zip")
		}
		if out[i], err = LoadSST2File(p); err != nil {
			return nil, nil, err
		}
	}
	return out[0], out[1], nil
}

// LoadIMDB reads the IMDB movie review set (Maas et al. 2011), 25,000
// training and 25,000 test reviews, from dir. It takes the first of these
// that dir holds:
//
//   - train.tsv.gz and test.tsv.gz (or train.tsv and test.tsv), label<TAB>text
//     (see [ReadTSV]);
//   - the aclImdb folder layout, in dir/aclImdb or dir itself (see
//     [LoadAclImdb]);
//   - the archive aclImdb_v1.tar.gz as published (what [EnsureIMDB]
//     downloads), or aclImdb_v1_labelled.tar.gz, read without unpacking it.
//
// When none is there the error wraps [ErrMissing].
func LoadIMDB(dir string) (train, test *Corpus, err error) {
	src, ok := imdbSource(dir)
	if !ok {
		return nil, nil, missingText("imdb", dir, "train.tsv.gz, test.tsv.gz, an aclImdb folder or "+IMDBArchive().Name+".gz",
			"the archive with EnsureIMDB (the -download flag), or copy "+IMDBArchive().Name+".gz from "+IMDBMirrors()[0])
	}
	if len(src) == 2 {
		if train, err = LoadTSV(src[0]); err != nil {
			return nil, nil, err
		}
		if test, err = LoadTSV(src[1]); err != nil {
			return nil, nil, err
		}
		return train, test, nil
	}
	return LoadAclImdb(src[0])
}

// imdbSource returns what LoadIMDB reads in dir: the two TSV files, or one
// folder or archive.
func imdbSource(dir string) ([]string, bool) {
	for _, ext := range []string{".tsv.gz", ".tsv"} {
		tr, te := filepath.Join(dir, "train"+ext), filepath.Join(dir, "test"+ext)
		if exists(tr) && exists(te) {
			return []string{tr, te}, true
		}
	}
	for _, d := range []string{filepath.Join(dir, "aclImdb"), dir} {
		if isDir(filepath.Join(d, "train", "pos")) {
			return []string{d}, true
		}
	}
	for _, name := range []string{IMDBArchive().Name + ".gz", "aclImdb_v1_labelled.tar.gz"} {
		if p := filepath.Join(dir, name); exists(p) {
			return []string{p}, true
		}
	}
	return nil, false
}

// LoadSentiment loads the sentiment data set name from dir: "imdb" (train
// and test, [LoadIMDB]), "sst2" (train and dev, [LoadSST2]) or "mr" (also
// "rt-polarity"; all of it in train, test nil: [LoadMR]).
func LoadSentiment(name, dir string) (train, test *Corpus, err error) {
	switch name {
	case "imdb":
		return LoadIMDB(dir)
	case "sst2", "sst-2":
		return LoadSST2(dir)
	case "mr", "rt-polarity", "polarity":
		train, err = LoadMR(dir)
		return train, nil, err
	}
	return nil, nil, fmt.Errorf("datasets: unknown sentiment data set %q (want imdb, sst2 or mr)", name)
}

// LoadAclImdb reads the IMDB reviews in the layout of the published
// archive: train/pos, train/neg, test/pos and test/neg hold one review per
// .txt file, named ID_RATING.txt (other folders, such as train/unsup, and
// other files are ignored). path is the aclImdb folder, or a folder that
// holds it, or the archive itself (.tar.gz or .tar), which is streamed
// without being unpacked.
//
// Each split lists the reviews in the order of IMDB's TSV files: positive
// ID 0, negative ID 0, positive ID 1, ... (by numeric ID, names that are not
// ID_RATING.txt last, by name). Every review must be valid UTF-8, not empty
// and at most [MaxLineBytes] long; errors name the file (ARCHIVE:MEMBER
// inside an archive).
func LoadAclImdb(path string) (train, test *Corpus, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	var g reviewGroups
	if st.IsDir() {
		if !isDir(filepath.Join(path, "train")) && isDir(filepath.Join(path, "aclImdb", "train")) {
			path = filepath.Join(path, "aclImdb")
		}
		err = g.readFolder(path)
	} else {
		err = g.readArchive(path)
	}
	if err != nil {
		return nil, nil, err
	}
	return g.corpus(0), g.corpus(1), nil
}

// review is one review file of the aclImdb layout.
type review struct {
	id   int // -1 when the name is not ID_RATING.txt
	name string
	text string
	src  string
}

// reviewGroups holds the reviews of [train, test] × [neg, pos].
type reviewGroups [2][2][]review

var (
	splitNames = [2]string{"train", "test"}
	classNames = [2]string{"neg", "pos"}
)

// add checks one review file and files it under split s, class c.
func (g *reviewGroups) add(s, c int, name, src string, data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("datasets: %s: empty review", src)
	}
	if len(data) > MaxLineBytes {
		return fmt.Errorf("datasets: %s: review longer than %d bytes", src, MaxLineBytes)
	}
	if !utf8.Valid(data) {
		off := invalidUTF8(data)
		return fmt.Errorf("datasets: %s:%d: invalid UTF-8 at byte %d", src, 1+bytes.Count(data[:off], []byte{'\n'}), off)
	}
	id := -1
	if stem, ok := strings.CutSuffix(name, ".txt"); ok {
		if n, _, ok := strings.Cut(stem, "_"); ok {
			if v, err := strconv.Atoi(n); err == nil && v >= 0 {
				id = v
			}
		}
	}
	g[s][c] = append(g[s][c], review{id: id, name: name, text: string(data), src: src})
	return nil
}

// readFolder reads root/{train,test}/{pos,neg}/*.txt.
func (g *reviewGroups) readFolder(root string) error {
	for s, split := range splitNames {
		for c, class := range classNames {
			dir := filepath.Join(root, split, class)
			entries, err := os.ReadDir(dir)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("datasets: %s: no such folder: want the aclImdb layout, train/pos, train/neg, test/pos and test/neg holding one review per .txt file", dir)
				}
				return fmt.Errorf("datasets: %w", err)
			}
			for _, e := range entries {
				if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".txt") {
					continue
				}
				p := filepath.Join(dir, e.Name())
				data, err := readFileMax(p, MaxLineBytes)
				if err != nil {
					return err
				}
				if err := g.add(s, c, e.Name(), p, data); err != nil {
					return err
				}
			}
			if len(g[s][c]) == 0 {
				return fmt.Errorf("datasets: %s: no .txt review files", dir)
			}
		}
	}
	return nil
}

// readFileMax reads a file of at most limit bytes.
func readFileMax(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", p, err)
	}
	return data, nil
}

// readArchive streams a .tar or .tar.gz in the aclImdb layout, reading only
// the members {train,test}/{pos,neg}/*.txt below at most one top folder.
func (g *reviewGroups) readArchive(archive string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	return g.readTar(f, archive)
}

// readTar reads a .tar or .tar.gz stream in the aclImdb layout, as
// readArchive does; archive names it in errors. A member's buffer grows with
// the bytes that arrive, so a header that claims a large size costs no more
// than the data actually there.
func (g *reviewGroups) readTar(in io.Reader, archive string) error {
	r, closeGz, err := maybeGunzip(bufio.NewReaderSize(in, 1<<16))
	if err != nil {
		return fmt.Errorf("datasets: %s: %w", archive, err)
	}
	defer closeGz()
	tr := tar.NewReader(r)
	var buf bytes.Buffer
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("datasets: %s: %w", archive, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		parts := strings.Split(name, "/")
		n := len(parts)
		if n < 3 || n > 4 || !strings.HasSuffix(parts[n-1], ".txt") {
			continue
		}
		s, c := slices.Index(splitNames[:], parts[n-3]), slices.Index(classNames[:], parts[n-2])
		if s < 0 || c < 0 {
			continue
		}
		src := archive + ":" + name
		if h.Size > MaxLineBytes {
			return fmt.Errorf("datasets: %s: review longer than %d bytes", src, MaxLineBytes)
		}
		buf.Reset()
		if _, err := buf.ReadFrom(tr); err != nil { // io.ErrUnexpectedEOF when cut short
			return fmt.Errorf("datasets: %s: %w", src, err)
		}
		if int64(buf.Len()) != h.Size {
			return fmt.Errorf("datasets: %s: %d bytes, the header announces %d", src, buf.Len(), h.Size)
		}
		if err := g.add(s, c, parts[n-1], src, buf.Bytes()); err != nil {
			return err
		}
	}
	for s, split := range splitNames {
		for c, class := range classNames {
			if len(g[s][c]) == 0 {
				return fmt.Errorf("datasets: %s: no %s/%s/*.txt reviews: want the aclImdb layout (aclImdb/train/pos/0_9.txt, ...)", archive, split, class)
			}
		}
	}
	return nil
}

// corpus returns split s: reviews sorted by ID within each class, then
// interleaved pos, neg, pos, neg, ... (the rest of the longer class last).
func (g *reviewGroups) corpus(s int) *Corpus {
	for c := range g[s] {
		slices.SortFunc(g[s][c], func(a, b review) int {
			switch {
			case a.id < 0 && b.id >= 0:
				return 1 // names that are not ID_RATING.txt last
			case a.id >= 0 && b.id < 0:
				return -1
			}
			if a.id != b.id {
				return a.id - b.id
			}
			return strings.Compare(a.name, b.name)
		})
	}
	pos, neg := g[s][Positive], g[s][Negative]
	c := &Corpus{}
	for i := range max(len(pos), len(neg)) {
		if i < len(pos) {
			c.add(pos[i].text, Positive, pos[i].src, 0)
		}
		if i < len(neg) {
			c.add(neg[i].text, Negative, neg[i].src, 0)
		}
	}
	return c
}

// ---------------------------------------------------------------- helpers

func (c *Corpus) add(text string, label uint8, file string, line int) {
	c.Texts = append(c.Texts, text)
	c.Labels = append(c.Labels, label)
	c.Sources = append(c.Sources, Source{File: file, Line: line})
}

func (c *Corpus) append(o *Corpus) {
	c.Texts = append(c.Texts, o.Texts...)
	c.Labels = append(c.Labels, o.Labels...)
	c.Sources = append(c.Sources, o.Sources...)
}

// done finishes a reader: err from the line loop, or an error if nothing
// was read.
func (c *Corpus) done(name string, err error) (*Corpus, error) {
	if err != nil {
		return nil, err
	}
	if c.Len() == 0 {
		return nil, fmt.Errorf("datasets: %s: no documents", name)
	}
	return c, nil
}

// loadFile opens path and reads it with read, naming it by its path.
func loadFile(path string, read func(io.Reader, string) (*Corpus, error)) (*Corpus, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	return read(f, path)
}

// isGzip reports whether br's content starts with gzip's magic bytes,
// 0x1f 0x8b, without consuming them.
func isGzip(br *bufio.Reader) bool {
	sig, err := br.Peek(2)
	return err == nil && sig[0] == 0x1f && sig[1] == 0x8b
}

// maybeGunzip returns a reader of br's content, decompressed when it starts
// with gzip's magic bytes, and a function that releases it.
func maybeGunzip(br *bufio.Reader) (io.Reader, func(), error) {
	if isGzip(br) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("bad gzip data: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	}
	return br, func() {}, nil
}

// readText reads all of r, gunzipping it if needed, up to MaxTextFileBytes.
func readText(r io.Reader, name string) ([]byte, error) {
	// A small buffer: it only needs to peek at the gzip magic, and io.ReadAll
	// reads past it once its own buffer has grown.
	zr, closeGz, err := maybeGunzip(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", name, err)
	}
	defer closeGz()
	data, err := io.ReadAll(io.LimitReader(zr, MaxTextFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", name, err)
	}
	if len(data) > MaxTextFileBytes {
		return nil, fmt.Errorf("datasets: %s: more than %d bytes", name, MaxTextFileBytes)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("datasets: %s: empty file", name)
	}
	return data, nil
}

// eachLine calls fn for every line of data (without its LF or CRLF), with
// its number from 1; the last line need not end with LF. With checkUTF8 a
// line of invalid UTF-8 is an error. The lines are substrings of one copy of
// data. Errors from fn are prefixed with "datasets: NAME:LINE: ".
func eachLine(data []byte, name string, checkUTF8 bool, fn func(line string, n int) error) error {
	s := strings.TrimPrefix(string(data), "\uFEFF")
	for n := 1; len(s) > 0; n++ {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		line = strings.TrimSuffix(line, "\r")
		if len(line) > MaxLineBytes {
			return fmt.Errorf("datasets: %s:%d: line longer than %d bytes", name, n, MaxLineBytes)
		}
		if checkUTF8 && !utf8.ValidString(line) {
			return fmt.Errorf("datasets: %s:%d: invalid UTF-8 at byte %d of the line", name, n, invalidUTF8([]byte(line)))
		}
		if err := fn(line, n); err != nil {
			return fmt.Errorf("datasets: %s:%d: %w", name, n, err)
		}
	}
	return nil
}

// invalidUTF8 returns the offset of the first invalid UTF-8 sequence in b.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && w == 1 {
			return i
		}
		i += w
	}
	return len(b)
}

// cp1252 maps the bytes 0x80–0x9F of Windows-1252 to Unicode; 0 marks the
// five undefined ones. Bytes 0xA0–0xFF are Latin-1: the code point equals
// the byte.
var cp1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

type cp1252Error struct {
	off int
	b   byte
}

func (e *cp1252Error) Error() string {
	return fmt.Sprintf("byte 0x%02X is not defined in Windows-1252 (cp1252)", e.b)
}

// decodeCP1252 converts Windows-1252 text to UTF-8.
func decodeCP1252(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b)+len(b)/16)
	for i, c := range b {
		switch {
		case c < 0x80:
			out = append(out, c)
		case c < 0xA0:
			r := cp1252[c-0x80]
			if r == 0 {
				return nil, &cp1252Error{off: i, b: c}
			}
			out = utf8.AppendRune(out, r)
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// missingText is the error of a loader that finds no data in dir.
func missingText(set, dir, what, how string) error {
	return fmt.Errorf("datasets: %s: %w from %s: %s. Get %s, or pass -data DIR for a folder that holds them, or set %s=DIR with DIR/%s holding them",
		set, ErrMissing, dir, what, how, DataEnv, set)
}
