package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// idxBytes builds an IDX file with element type typ, the given dimension
// sizes, and data.
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gzipBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// seq returns n bytes 0, 1, 2, ... (mod 256) starting at start.
func seq(start, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(start + i)
	}
	return b
}

func TestReadIDXRoundTrip(t *testing.T) {
	images := idxBytes(0x08, []uint32{3, 2, 5}, seq(7, 30))
	labels := idxBytes(0x08, []uint32{3}, []byte{2, 0, 1})
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		file []byte
		dims []int
		data []byte
	}{
		{"images-raw", images, []int{3, 2, 5}, seq(7, 30)},
		{"images.gz", gzipBytes(t, images), []int{3, 2, 5}, seq(7, 30)},
		{"labels-raw", labels, []int{3}, []byte{2, 0, 1}},
		{"labels.gz", gzipBytes(t, labels), []int{3}, []byte{2, 0, 1}},
		{"4-dims", idxBytes(0x08, []uint32{2, 1, 1, 3}, seq(0, 6)), []int{2, 1, 1, 3}, seq(0, 6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := OpenIDX(writeFile(t, dir, tc.name, tc.file))
			require.NoError(t, err)
			require.Equal(t, tc.dims, m.Dims)
			require.Equal(t, tc.data, m.Data)

			m, err = ReadIDX(bytes.NewReader(tc.file))
			require.NoError(t, err)
			require.Equal(t, tc.dims, m.Dims)
			require.Equal(t, tc.data, m.Data)

			// WriteIDX gives back the raw file.
			var buf bytes.Buffer
			require.NoError(t, WriteIDX(&buf, m))
			m2, err := ReadIDX(&buf)
			require.NoError(t, err)
			require.Equal(t, m, m2)
		})
	}
}

