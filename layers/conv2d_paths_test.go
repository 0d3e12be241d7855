package layers_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/layers"
)

// convPathCases reach every path of Conv2D: unrolled at the padded width
// (stride 1 with fewer filters than C·k·k), with and without padding; the
// plain unrolling for stride 1 with many filters, with and without padding,
// and for strides 2 and 3; the Winograd path (Y, dW, db; 3×3 kernels, stride 1,
// at least 8 channels and filters) on even, odd and tiny outputs; batches of
// 1, of fewer samples than blocks, and of more, in uneven blocks; and the
// MNIST layers' own shapes at small batches.
var convPathCases = []convTestCase{
	{n: 1, c: 1, h: 5, w: 5, f: 1, k: 3, s: 1, p: 0},     // wide
	{n: 3, c: 2, h: 7, w: 6, f: 3, k: 3, s: 1, p: 1},     // wide, padded
	{n: 17, c: 1, h: 9, w: 8, f: 2, k: 5, s: 1, p: 2},    // wide, padded, uneven blocks
	{n: 9, c: 1, h: 6, w: 7, f: 12, k: 3, s: 1, p: 0},    // plain, stride 1
	{n: 5, c: 1, h: 6, w: 5, f: 12, k: 3, s: 1, p: 1},    // plain, stride 1, padded
	{n: 10, c: 2, h: 9, w: 7, f: 4, k: 3, s: 2, p: 1},    // plain, stride 2
	{n: 2, c: 3, h: 11, w: 10, f: 5, k: 2, s: 3, p: 0},   // plain, stride 3
	{n: 2, c: 2, h: 4, w: 4, f: 3, k: 4, s: 1, p: 0},     // kernel = input
	{n: 4, c: 1, h: 28, w: 28, f: 6, k: 5, s: 1, p: 2},   // LeNet conv1
	{n: 3, c: 6, h: 14, w: 14, f: 16, k: 5, s: 1, p: 0},  // LeNet conv2
	{n: 3, c: 1, h: 28, w: 28, f: 32, k: 3, s: 1, p: 0},  // conv net conv1
	{n: 2, c: 32, h: 26, w: 26, f: 64, k: 3, s: 1, p: 0}, // conv net conv2 (Winograd)
	{n: 3, c: 8, h: 7, w: 9, f: 8, k: 3, s: 1, p: 1},     // Winograd, padded, odd output (7×9)
	{n: 2, c: 9, h: 5, w: 4, f: 10, k: 3, s: 1, p: 0},    // Winograd, 3×2 output
	{n: 17, c: 8, h: 3, w: 3, f: 8, k: 3, s: 1, p: 0},    // Winograd, one output pixel, uneven blocks
	{n: 2, c: 8, h: 21, w: 19, f: 9, k: 3, s: 1, p: 1},   // Winograd, rows of 10 tiles (8 at a time, overlapping), odd output (21×19)
	{n: 2, c: 8, h: 6, w: 5, f: 80, k: 3, s: 1, p: 2},    // Winograd, plain unrolling (more filters than C·k·k)
	{n: 3, c: 8, h: 5, w: 6, f: 8, k: 3, s: 1, p: 3},     // Winograd, padding 3
}

