package nn

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"gorgonia.org/tensor"
)

// FormatVersion is the version of the model file format that [Save] writes
// and the newest that [Load] reads.
const FormatVersion = 1

const (
	fileMagic  = "DESCENT\x00"
	headerSize = 8 + 4 + 8 // magic, version, body length
	crcSize    = 4

	maxBody   = 4 << 30 // longest body, in bytes
	maxString = 1 << 16 // longest kind, name or key, in bytes
	maxRank   = 8
	maxDim    = math.MaxInt32 // largest dimension, and largest input sample
	// maxActivation bounds the values per sample that any layer of a loaded
	// model may take or give (64 MiB of float32): the layers allocate their
	// outputs at the first Forward, so a file of a few hundred bytes whose
	// specs blow a small input up (a convolution padded by thousands of
	// pixels) must be refused while loading, not fail out of memory later.
	maxActivation = 1 << 24
	maxLayers     = 1 << 16
	maxAttrs      = 1 << 10 // attributes per layer
	maxTensors    = 1 << 10 // params, or state tensors, per layer
	maxMeta       = 1 << 16 // metadata entries

	firstChunk = 64 << 10 // a stream is read in chunks that double from this
	lastChunk  = 16 << 20 // up to this
)

var (
	le         = binary.LittleEndian
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// Errors wrapped by [Load], [LoadFile] and [Sequential.LoadWeights], so that
// a caller can tell the cases apart with errors.Is.
var (
	// ErrNotModel means the input does not start with the model file magic.
	ErrNotModel = errors.New("not a descent model file")
	// ErrVersion means the file is in a format version this build of descent
	// does not read (usually a newer one).
	ErrVersion = errors.New("unsupported format version")
	// ErrTruncated means the input ends before the length its header declares.
	ErrTruncated = errors.New("truncated file")
	// ErrChecksum means the stored checksum does not match the contents.
	ErrChecksum = errors.New("checksum mismatch, the file is corrupted")
	// ErrMalformed means the contents break a rule of the format (trailing
	// garbage, a size over a limit, unsorted keys) although the checksum, if
	// it could be checked, is right: the file was not written by Save.
	ErrMalformed = errors.New("malformed model file")
	// ErrMismatch means the file is sound but does not fit the model it is
	// loaded into: input shape, layer specs, parameter names or shapes differ.
	ErrMismatch = errors.New("file does not match the model")
)

// Save writes m to w in descent's model file format, version
// [FormatVersion]: the per-sample input shape; for each layer its [Spec], its
// parameters and, for a [Stateful] layer, its state; then the metadata meta;
// then a CRC-32C checksum of everything before it.
//
// meta holds what the application needs to use the model again (the data
// set's name, the input normalisation, a vocabulary); it may be nil. Keys are
// written sorted, so the same model and metadata always give the same bytes.
// Float values are stored bit for bit: a loaded model computes exactly what
// the saved one did.
//
// Save checks the model and metadata against the format's limits before it
// writes anything. It buffers its writes and does not close w. Errors are
// prefixed "nn: save:".
//
// The file format, version 1: integers and floats are little-endian; a string is a uint32 byte length (at
// most 65536) followed by the bytes; a shape is a uint32 rank (at most 8)
// followed by rank uint32 dimensions (each at most 2³¹-1).
//
//	offset  size  field
//	0       8     magic "DESCENT\x00"
//	8       4     format version, uint32 = 1
//	12      8     body length B in bytes, uint64 (at most 4 GiB)
//	20      B     body, below
//	20+B    4     CRC-32C (Castagnoli) of bytes [0, 20+B)
//
// The body:
//
//	shape          per-sample input shape (rank 1..8, every dim ≥ 1)
//	uint32 L       number of layers
//	L times:
//	  string       Spec.Kind
//	  uint32 A     number of attributes
//	  A times      (keys sorted, distinct):
//	    string     key
//	    float64    value
//	  uint32 P     number of trainable params (Layer.Params, in order)
//	  P tensors
//	  uint32 S     number of state tensors (Stateful.State, in order; 0 if not Stateful)
//	  S tensors
//	uint32 M       number of metadata entries
//	M times        (keys sorted, distinct):
//	  string       key
//	  uint64 n     value length
//	  n bytes      value
//
// A tensor is its name (string, Param.Name), its shape (rank 0..8) and then
// the product of its dimensions float32 values, row-major. Nothing else is
// allowed: no padding, no bytes after the checksum. docs/model-format.md has
// the same layout as tables, a worked example, the versioning policy and the
// errors the loaders report.
func Save(w io.Writer, m *Sequential, meta map[string][]byte) error {
	if err := save(w, m, meta); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	return nil
}

// SaveFile saves m and meta to the named file as [Save] does, atomically: it
// writes a temporary file in the same directory, syncs it to disk and renames
// it over path. On error the temporary file is removed and whatever was at
// path is left as it was; a partial file is never left at path. The new file
// keeps the permissions of the one it replaces, or gets 0644.
func SaveFile(path string, m *Sequential, meta map[string][]byte) (err error) {
	if err := checkSavable(m, meta); err != nil {
		return fmt.Errorf("nn: save: %s: %w", path, err)
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		perm = fi.Mode().Perm()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmp.Name())
		}
	}()
	if err = save(tmp, m, meta); err != nil {
		return fmt.Errorf("nn: save: %s: %w", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	// Make the rename itself durable. Not every system can sync a
	// directory (Windows cannot); the file is complete either way.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Load reads a model written by [Save] and rebuilds it: it calls build with
// each layer's [Spec] (layers.FromSpec for descent's own layers), builds the
// model with [NewSequential] for the saved input shape, and copies the saved
// parameters and state into it, checking that every name and shape matches.
// It returns the model and the saved metadata (an empty map if there was
// none).
//
// Load reads r to its end and refuses anything that is not exactly one model
// file: it checks the magic, the version and the checksum before it parses
// the body, bounds every size it reads by what the file holds, and never
// allocates much more than the file's size, so a corrupt or hostile file
// gives an error, not a panic. The specs that reach build have passed the
// checksum, but a crafted file can still carry any values: build should
// return an error, not panic, for a spec it cannot honour, and refuse sizes
// it has no use for. The layers are built one at a time, and each is compared
// with the tensors the file holds for it before its Build when it is a
// [ParamShaper] (descent's layers are), right after it otherwise; so a file
// whose specs ask for more than it stores is refused before that memory is
// allocated, or at worst after one layer's. Errors are prefixed "nn: load:"
// and wrap one of [ErrNotModel], [ErrVersion], [ErrTruncated], [ErrChecksum],
// [ErrMalformed] or [ErrMismatch] where one applies. A model that loads may
// still be one for another task: see [Sequential.CheckShapes].
func Load(r io.Reader, build func(Spec) (Layer, error)) (*Sequential, map[string][]byte, error) {
	m, meta, err := load(r, build)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: load: %w", err)
	}
	return m, meta, nil
}

// LoadFile loads a model from the named file as [Load] does.
func LoadFile(path string, build func(Spec) (Layer, error)) (*Sequential, map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: load: %w", err)
	}
	defer f.Close()
	m, meta, err := load(f, build)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: load: %s: %w", path, err)
	}
	return m, meta, nil
}

