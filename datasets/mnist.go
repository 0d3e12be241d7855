package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// Images is a labelled set of equally sized grey-scale images, such as MNIST
// or Fashion-MNIST, kept in memory as bytes (one byte per pixel, 0 = black).
// It implements [Dataset]: [Images.Batch] turns the requested images into
// float32 one mini-batch at a time, so 60,000 MNIST images take 47 MB rather
// than 188 MB.
//
// Each pixel p becomes p/255, in [0, 1]; when Std is not zero it is then
// standardised to (p/255 − Mean) / Std. Targets are class indices stored as
// float32.
//
// The per-sample input shape is [1 Rows Cols] (channels, height, width), the
// layout convolutions expect; a multilayer perceptron either starts with a
// Flatten layer or sets Flat to get [Rows·Cols] directly (the values are the
// same, in the same order).
type Images struct {
	// Pixels holds Len()·Rows·Cols bytes, image after image, row-major.
	Pixels []uint8
	// Labels holds one class index per image, each below Classes.
	Labels []uint8
	// Rows and Cols give the size of every image.
	Rows, Cols int
	// Classes is the number of classes (10 for MNIST).
	Classes int
	// Flat makes the input shape [Rows·Cols] instead of [1 Rows Cols].
	Flat bool
	// Mean and Std standardise the scaled pixels when Std is not zero:
	// x = (p/255 − Mean) / Std. See [MNISTMean] and [Images.Stats].
	Mean, Std float32
}

var _ Dataset = (*Images)(nil)

// MNISTMean, MNISTStd, FashionMNISTMean and FashionMNISTStd are the mean
// and standard deviation of the training images' pixels scaled to [0, 1], as
// commonly used to standardise them (PyTorch's MNIST example uses 0.1307 and
// 0.3081). [Images.Stats] computes them for any set.
const (
	MNISTMean        = 0.1307
	MNISTStd         = 0.3081
	FashionMNISTMean = 0.2860
	FashionMNISTStd  = 0.3530
)

// NewImages pairs an IDX array of images, of dimensions [count rows cols],
// with an IDX array of labels, of dimensions [count], each label below
// classes. The byte slices are aliased, not copied.
func NewImages(images, labels *IDX, classes int) (*Images, error) {
	if len(images.Dims) != 3 {
		return nil, fmt.Errorf("datasets: images have dimensions %v, want [count rows cols]", images.Dims)
	}
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("datasets: labels have dimensions %v, want [count]", labels.Dims)
	}
	if n, m := images.Dims[0], labels.Dims[0]; n != m {
		return nil, fmt.Errorf("datasets: %d images but %d labels", n, m)
	}
	if classes < 1 || classes > 256 {
		return nil, fmt.Errorf("datasets: %d classes, want 1 to 256", classes)
	}
	for i, l := range labels.Data {
		if int(l) >= classes {
			return nil, fmt.Errorf("datasets: label %d of sample %d is not below the number of classes, %d", l, i, classes)
		}
	}
	return &Images{
		Pixels:  images.Data,
		Labels:  labels.Data,
		Rows:    images.Dims[1],
		Cols:    images.Dims[2],
		Classes: classes,
	}, nil
}

// LoadImages reads a pair of IDX files, images and labels, raw or gzipped,
// as [NewImages] pairs them. Errors name the file at fault, or both files
// when they disagree.
func LoadImages(imagesPath, labelsPath string, classes int) (*Images, error) {
	im, err := OpenIDX(imagesPath)
	if err != nil {
		return nil, err
	}
	lb, err := OpenIDX(labelsPath)
	if err != nil {
		return nil, err
	}
	d, err := NewImages(im, lb, classes)
	if err != nil {
		return nil, fmt.Errorf("%w (images %s, labels %s)", err, imagesPath, labelsPath)
	}
	return d, nil
}

// Len returns the number of images.
func (d *Images) Len() int { return len(d.Labels) }

// InputShape returns [1 Rows Cols], or [Rows·Cols] when Flat is set.
func (d *Images) InputShape() nn.Shape {
	if d.Flat {
		return nn.Shape{d.Rows * d.Cols}
	}
	return nn.Shape{1, d.Rows, d.Cols}
}