// convTestNaiveBackward is the direct loop for the gradients, in float64:
// dW[f,c,ki,kj] = Σ dY[n,f,oy,ox]·X[n,c,iy,ix], db[f] = Σ dY[n,f,oy,ox],
// dX[n,c,iy,ix] = Σ W[f,c,ki,kj]·dY[n,f,oy,ox], over iy = oy·s+ki−p and
// ix = ox·s+kj−p inside the image.
func convTestNaiveBackward(tc convTestCase, x, w, dy []float32, oh, ow int) (dx, dw, db []float64) {
	dx = make([]float64, tc.n*tc.c*tc.h*tc.w)
	dw = make([]float64, tc.f*tc.c*tc.k*tc.k)
	db = make([]float64, tc.f)
	for n := 0; n < tc.n; n++ {
		for f := 0; f < tc.f; f++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					g := float64(dy[((n*tc.f+f)*oh+oy)*ow+ox])
					db[f] += g
					for c := 0; c < tc.c; c++ {
						for ki := 0; ki < tc.k; ki++ {
							for kj := 0; kj < tc.k; kj++ {
								iy, ix := oy*tc.s+ki-tc.p, ox*tc.s+kj-tc.p
								if iy < 0 || iy >= tc.h || ix < 0 || ix >= tc.w {
									continue
								}
								wi := ((f*tc.c+c)*tc.k+ki)*tc.k + kj
								xi := ((n*tc.c+c)*tc.h+iy)*tc.w + ix
								dw[wi] += g * float64(x[xi])
								dx[xi] += g * float64(w[wi])
							}
						}
					}
				}
			}
		}
	}
	return dx, dw, db
}

// convTestClose checks got against want with a tolerance relative to the
// largest |want|, as float32 sums of many terms need.
func convTestClose(t *testing.T, want []float64, got []float32, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	scale := 1.0
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i, v := range got {
		require.InDelta(t, want[i], float64(v), 1e-5*scale, "%s[%d]", what, i)
	}
}

// TestConv2DPathsMatchNaive compares Forward (training and inference),
// Backward and BackwardParams with the direct loops on every path.
func TestConv2DPathsMatchNaive(t *testing.T) {
	for _, tc := range convPathCases {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.f)))
			conv := convTestBuild(t, tc, rng)
			x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
			want, oh, ow := convTestNaive(tc, x.Float32s(), conv.W().Data(), conv.B().Data())
			yInfer := append([]float32(nil), conv.Forward(x, false).Float32s()...)
			y := conv.Forward(x, true)
			require.Equal(t, []int{tc.n, tc.f, oh, ow}, []int(y.Shape()))
			require.Equal(t, yInfer, y.Float32s(), "inference and training Forward differ")
			convTestClose(t, want, y.Float32s(), "Y")

			dy := convTestRand(rng, y.Shape()...)
			wantDX, wantDW, wantDB := convTestNaiveBackward(tc, x.Float32s(), conv.W().Data(), dy.Float32s(), oh, ow)
			dx := conv.Backward(dy)
			require.Equal(t, []int(x.Shape()), []int(dx.Shape()))
			convTestClose(t, wantDX, dx.Float32s(), "dX")
			convTestClose(t, wantDW, conv.W().GradData(), "dW")
			convTestClose(t, wantDB, conv.B().GradData(), "db")

			// BackwardParams adds the same dW and db again, bit for bit.
			dw := append([]float32(nil), conv.W().GradData()...)
			db := append([]float32(nil), conv.B().GradData()...)
			conv.W().ZeroGrad()
			conv.B().ZeroGrad()
			conv.BackwardParams(dy)
			require.Equal(t, dw, conv.W().GradData())
			require.Equal(t, db, conv.B().GradData())
		})
	}
}

// TestConv2DSameOnAnyCores checks that outputs and gradients are bit for
// bit the same with one core as with two, and from run to run: the samples
// are cut into blocks by batch size alone, and the blocks' gradients added
// in order, whichever goroutine computed them.
func TestConv2DSameOnAnyCores(t *testing.T) {
	for _, tc := range []convTestCase{
		{n: 13, c: 3, h: 12, w: 11, f: 5, k: 3, s: 1, p: 1},
		{n: 64, c: 1, h: 28, w: 28, f: 6, k: 5, s: 1, p: 2},
		{n: 9, c: 2, h: 10, w: 10, f: 12, k: 3, s: 2, p: 0},
		{n: 13, c: 8, h: 12, w: 11, f: 8, k: 3, s: 1, p: 1}, // Winograd
	} {
		t.Run(tc.String(), func(t *testing.T) {
			run := func(procs int) (y, dx, dw, db []float32) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				rng := rand.New(rand.NewPCG(8, 9))
				conv := convTestBuild(t, tc, rng)
				x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
				y = append(y, conv.Forward(x, true).Float32s()...)
				dy := convTestRand(rng, conv.Forward(x, true).Shape()...)
				dx = append(dx, conv.Backward(dy).Float32s()...)
				return y, dx, conv.W().GradData(), conv.B().GradData()
			}
			y1, dx1, dw1, db1 := run(1)
			for range 3 {
				y2, dx2, dw2, db2 := run(2)
				require.Equal(t, y1, y2)
				require.Equal(t, dx1, dx2)
				require.Equal(t, dw1, dw2)
				require.Equal(t, db1, db2)
			}
		})
	}
}