// LoadWeights reads a model file written by [Save] into m, which must have
// been built with the same input shape and layers: every layer's [Spec] must
// be [Spec.Equal] to the saved one and every parameter and state tensor must
// have the saved name and shape, or LoadWeights returns an error wrapping
// [ErrMismatch]. It checks everything before it changes anything, so on error
// m is left as it was. It returns the saved metadata. Errors are reported as
// by [Load].
func (m *Sequential) LoadWeights(r io.Reader) (map[string][]byte, error) {
	f, err := readModel(r)
	if err == nil {
		err = f.assign(m, true)
	}
	if err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	return f.meta, nil
}

func load(r io.Reader, build func(Spec) (Layer, error)) (*Sequential, map[string][]byte, error) {
	if build == nil {
		return nil, nil, errors.New("nil build function")
	}
	f, err := readModel(r)
	if err != nil {
		return nil, nil, err
	}
	m, err := f.rebuild(build)
	if err != nil {
		return nil, nil, err
	}
	if err := f.assign(m, false); err != nil {
		return nil, nil, err
	}
	return m, f.meta, nil
}

// ---------------------------------------------------------------- writing

func save(w io.Writer, m *Sequential, meta map[string][]byte) error {
	if err := checkSavable(m, meta); err != nil {
		return err
	}
	var size encoder // a counting pass, for the body length in the header
	size.body(m, meta)
	if size.n > maxBody {
		return fmt.Errorf("a %d-byte body is over the format's limit of %d bytes", size.n, int64(maxBody))
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	e := encoder{w: bw, crc: crc32.New(castagnoli)}
	e.bytes([]byte(fileMagic))
	e.u32(FormatVersion)
	e.u64(uint64(size.n))
	e.body(m, meta)
	if e.err != nil {
		return e.err
	}
	if _, err := bw.Write(le.AppendUint32(nil, e.crc.Sum32())); err != nil {
		return err
	}
	return bw.Flush()
}

// checkSavable reports the first thing in m or meta that the format cannot
// hold, so that Save never writes a file that Load refuses.
func checkSavable(m *Sequential, meta map[string][]byte) error {
	if m == nil || len(m.in) == 0 {
		return errors.New("model not built with NewSequential")
	}
	if len(m.in) > maxRank {
		return fmt.Errorf("input shape %v has more than %d axes", m.in, maxRank)
	}
	if slices.Min(m.in) < 1 || sizeUpTo(m.in, maxDim) > maxDim {
		return fmt.Errorf("input shape %v: dimensions must be positive, with at most %d values in all", m.in, maxDim)
	}
	if len(m.Layers) > maxLayers {
		return fmt.Errorf("%d layers, more than the format's %d", len(m.Layers), maxLayers)
	}
	for i, l := range m.Layers {
		s := l.Spec()
		if len(s.Kind) > maxString {
			return fmt.Errorf("layer %d: kind is longer than %d bytes", i, maxString)
		}
		if len(s.Attrs) > maxAttrs {
			return fmt.Errorf("layer %d (%s): %d attributes, more than the format's %d", i, s.Kind, len(s.Attrs), maxAttrs)
		}
		for k := range s.Attrs {
			if len(k) > maxString {
				return fmt.Errorf("layer %d (%s): attribute key longer than %d bytes", i, s.Kind, maxString)
			}
		}
		if err := checkTensors(l.Params()); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, s.Kind, err)
		}
		if err := checkTensors(stateOf(l)); err != nil {
			return fmt.Errorf("layer %d (%s): state: %w", i, s.Kind, err)
		}
	}
	if len(meta) > maxMeta {
		return fmt.Errorf("%d metadata entries, more than the format's %d", len(meta), maxMeta)
	}
	for k := range meta {
		if len(k) > maxString {
			return fmt.Errorf("metadata key longer than %d bytes", maxString)
		}
	}
	return nil
}

