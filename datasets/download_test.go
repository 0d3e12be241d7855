package datasets

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// mirror is a test HTTP server: under /good/ it serves files by name, under
// /fail/ it answers 500, under /cut/ it sends half of the file and closes the
// connection, under /other/ it serves files from a second map, under /stall/
// it sends half and waits, under /hang/ it never answers, under /flood/ it
// sends zeros without end and under /liar/ it announces 1 TiB.
type mirror struct {
	*httptest.Server
	files, other map[string][]byte
	requests     atomic.Int64
}

func newMirror(t *testing.T, files map[string][]byte) *mirror {
	m := &mirror{files: files, other: map[string][]byte{}}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.requests.Add(1)
		dir, name := filepath.Split(r.URL.Path)
		switch dir {
		case "/good/", "/other/":
			src := m.files
			if dir == "/other/" {
				src = m.other
			}
			b, ok := src[name]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		case "/fail/":
			http.Error(w, "mirror broken", http.StatusInternalServerError)
		case "/cut/":
			b := m.files[name]
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusOK)
			w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
		case "/stall/":
			b := m.files[name]
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusOK)
			w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/hang/": // answers nothing, not even headers
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/flood/": // streams zeros without a length until cut off
			w.WriteHeader(http.StatusOK)
			chunk := make([]byte, 32<<10)
			for i := 0; i < 1024; i++ { // 32 MiB at most
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/liar/": // announces a length far over any limit
			w.Header().Set("Content-Length", strconv.Itoa(1<<40))
			w.WriteHeader(http.StatusOK)
			w.Write(m.files[name])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

// requireOnly checks that dir holds exactly the named files (no leftovers
// from failed downloads).
func requireOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	require.ElementsMatch(t, names, got)
}

// closedURL returns the URL of a server that is no longer listening.
func closedURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

func TestFetch(t *testing.T) {
	s, files := testSet(t)
	f := s.Files[0] // train-images-idx3-ubyte
	gzName := f.Name + ".gz"
	m := newMirror(t, files)
	d := &Downloader{Client: m.Client()}

	t.Run("good", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, d.Fetch(dir, f, []string{m.URL + "/good/"}))
		requireOnly(t, dir, gzName)
		b, err := os.ReadFile(filepath.Join(dir, gzName))
		require.NoError(t, err)
		require.Equal(t, files[gzName], b)
	})

	t.Run("wrong checksum keeps nothing", func(t *testing.T) {
		dir := t.TempDir()
		m.other[gzName] = gzipBytes(t, idxBytes(0x08, []uint32{1, 2, 3}, seq(0, 6)))
		err := d.Fetch(dir, f, []string{m.URL + "/other/"})
		require.ErrorContains(t, err, "checksum mismatch")
		require.ErrorIs(t, err, ErrChecksum)
		require.ErrorContains(t, err, m.URL+"/other/"+gzName)
		requireOnly(t, dir)
	})

	t.Run("first mirrors down", func(t *testing.T) {
		dir := t.TempDir()
		down := closedURL(t)
		require.NoError(t, d.Fetch(dir, f, []string{down, m.URL + "/fail", m.URL + "/good/"}))
		requireOnly(t, dir, gzName)
	})

	t.Run("connection cut mid-transfer", func(t *testing.T) {
		dir := t.TempDir()
		err := d.Fetch(dir, f, []string{m.URL + "/cut/"})
		require.ErrorContains(t, err, "transfer cut after")
		requireOnly(t, dir)
	})

	t.Run("stalled transfer", func(t *testing.T) {
		dir := t.TempDir()
		start := time.Now()
		d := &Downloader{Client: m.Client(), Stall: 100 * time.Millisecond}
		err := d.Fetch(dir, f, []string{m.URL + "/stall/", m.URL + "/good/"})
		require.NoError(t, err, "the second mirror takes over")
		require.Less(t, time.Since(start), 5*time.Second)
		requireOnly(t, dir, gzName)

		dir = t.TempDir()
		err = d.Fetch(dir, f, []string{m.URL + "/stall/"})
		require.ErrorContains(t, err, "transfer cut after")
		require.ErrorContains(t, err, "nothing received for 100ms")
		requireOnly(t, dir)
	})

	t.Run("all mirrors fail", func(t *testing.T) {
		dir := t.TempDir()
		down := closedURL(t)
		err := d.Fetch(dir, f, []string{down, m.URL + "/fail/", m.URL + "/cut/"})
		require.ErrorContains(t, err, "datasets: "+gzName+": every mirror failed")
		require.ErrorContains(t, err, down+"/"+gzName+": ")
		require.ErrorContains(t, err, m.URL+"/fail/"+gzName+": HTTP 500 Internal Server Error")
		require.ErrorContains(t, err, m.URL+"/cut/"+gzName+": transfer cut")
		requireOnly(t, dir)
	})

	t.Run("re-compressed copy accepted by its content", func(t *testing.T) {
		dir := t.TempDir()
		raw := files[f.Name]
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		require.NoError(t, err)
		zw.Name, zw.ModTime = "other-name", time.Unix(848331386, 0)
		_, err = zw.Write(raw)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		require.NotEqual(t, files[gzName], buf.Bytes())
		m.other[gzName] = buf.Bytes()

		require.NoError(t, d.Fetch(dir, f, []string{m.URL + "/other/"}))
		requireOnly(t, dir, gzName)
		im, err := OpenIDX(filepath.Join(dir, gzName))
		require.NoError(t, err)
		require.Equal(t, seq(10, 24), im.Data)
	})

	t.Run("uncompressed copy saved under the raw name", func(t *testing.T) {
		dir := t.TempDir()
		m.other[gzName] = files[f.Name]
		require.NoError(t, d.Fetch(dir, f, []string{m.URL + "/other/"}))
		requireOnly(t, dir, f.Name)
	})

	t.Run("no checksum, no file", func(t *testing.T) {
		dir := t.TempDir()
		err := d.Fetch(dir, IDXFile{Name: f.Name}, []string{m.URL + "/good/"})
		require.ErrorContains(t, err, "checksum mismatch")
		requireOnly(t, dir)
	})
}

