package datasets

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// MaxDownloadBytes bounds the size of one downloaded file (256 MiB) unless
// [Downloader].MaxBytes says otherwise; a mirror that sends more is treated
// as failing.
const MaxDownloadBytes = 256 << 20

// ErrChecksum is wrapped by the errors of [Downloader.Fetch] and
// [IDXSet.Ensure] when a file does not match its published checksum.
var ErrChecksum = errors.New("checksum mismatch")

// Downloader fetches the files of an [IDXSet] from its mirrors. The zero
// value downloads from the set's own mirrors with a default client and no
// progress bar; [IDXSet.Ensure] with a nil *Downloader never touches the
// network.
//
// Every file is streamed to a temporary name in the destination folder
// (.NAME.gz.*.part), hashed on the way, and renamed to its final name only
// after its checksum matched (see [IDXFile]). A failed download, or a wrong
// checksum, removes the temporary file, so the final name only ever holds a
// verified file. A temporary file left by a run that was killed is never
// trusted: the next download of that file removes it and starts again from
// the first byte (there is no resuming; the files are at most tens of MB).
type Downloader struct {
	// Client makes the requests. Nil means a client that gives up on a
	// mirror that does not answer within 30 seconds (connection and response
	// headers) but lets a slow transfer run to the end.
	Client *http.Client
	// Mirrors, when not nil, replaces the set's own mirror list (base URLs
	// tried in turn; a file's URL is mirror + name + ".gz").
	Mirrors []string
	// Progress receives a progress bar per file; nil means silent.
	Progress io.Writer
	// Stall is how long a transfer may go without receiving a byte before
	// the mirror is abandoned; 0 means 30 seconds. It also bounds the wait
	// for a mirror's first answer.
	Stall time.Duration
	// MaxBytes bounds the size of one file; a mirror that announces or sends
	// more is abandoned. 0 means [MaxDownloadBytes].
	MaxBytes int64
}

var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 30 * time.Second,
}}

// Ensure makes sure dir holds the set's four files, each matching its
// checksums. Files already present, gzipped or raw, are verified (a file
// whose IDXFile has no checksum is taken as it is); missing ones, and with a
// non-nil d present ones that fail the check, are downloaded with d into
// dir, which is created if needed. A verified download replaces a file that
// failed the check. With a nil d nothing is downloaded, missing files are an
// error and so is a file that fails the check: a damaged or foreign file is
// never used.
//
// When files are still missing the error wraps [ErrMissing] and says which
// files, in which folder, which mirrors were tried and what each answered,
// and how to supply the files by hand. When a present file fails its check
// and is not replaced, the error wraps [ErrChecksum] and names the file.
func (s *IDXSet) Ensure(dir string, d *Downloader) error {
	var fetch []IDXFile
	bad := map[string]string{} // file name → path of the copy that failed
	var badReport strings.Builder
	for _, f := range s.Files {
		p, ok := s.Path(dir, f)
		if !ok {
			fetch = append(fetch, f)
			continue
		}
		if err := verifyFile(p, f); err != nil {
			bad[f.Name] = p
			fetch = append(fetch, f)
			fmt.Fprintf(&badReport, "  %v\n", err)
		}
	}
	if len(fetch) == 0 {
		return nil
	}
	if d == nil {
		if len(bad) > 0 {
			return s.checksumError(dir, badReport.String(), "")
		}
		return s.missingError(dir, s.Missing(dir), "Downloading is off.\n")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s.missingError(dir, s.Missing(dir), fmt.Sprintf("Cannot create the folder: %v\n", err))
	}
	mirrors := d.Mirrors
	if mirrors == nil {
		mirrors = s.Mirrors
	}
	var report strings.Builder
	stillBad := false
	for _, f := range fetch {
		err := d.Fetch(dir, f, mirrors)
		if err != nil {
			fmt.Fprintf(&report, "%v\n", err)
			stillBad = stillBad || bad[f.Name] != ""
			continue
		}
		// The verified download replaced the copy that failed, or was saved
		// under the other name (raw or .gz); then that copy must go, or it
		// would shadow the download (Path prefers .gz).
		if p := bad[f.Name]; p != "" && verifyFile(p, f) != nil {
			if err := os.Remove(p); err != nil {
				fmt.Fprintf(&report, "%v\n", err)
				stillBad = true
			}
		}
	}
	if stillBad {
		return s.checksumError(dir, badReport.String(), report.String())
	}
	if missing := s.Missing(dir); len(missing) > 0 {
		return s.missingError(dir, missing, report.String())
	}
	return nil
}

// checksumError explains that files in dir fail their checksums (detail,
// one line each) and could not be replaced (report says why, if tried).
func (s *IDXSet) checksumError(dir, detail, report string) error {
	how := "Downloading is off: delete them, or allow downloading (the -download flag) to replace them."
	if report != "" {
		how = "Replacing them failed:\n" + report + "Delete them and supply the published files by hand."
	}
	return fmt.Errorf("datasets: %s: %w: files in %s are damaged or not %s's published ones:\n%s%s",
		s.Name, ErrChecksum, dir, s.Name, detail, how)
}

