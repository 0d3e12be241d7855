package nn_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// shifted is affine with non-trainable state, like BatchNorm's running
// statistics: a training Forward folds the batch mean of its output into the
// running mean "mean" and counts the steps in "steps"; an inference Forward
// subtracts the running mean. It tests that Stateful layers' state is saved.
type shifted struct {
	*affine
	mean, steps *nn.Param
}

var _ nn.Stateful = (*shifted)(nil)

func (l *shifted) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	out, err := l.affine.Build(in, rng)
	l.mean = nn.NewState("mean", l.units)
	l.steps = nn.NewState("steps", 1)
	return out, err
}

func (l *shifted) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	y := l.affine.Forward(x, train)
	n, ys, mean := x.Shape()[0], y.Float32s(), l.mean.Data()
	for i := range n {
		for j := range mean {
			if train {
				mean[j] += 0.1 * (ys[i*l.units+j]/float32(n) - mean[j]/float32(n))
			} else {
				ys[i*l.units+j] -= mean[j]
			}
		}
	}
	if train {
		l.steps.Data()[0]++
	}
	return y
}

func (l *shifted) State() []*nn.Param { return []*nn.Param{l.mean, l.steps} }

func (l *shifted) Spec() nn.Spec {
	return nn.Spec{Kind: "shifted", Attrs: map[string]float64{"units": float64(l.units)}}
}

// testBuild builds the test layers from their specs, strictly: an unknown
// kind or attribute is an error.
func testBuild(s nn.Spec) (nn.Layer, error) {
	if s.Kind == "shifted" {
		a, err := buildLayer(nn.Spec{Kind: "affine", Attrs: s.Attrs})
		if err != nil {
			return nil, err
		}
		return &shifted{affine: a.(*affine)}, nil
	}
	return buildLayer(s)
}

// testModel builds input [3] → affine(4) → shifted(5) → affine(2) and gives
// every parameter and state value a random value (biases and state start at
// zero otherwise).
func testModel(t testing.TB, seed uint64) *nn.Sequential {
	rng := rand.New(rand.NewPCG(seed, 1))
	m, err := nn.NewSequential(nn.Shape{3}, rng, newAffine(4), &shifted{affine: newAffine(5)}, newAffine(2))
	require.NoError(t, err)
	for _, p := range append(m.Params(), m.State()...) {
		for i := range p.Data() {
			p.Data()[i] = float32(rng.NormFloat64())
		}
	}
	return m
}

func saveBytes(t testing.TB, m *nn.Sequential, meta map[string][]byte) []byte {
	var buf bytes.Buffer
	require.NoError(t, nn.Save(&buf, m, meta))
	return buf.Bytes()
}

// bits returns the bit patterns of every value in ps, so that comparisons
// are exact even for NaN and -0.
func bits(ps []*nn.Param) [][]uint32 {
	out := make([][]uint32, len(ps))
	for i, p := range ps {
		for _, v := range p.Data() {
			out[i] = append(out[i], math.Float32bits(v))
		}
	}
	return out
}

func tensorBits(x *tensor.Dense) []uint32 {
	var out []uint32
	for _, v := range x.Float32s() {
		out = append(out, math.Float32bits(v))
	}
	return out
}

func randomBatch(rng *rand.Rand, n int, in nn.Shape) *tensor.Dense {
	x := nn.NewTensor(append([]int{n}, in...)...)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(rng.NormFloat64())
	}
	return x
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := testModel(t, 1)
	meta := map[string][]byte{"dataset": []byte("toy"), "norm": {1, 2, 3}}
	data := saveBytes(t, m, meta)

	got, gotMeta, err := nn.Load(bytes.NewReader(data), testBuild)
	require.NoError(t, err)
	require.Equal(t, meta, gotMeta)
	require.Equal(t, m.InputShape(), got.InputShape())
	require.Equal(t, m.OutputShape(), got.OutputShape())
	require.Len(t, got.Layers, len(m.Layers))
	for i := range m.Layers {
		require.True(t, m.Layers[i].Spec().Equal(got.Layers[i].Spec()), "layer %d", i)
	}
	require.Equal(t, bits(m.Params()), bits(got.Params()))
	require.Equal(t, bits(m.State()), bits(got.State()))
	require.NotEmpty(t, got.State())
	// Saving is deterministic: the loaded model saves to the same bytes.
	require.Equal(t, data, saveBytes(t, got, gotMeta))

	// Same outputs, bit for bit, in inference and in training mode.
	rng := rand.New(rand.NewPCG(2, 2))
	x := randomBatch(rng, 7, m.InputShape())
	require.Equal(t, tensorBits(m.Forward(x, false)), tensorBits(got.Forward(x, false)))
	require.Equal(t, tensorBits(m.Forward(x, true)), tensorBits(got.Forward(x, true)))
	require.Equal(t, bits(m.State()), bits(got.State()))
}

