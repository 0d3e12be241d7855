package nn_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLoadFileWrongThings loads files that are not model files, or not whole
// ones, and checks that each error names the file and says what is wrong.
func TestLoadFileWrongThings(t *testing.T) {
	dir := t.TempDir()
	good := saveBytes(t, testModel(t, 20), map[string][]byte{"k": []byte("v")})
	newer := bytes.Clone(good)
	binary.LittleEndian.PutUint32(newer[8:], nn.FormatVersion+1)
	idx := append([]byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28}, make([]byte, 2*28*28)...)
	for _, c := range []struct {
		name string
		data []byte
		is   error
		msg  string
	}{
		{"empty.bin", nil, nn.ErrNotModel, "not a descent model file (the input is empty)"},
		{"train-images-idx3-ubyte", idx, nn.ErrNotModel, `not a descent model file (it starts with "\x00\x00\b\x03\x00\x00\x00\x02", not "DESCENT\x00")`},
		{"notes.txt", []byte("epoch 1: loss 0.3\n"), nn.ErrNotModel, `not a descent model file (it starts with "epoch 1:", not "DESCENT\x00")`},
		{"short.txt", []byte("hi\n"), nn.ErrNotModel, `not a descent model file (it starts with "hi\n", not "DESCENT\x00")`},
		{"newer.bin", newer, nn.ErrVersion, fmt.Sprintf("unsupported format version %d: the file was written by a newer descent; this build reads versions up to %d", nn.FormatVersion+1, nn.FormatVersion)},
		{"header-only.bin", good[:20], nn.ErrTruncated, fmt.Sprintf("truncated file: 20 bytes, the header declares %d", len(good))},
		{"half.bin", good[:len(good)/2], nn.ErrTruncated, fmt.Sprintf("truncated file: %d bytes, the header declares %d", len(good)/2, len(good))},
		{"no-checksum.bin", good[:len(good)-4], nn.ErrTruncated, fmt.Sprintf("truncated file: %d bytes, the header declares %d", len(good)-4, len(good))},
		{"magic-only.bin", good[:5], nn.ErrTruncated, "truncated file: 5 bytes, shorter than the 20-byte header"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			require.NoError(t, os.WriteFile(path, c.data, 0o644))
			m, meta, err := nn.LoadFile(path, testBuild)
			require.Nil(t, m)
			require.Nil(t, meta)
			require.ErrorIs(t, err, c.is)
			require.EqualError(t, err, "nn: load: "+path+": "+c.msg)
		})
	}
}

// big is affine that also implements nn.ParamShaper, as descent's own
// layers do: Load can compare what it would allocate with the file first.
type big struct{ *affine }

func (b big) ParamShapes(in nn.Shape) (params, state []nn.Shape, ok bool) {
	if len(in) != 1 {
		return nil, nil, false
	}
	return []nn.Shape{{in[0], b.units}, {b.units}}, nil, true
}

func bigBuild(s nn.Spec) (nn.Layer, error) {
	units, ok := s.Int("units")
	if s.Kind != "big" || !ok || units < 1 {
		return nil, fmt.Errorf("bad spec %v", s)
	}
	return big{newAffine(units)}, nil
}

// A file whose spec asks for a layer far larger than the tensors it holds
// is refused before the layer allocates: a few hundred bytes cannot cost
// gigabytes.
func TestLoadRefusesSpecsLargerThanTheFile(t *testing.T) {
	// Input [4096] → big(units=65536): 2²⁸ weights (1 GiB, 2 GiB with the
	// gradient), while the file holds W as [4096 1].
	body := le(1, 4096, 1, "big", 1, "units", float64(1<<16),
		2, "W", 2, 4096, 1, make([]byte, 4*4096), "b", 1, 1, make([]byte, 4), 0, 0)
	var err error
	n := allocated(func() { _, _, err = nn.Load(bytes.NewReader(seal(body)), bigBuild) })
	require.ErrorIs(t, err, nn.ErrMismatch)
	require.EqualError(t, err, `nn: load: file does not match the model: layer 0 (affine): param "W" has shape [4096 1] in the file, [4096 65536] in the model`)
	require.Less(t, n, uint64(1<<20), "bytes allocated")

	// The same file with units=1 loads.
	body = le(1, 4096, 1, "big", 1, "units", float64(1),
		2, "W", 2, 4096, 1, make([]byte, 4*4096), "b", 1, 1, make([]byte, 4), 0, 0)
	m, _, err := nn.Load(bytes.NewReader(seal(body)), bigBuild)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{1}, m.OutputShape())
}