// TestConv2DZeroAllocsTwoCores is TestConv2DZeroAllocs with the helper
// goroutine at work: testing.AllocsPerRun runs on one core, so this counts
// allocations itself with GOMAXPROCS 2.
func TestConv2DZeroAllocsTwoCores(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rng := rand.New(rand.NewPCG(15, 16))
	for _, tc := range []convTestCase{
		{n: 16, c: 1, h: 28, w: 28, f: 6, k: 5, s: 1, p: 2},
		{n: 16, c: 3, h: 9, w: 9, f: 12, k: 3, s: 2, p: 0},
		{n: 16, c: 8, h: 20, w: 20, f: 8, k: 3, s: 1, p: 0}, // Winograd
	} {
		conv := convTestBuild(t, tc, rng)
		x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
		dy := convTestRand(rng, conv.Forward(x, true).Shape()...)
		step := func() {
			conv.Forward(x, true)
			conv.Backward(dy)
			conv.Forward(x, false)
			conv.BackwardParams(dy)
		}
		require.Zero(t, mallocs(step, 20), "%v", tc)
	}
}

// mallocs returns the heap allocations per call of f, on the current
// GOMAXPROCS, after runs calls to warm up (the first calls that run
// concurrently grow pools: gemm's workspaces, the runtime's caches). The
// runtime also allocates now and then on its own when goroutines wait for
// each other (see TestStepZeroAllocsTwoCores in cmd/mnist), so it counts
// runs calls at a time, up to ten times, and returns the smallest count: an
// allocation made by f itself is in every one.
func mallocs(f func(), runs int) float64 {
	for range runs {
		f()
	}
	least := math.Inf(1)
	for range 10 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			f()
		}
		runtime.ReadMemStats(&after)
		least = min(least, float64(after.Mallocs-before.Mallocs)/float64(runs))
		if least == 0 {
			break
		}
	}
	return least
}

// TestConv2DLargeBatchMemory checks that scratch memory does not grow with
// the batch: a Forward at batch 200 after one at batch 2 allocates little
// beyond the output.
func TestConv2DLargeBatchMemory(t *testing.T) {
	tc := convTestCase{n: 200, c: 32, h: 12, w: 12, f: 16, k: 3, s: 1, p: 1}
	rng := rand.New(rand.NewPCG(17, 18))
	conv := convTestBuild(t, tc, rng)
	conv.Forward(convTestRand(rng, 2, tc.c, tc.h, tc.w), false)
	x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	y := conv.Forward(x, false)
	runtime.ReadMemStats(&after)
	out := 4 * y.Shape().TotalSize()
	cols := 4 * tc.n * tc.c * tc.k * tc.k * tc.h * tc.w // what unrolling the whole batch would take
	require.Less(t, int(after.TotalAlloc-before.TotalAlloc), out+cols/10, "output %d bytes", out)
}