func TestEnsure(t *testing.T) {
	s, files := testSet(t)
	m := newMirror(t, files)
	s.Mirrors = []string{closedURL(t), m.URL + "/good/"}

	t.Run("download all, then load", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new", "tiny")
		var progress bytes.Buffer
		require.NoError(t, s.Ensure(dir, &Downloader{Client: m.Client(), Progress: &progress}))
		requireOnly(t, dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
		for _, f := range s.Files {
			require.Contains(t, progress.String(), f.Name+".gz")
		}
		train, test, err := s.Load(dir)
		require.NoError(t, err)
		require.Equal(t, 4, train.Len())
		require.Equal(t, 2, test.Len())

		// Everything present: no request at all.
		before := m.requests.Load()
		require.NoError(t, s.Ensure(dir, &Downloader{Client: m.Client()}))
		require.NoError(t, s.Ensure(dir, nil))
		require.Equal(t, before, m.requests.Load())
	})

	t.Run("only what is missing", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "train-images-idx3-ubyte", files["train-images-idx3-ubyte"])
		before := m.requests.Load()
		require.NoError(t, s.Ensure(dir, &Downloader{Client: m.Client(), Mirrors: []string{m.URL + "/good/"}}))
		require.Equal(t, before+3, m.requests.Load())
		requireOnly(t, dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
	})

	t.Run("downloading off", func(t *testing.T) {
		dir := t.TempDir()
		err := s.Ensure(dir, nil)
		require.ErrorIs(t, err, ErrMissing)
		require.ErrorContains(t, err, "data files missing from "+dir+": train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz")
		require.ErrorContains(t, err, "Downloading is off")
		require.ErrorContains(t, err, "pass -data DIR")
		requireOnly(t, dir)
	})

	t.Run("offline", func(t *testing.T) {
		dir := t.TempDir()
		down := closedURL(t)
		err := s.Ensure(dir, &Downloader{Client: m.Client(), Mirrors: []string{down, m.URL + "/fail/"}})
		require.ErrorIs(t, err, ErrMissing)
		msg := err.Error()
		for _, f := range s.Files {
			require.Contains(t, msg, down+"/"+f.Name+".gz: ")
			require.Contains(t, msg, m.URL+"/fail/"+f.Name+".gz: HTTP 500")
		}
		require.Contains(t, msg, "data files missing from "+dir)
		require.Contains(t, msg, "copy the four files of tiny (gzipped or not) into "+dir)
		require.Contains(t, msg, DataEnv+"=DIR")
		require.Equal(t, 1, strings.Count(msg, "To supply them"))
		requireOnly(t, dir)
	})
}