// verifyFile checks the file at path against f's checksums, as a download
// is checked. A file with no checksum to compare with passes.
func verifyFile(path string, f IDXFile) error {
	if f.SHA256 == "" && f.RawSHA256 == "" {
		return nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := checkSums(fh, f, hex.EncodeToString(h.Sum(nil))); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// checkSums checks a file whose bytes have SHA-256 sum against f: it passes
// when sum is f.SHA256, or when the SHA-256 of its decompressed content (read
// from fh) is f.RawSHA256. It reports whether the file is gzip-compressed.
func checkSums(fh *os.File, f IDXFile, sum string) (gz bool, err error) {
	if sum == f.SHA256 {
		return true, nil
	}
	raw, isGz, err := contentSHA256(fh)
	if err != nil {
		return false, fmt.Errorf("%w: SHA-256 %s, want %s, and the content cannot be read: %w", ErrChecksum, sum, f.SHA256, err)
	}
	if f.RawSHA256 == "" || raw != f.RawSHA256 {
		return false, fmt.Errorf("%w: SHA-256 %s, want %s (or content SHA-256 %s, want %q)", ErrChecksum, sum, f.SHA256, raw, f.RawSHA256)
	}
	return isGz, nil
}

// EnsureMNIST makes sure dir holds MNIST's four files, downloading the
// missing ones with d (nil: no download), as [IDXSet.Ensure] does.
func EnsureMNIST(dir string, d *Downloader) error { return MNIST().Ensure(dir, d) }

// Fetch downloads file f into dir, trying each mirror in turn until one
// delivers a file that matches f's checksums. The verified file is saved as
// dir/NAME.gz (or dir/NAME if the mirror served it uncompressed). The error
// lists every mirror tried and what went wrong there.
func (d *Downloader) Fetch(dir string, f IDXFile, mirrors []string) error {
	if len(mirrors) == 0 {
		return fmt.Errorf("datasets: %s.gz: no mirror to download from", f.Name)
	}
	removeStaleParts(dir, f.Name)
	var errs []string
	bad := false // some mirror served a file that failed its checksum
	for _, m := range mirrors {
		url := strings.TrimSuffix(m, "/") + "/" + f.Name + ".gz"
		err := d.fetchOne(dir, f, url)
		if err == nil {
			return nil
		}
		bad = bad || errors.Is(err, ErrChecksum)
		errs = append(errs, fmt.Sprintf("  %s: %v", url, err))
	}
	if bad {
		return fmt.Errorf("datasets: %s.gz: every mirror failed, at least one with a %w:\n%s", f.Name, ErrChecksum, strings.Join(errs, "\n"))
	}
	return fmt.Errorf("datasets: %s.gz: every mirror failed:\n%s", f.Name, strings.Join(errs, "\n"))
}

// removeStaleParts removes the temporary files (.NAME.gz.*.part) that a
// killed download of file name left in dir; they are never resumed.
func removeStaleParts(dir, name string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + name + ".gz."
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".part") {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

// fetchOne downloads one URL into a temporary file in dir, verifies it and
// renames it into place.
func (d *Downloader) fetchOne(dir string, f IDXFile, url string) (err error) {
	client := defaultClient
	if d.Client != nil {
		client = d.Client
	}
	stall := d.Stall
	if stall <= 0 {
		stall = 30 * time.Second
	}
	// The watchdog cancels the request when no byte arrives for stall.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchdog := time.AfterFunc(stall, cancel)
	defer watchdog.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("no answer for %v", stall)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	limit := d.MaxBytes
	if limit <= 0 {
		limit = MaxDownloadBytes
	}
	if resp.ContentLength > limit {
		return fmt.Errorf("%d bytes announced, more than the %d accepted", resp.ContentLength, limit)
	}

	tmp, err := os.CreateTemp(dir, "."+f.Name+".gz.*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	h := sha256.New()
	var dst io.Writer = io.MultiWriter(tmp, h)
	var bar *progressbar.ProgressBar
	if d.Progress != nil {
		bar = newBar(d.Progress, f.Name+".gz", resp.ContentLength)
		dst = io.MultiWriter(dst, bar)
	}
	body := &watchedReader{r: resp.Body, watchdog: watchdog, stall: stall}
	n, err := io.Copy(dst, io.LimitReader(body, limit+1))
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("nothing received for %v", stall)
	}
	if bar != nil {
		if err == nil && resp.ContentLength >= 0 {
			bar.Finish()
		} else {
			bar.Exit()
		}
	}
	if err != nil {
		return fmt.Errorf("transfer cut after %d bytes: %w", n, err)
	}
	if n > limit {
		return fmt.Errorf("more than %d bytes sent", limit)
	}

	// Accept the published .gz, or any file whose content is the published
	// content (a re-compressed or uncompressed copy).
	gz, err := checkSums(tmp, f, hex.EncodeToString(h.Sum(nil)))
	if err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	final := filepath.Join(dir, f.Name)
	if gz {
		final += ".gz"
	}
	return os.Rename(tmp.Name(), final)
}

// watchedReader restarts its watchdog timer whenever bytes arrive.
type watchedReader struct {
	r        io.Reader
	watchdog *time.Timer
	stall    time.Duration
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.watchdog.Reset(w.stall)
	}
	return n, err
}

// contentSHA256 returns the hex SHA-256 of the decompressed content of f
// (of f itself if it is not gzip-compressed), reading it from the start,
// and whether it was compressed.
func contentSHA256(f *os.File) (sum string, gz bool, err error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", false, err
	}
	br := bufio.NewReader(f)
	var r io.Reader = br
	if isGzip(br) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", true, err
		}
		defer zr.Close()
		r, gz = zr, true
	}
	// Content longer than any IDX file this package reads cannot match; the
	// limit bounds the work a hostile gzip stream can cause.
	var h hash.Hash = sha256.New()
	if _, err := io.Copy(h, io.LimitReader(r, MaxIDXBytes+64)); err != nil {
		return "", gz, err
	}
	return hex.EncodeToString(h.Sum(nil)), gz, nil
}

// newBar returns a byte-counting progress bar on w (a spinner when the size
// is unknown). It starts no goroutine.
func newBar(w io.Writer, name string, size int64) *progressbar.ProgressBar {
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}
