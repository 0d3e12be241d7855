package datasets

import (
	"fmt"
	"os"
)

// IMDBArchive returns the published archive of the IMDB movie review set,
// aclImdb_v1.tar.gz (84 MB; Maas et al., ACL 2011), with its SHA-256. The
// type is the one of the IDX files because the download machinery is
// shared: the archive's URL is a mirror followed by Name + ".gz", and it is
// saved as Name + ".gz".
func IMDBArchive() IDXFile {
	return IDXFile{
		Name:   "aclImdb_v1.tar",
		SHA256: "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
	}
}

// IMDBMirrors returns the base URLs IMDBArchive is downloaded from, in a
// new slice at each call.
func IMDBMirrors() []string {
	return []string{"https://ai.stanford.edu/~amaas/data/sentiment/"}
}

// EnsureIMDB makes sure dir holds the IMDB set in a form [LoadIMDB] reads.
// If it does not, the archive is downloaded with d (from d.Mirrors, or
// IMDBMirrors when that is nil) into dir, created if needed, and kept only
// if its SHA-256 matches; [Downloader] describes how. With a nil d nothing
// is downloaded, and a missing set is an error wrapping [ErrMissing].
func EnsureIMDB(dir string, d *Downloader) error {
	mirrors := IMDBMirrors()
	if d != nil && d.Mirrors != nil {
		mirrors = d.Mirrors
	}
	return ensureArchive(dir, d, IMDBArchive(), mirrors)
}

// ensureArchive is EnsureIMDB for any archive f and mirrors.
func ensureArchive(dir string, d *Downloader, f IDXFile, mirrors []string) error {
	if _, ok := imdbSource(dir); ok {
		return nil
	}
	what := "train.tsv.gz, test.tsv.gz, an aclImdb folder or " + f.Name + ".gz"
	if d == nil {
		return missingText("imdb", dir, what, "the archive by allowing the download (the -download flag)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("datasets: imdb: %w", err)
	}
	if err := d.Fetch(dir, f, mirrors); err != nil {
		return missingText("imdb", dir, what, fmt.Sprintf("the archive by hand (the download failed: %v)", err))
	}
	if _, ok := imdbSource(dir); !ok {
		return missingText("imdb", dir, what, "the archive by hand (the download was saved under another name)")
	}
	return nil
}
