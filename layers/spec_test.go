package layers_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

func TestFromSpecRoundTrip(t *testing.T) {
	bn := layers.NewBatchNorm()
	bn.Momentum, bn.Eps = 0.2, 1e-3
	for _, l := range []nn.Layer{
		layers.NewDense(7, 3),
		layers.NewConv2D(3, 8, 5, layers.Stride(2), layers.Padding(1)),
		layers.NewConv2D(3, 8, 3, layers.WithReLU()),
		layers.NewMaxPool2D(2, 2),
		layers.NewAvgPool2D(3, 1),
		bn,
		layers.NewFlatten(),
		layers.NewReLU(),
		layers.NewLeakyReLU(0.2),
		layers.NewSigmoid(),
		layers.NewTanh(),
		layers.NewSoftmax(),
		layers.NewDropout(0.3),
		layers.NewEmbeddingBag(100, 8, layers.BagSum),
		layers.NewEmbeddingBag(7, 2, layers.BagMean),
		layers.NewEmbedding(50, 4),
	} {
		spec := l.Spec()
		got, err := layers.FromSpec(spec)
		require.NoError(t, err, spec.String())
		require.True(t, spec.Equal(got.Spec()), "%s rebuilt as %s", spec, got.Spec())
	}
}

func TestFromSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		spec nn.Spec
		want string
	}{
		{nn.Spec{Kind: "Mystery"}, `unknown layer kind "Mystery"`},
		{nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 3}}, `"out" missing`},
		{nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 3, "out": 2.5}}, `"out" missing or not a non-negative integer`},
		{nn.Spec{Kind: "Dropout"}, `"rate" missing`},
		{nn.Spec{Kind: "Dropout", Attrs: map[string]float64{"rate": 0.5, "inplace": 1}}, `unknown attribute "inplace" (the file may come from a newer descent)`},
		{nn.Spec{Kind: "ReLU", Attrs: map[string]float64{"alpha": 0.1}}, `unknown attribute "alpha"`},
		{nn.Spec{Kind: "Conv2D", Attrs: map[string]float64{"in": 1, "out": 2, "kernel": 3, "stride": 1, "pad": 0, "relu": 2}}, `"relu" = 2, want 0 or 1`},
		{nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 1 << 31, "out": 2}}, `exceeds`},
		{nn.Spec{Kind: "Dense", Attrs: map[string]float64{"in": 1 << 20, "out": 1 << 20}}, `weights exceed`},
		{nn.Spec{Kind: "EmbeddingBag", Attrs: map[string]float64{"vocab": 10, "dim": 2, "mode": 2}}, `mode 2, want 0 (sum) or 1 (mean)`},
		{nn.Spec{Kind: "EmbeddingBag", Attrs: map[string]float64{"vocab": 10, "dim": 2}}, `"mode" missing`},
		{nn.Spec{Kind: "Embedding", Attrs: map[string]float64{"vocab": 1 << 24, "dim": 1 << 10}}, `weights exceed`},
	} {
		_, err := layers.FromSpec(tc.spec)
		require.ErrorContains(t, err, tc.want)
	}
}

// ParamShapes must give exactly the shapes Build creates, and refuse (ok
// false) exactly the inputs Build refuses for their shape.
func TestParamShapesMatchBuild(t *testing.T) {
	shapes := func(ps []*nn.Param) []nn.Shape {
		var s []nn.Shape
		for _, p := range ps {
			s = append(s, nn.Shape(p.Value.Shape()))
		}
		return s
	}
	inputs := []nn.Shape{{1}, {7}, {3, 9, 8}, {1, 5, 5}, {4, 2}, {6, 1, 1}, {2, 3, 4, 5}}
	for _, mk := range []func() nn.Layer{
		func() nn.Layer { return layers.NewDense(7, 3) },
		func() nn.Layer { return layers.NewDense(0, 5) },
		func() nn.Layer { return layers.NewConv2D(3, 8, 5, layers.Stride(2), layers.Padding(1)) },
		func() nn.Layer { return layers.NewConv2D(0, 2, 1) },
		func() nn.Layer { return layers.NewBatchNorm() },
		func() nn.Layer { return layers.NewEmbeddingBag(7, 4, layers.BagMean) },
		func() nn.Layer { return layers.NewEmbeddingBag(0, 2, layers.BagSum) },
		func() nn.Layer { return layers.NewEmbedding(50, 4) },
	} {
		for _, in := range inputs {
			l := mk()
			name := l.Spec().String() + " on " + in.String()
			params, state, ok := l.(nn.ParamShaper).ParamShapes(in)
			_, err := l.Build(in, rand.New(rand.NewPCG(1, 2)))
			require.Equal(t, err == nil, ok, "%s: ParamShapes ok %t, Build error %v", name, ok, err)
			if err != nil {
				continue
			}
			require.Equal(t, shapes(l.Params()), params, name)
			var st []*nn.Param
			if s, isStateful := l.(nn.Stateful); isStateful {
				st = s.State()
			}
			require.Equal(t, shapes(st), state, name)
		}
	}
}

