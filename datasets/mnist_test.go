package datasets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/nn"
)

// tinyImages returns 3 images of 2×3 pixels with labels 2, 0, 1.
func tinyImages(t *testing.T) *Images {
	im := &IDX{Dims: []int{3, 2, 3}, Data: []byte{
		0, 51, 102, 153, 204, 255, // image 0
		1, 2, 3, 4, 5, 6, // image 1
		255, 255, 0, 0, 128, 64, // image 2
	}}
	lb := &IDX{Dims: []int{3}, Data: []byte{2, 0, 1}}
	d, err := NewImages(im, lb, 3)
	require.NoError(t, err)
	return d
}

func TestImagesBatch(t *testing.T) {
	d := tinyImages(t)
	require.Equal(t, 3, d.Len())
	require.Equal(t, nn.Shape{1, 2, 3}, d.InputShape())
	require.Empty(t, d.TargetShape())

	idx := []int{2, 0}
	x, y := nn.NewTensor(2, 1, 2, 3), nn.NewTensor(2)
	d.Batch(x, y, idx)
	xs := x.Float32s()
	for b, i := range idx {
		for j := 0; j < 6; j++ {
			want := float32(d.Pixels[i*6+j]) / 255
			require.InDelta(t, want, xs[b*6+j], 1e-7, "image %d pixel %d", i, j)
			require.True(t, xs[b*6+j] >= 0 && xs[b*6+j] <= 1)
		}
	}
	require.Equal(t, []float32{0, 0.2, 0.4, 0.6, 0.8, 1}, []float32{xs[6], xs[7], xs[8], xs[9], xs[10], xs[11]})
	require.Equal(t, []float32{1, 2}, y.Float32s())

	// Flat: the same values under shape [N 6].
	d.Flat = true
	require.Equal(t, nn.Shape{6}, d.InputShape())
	xf := nn.NewTensor(2, 6)
	d.Batch(xf, y, idx)
	require.Equal(t, xs, xf.Float32s())
}

func TestImagesBatchStandardised(t *testing.T) {
	d := tinyImages(t)
	d.Mean, d.Std = MNISTMean, MNISTStd
	x, y := nn.NewTensor(1, 1, 2, 3), nn.NewTensor(1)
	d.Batch(x, y, []int{0})
	for j, p := range d.Pixels[:6] {
		want := (float64(p)/255 - MNISTMean) / MNISTStd
		require.InDelta(t, want, x.Float32s()[j], 1e-6)
	}
	require.InDelta(t, -0.4242, x.Float32s()[0], 1e-4) // black
	require.InDelta(t, 2.8215, x.Float32s()[5], 1e-4)  // white
	require.Equal(t, []float32{2}, y.Float32s())
}

func TestImagesBatchAllocs(t *testing.T) {
	d := tinyImages(t)
	d.Mean, d.Std = 0.1, 0.3
	x, y := nn.NewTensor(4, 1, 2, 3), nn.NewTensor(4)
	idx := []int{0, 1, 2, 1}
	allocs := testing.AllocsPerRun(100, func() { d.Batch(x, y, idx) })
	require.Zero(t, allocs)
}

func TestImagesBatchPanics(t *testing.T) {
	d := tinyImages(t)
	require.PanicsWithValue(t, "datasets: Images.Batch: x of shape [2 6], want [2 1 2 3]", func() {
		d.Batch(nn.NewTensor(2, 6), nn.NewTensor(2), []int{0, 1})
	})
	require.PanicsWithValue(t, "datasets: Images.Batch: y of shape [2 1], want [2]", func() {
		d.Batch(nn.NewTensor(2, 1, 2, 3), nn.NewTensor(2, 1), []int{0, 1})
	})
	require.PanicsWithValue(t, "datasets: Images.Batch: index 3 out of range [0, 3)", func() {
		d.Batch(nn.NewTensor(1, 1, 2, 3), nn.NewTensor(1), []int{3})
	})
	d.Flat = true
	require.PanicsWithValue(t, "datasets: Images.Batch: x of shape [1 1 2 3], want [1 6]", func() {
		d.Batch(nn.NewTensor(1, 1, 2, 3), nn.NewTensor(1), []int{0})
	})
}

func TestImagesStats(t *testing.T) {
	d := &Images{Pixels: []byte{0, 255, 0, 255}, Labels: []byte{0}, Rows: 2, Cols: 2, Classes: 1}
	m, s := d.Stats()
	require.InDelta(t, 0.5, m, 1e-12)
	require.InDelta(t, 0.5, s, 1e-12)
	require.Equal(t, []int{1}, d.ClassCounts())
}

