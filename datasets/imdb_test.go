package datasets

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEnsureIMDB(t *testing.T) {
	archive := tarTree(t, aclTree(), true)
	f := IDXFile{Name: IMDBArchive().Name, SHA256: sha256Hex(archive)}
	m := newMirror(t, map[string][]byte{f.Name + ".gz": archive})
	m.other[f.Name+".gz"] = tarTree(t, map[string]string{"aclImdb/README": "not the archive"}, true)
	d := &Downloader{Client: m.Client()}

	t.Run("download", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "imdb")
		require.NoError(t, ensureArchive(dir, d, f, []string{m.URL + "/fail/", m.URL + "/good/"}))
		requireOnly(t, dir, "aclImdb_v1.tar.gz")
		train, test, err := LoadIMDB(dir)
		require.NoError(t, err)
		require.Equal(t, aclTrainTexts, train.Texts)
		require.Equal(t, aclTestLabels, test.Labels)

		// Present: no request.
		before := m.requests.Load()
		require.NoError(t, ensureArchive(dir, d, f, []string{m.URL + "/good/"}))
		require.Equal(t, before, m.requests.Load())
	})

	t.Run("wrong checksum keeps nothing", func(t *testing.T) {
		dir := t.TempDir()
		err := ensureArchive(dir, d, f, []string{m.URL + "/other/"})
		require.ErrorIs(t, err, ErrMissing)
		require.ErrorContains(t, err, "checksum mismatch")
		requireOnly(t, dir)
	})

	t.Run("no downloader", func(t *testing.T) {
		dir := t.TempDir()
		err := EnsureIMDB(dir, nil)
		require.ErrorIs(t, err, ErrMissing)
		require.ErrorContains(t, err, "allowing the download")
		requireOnly(t, dir)
	})

	t.Run("already there as TSV", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, dir, "train.tsv.gz", gzipBytes(t, []byte("1\tgood\n")))
		writeText(t, dir, "test.tsv.gz", gzipBytes(t, []byte("0\tbad\n")))
		require.NoError(t, EnsureIMDB(dir, &Downloader{Mirrors: []string{closedURL(t)}}))
	})

	t.Run("published mirror and checksum", func(t *testing.T) {
		require.Equal(t, []string{"https://ai.stanford.edu/~amaas/data/sentiment/"}, IMDBMirrors())
		require.Equal(t, "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe", IMDBArchive().SHA256)
		// The Downloader asks for mirror + Name + ".gz".
		require.Equal(t, "aclImdb_v1.tar.gz", IMDBArchive().Name+".gz")
	})
}