// modelFile encodes a model file of version 1 from body, as nn.Save lays it
// out (docs/model-format.md): magic, version, body length, body, CRC-32C.
func modelFile(body []byte) []byte {
	b := append([]byte("DESCENT\x00"), 1, 0, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(body)))
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// enc encodes the format's primitives: int as uint32, float64, string with
// its uint32 length, []byte as is.
func enc(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		case float64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case string:
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		}
	}
	return b
}

// A model file of a few hundred bytes whose specs ask for huge layers is
// refused before they are allocated, whatever the layer.
func TestLoadFromSpecBoundsMemory(t *testing.T) {
	w := func(dims ...int) []byte { // a tensor "W" of the given shape, zeros
		n := 1
		b := enc("W", len(dims))
		for _, d := range dims {
			b = append(b, enc(d)...)
			n *= d
		}
		return append(b, make([]byte, 4*n)...)
	}
	vec := func(name string, n int) []byte { return append(enc(name, 1, n), make([]byte, 4*n)...) }
	for _, c := range []struct {
		name string
		body []byte
		msg  string
	}{
		{"Dense 2048→16384", enc(1, 2048, 1, "Dense", 2, "in", 2048.0, "out", 16384.0, 2, w(1, 1), vec("b", 1), 0, 0),
			`layer 0 (Dense): param "W" has shape [1 1] in the file, [2048 16384] in the model`},
		{"Dense inferring 2^20 inputs", enc(1, 1<<20, 1, "Dense", 2, "in", 0.0, "out", float64(1<<24), 2, w(1, 1), vec("b", 1), 0, 0),
			`layer 0 (Dense): param "W" has shape [1 1] in the file, [1048576 16777216] in the model`},
		{"Conv2D inferring 4096 channels", enc(3, 4096, 64, 64, 1, "Conv2D", 5, "in", 0.0, "kernel", 64.0, "out", 4096.0, "pad", 0.0, "stride", 1.0,
			2, w(1, 1, 1, 1), vec("b", 1), 0, 0),
			`layer 0 (Conv2D): param "W" has shape [1 1 1 1] in the file, [4096 4096 64 64] in the model`},
		{"BatchNorm of 2^23 channels", enc(1, 1<<23, 1, "BatchNorm", 2, "eps", 1e-5, "momentum", 0.1, 2, vec("gamma", 1), vec("beta", 1), 2, vec("mean", 1), vec("var", 1), 0),
			`layer 0 (BatchNorm): param "gamma" has shape [1] in the file, [8388608] in the model`},
		{"EmbeddingBag inferring 2^20 terms", enc(1, 1<<20, 1, "EmbeddingBag", 3, "dim", float64(1<<24), "mode", 0.0, "vocab", 0.0, 2, w(1, 1), vec("b", 1), 0, 0),
			`layer 0 (EmbeddingBag): param "W" has shape [1 1] in the file, [1048576 16777216] in the model`},
		{"Embedding 2^24×4", enc(1, 8, 1, "Embedding", 2, "dim", 4.0, "vocab", float64(1<<24), 1, w(1, 4), 0, 0),
			`layer 0 (Embedding): param "W" has shape [1 4] in the file, [16777216 4] in the model`},
		{"second of two layers", enc(1, 8, 2, "Dense", 2, "in", 8.0, "out", 2.0, 2, w(8, 2), vec("b", 2), 0,
			"Dense", 2, "in", 2.0, "out", float64(1<<24), 2, w(2, 1), vec("b", 1), 0, 0),
			`layer 1 (Dense): param "W" has shape [2 1] in the file, [2 16777216] in the model`},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := modelFile(c.body)
			require.Less(t, len(file), 1024)
			var err error
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err = nn.Load(bytes.NewReader(file), layers.FromSpec)
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, nn.ErrMismatch)
			require.ErrorContains(t, err, "nn: load: file does not match the model: "+c.msg)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated")
		})
	}
}