func TestNewImagesErrors(t *testing.T) {
	im := &IDX{Dims: []int{2, 1, 2}, Data: []byte{1, 2, 3, 4}}
	for _, tc := range []struct {
		name          string
		images, label *IDX
		classes       int
		want          string
	}{
		{"count", im, &IDX{Dims: []int{3}, Data: []byte{0, 1, 0}}, 2, "2 images but 3 labels"},
		{"label", im, &IDX{Dims: []int{2}, Data: []byte{0, 2}}, 2, "label 2 of sample 1 is not below the number of classes, 2"},
		{"image-dims", &IDX{Dims: []int{4}, Data: []byte{1, 2, 3, 4}}, &IDX{Dims: []int{4}, Data: make([]byte, 4)}, 2, "images have dimensions [4], want [count rows cols]"},
		{"label-dims", im, &IDX{Dims: []int{2, 1}, Data: []byte{0, 1}}, 2, "labels have dimensions [2 1], want [count]"},
		{"classes", im, &IDX{Dims: []int{2}, Data: []byte{0, 1}}, 0, "0 classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewImages(tc.images, tc.label, tc.classes)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestLoadImagesErrorsNameFiles(t *testing.T) {
	dir := t.TempDir()
	imgs := writeFile(t, dir, "imgs.gz", gzipBytes(t, idxBytes(0x08, []uint32{3, 2, 2}, seq(0, 12))))
	lbls := writeFile(t, dir, "lbls", idxBytes(0x08, []uint32{4}, []byte{0, 1, 2, 3}))
	_, err := LoadImages(imgs, lbls, 10)
	require.ErrorContains(t, err, "3 images but 4 labels")
	require.ErrorContains(t, err, imgs)
	require.ErrorContains(t, err, lbls)

	bad := writeFile(t, dir, "bad", idxBytes(0x08, []uint32{3}, []byte{0, 1}))
	_, err = LoadImages(imgs, bad, 10)
	require.ErrorContains(t, err, "datasets: "+bad+": truncated")
}

// testSet returns an IDXSet whose files are small synthetic IDX files, with
// their checksums, and the file contents (gzipped) by name.
func testSet(t *testing.T) (*IDXSet, map[string][]byte) {
	s := &IDXSet{Name: "tiny", Classes: []string{"a", "b", "c"}}
	files := map[string][]byte{}
	contents := [4][]byte{
		idxBytes(0x08, []uint32{4, 2, 3}, seq(10, 24)),
		idxBytes(0x08, []uint32{4}, []byte{0, 1, 2, 1}),
		idxBytes(0x08, []uint32{2, 2, 3}, seq(100, 12)),
		idxBytes(0x08, []uint32{2}, []byte{2, 2}),
	}
	for i, name := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		gz := gzipBytes(t, contents[i])
		files[name+".gz"] = gz
		files[name] = contents[i]
		s.Files[i] = IDXFile{Name: name, SHA256: sha256Hex(gz), RawSHA256: sha256Hex(contents[i])}
	}
	return s, files
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestIDXSetLoad(t *testing.T) {
	s, files := testSet(t)
	dir := t.TempDir()

	_, _, err := s.Load(filepath.Join(dir, "absent"))
	require.ErrorIs(t, err, ErrMissing)
	require.ErrorContains(t, err, "The folder does not exist")

	// Gzipped and raw files mix freely.
	writeFile(t, dir, "train-images-idx3-ubyte.gz", files["train-images-idx3-ubyte.gz"])
	writeFile(t, dir, "train-labels-idx1-ubyte", files["train-labels-idx1-ubyte"])
	writeFile(t, dir, "t10k-images-idx3-ubyte", files["t10k-images-idx3-ubyte"])
	require.Equal(t, []string{"t10k-labels-idx1-ubyte.gz"}, s.Missing(dir))
	_, _, err = s.Load(dir)
	require.ErrorIs(t, err, ErrMissing)
	require.ErrorContains(t, err, "datasets: tiny: data files missing from "+dir+": t10k-labels-idx1-ubyte.gz")
	require.ErrorContains(t, err, "copy the four files of tiny (gzipped or not) into "+dir)

	writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", files["t10k-labels-idx1-ubyte.gz"])
	train, test, err := s.Load(dir)
	require.NoError(t, err)
	require.Equal(t, 4, train.Len())
	require.Equal(t, 2, test.Len())
	require.Equal(t, nn.Shape{1, 2, 3}, train.InputShape())
	require.Equal(t, []int{1, 2, 1}, train.ClassCounts())
	require.Equal(t, seq(100, 12), test.Pixels)

	// A label beyond the set's classes is refused, naming both files.
	writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", gzipBytes(t, idxBytes(0x08, []uint32{2}, []byte{2, 3})))
	_, _, err = s.Load(dir)
	require.ErrorContains(t, err, "label 3 of sample 1 is not below the number of classes, 3")
	require.ErrorContains(t, err, filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
}

func TestDataDir(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	t.Setenv(DataEnv, "")

	s, files := testSet(t)
	sys := t.TempDir()
	s.SystemDirs = []string{filepath.Join(sys, "absent"), sys}

	dir, err := s.Dir("")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(cache, "descent", "tiny"), dir, "cache, while the system folder is incomplete")

	for name, b := range files {
		writeFile(t, sys, name, b)
	}
	dir, err = s.Dir("")
	require.NoError(t, err)
	require.Equal(t, sys, dir, "complete system folder")

	t.Setenv(DataEnv, "/data/root")
	dir, err = s.Dir("")
	require.NoError(t, err)
	require.Equal(t, filepath.Join("/data/root", "tiny"), dir, "environment variable")

	dir, err = s.Dir("/my/flag")
	require.NoError(t, err)
	require.Equal(t, "/my/flag", dir, "flag")

	dir, err = DataDir("imdb", "")
	require.NoError(t, err)
	require.Equal(t, filepath.Join("/data/root", "imdb"), dir)
}

// sharedMNIST returns the folder of the real MNIST files, which sits beside
// the repository (../shared/data/mnist from the module root) on the
// development machines and in CI.
func sharedMNIST(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		require.NotEqual(t, root, parent, "no go.mod above %s", wd)
		root = parent
	}
	dir := filepath.Join(root, "..", "shared", "data", "mnist")
	_, err = os.Stat(dir)
	require.NoError(t, err, "the real MNIST files must be at %s (the shared data folder beside the repository)", dir)
	return dir
}

func TestLoadMNISTReal(t *testing.T) {
	dir := sharedMNIST(t)
	train, test, err := LoadMNIST(dir)
	require.NoError(t, err)
	require.Equal(t, 60000, train.Len())
	require.Equal(t, 10000, test.Len())
	require.Equal(t, nn.Shape{1, 28, 28}, train.InputShape())
	require.Len(t, train.Pixels, 60000*784)
	require.Equal(t, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, train.ClassCounts())

	mean, std := train.Stats()
	require.InDelta(t, MNISTMean, mean, 5e-5)
	require.InDelta(t, MNISTStd, std, 5e-5)

	// The first training image is a 5; its 784 pixels sum to 27525.
	require.Equal(t, uint8(5), train.Labels[0])
	sum := 0
	for _, p := range train.Pixels[:784] {
		sum += int(p)
	}
	require.Equal(t, 27525, sum)
}

// The checksums MNIST is downloaded against are those of the real files.
func TestMNISTChecksums(t *testing.T) {
	dir := sharedMNIST(t)
	for _, f := range MNIST().Files {
		p, ok := MNIST().Path(dir, f)
		require.True(t, ok, p)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Equal(t, f.SHA256, sha256Hex(b), p)
		fh, err := os.Open(p)
		require.NoError(t, err)
		raw, gz, err := contentSHA256(fh)
		fh.Close()
		require.NoError(t, err)
		require.True(t, gz)
		require.Equal(t, f.RawSHA256, raw, p)
	}
}

func ExampleImages_Batch() {
	// Two 2×2 images, labelled 1 and 0.
	images := &IDX{Dims: []int{2, 2, 2}, Data: []byte{0, 51, 204, 255, 255, 0, 0, 255}}
	labels := &IDX{Dims: []int{2}, Data: []byte{1, 0}}
	d, err := NewImages(images, labels, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	d.Flat = true // shape [4] per image, for a multilayer perceptron
	x, y := nn.NewTensor(2, 4), nn.NewTensor(2)
	d.Batch(x, y, []int{1, 0}) // the second image, then the first
	fmt.Println(x.Float32s(), y.Float32s())
	// Output:
	// [1 0 0 1 0 0.2 0.8 1] [0 1]
}

// The predefined sets are functions, not shared variables: a caller that
// changes the value it got changes nobody else's.
func TestPredefinedSetsAreIndependent(t *testing.T) {
	a, b := MNIST(), MNIST()
	a.Mirrors[0] = "http://example.invalid/"
	a.Files[0].Name = "x"
	require.NotEqual(t, a.Mirrors[0], b.Mirrors[0])
	require.Equal(t, "train-images-idx3-ubyte", MNIST().Files[0].Name)
	require.Equal(t, "fashion-mnist", FashionMNIST().Name)
	m := IMDBMirrors()
	m[0] = "changed"
	require.NotEqual(t, "changed", IMDBMirrors()[0])
}