func TestSaveKeepsSpecialValues(t *testing.T) {
	m := testModel(t, 3)
	special := []float32{
		float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00001), // a NaN with a payload
		math.Float32frombits(1),          // the smallest subnormal
		math.MaxFloat32,
	}
	copy(m.Params()[0].Data(), special)
	got, _, err := nn.Load(bytes.NewReader(saveBytes(t, m, nil)), testBuild)
	require.NoError(t, err)
	require.Equal(t, bits(m.Params()), bits(got.Params()))
}

func TestMetadataRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	vocab := make([]byte, 3<<20)
	for i := range vocab {
		vocab[i] = byte(rng.Uint32())
	}
	m := testModel(t, 4)
	for name, meta := range map[string]map[string][]byte{
		"nil":                 nil,
		"empty":               {},
		"empty key and value": {"": nil, "a": {}},
		"several": {"dataset": []byte("mnist"), "mean": []byte("0.1307"), "std": []byte("0.3081"),
			"zeros": make([]byte, 17), "ünïcode ключ": []byte("значение")},
		"3 MiB vocabulary": {"vocab": vocab},
	} {
		t.Run(name, func(t *testing.T) {
			_, got, err := nn.Load(bytes.NewReader(saveBytes(t, m, meta)), testBuild)
			require.NoError(t, err)
			require.NotNil(t, got)
			require.Len(t, got, len(meta))
			for k, v := range meta {
				require.Contains(t, got, k)
				require.True(t, bytes.Equal(v, got[k]), "key %q", k)
			}
		})
	}
}

// le encodes parts in the file format's primitives: uint32, uint64, float32
// and float64 little-endian, a string as its uint32 length and bytes.
func le(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case uint32:
			b = binary.LittleEndian.AppendUint32(b, v)
		case int:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		case uint64:
			b = binary.LittleEndian.AppendUint64(b, v)
		case float32:
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		case float64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case string:
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		default:
			panic(fmt.Sprintf("le: %T", p))
		}
	}
	return b
}