// A layer that cannot say what it allocates is checked right after its own
// Build: a file of many layers that each ask for more than the file holds
// costs one layer, not all of them.
func TestLoadStopsAtTheFirstOversizedLayer(t *testing.T) {
	const layers, units = 200, 1024 // each affine(1024) on [1024]: 8 MiB with its gradient
	var body []byte
	body = append(body, le(1, units, layers)...)
	for range layers {
		body = append(body, le("affine", 1, "units", float64(units), 2, "W", 2, 1, 1, make([]byte, 4), "b", 1, 1, make([]byte, 4), 0)...)
	}
	body = append(body, le(0)...)
	var err error
	n := allocated(func() { _, _, err = nn.Load(bytes.NewReader(seal(body)), testBuild) })
	require.ErrorIs(t, err, nn.ErrMismatch)
	require.ErrorContains(t, err, `layer 0 (affine): param "W" has shape [1 1] in the file, [1024 1024] in the model`)
	require.Less(t, n, uint64(3*8<<20), "bytes allocated: more than one layer's worth")
}

func TestCheckShapes(t *testing.T) {
	m, err := nn.NewSequential(nn.Shape{784}, rand.New(rand.NewPCG(0, 0)), newAffine(16), newAffine(10))
	require.NoError(t, err)
	require.NoError(t, m.CheckShapes(nn.Shape{784}, nn.Shape{10}))
	require.NoError(t, m.CheckShapes(nil, nn.Shape{10}))
	require.NoError(t, m.CheckShapes(nn.Shape{784}, nil))
	require.NoError(t, m.CheckShapes(nil, nil))
	for _, c := range []struct {
		in, out nn.Shape
		msg     string
	}{
		{nn.Shape{1, 28, 28}, nn.Shape{10}, "nn: file does not match the model: the model takes input [784] and gives output [10]; want input [1 28 28] and output [10]"},
		{nil, nn.Shape{2}, "nn: file does not match the model: the model takes input [784] and gives output [10]; want output [2]"},
		{nn.Shape{30000}, nil, "nn: file does not match the model: the model takes input [784] and gives output [10]; want input [30000]"},
	} {
		err := m.CheckShapes(c.in, c.out)
		require.ErrorIs(t, err, nn.ErrMismatch)
		require.EqualError(t, err, c.msg)
	}
}

// A model saved for one task and loaded by a program that needs another:
// Load succeeds (the file is sound), CheckShapes says why it does not fit.
func TestLoadedModelOfAnotherArchitecture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xor.bin")
	xor, err := nn.NewSequential(nn.Shape{2}, rand.New(rand.NewPCG(0, 0)), newAffine(4), newAffine(1))
	require.NoError(t, err)
	require.NoError(t, nn.SaveFile(path, xor, nil))
	m, _, err := nn.LoadFile(path, testBuild)
	require.NoError(t, err)
	err = m.CheckShapes(nn.Shape{784}, nn.Shape{10})
	require.ErrorIs(t, err, nn.ErrMismatch)
	require.ErrorContains(t, err, "the model takes input [2] and gives output [1]; want input [784] and output [10]")
}

// nilParams is a broken layer whose Params holds nil after Build.
type nilParams struct{ *affine }

func (nilParams) Params() []*nn.Param { return []*nn.Param{nil, nil} }

func TestLoadBrokenBuild(t *testing.T) {
	build := func(s nn.Spec) (nn.Layer, error) {
		l, err := testBuild(s)
		if err != nil {
			return nil, err
		}
		return nilParams{l.(*affine)}, nil
	}
	_, _, err := nn.Load(bytes.NewReader(seal(tinyBody())), build)
	require.EqualError(t, err, "nn: load: rebuilding the model: layer 0 (affine): nil parameter after Build")
}