// TestFetchHostileMirrors: mirrors that hang, send too much or lie about
// the size are abandoned, nothing they sent is kept, and the next mirror is
// tried.
func TestFetchHostileMirrors(t *testing.T) {
	s, files := testSet(t)
	f := s.Files[0]
	gzName := f.Name + ".gz"
	m := newMirror(t, files)

	t.Run("no answer", func(t *testing.T) {
		dir := t.TempDir()
		d := &Downloader{Client: m.Client(), Stall: 100 * time.Millisecond}
		start := time.Now()
		err := d.Fetch(dir, f, []string{m.URL + "/hang/"})
		require.ErrorContains(t, err, m.URL+"/hang/"+gzName+": no answer for 100ms")
		require.Less(t, time.Since(start), 5*time.Second)
		requireOnly(t, dir)
		require.NoError(t, d.Fetch(dir, f, []string{m.URL + "/hang/", m.URL + "/good/"}))
		requireOnly(t, dir, gzName)
	})

	t.Run("endless stream", func(t *testing.T) {
		dir := t.TempDir()
		d := &Downloader{Client: m.Client(), MaxBytes: 1 << 20}
		err := d.Fetch(dir, f, []string{m.URL + "/flood/"})
		require.ErrorContains(t, err, m.URL+"/flood/"+gzName+": more than 1048576 bytes sent")
		requireOnly(t, dir)
		require.NoError(t, d.Fetch(dir, f, []string{m.URL + "/flood/", m.URL + "/good/"}))
		requireOnly(t, dir, gzName)
	})

	t.Run("announces 1 TiB", func(t *testing.T) {
		dir := t.TempDir()
		d := &Downloader{Client: m.Client()}
		err := d.Fetch(dir, f, []string{m.URL + "/liar/"})
		require.ErrorContains(t, err, fmt.Sprintf("%s/liar/%s: 1099511627776 bytes announced, more than the %d accepted", m.URL, gzName, MaxDownloadBytes))
		requireOnly(t, dir)
	})
}

// A temporary file left by a killed download is never trusted: the next
// download removes it, whether it succeeds or not.
func TestFetchRemovesStaleParts(t *testing.T) {
	s, files := testSet(t)
	f := s.Files[0]
	gzName := f.Name + ".gz"
	m := newMirror(t, files)
	d := &Downloader{Client: m.Client()}
	stale := func(dir string) {
		// What a run killed mid-transfer leaves: the first half of the file.
		writeFile(t, dir, "."+gzName+".123456.part", files[gzName][:len(files[gzName])/2])
		// Another file's leftover is not this download's business.
		writeFile(t, dir, ".t10k-labels-idx1-ubyte.gz.9.part", []byte("x"))
	}

	dir := t.TempDir()
	stale(dir)
	require.NoError(t, d.Fetch(dir, f, []string{m.URL + "/good/"}))
	requireOnly(t, dir, gzName, ".t10k-labels-idx1-ubyte.gz.9.part")
	b, err := os.ReadFile(filepath.Join(dir, gzName))
	require.NoError(t, err)
	require.Equal(t, files[gzName], b)

	dir = t.TempDir()
	stale(dir)
	require.Error(t, d.Fetch(dir, f, []string{m.URL + "/cut/"}))
	requireOnly(t, dir, ".t10k-labels-idx1-ubyte.gz.9.part")
}

