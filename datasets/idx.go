package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// IDX is an array read from an IDX file, the format of MNIST and of the data
// sets that copy its layout: unsigned bytes with their dimensions.
//
// An IDX file is big-endian: a magic number 0x0000TTDD, where TT is the
// element type (0x08 for unsigned bytes, the only type read here) and DD the
// number of dimensions; DD sizes as uint32; then the elements in row-major
// order. MNIST's labels are 0x00000801 ([count]), its images 0x00000803
// ([count rows cols]).
type IDX struct {
	// Dims holds the size of each dimension, outermost first.
	Dims []int
	// Data holds the elements in row-major order; len(Data) is the product
	// of Dims.
	Data []uint8
}

// MaxIDXBytes is the largest element count ReadIDX accepts (4 GiB). A header
// that claims more is refused before anything is allocated.
const MaxIDXBytes = 1 << 32

// IDX element types (the TT byte of the magic number).
var idxTypes = map[byte]string{
	0x08: "unsigned byte",
	0x09: "signed byte",
	0x0B: "int16",
	0x0C: "int32",
	0x0D: "float32",
	0x0E: "float64",
}

// ReadIDX reads an IDX file of unsigned bytes from r, raw or gzip-compressed
// (recognised by its magic bytes 1f 8b). It checks the magic number, the
// element type (only 0x08, unsigned byte, is accepted), the number of
// dimensions (1 to 4) and their sizes, and that the data has exactly the
// length the header announces: a truncated file, or one with bytes after
// the data, is an error. Memory grows with the data actually read, never
// with what the header claims, so a lying header cannot make ReadIDX
// allocate more than about twice the real size of the input.
//
// Errors are prefixed "datasets: IDX:"; [OpenIDX] names the file instead.
func ReadIDX(r io.Reader) (*IDX, error) {
	m, err := readIDX(r, -1)
	if err != nil {
		return nil, fmt.Errorf("datasets: IDX: %w", err)
	}
	return m, nil
}

// OpenIDX reads the IDX file at path, raw or gzip-compressed, as [ReadIDX]
// does. For a raw file the length announced by the header is checked against
// the file's size before any data is read. Errors name the file:
//
//	datasets: data/train-images-idx3-ubyte.gz: truncated: header announces 47040000 bytes of data, file ends after 1000
func OpenIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err) // *PathError names the file
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	m, err := readIDX(f, size)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return m, nil
}

// readIDX reads an IDX file from r. fileSize is the size of the underlying
// file when known (-1 otherwise); it lets a raw file's length be checked
// before the data is read.
func readIDX(r io.Reader, fileSize int64) (*IDX, error) {
	br := bufio.NewReader(r)
	if isGzip(br) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("bad gzip data: %w", err)
		}
		defer zr.Close()
		return readRawIDX(zr, -1, true)
	}
	return readRawIDX(br, fileSize, false)
}

// readRawIDX reads an uncompressed IDX stream. See readIDX for fileSize.
func readRawIDX(r io.Reader, fileSize int64, gz bool) (*IDX, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, shortRead("magic number", 4, err, gz)
	}
	magic := binary.BigEndian.Uint32(hdr[:])
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fmt.Errorf("bad magic 0x%08x: not an IDX file (want 0x000008DD)", magic)
	}
	typ, nd := hdr[2], int(hdr[3])
	if typ != 0x08 {
		if name, ok := idxTypes[typ]; ok {
			return nil, fmt.Errorf("magic 0x%08x: element type 0x%02x (%s) is not supported, only 0x08 (unsigned byte)", magic, typ, name)
		}
		return nil, fmt.Errorf("bad magic 0x%08x: unknown element type 0x%02x", magic, typ)
	}
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("magic 0x%08x: %d dimensions, want 1 to 4", magic, nd)
	}

	var dimBuf [16]byte
	if _, err := io.ReadFull(r, dimBuf[:4*nd]); err != nil {
		return nil, shortRead("dimension sizes", 4*nd, err, gz)
	}
	dims := make([]int, nd)
	total := uint64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(dimBuf[4*i:])
		if d == 0 {
			return nil, fmt.Errorf("dimension %d has size 0", i)
		}
		dims[i] = int(d)
		total *= uint64(d) // at most (2³²)⁴: checked below, after each step
		if total > MaxIDXBytes {
			return nil, fmt.Errorf("dimensions %v hold more than %d elements, the most this reader accepts", dims[:i+1], uint64(MaxIDXBytes))
		}
	}
	n := int(total)
	if fileSize >= 0 {
		if want := int64(4+4*nd) + int64(n); fileSize != want {
			what := "truncated"
			if fileSize > want {
				what = "trailing bytes"
			}
			return nil, fmt.Errorf("%s: dimensions %v need a file of %d bytes, file has %d", what, dims, want, fileSize)
		}
	}

	data, err := readN(r, n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("truncated: dimensions %v announce %d bytes of data, input ends after %d", dims, n, len(data))
		}
		return nil, fmt.Errorf("reading %d bytes of data: %w", n, err)
	}
	// The data must end here. For gzip, reading to the end also checks the
	// stream's CRC-32 and length.
	var extra [1]byte
	k, err := io.ReadFull(r, extra[:])
	switch {
	case k > 0:
		return nil, fmt.Errorf("trailing bytes after the %d bytes of data announced by dimensions %v", n, dims)
	case errors.Is(err, io.EOF):
		return &IDX{Dims: dims, Data: data}, nil
	case gz:
		return nil, fmt.Errorf("bad gzip data: %w", err)
	default:
		return nil, err
	}
}

// readN reads exactly n bytes from r. Its buffer grows with what arrives, in
// steps that at most double it, so a claimed n that the input does not back
// costs no more than the input itself. On a short input it returns what was
// read and io.ErrUnexpectedEOF (or io.EOF if nothing was).
func readN(r io.Reader, n int) ([]byte, error) {
	const first = 64 << 10
	buf := make([]byte, 0, min(n, first))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), cap(buf)))
		}
		k, err := io.ReadFull(r, buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+k]
		if err != nil {
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}

func shortRead(what string, n int, err error, gz bool) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated: input ends inside the %d-byte %s", n, what)
	}
	if gz {
		return fmt.Errorf("bad gzip data: %w", err)
	}
	return err
}

// WriteIDX writes m to w as a raw (uncompressed) IDX file of unsigned bytes.
// It returns an error if m's dimensions do not match its data.
func WriteIDX(w io.Writer, m *IDX) error {
	if len(m.Dims) < 1 || len(m.Dims) > 4 {
		return fmt.Errorf("datasets: IDX: %d dimensions, want 1 to 4", len(m.Dims))
	}
	n := uint64(1)
	hdr := []byte{0, 0, 0x08, byte(len(m.Dims))}
	for _, d := range m.Dims {
		if d <= 0 || uint64(d) > 0xFFFFFFFF {
			return fmt.Errorf("datasets: IDX: dimension size %d out of range", d)
		}
		n = min(n*uint64(d), MaxIDXBytes+1) // no overflow: both factors < 2³³
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(d))
	}
	if n != uint64(len(m.Data)) {
		return fmt.Errorf("datasets: IDX: dimensions %v hold %d elements, data has %d", m.Dims, n, len(m.Data))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(m.Data)
	return err
}