// seal wraps a body in a version-1 header and appends its CRC-32C.
func seal(body []byte) []byte {
	b := le([]byte("DESCENT\x00"), uint32(1), uint64(len(body)), body)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// reseal makes the header's body length and the checksum of data right
// again, so that a test (or the fuzzer) can reach the body parser.
func reseal(data []byte) []byte {
	if len(data) < 24 {
		return data
	}
	d := bytes.Clone(data)
	binary.LittleEndian.PutUint64(d[12:], uint64(len(d)-24))
	binary.LittleEndian.PutUint32(d[len(d)-4:], crc32.Checksum(d[:len(d)-4], crc32.MakeTable(crc32.Castagnoli)))
	return d
}

// tinyBody is the body of a model with input [3] and one affine(2) layer,
// W = [[1 2] [3 4] [5 6]], b = [-1 -2], and metadata {"k": "v"}, encoded by
// hand from the documented layout.
func tinyBody() []byte {
	return le(
		1, 3, // input shape: rank 1, [3]
		1,                                // 1 layer
		"affine", 1, "units", float64(2), // spec
		2, // 2 params
		"W", 2, 3, 2, float32(1), float32(2), float32(3), float32(4), float32(5), float32(6),
		"b", 1, 2, float32(-1), float32(-2),
		0,                              // no state
		1, "k", uint64(1), []byte("v"), // metadata: 1 entry
	)
}

func tinyModel(t testing.TB) *nn.Sequential {
	m, err := nn.NewSequential(nn.Shape{3}, rand.New(rand.NewPCG(0, 0)), newAffine(2))
	require.NoError(t, err)
	copy(m.Params()[0].Data(), []float32{1, 2, 3, 4, 5, 6})
	copy(m.Params()[1].Data(), []float32{-1, -2})
	return m
}

// TestFormatLayout checks Save's bytes against a file encoded by hand from
// the documented layout, and Load against the hand-made file.
func TestFormatLayout(t *testing.T) {
	want := seal(tinyBody())
	got := saveBytes(t, tinyModel(t), map[string][]byte{"k": []byte("v")})
	require.Equal(t, want, got)

	m, meta, err := nn.Load(bytes.NewReader(want), testBuild)
	require.NoError(t, err)
	require.Equal(t, map[string][]byte{"k": []byte("v")}, meta)
	y := m.Forward(nn.FromSlice([]float32{1, 0, -1}, 1, 3), false)
	require.Equal(t, []float32{1 - 5 - 1, 2 - 6 - 2}, y.Float32s())
}

func TestLoadRefusesEveryTruncation(t *testing.T) {
	data := saveBytes(t, tinyModel(t), map[string][]byte{"k": []byte("v")})
	for n := 1; n < len(data); n++ {
		_, _, err := nn.Load(bytes.NewReader(data[:n]), testBuild)
		require.ErrorIs(t, err, nn.ErrTruncated, "prefix of %d bytes", n)
		require.ErrorContains(t, err, "nn: load: truncated file", "prefix of %d bytes", n)
	}
	// An empty input is no model at all.
	_, _, err := nn.Load(bytes.NewReader(nil), testBuild)
	require.ErrorIs(t, err, nn.ErrNotModel)
	require.EqualError(t, err, "nn: load: not a descent model file (the input is empty)")
}

func TestLoadRefusesEveryBitFlip(t *testing.T) {
	m := tinyModel(t)
	data := saveBytes(t, m, map[string][]byte{"k": []byte("v")})
	before := bits(m.Params())
	for i := range 8 * len(data) {
		d := bytes.Clone(data)
		d[i/8] ^= 1 << (i % 8)
		_, _, err := nn.Load(bytes.NewReader(d), testBuild)
		require.Error(t, err, "bit %d", i)
		require.True(t, strings.HasPrefix(err.Error(), "nn: load: "), "bit %d: %v", i, err)
		switch at := i / 8; {
		case at < 8:
			require.ErrorIs(t, err, nn.ErrNotModel, "bit %d", i)
			require.ErrorContains(t, err, "not a descent model file")
		case at < 12:
			require.ErrorIs(t, err, nn.ErrVersion, "bit %d", i)
			require.ErrorContains(t, err, "unsupported format version")
		case at < 20: // the body length
			require.True(t, errors.Is(err, nn.ErrTruncated) || errors.Is(err, nn.ErrChecksum) ||
				errors.Is(err, nn.ErrMalformed), "bit %d: %v", i, err)
		default: // CRC-32C detects every single-bit error
			require.ErrorIs(t, err, nn.ErrChecksum, "bit %d", i)
			require.ErrorContains(t, err, "checksum mismatch")
		}
		_, err = m.LoadWeights(bytes.NewReader(d))
		require.Error(t, err, "bit %d", i)
	}
	require.Equal(t, before, bits(m.Params()), "a failed LoadWeights changed the model")
}

func TestLoadRefusals(t *testing.T) {
	good := seal(tinyBody())
	version := func(v uint32) []byte {
		d := bytes.Clone(good)
		binary.LittleEndian.PutUint32(d[8:], v)
		return reseal(d)
	}
	hugeBody := bytes.Clone(good)
	binary.LittleEndian.PutUint64(hugeBody[12:], 1<<40)
	for _, c := range []struct {
		name string
		data []byte
		is   error
		msg  string
	}{
		{"PNG", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR...."), nn.ErrNotModel,
			`nn: load: not a descent model file (it starts with "\x89PNG\r\n\x1a\n", not "DESCENT\x00")`},
		{"short text", []byte("hi"), nn.ErrNotModel, "not a descent model file"},
		{"gob", []byte("\x0e\xff\x81\x03\x01\x01\x05Model\x01\xff\x82"), nn.ErrNotModel, "not a descent model file"},
		{"version 2", version(2), nn.ErrVersion,
			"nn: load: unsupported format version 2: the file was written by a newer descent; this build reads versions up to 1"},
		{"version 0", version(0), nn.ErrVersion, "unsupported format version 0: no descent writes it; this build reads versions 1 to 1"},
		{"huge body length", hugeBody, nn.ErrMalformed, "header declares a 1099511627776-byte body, over the limit"},
		{"trailing garbage", append(bytes.Clone(good), 0), nn.ErrMalformed, "trailing garbage after the checksum"},
		{"second model appended", append(bytes.Clone(good), good...), nn.ErrMalformed, "trailing garbage"},
		{"checksum", append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^0x80), nn.ErrChecksum,
			"nn: load: checksum mismatch, the file is corrupted (stored CRC-32C"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := nn.Load(bytes.NewReader(c.data), testBuild)
			require.ErrorIs(t, err, c.is)
			require.ErrorContains(t, err, c.msg)
			_, err = tinyModel(t).LoadWeights(bytes.NewReader(c.data))
			require.ErrorIs(t, err, c.is)
			require.ErrorContains(t, err, c.msg)
		})
	}
}