func checkTensors(ps []*Param) error {
	if len(ps) > maxTensors {
		return fmt.Errorf("%d tensors, more than the format's %d", len(ps), maxTensors)
	}
	for _, p := range ps {
		if p == nil || p.Value == nil {
			return errors.New("nil parameter")
		}
		if len(p.Name) > maxString {
			return fmt.Errorf("parameter name longer than %d bytes", maxString)
		}
		if p.Value.Dtype() != tensor.Float32 {
			return fmt.Errorf("parameter %q is %v, not float32", p.Name, p.Value.Dtype())
		}
		shape := p.Value.Shape()
		if len(shape) > maxRank {
			return fmt.Errorf("parameter %q: shape %v has more than %d axes", p.Name, []int(shape), maxRank)
		}
		size := 1
		for _, d := range shape {
			if d > maxDim {
				return fmt.Errorf("parameter %q: dimension %d is over %d", p.Name, d, maxDim)
			}
			size *= d
		}
		if n := len(p.Value.Float32s()); n != size {
			return fmt.Errorf("parameter %q: %d values for shape %v (not contiguous?)", p.Name, n, []int(shape))
		}
	}
	return nil
}

func stateOf(l Layer) []*Param {
	if s, ok := l.(Stateful); ok {
		return s.State()
	}
	return nil
}

// encoder writes the format's primitives to w and into crc. With a nil w it
// only counts the bytes it would write.
type encoder struct {
	w   io.Writer
	crc hash.Hash32
	n   int64 // bytes written (or counted)
	err error
	buf [4096]byte
}

func (e *encoder) bytes(p []byte) {
	e.n += int64(len(p))
	// With a nil w (the counting pass), or after a write error, only count.
	if e.w == nil || e.err != nil {
		return
	}
	e.crc.Write(p)
	_, e.err = e.w.Write(p)
}