// TargetShape returns the empty shape: a target is one class index.
func (d *Images) TargetShape() nn.Shape { return nn.Shape{} }

// Batch writes the images at indices idx into x, of shape [len(idx) 1 Rows
// Cols] (or [len(idx) Rows·Cols] when Flat), scaled and standardised as
// described on [Images], and their labels into y, of shape [len(idx)]. It
// allocates nothing. It panics if a tensor has the wrong shape or an index
// is out of range.
func (d *Images) Batch(x, y *tensor.Dense, idx []int) {
	size := d.Rows * d.Cols
	if !d.batchShape(x.Shape(), len(idx)) {
		panic(fmt.Sprintf("datasets: Images.Batch: x of shape %v, want [%d %s]", []int(x.Shape()), len(idx), strings.Trim(d.InputShape().String(), "[]")))
	}
	if ys := y.Shape(); len(ys) != 1 || ys[0] != len(idx) {
		panic(fmt.Sprintf("datasets: Images.Batch: y of shape %v, want [%d]", []int(y.Shape()), len(idx)))
	}

	// One lookup table per call: 256 entries instead of a division per pixel,
	// and Mean and Std may change between calls.
	var lut [256]float32
	for p := range lut {
		v := float64(p) / 255
		if d.Std != 0 {
			v = (v - float64(d.Mean)) / float64(d.Std)
		}
		lut[p] = float32(v)
	}

	xs, ys := x.Float32s(), y.Float32s()
	n := d.Len()
	// Touch one byte in every 64-byte line of every image first: the
	// images lie at random places in a set too big for the caches, and
	// these independent loads bring them in together, where the copy loop
	// below would wait for them one line at a time (a batch of 64 MNIST
	// images: 31 µs instead of 47, BenchmarkImagesBatch). The sum only
	// keeps the loads from being removed.
	touch := 0
	for _, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("datasets: Images.Batch: index %d out of range [0, %d)", i, n))
		}
		src := d.Pixels[i*size : (i+1)*size]
		for k := 0; k < len(src); k += 64 {
			touch += int(src[k])
		}
	}
	if touch < 0 {
		panic("datasets: Images.Batch: impossible pixel sum")
	}
	for b, i := range idx {
		convert(xs[b*size:(b+1)*size], d.Pixels[i*size:(i+1)*size], &lut)
		ys[b] = float32(d.Labels[i])
	}
}

// convert sets dst[j] = lut[src[j]] for every j < len(src). Eight at a
// time, with the eight loads issued before the eight stores: the plain
// loop took 2.5 times as long.
func convert(dst []float32, src []uint8, lut *[256]float32) {
	dst = dst[:len(src)]
	j := 0
	for ; j+8 <= len(src); j += 8 {
		s := src[j : j+8 : j+8]
		v0, v1, v2, v3 := lut[s[0]], lut[s[1]], lut[s[2]], lut[s[3]]
		v4, v5, v6, v7 := lut[s[4]], lut[s[5]], lut[s[6]], lut[s[7]]
		d := dst[j : j+8 : j+8]
		d[0], d[1], d[2], d[3] = v0, v1, v2, v3
		d[4], d[5], d[6], d[7] = v4, v5, v6, v7
	}
	for ; j < len(src); j++ {
		dst[j] = lut[src[j]]
	}
}

// batchShape reports whether s is [n, InputShape...], without allocating.
func (d *Images) batchShape(s tensor.Shape, n int) bool {
	if d.Flat {
		return len(s) == 2 && s[0] == n && s[1] == d.Rows*d.Cols
	}
	return len(s) == 4 && s[0] == n && s[1] == 1 && s[2] == d.Rows && s[3] == d.Cols
}

// Stats returns the mean and standard deviation of all pixels scaled to
// [0, 1], the values to put in Mean and Std to standardise this set (compute
// them on the training set and use them for the test set too).
func (d *Images) Stats() (mean, std float64) {
	var hist [256]int64
	for _, p := range d.Pixels {
		hist[p]++
	}
	var n, s, s2 float64
	for p, c := range hist {
		v := float64(p) / 255
		n += float64(c)
		s += float64(c) * v
		s2 += float64(c) * v * v
	}
	if n == 0 {
		return 0, 0
	}
	mean = s / n
	return mean, math.Sqrt(max(s2/n-mean*mean, 0))
}