// TestLoadRefusesMalformedBodies feeds bodies with a right checksum that
// break the format's rules; a file like this was not written by Save.
func TestLoadRefusesMalformedBodies(t *testing.T) {
	spec := le("affine", 1, "units", float64(2))
	params := le(2, "W", 2, 3, 2, make([]byte, 24), "b", 1, 2, make([]byte, 8), 0)
	for _, c := range []struct {
		name string
		body []byte
		msg  string
	}{
		{"empty body", nil, "input shape rank at byte 20 needs 4 bytes, 0 remain"},
		{"rank 9 input", le(9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0), "input shape has rank 9, want 1 to 8"},
		{"rank 0 input", le(0, 0, 0), "input shape has rank 0, want 1 to 8"},
		{"zero dimension", le(2, 3, 0, 0, 0), "input shape has dimension 0, want 1 to"},
		{"input too large", le(2, 1<<20, 1<<20, 0, 0), "input shape [1048576 1048576] has more than"},
		{"layer count", le(1, 3, 1000, 0), "number of layers is 1000, more than the 4 bytes that remain can hold"},
		{"layer count limit", le(1, 3, uint32(math.MaxUint32), 0), "number of layers is 4294967295, over the limit of 65536"},
		{"long kind", le(1, 3, 1, uint32(1<<30), make([]byte, 32)), "layer 0: kind is 1073741824 bytes long, over the limit of 65536"},
		{"kind past end", le(1, 3, 1, uint32(100), make([]byte, 12)), "layer 0: kind at byte 36 needs 100 bytes, 12 remain"},
		{"unsorted attrs", le(1, 3, 1, "affine", 2, "units", float64(2), "bias", float64(1), params, 0),
			`layer 0: attribute "bias" follows "units": keys must be sorted and distinct`},
		{"duplicate attrs", le(1, 3, 1, "affine", 2, "units", float64(2), "units", float64(2), params, 0),
			`attribute "units" follows "units"`},
		{"rank 9 param", le(1, 3, 1, spec, 1, "W", 9, make([]byte, 36), 0, 0), `layer 0: param 0 "W" shape has rank 9, want 0 to 8`},
		{"param claims 2^62 floats", le(1, 3, 1, spec, 1, "W", 2, uint32(1<<31-1), uint32(1<<31-1), make([]byte, 64), 0, 0),
			`layer 0: param 0 "W" has shape [2147483647 2147483647], more values than the 72 bytes that remain`},
		{"param values past end", le(1, 3, 1, spec, 1, "W", 2, 3, 2, make([]byte, 12), 0, 0),
			`layer 0: param 0 "W" has shape [3 2], more values than the 20 bytes that remain`},
		{"param count", le(1, 3, 1, spec, uint32(2000), make([]byte, 64)), "number of params is 2000, over the limit of 1024"},
		{"unsorted metadata", le(1, 3, 1, spec, params, 2, "b", uint64(0), "a", uint64(0)),
			`metadata key "a" follows "b": keys must be sorted and distinct`},
		{"metadata past end", le(1, 3, 1, spec, params, 1, "vocab", uint64(1<<40), make([]byte, 10)),
			`metadata "vocab" claims 1099511627776 bytes, 10 remain`},
		{"garbage in body", le(1, 3, 1, spec, params, 0, 7), "trailing garbage: 4 unused bytes at the end of the body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := nn.Load(bytes.NewReader(seal(c.body)), testBuild)
			require.ErrorIs(t, err, nn.ErrMalformed)
			require.ErrorContains(t, err, "nn: load: malformed model file: ")
			require.ErrorContains(t, err, c.msg)
		})
	}
	// The good version of those bodies loads.
	_, _, err := nn.Load(bytes.NewReader(seal(le(1, 3, 1, spec, params, 0))), testBuild)
	require.NoError(t, err)
}