// FuzzLoadFromSpec loads fuzzed model files with descent's own layers and
// no guard: whatever the specs ask for, Load must return an error or a model
// (never panic, never allocate more than the file backs), and a model that
// loads must save to the same bytes and compute on a small batch.
func FuzzLoadFromSpec(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []struct {
		in nn.Shape
		ls []nn.Layer
	}{
		{nn.Shape{2, 6, 5}, []nn.Layer{layers.NewConv2D(2, 3, 3, layers.Padding(1)), layers.NewBatchNorm(), layers.NewReLU(),
			layers.NewMaxPool2D(2, 0), layers.NewAvgPool2D(1, 1), layers.NewDropout(0.2), layers.NewFlatten(),
			layers.NewDense(3*3*2, 4), layers.NewLeakyReLU(0.1), layers.NewTanh(), layers.NewSigmoid(), layers.NewSoftmax()}},
		{nn.Shape{9}, []nn.Layer{layers.NewEmbeddingBag(9, 3, layers.BagMean), layers.NewDense(3, 2)}},
		{nn.Shape{5}, []nn.Layer{layers.NewEmbedding(11, 2), layers.NewFlatten(), layers.NewDense(10, 1)}},
	} {
		model, err := nn.NewSequential(m.in, rng, m.ls...)
		require.NoError(f, err)
		var buf bytes.Buffer
		require.NoError(f, nn.Save(&buf, model, map[string][]byte{"k": []byte("v")}))
		f.Add(buf.Bytes())
	}
	f.Add(modelFile(enc(1, 1<<20, 1, "BatchNorm", 2, "eps", 1e-5, "momentum", 0.1, 0, 0, 0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Make the body length and checksum right, to reach the parser.
		if len(data) >= 24 {
			data = bytes.Clone(data)
			binary.LittleEndian.PutUint64(data[12:], uint64(len(data)-24))
			binary.LittleEndian.PutUint32(data[len(data)-4:], crc32.Checksum(data[:len(data)-4], crc32.MakeTable(crc32.Castagnoli)))
		}
		m, meta, err := nn.Load(bytes.NewReader(data), layers.FromSpec)
		if err != nil {
			require.Nil(t, m)
			return
		}
		var buf bytes.Buffer
		require.NoError(t, nn.Save(&buf, m, meta))
		require.Equal(t, data, buf.Bytes())
	})
}

// A model whose layers blow a small input up (a 1×1 convolution padded by
// 3,000 pixels turns 28×28 into 6,028×6,028, 36 M values per sample) is
// refused when loaded, before any Forward allocates its output; the same
// layers on a bounded shape load.
func TestLoadRefusesHugeActivations(t *testing.T) {
	for _, c := range []struct {
		pad  int
		want string
	}{
		{3000, "would give outputs of shape [1 6028 6028], more than the 16777216 values per sample"},
		{10, ""},
	} {
		m, err := nn.NewSequential(nn.Shape{1, 28, 28}, rand.New(rand.NewPCG(1, 1)),
			layers.NewConv2D(1, 1, 1, layers.Padding(c.pad)))
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, nn.Save(&buf, m, nil))
		_, _, err = nn.Load(bytes.NewReader(buf.Bytes()), layers.FromSpec)
		if c.want == "" {
			require.NoError(t, err)
			continue
		}
		require.ErrorContains(t, err, c.want)

		// In the middle of a model, the next layer's input is refused.
		m, err = nn.NewSequential(nn.Shape{1, 28, 28}, rand.New(rand.NewPCG(1, 1)),
			layers.NewConv2D(1, 1, 1, layers.Padding(c.pad)), layers.NewMaxPool2D(2048, 2048))
		require.NoError(t, err)
		buf.Reset()
		require.NoError(t, nn.Save(&buf, m, nil))
		_, _, err = nn.Load(bytes.NewReader(buf.Bytes()), layers.FromSpec)
		require.ErrorContains(t, err, "layer 1 (MaxPool2D) would take inputs of shape [1 6028 6028], more than the 16777216 values per sample")
	}
}