// TestConv2DWinogradPath checks which layers take the Winograd path (Y, dW, db):
// 3×3 kernels with stride 1 and at least 8 input channels and filters.
func TestConv2DWinogradPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, tc := range []struct {
		convTestCase
		want bool
	}{
		{convTestCase{n: 1, c: 32, h: 26, w: 26, f: 64, k: 3, s: 1, p: 0}, true},
		{convTestCase{n: 1, c: 8, h: 7, w: 9, f: 8, k: 3, s: 1, p: 1}, true},
		{convTestCase{n: 1, c: 8, h: 7, w: 9, f: 8, k: 3, s: 1, p: 3}, true},
		{convTestCase{n: 1, c: 7, h: 7, w: 9, f: 8, k: 3, s: 1, p: 1}, false},
		{convTestCase{n: 1, c: 8, h: 7, w: 9, f: 7, k: 3, s: 1, p: 1}, false},
		{convTestCase{n: 1, c: 8, h: 7, w: 9, f: 8, k: 3, s: 2, p: 1}, false},
		{convTestCase{n: 1, c: 8, h: 7, w: 9, f: 8, k: 5, s: 1, p: 1}, false},
		{convTestCase{n: 1, c: 1, h: 28, w: 28, f: 32, k: 3, s: 1, p: 0}, false},
	} {
		require.Equal(t, tc.want, layers.ConvWinograd(convTestBuild(t, tc.convTestCase, rng)), tc.String())
	}
}

// TestConv2DWinogradAVX2SameBits checks that the assembly loops of the
// Winograd transforms give the Go loops' results bit for bit (Y, and dW,
// db and dX), on outputs with rows of 8 tiles and more (the assembly's),
// odd sizes, and inputs and gradients with ±0, ±Inf and NaN sprinkled in.
// A NaN may come out with another payload (a sum of two NaNs keeps either),
// but in the same place. (Where the build or the CPU has no AVX2 loops,
// both runs take the Go loops.)
func TestConv2DWinogradAVX2SameBits(t *testing.T) {
	defer layers.SetAVX2(layers.SetAVX2(true))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for _, tc := range []struct {
		convTestCase
		special bool
	}{
		{convTestCase{n: 2, c: 32, h: 26, w: 26, f: 64, k: 3, s: 1, p: 0}, false},
		{convTestCase{n: 2, c: 8, h: 21, w: 19, f: 9, k: 3, s: 1, p: 1}, false},
		{convTestCase{n: 3, c: 9, h: 36, w: 37, f: 8, k: 3, s: 1, p: 0}, false},
		{convTestCase{n: 2, c: 8, h: 20, w: 22, f: 8, k: 3, s: 1, p: 1}, true},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.h), uint64(tc.w)))
			conv := convTestBuild(t, tc.convTestCase, rng)
			require.True(t, layers.ConvWinograd(conv))
			x := convTestRand(rng, tc.n, tc.c, tc.h, tc.w)
			dy := convTestRand(rng, conv.Forward(x, true).Shape()...)
			if tc.special {
				for _, v := range [][]float32{x.Float32s(), dy.Float32s()} {
					for range len(v) / 50 {
						v[rng.IntN(len(v))] = specials[rng.IntN(len(specials))]
					}
				}
			}
			var got [2][4][]float32 // assembly, Go: Y, dX, dW, db
			for i, avx := range []bool{true, false} {
				layers.SetAVX2(avx)
				conv.W().ZeroGrad()
				conv.B().ZeroGrad()
				got[i][0] = append([]float32(nil), conv.Forward(x, true).Float32s()...)
				got[i][1] = append([]float32(nil), conv.Backward(dy).Float32s()...)
				got[i][2] = append([]float32(nil), conv.W().GradData()...)
				got[i][3] = append([]float32(nil), conv.B().GradData()...)
			}
			for k, name := range []string{"Y", "dX", "dW", "db"} {
				asm, goLoops := got[0][k], got[1][k]
				require.Equal(t, len(goLoops), len(asm))
				for i, v := range asm {
					if v != v && goLoops[i] != goLoops[i] {
						continue
					}
					require.Equal(t, math.Float32bits(goLoops[i]), math.Float32bits(v), "%s[%d]: Go %v, assembly %v", name, i, goLoops[i], v)
				}
			}
			if tc.special {
				nan := 0
				for _, v := range got[0][0] {
					if v != v {
						nan++
					}
				}
				require.Positive(t, nan, "no NaN reached the output: the special values were not exercised")
				require.Less(t, nan, len(got[0][0]), "every output is NaN: the comparison checks nothing")
			}
		})
	}
}