func TestOpenIDXErrors(t *testing.T) {
	good := idxBytes(0x08, []uint32{3, 2, 2}, seq(0, 12))
	badCRC := gzipBytes(t, good)
	badCRC[len(badCRC)-6] ^= 0xff // inside the CRC-32 of the trailer
	dir := t.TempDir()
	for _, tc := range []struct {
		name, want string
		file       []byte
	}{
		{"empty", "truncated: input ends inside the 4-byte magic number", nil},
		{"short-header", "truncated: input ends inside the 12-byte dimension sizes", good[:9]},
		{"truncated-raw", "truncated: dimensions [3 2 2] need a file of 28 bytes, file has 23", good[:23]},
		{"truncated.gz", "truncated: dimensions [3 2 2] announce 12 bytes of data, input ends after 7", gzipBytes(t, good[:23])},
		{"trailing-raw", "trailing bytes: dimensions [3 2 2] need a file of 28 bytes, file has 29", append(good[:28:28], 0)},
		{"trailing.gz", "trailing bytes after the 12 bytes of data", gzipBytes(t, append(good[:28:28], 0))},
		{"wrong-magic", "bad magic 0x01020803: not an IDX file", append([]byte{1, 2}, good[2:]...)},
		{"float32", "element type 0x0d (float32) is not supported, only 0x08 (unsigned byte)", idxBytes(0x0D, []uint32{3}, seq(0, 12))},
		{"unknown-type", "unknown element type 0x42", idxBytes(0x42, []uint32{3}, seq(0, 3))},
		{"no-dims", "0 dimensions, want 1 to 4", idxBytes(0x08, nil, nil)},
		{"5-dims", "5 dimensions, want 1 to 4", idxBytes(0x08, []uint32{1, 1, 1, 1, 1}, seq(0, 1))},
		{"zero-size", "dimension 1 has size 0", idxBytes(0x08, []uint32{3, 0, 2}, nil)},
		{"too-large", "hold more than 4294967296 elements", idxBytes(0x08, []uint32{0xFFFFFFFF, 28, 28}, seq(0, 10))},
		{"garbage.gz", "bad gzip data", []byte{0x1f, 0x8b, 'n', 'o', 't', ' ', 'g', 'z', 'i', 'p', '!', '!'}},
		{"bad-crc.gz", "bad gzip data: gzip: invalid checksum", badCRC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, tc.name, tc.file)
			_, err := OpenIDX(path)
			require.ErrorContains(t, err, "datasets: "+path+": ")
			require.ErrorContains(t, err, tc.want)
			// Through a plain reader the same checks hold, except that the
			// file's length is not known up front.
			_, err = ReadIDX(bytes.NewReader(tc.file))
			require.ErrorContains(t, err, "datasets: IDX: ")
		})
	}

	_, err := OpenIDX(filepath.Join(dir, "absent"))
	require.ErrorContains(t, err, filepath.Join(dir, "absent"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A header that claims 2³² − 1 labels over a few bytes must fail on the
// input's length without allocating anything like 4 GB, whether the length
// is known (a raw file) or not (gzip, or a plain reader).
func TestReadIDXLyingHeader(t *testing.T) {
	lie := idxBytes(0x08, []uint32{0xFFFFFFFF}, seq(0, 100))
	// 5,478,274 images of 28×28: 4,294,966,816 bytes, just under the limit.
	images := idxBytes(0x08, []uint32{5478274, 28, 28}, seq(0, 100))
	// 2³² images of 28×28: over the limit, refused on the header alone.
	huge := idxBytes(0x08, []uint32{0xFFFFFFFF, 28, 28}, seq(0, 100))
	dir := t.TempDir()
	raw := writeFile(t, dir, "lie", lie)
	gz := writeFile(t, dir, "lie.gz", gzipBytes(t, lie))
	imagesGz := writeFile(t, dir, "images.gz", gzipBytes(t, images))
	hugeGz := writeFile(t, dir, "huge.gz", gzipBytes(t, huge))
	for _, tc := range []struct {
		name string
		read func() error
		want string
	}{
		{"raw file", func() error { _, err := OpenIDX(raw); return err }, "need a file of 4294967303 bytes, file has 108"},
		{"gzip file", func() error { _, err := OpenIDX(gz); return err }, "announce 4294967295 bytes of data, input ends after 100"},
		{"reader", func() error { _, err := ReadIDX(bytes.NewReader(lie)); return err }, "input ends after 100"},
		{"images, reader", func() error { _, err := ReadIDX(bytes.NewReader(images)); return err },
			"truncated: dimensions [5478274 28 28] announce 4294966816 bytes of data, input ends after 100"},
		{"images, gzip file", func() error { _, err := OpenIDX(imagesGz); return err }, "announce 4294966816 bytes of data, input ends after 100"},
		{"2^32 images, reader", func() error { _, err := ReadIDX(bytes.NewReader(huge)); return err },
			"dimensions [4294967295 28] hold more than 4294967296 elements"},
		{"2^32 images, gzip file", func() error { _, err := OpenIDX(hugeGz); return err }, "hold more than 4294967296 elements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := tc.read()
			runtime.ReadMemStats(&after)
			require.ErrorContains(t, err, tc.want)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated")
		})
	}
}

func TestWriteIDXErrors(t *testing.T) {
	var buf bytes.Buffer
	require.ErrorContains(t, WriteIDX(&buf, &IDX{Dims: []int{2, 3}, Data: seq(0, 5)}), "dimensions [2 3] hold 6 elements, data has 5")
	require.ErrorContains(t, WriteIDX(&buf, &IDX{}), "0 dimensions")
	require.ErrorContains(t, WriteIDX(&buf, &IDX{Dims: []int{0}}), "dimension size 0 out of range")
}

func FuzzReadIDX(f *testing.F) {
	good := idxBytes(0x08, []uint32{2, 3, 3}, seq(0, 18))
	f.Add(good)
	f.Add(gzipBytes(f, good))
	f.Add(idxBytes(0x08, []uint32{4}, []byte{1, 2, 3, 4}))
	f.Add(good[:10])
	f.Add(append(good[:len(good):len(good)], 1))
	f.Add(idxBytes(0x08, []uint32{0xFFFFFFFF}, nil))
	f.Add(idxBytes(0x0D, []uint32{1}, seq(0, 4)))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			require.Nil(t, m)
			return
		}
		n := 1
		for _, d := range m.Dims {
			require.Positive(t, d)
			n *= d
		}
		require.Len(t, m.Data, n)
		require.True(t, len(m.Dims) >= 1 && len(m.Dims) <= 4)
		// What was read writes back to an equivalent file.
		var buf bytes.Buffer
		require.NoError(t, WriteIDX(&buf, m))
		if len(in) < 2 || in[0] != 0x1f || in[1] != 0x8b {
			require.Equal(t, in, buf.Bytes())
		}
	})
}

func ExampleReadIDX() {
	// A 2×3 array of unsigned bytes: magic 0x00000802, dimensions 2 and 3,
	// then the six values row by row.
	file := []byte{
		0, 0, 0x08, 2,
		0, 0, 0, 2,
		0, 0, 0, 3,
		10, 20, 30,
		40, 50, 60,
	}
	m, err := ReadIDX(bytes.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Dims, m.Data)

	_, err = ReadIDX(bytes.NewReader(file[:15]))
	fmt.Println(err)
	// Output:
	// [2 3] [10 20 30 40 50 60]
	// datasets: IDX: truncated: dimensions [2 3] announce 6 bytes of data, input ends after 3
}