// A file already in place that does not match its checksum is never used:
// Ensure replaces it by a verified download, or refuses it when downloading
// is off.
func TestEnsureReplacesDamagedFiles(t *testing.T) {
	s, files := testSet(t)
	m := newMirror(t, files)
	s.Mirrors = []string{m.URL + "/good/"}
	all := []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
	put := func(dir string) {
		for _, name := range all {
			writeFile(t, dir, name, files[name])
		}
	}
	truncated := files["train-images-idx3-ubyte.gz"][:20]
	// Another set's labels: a sound IDX file, but not this set's.
	foreign := gzipBytes(t, idxBytes(0x08, []uint32{4}, []byte{2, 2, 2, 2}))

	t.Run("downloading off", func(t *testing.T) {
		dir := t.TempDir()
		put(dir)
		writeFile(t, dir, "train-images-idx3-ubyte.gz", truncated)
		writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", foreign)
		before := m.requests.Load()
		err := s.Ensure(dir, nil)
		require.ErrorIs(t, err, ErrChecksum)
		require.ErrorContains(t, err, "datasets: tiny: checksum mismatch: files in "+dir+" are damaged or not tiny's published ones:\n")
		require.ErrorContains(t, err, filepath.Join(dir, "train-images-idx3-ubyte.gz")+": checksum mismatch: SHA-256 ")
		require.ErrorContains(t, err, filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")+": checksum mismatch: SHA-256 ")
		require.NotContains(t, err.Error(), "train-labels")
		require.ErrorContains(t, err, "Downloading is off: delete them, or allow downloading (the -download flag) to replace them.")
		require.Equal(t, before, m.requests.Load())
	})

	t.Run("replaced by a download", func(t *testing.T) {
		dir := t.TempDir()
		put(dir)
		writeFile(t, dir, "train-images-idx3-ubyte.gz", truncated)
		writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", foreign)
		before := m.requests.Load()
		require.NoError(t, s.Ensure(dir, &Downloader{Client: m.Client()}))
		require.Equal(t, before+2, m.requests.Load())
		requireOnly(t, dir, all...)
		for _, name := range all {
			b, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			require.Equal(t, files[name], b, name)
		}
		_, _, err := s.Load(dir)
		require.NoError(t, err)
	})

	t.Run("damaged raw copy, gzipped download", func(t *testing.T) {
		dir := t.TempDir()
		put(dir)
		require.NoError(t, os.Remove(filepath.Join(dir, "train-labels-idx1-ubyte.gz")))
		writeFile(t, dir, "train-labels-idx1-ubyte", files["train-labels-idx1-ubyte"][:9])
		require.NoError(t, s.Ensure(dir, &Downloader{Client: m.Client()}))
		requireOnly(t, dir, all...)
	})

	t.Run("damaged gzipped copy, raw download", func(t *testing.T) {
		dir := t.TempDir()
		put(dir)
		writeFile(t, dir, "train-images-idx3-ubyte.gz", truncated)
		m.other["train-images-idx3-ubyte.gz"] = files["train-images-idx3-ubyte"] // served uncompressed
		require.NoError(t, s.Ensure(dir, &Downloader{Client: m.Client(), Mirrors: []string{m.URL + "/other/", m.URL + "/good/"}}))
		requireOnly(t, dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
		require.NoError(t, s.Ensure(dir, nil))
		train, _, err := s.Load(dir)
		require.NoError(t, err)
		require.Equal(t, seq(10, 24), train.Pixels)
	})

	t.Run("replacement fails", func(t *testing.T) {
		dir := t.TempDir()
		put(dir)
		writeFile(t, dir, "train-images-idx3-ubyte.gz", truncated)
		err := s.Ensure(dir, &Downloader{Client: m.Client(), Mirrors: []string{m.URL + "/fail/"}})
		require.ErrorIs(t, err, ErrChecksum)
		require.ErrorContains(t, err, filepath.Join(dir, "train-images-idx3-ubyte.gz")+": checksum mismatch")
		require.ErrorContains(t, err, "Replacing them failed:\ndatasets: train-images-idx3-ubyte.gz: every mirror failed:")
		require.ErrorContains(t, err, "HTTP 500")
		// Still refused on the next run: a damaged file never passes.
		require.ErrorIs(t, s.Ensure(dir, nil), ErrChecksum)
	})
}