// ClassCounts returns how many images carry each label.
func (d *Images) ClassCounts() []int {
	c := make([]int, d.Classes)
	for _, l := range d.Labels {
		c[l]++
	}
	return c
}

// IDXFile is one file of an [IDXSet], with the checksums a download is
// verified against. A file is accepted when the SHA-256 of the downloaded
// bytes equals SHA256, or when the SHA-256 of its decompressed content
// equals RawSHA256 (re-compressed copies, such as Debian's, differ from the
// published .gz only in the gzip header).
type IDXFile struct {
	// Name is the file name without ".gz", e.g. "train-images-idx3-ubyte".
	Name string
	// SHA256 is the hex SHA-256 of the published Name.gz.
	SHA256 string
	// RawSHA256 is the hex SHA-256 of the decompressed file.
	RawSHA256 string
}

// IDXSet describes a published data set made of four IDX files in MNIST's
// layout: where to look for it, where to download it from, and how to check
// it. [MNIST] and [FashionMNIST] are the two predefined sets; any other set
// with the same layout works through the same code.
type IDXSet struct {
	// Name is the set's folder name below $DESCENT_DATA and the cache
	// folder, e.g. "mnist".
	Name string
	// Files lists the training images, training labels, test images and
	// test labels, in that order.
	Files [4]IDXFile
	// Mirrors are base URLs tried in turn; a file's URL is mirror + Name + ".gz".
	Mirrors []string
	// SystemDirs are read-only folders where an operating-system package may
	// have installed the files; one is used only if it holds all four.
	SystemDirs []string
	// Classes names the classes, in label order.
	Classes []string
	// Mean and Std are the training pixels' statistics, for [Images].Mean
	// and [Images].Std.
	Mean, Std float32
}