func (e *encoder) u32(v uint32) { e.bytes(le.AppendUint32(e.buf[:0], v)) }
func (e *encoder) u64(v uint64) { e.bytes(le.AppendUint64(e.buf[:0], v)) }

func (e *encoder) str(s string) {
	e.u32(uint32(len(s)))
	if e.w == nil {
		e.n += int64(len(s))
		return
	}
	for len(s) > 0 {
		k := copy(e.buf[:], s)
		e.bytes(e.buf[:k])
		s = s[k:]
	}
}

func (e *encoder) shape(s []int) {
	e.u32(uint32(len(s)))
	for _, d := range s {
		e.u32(uint32(d))
	}
}

func (e *encoder) floats(x []float32) {
	if e.w == nil {
		e.n += 4 * int64(len(x))
		return
	}
	for len(x) > 0 {
		k := min(len(x), len(e.buf)/4)
		for i, v := range x[:k] {
			le.PutUint32(e.buf[4*i:], math.Float32bits(v))
		}
		e.bytes(e.buf[:4*k])
		x = x[k:]
	}
}

func (e *encoder) tensors(ps []*Param) {
	e.u32(uint32(len(ps)))
	for _, p := range ps {
		e.str(p.Name)
		e.shape(p.Value.Shape())
		e.floats(p.Value.Float32s())
	}
}

func (e *encoder) body(m *Sequential, meta map[string][]byte) {
	e.shape(m.in)
	e.u32(uint32(len(m.Layers)))
	for _, l := range m.Layers {
		s := l.Spec()
		e.str(s.Kind)
		e.u32(uint32(len(s.Attrs)))
		for _, k := range slices.Sorted(maps.Keys(s.Attrs)) {
			e.str(k)
			e.u64(math.Float64bits(s.Attrs[k]))
		}
		e.tensors(l.Params())
		e.tensors(stateOf(l))
	}
	e.u32(uint32(len(meta)))
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		e.str(k)
		v := meta[k]
		e.u64(uint64(len(v)))
		e.bytes(v)
	}
}

// ---------------------------------------------------------------- reading

// fileModel is a parsed model file; tensor data still aliases the file's
// bytes.
type fileModel struct {
	in     Shape
	layers []fileLayer
	meta   map[string][]byte
}

type fileLayer struct {
	spec          Spec
	params, state []fileTensor
}

type fileTensor struct {
	name  string
	shape []int
	data  []byte // 4 bytes per value, little-endian float32 bits
}

// readModel reads one whole model file from r: header, body and checksum,
// then makes sure nothing follows. It checks the magic, version and checksum
// before parsing the body.
func readModel(r io.Reader) (*fileModel, error) {
	var hdr [headerSize]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w (the input is empty)", ErrNotModel)
	}
	if k := min(n, len(fileMagic)); string(hdr[:k]) != fileMagic[:k] {
		return nil, fmt.Errorf("%w (it starts with %q, not %q)", ErrNotModel, hdr[:k], fileMagic)
	}
	if n < headerSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrTruncated, n, headerSize)
	}
	if v := le.Uint32(hdr[8:]); v > FormatVersion {
		return nil, fmt.Errorf("%w %d: the file was written by a newer descent; this build reads versions up to %d", ErrVersion, v, FormatVersion)
	} else if v < 1 {
		return nil, fmt.Errorf("%w %d: no descent writes it; this build reads versions 1 to %d", ErrVersion, v, FormatVersion)
	}
	bodyLen := le.Uint64(hdr[12:])
	if bodyLen > maxBody {
		return nil, fmt.Errorf("%w: the header declares a %d-byte body, over the limit of %d", ErrMalformed, bodyLen, int64(maxBody))
	}
	want := int(bodyLen) + crcSize
	rest, err := readAtMost(r, want)
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if len(rest) < want {
		return nil, fmt.Errorf("%w: %d bytes, the header declares %d", ErrTruncated, headerSize+len(rest), headerSize+want)
	}
	body := rest[:bodyLen]
	sum := crc32.Update(crc32.Checksum(hdr[:], castagnoli), castagnoli, body)
	if stored := le.Uint32(rest[bodyLen:]); stored != sum {
		return nil, fmt.Errorf("%w (stored CRC-32C %#08x, computed %#08x)", ErrChecksum, stored, sum)
	}
	var one [1]byte
	if n, err := io.ReadFull(r, one[:]); n > 0 {
		return nil, fmt.Errorf("%w: trailing garbage after the checksum at byte %d", ErrMalformed, headerSize+want)
	} else if err != io.EOF {
		return nil, fmt.Errorf("reading: %w", err)
	}
	f, err := parseBody(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return f, nil
}