func TestLoadBuildErrors(t *testing.T) {
	data := saveBytes(t, testModel(t, 5), nil)

	_, _, err := nn.Load(bytes.NewReader(seal(le(1, 3, 1, "bogus", 0, 0, 0, 0))), testBuild)
	require.ErrorContains(t, err, `nn: load: layer 0: building bogus(): unknown layer kind "bogus"`)

	_, _, err = nn.Load(bytes.NewReader(data), nil)
	require.ErrorContains(t, err, "nn: load: nil build function")

	_, _, err = nn.Load(bytes.NewReader(data), func(nn.Spec) (nn.Layer, error) { return nil, nil })
	require.ErrorContains(t, err, "nn: load: layer 0: build returned no layer for affine(units=4)")

	// A build that makes a layer of another size: the shapes do not match.
	wider := func(s nn.Spec) (nn.Layer, error) {
		s.Attrs = map[string]float64{"units": s.Attrs["units"] + 1}
		return testBuild(s)
	}
	_, _, err = nn.Load(bytes.NewReader(data), wider)
	require.ErrorIs(t, err, nn.ErrMismatch)
	require.ErrorContains(t, err, `nn: load: file does not match the model: layer 0 (affine): param "W" has shape [3 4] in the file, [3 5] in the model`)

	// A build that forgets the state.
	stateless := func(s nn.Spec) (nn.Layer, error) { return buildLayer(nn.Spec{Kind: "affine", Attrs: s.Attrs}) }
	_, _, err = nn.Load(bytes.NewReader(data), stateless)
	require.ErrorIs(t, err, nn.ErrMismatch)
	require.ErrorContains(t, err, "layer 1 (affine): 2 state tensors in the file, 0 in the model")

	// A wiring error found while rebuilding (a crafted file: affine after a
	// rank-2 input).
	_, _, err = nn.Load(bytes.NewReader(seal(le(2, 2, 2, 1, "affine", 1, "units", float64(1), 0, 0, 0))), testBuild)
	require.ErrorContains(t, err, "nn: load: rebuilding the model: nn: layer 0 (affine): input [2 2]: affine wants a flat input")
}