// MNIST returns the MNIST handwritten digits set (LeCun, Cortes, Burges):
// 60,000 training and 10,000 test images of 28×28 pixels, 10 classes. Each
// call returns a new value, which the caller may change (say, its Mirrors)
// without affecting anyone else.
func MNIST() *IDXSet {
	return &IDXSet{
		Name: "mnist",
		Files: [4]IDXFile{
			{"train-images-idx3-ubyte", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
			{"train-labels-idx1-ubyte", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
			{"t10k-images-idx3-ubyte", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
			{"t10k-labels-idx1-ubyte", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
		},
		Mirrors: []string{
			"https://ossci-datasets.s3.amazonaws.com/mnist/",
			"https://storage.googleapis.com/cvdf-datasets/mnist/",
		},
		Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Mean:    MNISTMean,
		Std:     MNISTStd,
	}
}

// FashionMNIST returns Zalando's Fashion-MNIST set (Xiao, Rasul, Vollgraf 2017):
// 60,000 training and 10,000 test images of clothing, 28×28 pixels, 10
// classes, with the same file names as MNIST. Debian's dataset-fashion-mnist
// package installs it in /usr/share/datasets/fashion-mnist. Each call
// returns a new value.
func FashionMNIST() *IDXSet {
	return &IDXSet{
		Name: "fashion-mnist",
		Files: [4]IDXFile{
			{"train-images-idx3-ubyte", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
			{"train-labels-idx1-ubyte", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
			{"t10k-images-idx3-ubyte", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
			{"t10k-labels-idx1-ubyte", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
		},
		Mirrors:    []string{"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"},
		SystemDirs: []string{"/usr/share/datasets/fashion-mnist"},
		Classes:    []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
		Mean:       FashionMNISTMean,
		Std:        FashionMNISTStd,
	}
}

// DataEnv names the environment variable that points at the folder holding
// one sub-folder per data set (mnist/, fashion-mnist/, ...).
const DataEnv = "DESCENT_DATA"

// DataDir returns the folder to read data set name from: flagDir when it is
// not empty (the value of a -data flag), else $DESCENT_DATA/name when
// DESCENT_DATA is set, else os.UserCacheDir()/descent/name
// (~/.cache/descent/name on Linux). The folder need not exist yet.
func DataDir(name, flagDir string) (string, error) {
	if flagDir != "" {
		return flagDir, nil
	}
	if root := os.Getenv(DataEnv); root != "" {
		return filepath.Join(root, name), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("datasets: %s: no folder given, $%s is not set and there is no cache folder (%v); pass -data DIR", name, DataEnv, err)
	}
	return filepath.Join(cache, "descent", name), nil
}

// Dir returns the folder to read the set from, as [DataDir] does, except
// that before falling back on the cache folder it uses the first of
// SystemDirs that holds all four files.
func (s *IDXSet) Dir(flagDir string) (string, error) {
	if flagDir != "" || os.Getenv(DataEnv) != "" {
		return DataDir(s.Name, flagDir)
	}
	for _, dir := range s.SystemDirs {
		if len(s.Missing(dir)) == 0 {
			return dir, nil
		}
	}
	return DataDir(s.Name, "")
}

// Path returns the path of file f in dir: dir/Name.gz if it exists, else
// dir/Name if that exists; ok is false if neither does.
func (s *IDXSet) Path(dir string, f IDXFile) (path string, ok bool) {
	for _, p := range []string{filepath.Join(dir, f.Name+".gz"), filepath.Join(dir, f.Name)} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
	}
	return filepath.Join(dir, f.Name+".gz"), false
}

// Missing returns the names (with ".gz") of the set's files that dir holds
// neither gzipped nor raw.
func (s *IDXSet) Missing(dir string) []string {
	var m []string
	for _, f := range s.Files {
		if _, ok := s.Path(dir, f); !ok {
			m = append(m, f.Name+".gz")
		}
	}
	return m
}

// ErrMissing is wrapped by the errors of [IDXSet.Load] and [IDXSet.Ensure]
// when files are absent and could not be downloaded.
var ErrMissing = errors.New("data files missing")

// missingError explains which files are missing from dir and how to supply
// them; detail (may be empty) says what was tried.
func (s *IDXSet) missingError(dir string, missing []string, detail string) error {
	return fmt.Errorf("datasets: %s: %w from %s: %s\n%sTo supply them, copy the four files of %s (gzipped or not) into %s, or pass -data DIR for a folder that holds them, or set %s=DIR with DIR/%s holding them.",
		s.Name, ErrMissing, dir, strings.Join(missing, ", "), detail, s.Name, dir, DataEnv, s.Name)
}

// Load reads the training and test sets from dir, each file gzipped or raw.
// It does not download; call [IDXSet.Ensure] first for that.
func (s *IDXSet) Load(dir string) (train, test *Images, err error) {
	if missing := s.Missing(dir); len(missing) > 0 {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, s.missingError(dir, missing, "The folder does not exist.\n")
		}
		return nil, nil, s.missingError(dir, missing, "")
	}
	if len(s.Classes) == 0 {
		return nil, nil, fmt.Errorf("datasets: %s: the set names no classes", s.Name)
	}
	var sets [2]*Images
	for i := range sets {
		ip, _ := s.Path(dir, s.Files[2*i])
		lp, _ := s.Path(dir, s.Files[2*i+1])
		d, err := LoadImages(ip, lp, len(s.Classes))
		if err != nil {
			return nil, nil, err
		}
		sets[i] = d
	}
	if a, b := sets[0], sets[1]; a.Rows != b.Rows || a.Cols != b.Cols {
		return nil, nil, fmt.Errorf("datasets: %s: training images are %d×%d but test images %d×%d", dir, a.Rows, a.Cols, b.Rows, b.Cols)
	}
	return sets[0], sets[1], nil
}

// LoadMNIST reads MNIST's training and test sets from dir (the four files,
// gzipped or raw), as [IDXSet.Load] does. Fashion-MNIST, which uses the same
// file names, loads the same way: FashionMNIST().Load(dir).
func LoadMNIST(dir string) (train, test *Images, err error) { return MNIST().Load(dir) }