// readAtMost reads up to n bytes from r, stopping early at EOF. It grows its
// buffer as data arrives, so a header that claims gigabytes costs no more
// memory than the bytes actually there.
func readAtMost(r io.Reader, n int) ([]byte, error) {
	var buf []byte
	for len(buf) < n {
		k := min(n-len(buf), max(len(buf), firstChunk), lastChunk)
		buf = slices.Grow(buf, k)
		got, err := io.ReadFull(r, buf[len(buf):len(buf)+k])
		buf = buf[:len(buf)+got]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// decoder reads the format's primitives from a checksummed body. Every read
// is bounded by what remains, so a wrong count or size gives an error.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) left() int { return len(d.b) - d.off }

func (d *decoder) take(n int, what string) ([]byte, error) {
	if n > d.left() {
		return nil, fmt.Errorf("%s at byte %d needs %d bytes, %d remain", what, headerSize+d.off, n, d.left())
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	p, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return le.Uint32(p), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	p, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return le.Uint64(p), nil
}

// count reads a uint32 count of entries that take at least minSize bytes
// each, and checks it against limit and against the bytes that remain.
func (d *decoder) count(what string, limit, minSize int) (int, error) {
	v, err := d.u32(what)
	if err != nil {
		return 0, err
	}
	if v > uint32(limit) {
		return 0, fmt.Errorf("%s is %d, over the limit of %d", what, v, limit)
	}
	if int(v) > d.left()/minSize {
		return 0, fmt.Errorf("%s is %d, more than the %d bytes that remain can hold", what, v, d.left())
	}
	return int(v), nil
}

func (d *decoder) str(what string) (string, error) {
	n, err := d.u32(what + " length")
	if err != nil {
		return "", err
	}
	if n > maxString {
		return "", fmt.Errorf("%s is %d bytes long, over the limit of %d", what, n, maxString)
	}
	p, err := d.take(int(n), what)
	return string(p), err
}

// shape reads a shape whose rank is at least minRank and whose dimensions are
// at least minDim.
func (d *decoder) shape(what string, minRank, minDim int) ([]int, error) {
	rank, err := d.u32(what + " rank")
	if err != nil {
		return nil, err
	}
	if rank < uint32(minRank) || rank > maxRank {
		return nil, fmt.Errorf("%s has rank %d, want %d to %d", what, rank, minRank, maxRank)
	}
	s := make([]int, rank)
	for i := range s {
		v, err := d.u32(what)
		if err != nil {
			return nil, err
		}
		if v < uint32(minDim) || v > maxDim {
			return nil, fmt.Errorf("%s has dimension %d, want %d to %d", what, v, minDim, maxDim)
		}
		s[i] = int(v)
	}
	return s, nil
}

func (d *decoder) tensor(what string) (fileTensor, error) {
	var t fileTensor
	var err error
	if t.name, err = d.str(what + " name"); err != nil {
		return t, err
	}
	what = fmt.Sprintf("%s %q", what, t.name)
	if t.shape, err = d.shape(what+" shape", 0, 0); err != nil {
		return t, err
	}
	// The values must fit in what remains; checking one dimension at a time
	// keeps the product from overflowing.
	size, room := 1, d.left()/4
	if !slices.Contains(t.shape, 0) {
		for _, n := range t.shape {
			if n > room/size {
				return t, fmt.Errorf("%s has shape %v, more values than the %d bytes that remain", what, t.shape, d.left())
			}
			size *= n
		}
	} else {
		size = 0
	}
	t.data, err = d.take(4*size, what+" values")
	return t, err
}

func (d *decoder) tensors(what string) ([]fileTensor, error) {
	n, err := d.count("number of "+what+"s", maxTensors, 8)
	if err != nil {
		return nil, err
	}
	ts := make([]fileTensor, n)
	for i := range ts {
		if ts[i], err = d.tensor(fmt.Sprintf("%s %d", what, i)); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func parseBody(body []byte) (*fileModel, error) {
	d := &decoder{b: body}
	f := &fileModel{}
	var err error
	if f.in, err = d.shape("input shape", 1, 1); err != nil {
		return nil, err
	}
	if sizeUpTo(f.in, maxDim) > maxDim {
		return nil, fmt.Errorf("input shape %v has more than %d values", f.in, maxDim)
	}
	nl, err := d.count("number of layers", maxLayers, 16)
	if err != nil {
		return nil, err
	}
	f.layers = make([]fileLayer, nl)
	for i := range f.layers {
		if err := d.layer(&f.layers[i]); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	nm, err := d.count("number of metadata entries", maxMeta, 12)
	if err != nil {
		return nil, err
	}
	f.meta = make(map[string][]byte, nm)
	prev := ""
	for i := range nm {
		k, err := d.str("metadata key")
		if err != nil {
			return nil, err
		}
		if i > 0 && k <= prev {
			return nil, fmt.Errorf("metadata key %q follows %q: keys must be sorted and distinct", k, prev)
		}
		prev = k
		n, err := d.u64("metadata value length")
		if err != nil {
			return nil, err
		}
		if n > uint64(d.left()) {
			return nil, fmt.Errorf("metadata %q claims %d bytes, %d remain", k, n, d.left())
		}
		v, _ := d.take(int(n), "metadata value")
		f.meta[k] = slices.Clone(v) // not aliasing the file, which holds the weights
	}
	if d.left() > 0 {
		return nil, fmt.Errorf("trailing garbage: %d unused bytes at the end of the body", d.left())
	}
	return f, nil
}

func (d *decoder) layer(l *fileLayer) error {
	var err error
	if l.spec.Kind, err = d.str("kind"); err != nil {
		return err
	}
	na, err := d.count("number of attributes", maxAttrs, 12)
	if err != nil {
		return err
	}
	if na > 0 {
		l.spec.Attrs = make(map[string]float64, na)
	}
	prev := ""
	for i := range na {
		k, err := d.str("attribute key")
		if err != nil {
			return err
		}
		if i > 0 && k <= prev {
			return fmt.Errorf("attribute %q follows %q: keys must be sorted and distinct", k, prev)
		}
		prev = k
		v, err := d.u64("attribute " + k)
		if err != nil {
			return err
		}
		l.spec.Attrs[k] = math.Float64frombits(v)
	}
	if l.params, err = d.tensors("param"); err != nil {
		return err
	}
	l.state, err = d.tensors("state tensor")
	return err
}

// sizeUpTo returns the number of values in one sample of shape s, or a value
// above limit if there are more than limit (without overflowing).
func sizeUpTo(s []int, limit int) int {
	n := 1
	for _, d := range s {
		if d != 0 && n > limit/d {
			return limit + 1
		}
		n *= d
	}
	return n
}

// rebuild builds a model from the file's specs and input shape, with
// throw-away initial weights. Each layer is compared with the file before
// its Build (when it is a [ParamShaper]) and right after it, so that a file
// whose specs ask for more than it stores is refused before those tensors
// are allocated, or at worst after one layer's.
func (f *fileModel) rebuild(build func(Spec) (Layer, error)) (*Sequential, error) {
	ls := make([]Layer, len(f.layers))
	for i, fl := range f.layers {
		l, err := build(fl.spec)
		if err != nil {
			return nil, fmt.Errorf("layer %d: building %v: %w", i, fl.spec, err)
		}
		if l == nil {
			return nil, fmt.Errorf("layer %d: build returned no layer for %v", i, fl.spec)
		}
		ls[i] = l
	}
	check := func(i int, l Layer, in Shape, built bool) error {
		fl := &f.layers[i]
		if n := sizeUpTo(in, maxActivation); n > maxActivation {
			return fmt.Errorf("layer %d (%s) would take inputs of shape %v, more than the %d values per sample a loaded model may use",
				i, l.Spec().Kind, in, maxActivation)
		}
		if built {
			ps, st := l.Params(), stateOf(l)
			for _, p := range slices.Concat(ps, st) {
				if p == nil || p.Value == nil {
					return fmt.Errorf("layer %d (%s): nil parameter after Build", i, l.Spec().Kind)
				}
			}
			return fl.match(i, l.Spec().Kind, tensorShapes(ps), tensorShapes(st), names(ps), names(st))
		}
		if ps, ok := l.(ParamShaper); ok {
			if params, state, ok := ps.ParamShapes(in); ok {
				return fl.match(i, l.Spec().Kind, params, state, nil, nil)
			}
		}
		return nil
	}
	// Any fixed seed: the saved weights overwrite the initial ones.
	m, err := newSequential(f.in, rand.New(rand.NewPCG(0, 0)), ls, check)
	if err != nil {
		if errors.Is(err, ErrMismatch) {
			return nil, err
		}
		return nil, fmt.Errorf("rebuilding the model: %w", err)
	}
	if out := m.OutputShape(); sizeUpTo(out, maxActivation) > maxActivation {
		return nil, fmt.Errorf("rebuilding the model: it would give outputs of shape %v, more than the %d values per sample a loaded model may use",
			out, maxActivation)
	}
	return m, nil
}

// match checks that layer i of the model (kind kind) has the file's number
// of params and state tensors, with the file's shapes and, when names are
// given, the file's names.
func (fl *fileLayer) match(i int, kind string, params, state []Shape, pnames, snames []string) error {
	for _, group := range []struct {
		what  string
		ts    []fileTensor
		s     []Shape
		names []string
	}{{"param", fl.params, params, pnames}, {"state tensor", fl.state, state, snames}} {
		if len(group.ts) != len(group.s) {
			return fmt.Errorf("%w: layer %d (%s): %d %ss in the file, %d in the model", ErrMismatch, i, kind, len(group.ts), group.what, len(group.s))
		}
		for j := range group.ts {
			t := &group.ts[j]
			if group.names != nil && t.name != group.names[j] {
				return fmt.Errorf("%w: layer %d (%s): %s %d is %q in the file, %q in the model", ErrMismatch, i, kind, group.what, j, t.name, group.names[j])
			}
			if !slices.Equal(t.shape, group.s[j]) {
				return fmt.Errorf("%w: layer %d (%s): %s %q has shape %v in the file, %v in the model", ErrMismatch, i, kind, group.what, t.name, t.shape, []int(group.s[j]))
			}
		}
	}
	return nil
}

func tensorShapes(ps []*Param) []Shape {
	s := make([]Shape, len(ps))
	for i, p := range ps {
		s[i] = Shape(p.Value.Shape())
	}
	return s
}

func names(ps []*Param) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Name
	}
	return s
}

// assign checks that the file fits m (and, if specs, that every layer's spec
// is equal to the saved one), then copies the saved values into m's
// parameters and state. It changes nothing unless everything fits.
func (f *fileModel) assign(m *Sequential, specs bool) error {
	if !f.in.Equal(m.in) {
		return fmt.Errorf("%w: input shape %v in the file, %v in the model", ErrMismatch, f.in, m.in)
	}
	if len(f.layers) != len(m.Layers) {
		return fmt.Errorf("%w: %d layers in the file, %d in the model", ErrMismatch, len(f.layers), len(m.Layers))
	}
	type pair struct {
		p *Param
		t *fileTensor
	}
	var pairs []pair
	for i, l := range m.Layers {
		fl := &f.layers[i]
		s := l.Spec()
		if specs && !s.Equal(fl.spec) {
			return fmt.Errorf("%w: layer %d spec is %v in the file, %v in the model", ErrMismatch, i, fl.spec, s)
		}
		ps, st := l.Params(), stateOf(l)
		if err := fl.match(i, s.Kind, tensorShapes(ps), tensorShapes(st), names(ps), names(st)); err != nil {
			return err
		}
		for _, group := range []struct {
			what string
			ts   []fileTensor
			ps   []*Param
		}{{"param", fl.params, ps}, {"state tensor", fl.state, st}} {
			for j, p := range group.ps {
				t := &group.ts[j]
				// The shapes match; this guards a layer whose tensor's data
				// disagrees with its own shape.
				if len(p.Data()) != len(t.data)/4 {
					return fmt.Errorf("%w: layer %d (%s): %s %q holds %d values in the model, %d in the file", ErrMismatch, i, s.Kind, group.what, t.name, len(p.Data()), len(t.data)/4)
				}
				pairs = append(pairs, pair{p, t})
			}
		}
	}
	for _, pt := range pairs {
		dst, src := pt.p.Data(), pt.t.data
		for k := range dst {
			dst[k] = math.Float32frombits(le.Uint32(src[4*k:]))
		}
	}
	return nil
}