func TestLoadWeights(t *testing.T) {
	src := testModel(t, 6)
	data := saveBytes(t, src, map[string][]byte{"epoch": []byte("3")})

	dst := testModel(t, 7)
	require.NotEqual(t, bits(src.Params()), bits(dst.Params()))
	meta, err := dst.LoadWeights(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, "3", string(meta["epoch"]))
	require.Equal(t, bits(src.Params()), bits(dst.Params()))
	require.Equal(t, bits(src.State()), bits(dst.State()))

	rng := rand.New(rand.NewPCG(0, 0))
	build := func(in nn.Shape, ls ...nn.Layer) *nn.Sequential {
		m, err := nn.NewSequential(in, rng, ls...)
		require.NoError(t, err)
		return m
	}
	for _, c := range []struct {
		name  string
		model *nn.Sequential
		msg   string
	}{
		{"spec", build(nn.Shape{3}, newAffine(5), &shifted{affine: newAffine(5)}, newAffine(2)),
			"nn: load: file does not match the model: layer 0 spec is affine(units=4) in the file, affine(units=5) in the model"},
		{"kind", build(nn.Shape{3}, newAffine(4), newAffine(5), newAffine(2)),
			"layer 1 spec is shifted(units=5) in the file, affine(units=5) in the model"},
		{"input shape", build(nn.Shape{6}, newAffine(4), &shifted{affine: newAffine(5)}, newAffine(2)),
			"nn: load: file does not match the model: input shape [3] in the file, [6] in the model"},
		{"layer count", build(nn.Shape{3}, newAffine(4), &shifted{affine: newAffine(5)}),
			"nn: load: file does not match the model: 3 layers in the file, 2 in the model"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := bits(c.model.Params())
			_, err := c.model.LoadWeights(bytes.NewReader(data))
			require.ErrorIs(t, err, nn.ErrMismatch)
			require.ErrorContains(t, err, c.msg)
			require.Equal(t, before, bits(c.model.Params()), "a failed LoadWeights changed the model")
		})
	}
}

func TestLoadReadErrors(t *testing.T) {
	data := saveBytes(t, testModel(t, 8), nil)
	boom := errors.New("disk on fire")
	for _, n := range []int{0, 5, 20, 60, len(data)} {
		r := io.MultiReader(bytes.NewReader(data[:n]), iotest.ErrReader(boom))
		_, _, err := nn.Load(r, testBuild)
		require.ErrorIs(t, err, boom, "after %d bytes", n)
		require.ErrorContains(t, err, "nn: load: reading: disk on fire")
	}
	// One byte at a time is fine.
	_, _, err := nn.Load(iotest.OneByteReader(bytes.NewReader(data)), testBuild)
	require.NoError(t, err)
}

// TestLoadBoundsMemory checks that a header claiming a huge body costs no more
// memory than the bytes actually there.
func TestLoadBoundsMemory(t *testing.T) {
	d := seal(tinyBody())
	binary.LittleEndian.PutUint64(d[12:], 4<<30-4)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := nn.Load(bytes.NewReader(d), testBuild)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, nn.ErrTruncated)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

func TestSaveRefuses(t *testing.T) {
	var buf bytes.Buffer
	require.ErrorContains(t, nn.Save(&buf, nil, nil), "nn: save: model not built with NewSequential")
	require.ErrorContains(t, nn.Save(&buf, &nn.Sequential{}, nil), "nn: save: model not built with NewSequential")
	long := strings.Repeat("k", 1<<16+1)
	require.ErrorContains(t, nn.Save(&buf, tinyModel(t), map[string][]byte{long: nil}),
		"nn: save: metadata key longer than 65536 bytes")
	require.Zero(t, buf.Len(), "a refused Save wrote something")

	boom := errors.New("disk full")
	require.ErrorIs(t, nn.Save(failingWriter{boom}, tinyModel(t), nil), boom)
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func dirNames(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.dsc")
	a, b := testModel(t, 10), testModel(t, 11)

	require.NoError(t, nn.SaveFile(path, a, map[string][]byte{"name": []byte("a")}))
	require.Equal(t, []string{"model.dsc"}, dirNames(t, dir))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	got, meta, err := nn.LoadFile(path, testBuild)
	require.NoError(t, err)
	require.Equal(t, "a", string(meta["name"]))
	require.Equal(t, bits(a.Params()), bits(got.Params()))

	// Saving again replaces the file and keeps its permissions.
	require.NoError(t, os.Chmod(path, 0o600))
	require.NoError(t, nn.SaveFile(path, b, map[string][]byte{"name": []byte("b")}))
	require.Equal(t, []string{"model.dsc"}, dirNames(t, dir))
	fi, err = os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	got, meta, err = nn.LoadFile(path, testBuild)
	require.NoError(t, err)
	require.Equal(t, "b", string(meta["name"]))
	require.Equal(t, bits(b.Params()), bits(got.Params()))
	saved, err := os.ReadFile(path)
	require.NoError(t, err)

	// Failures leave the old file as it was and no temporary file behind.
	err = nn.SaveFile(path, nil, nil)
	require.ErrorContains(t, err, "nn: save: "+path+": model not built with NewSequential")
	err = nn.SaveFile(path, a, map[string][]byte{strings.Repeat("k", 1<<17): nil})
	require.ErrorContains(t, err, "metadata key longer than")
	err = nn.SaveFile(filepath.Join(dir, "missing", "model.dsc"), a, nil)
	require.ErrorContains(t, err, "nn: save: ")
	require.ErrorIs(t, err, os.ErrNotExist)
	// The model is written in full before the rename onto a directory fails.
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.MkdirAll(filepath.Join(sub, "x"), 0o755))
	err = nn.SaveFile(sub, a, nil)
	require.ErrorContains(t, err, "nn: save: rename")
	require.ElementsMatch(t, []string{"model.dsc", "sub"}, dirNames(t, dir))
	require.Equal(t, []string{"x"}, dirNames(t, sub))
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, saved, after)
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, _, err := nn.LoadFile(filepath.Join(dir, "none.dsc"), testBuild)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "nn: load: open ")

	path := filepath.Join(dir, "cut.dsc")
	require.NoError(t, os.WriteFile(path, saveBytes(t, testModel(t, 12), nil)[:50], 0o644))
	_, _, err = nn.LoadFile(path, testBuild)
	require.ErrorIs(t, err, nn.ErrTruncated)
	require.ErrorContains(t, err, "nn: load: "+path+": truncated file: 50 bytes, the header declares")
}

// guarded wraps a layer for the fuzz target, refusing inputs too large to
// allocate quickly: a fuzzed file with a right checksum may ask for anything.
type guarded struct{ nn.Layer }

func (g guarded) Build(in nn.Shape, rng *rand.Rand) (nn.Shape, error) {
	size := 1
	for _, d := range in {
		if d > 1<<12 || size*d > 1<<12 {
			return nil, errors.New("input too large for the fuzz target")
		}
		size *= d
	}
	return g.Layer.Build(in, rng)
}

func (g guarded) State() []*nn.Param {
	if s, ok := g.Layer.(nn.Stateful); ok {
		return s.State()
	}
	return nil
}

func fuzzBuild(s nn.Spec) (nn.Layer, error) {
	if u, ok := s.Int("units"); ok && u > 64 {
		return nil, errors.New("too many units for the fuzz target")
	}
	l, err := testBuild(s)
	if err != nil {
		return nil, err
	}
	return guarded{l}, nil
}

func FuzzLoad(f *testing.F) {
	good := saveBytes(f, testModel(f, 13), map[string][]byte{"k": []byte("v"), "vocab": []byte("a b c")})
	f.Add(good)
	f.Add(seal(tinyBody()))
	f.Add(good[:len(good)/2])
	flipped := bytes.Clone(good)
	flipped[len(good)/3] ^= 4
	f.Add(flipped)
	f.Add([]byte("DESCENT\x00\x02\x00\x00\x00"))
	f.Add([]byte{})
	f.Add(append(bytes.Clone(good), 1, 2, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range [][]byte{data, reseal(data)} {
			m, meta, err := nn.Load(bytes.NewReader(d), fuzzBuild)
			if err != nil {
				require.True(t, strings.HasPrefix(err.Error(), "nn: load: "), "%v", err)
				continue
			}
			// The format is canonical: what loads saves to the same bytes.
			require.Equal(t, d, saveBytes(t, m, meta))
			_, err = m.LoadWeights(bytes.NewReader(d))
			require.NoError(t, err)
		}
	})
}
