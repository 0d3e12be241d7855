package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the products descent computes most: the MLP on MNIST
// (batch 64 or 256, 784-128-10), a 512³ square, one sample of a 32→64 3×3
// convolution on a 24×24 map (m = 64 filters, k = 32·3·3 = 288, n = 24·24 =
// 576) and of a 1→32 3×3 convolution on a 26×26 map (m = 32, k = 9, n = 676),
// each in the three patterns its forward and backward passes use.
var benchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"MLP/NN/64x128x784", false, false, 64, 128, 784},
	{"MLP/TN/784x128x64", true, false, 784, 128, 64},
	{"MLP/NT/64x784x128", false, true, 64, 784, 128},
	{"MLP/NN/64x10x128", false, false, 64, 10, 128},
	{"MLP/TN/128x10x64", true, false, 128, 10, 64},
	{"MLP/NT/64x128x10", false, true, 64, 128, 10},
	{"MLP/NN/256x128x784", false, false, 256, 128, 784},
	{"MLP/TN/784x128x256", true, false, 784, 128, 256},
	{"MLP/NT/256x784x128", false, true, 256, 784, 128},
	{"Square/NN/512", false, false, 512, 512, 512},
	{"Square/TN/512", true, false, 512, 512, 512},
	{"Square/NT/512", false, true, 512, 512, 512},
	{"Conv/NN/64x576x288", false, false, 64, 576, 288},
	{"Conv/NT/64x288x576", false, true, 64, 288, 576},
	{"Conv/TN/288x576x64", true, false, 288, 576, 64},
	{"Conv1/NN/32x676x9", false, false, 32, 676, 9},
	{"Conv1/NT/32x9x676", false, true, 32, 9, 676},
	{"Conv1/TN/9x676x32", true, false, 9, 676, 32},
}

// BenchmarkKernel measures Sgemm (the assembly path where the CPU has it) on
// benchShapes, single products at a time, in GFLOP/s (2·m·n·k per product).
func BenchmarkKernel(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) { benchSgemm(b, s.transA, s.transB, s.m, s.n, s.k) })
	}
}

// BenchmarkKernelSerial is BenchmarkKernel with the worker goroutines
// disabled: what one core does.
func BenchmarkKernelSerial(b *testing.B) {
	defer setMaxThreads(setMaxThreads(1))
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) { benchSgemm(b, s.transA, s.transB, s.m, s.n, s.k) })
	}
}

// BenchmarkKernelGeneric measures the portable Go path on the same shapes.
func BenchmarkKernelGeneric(b *testing.B) {
	defer setAsm(setAsm(false))
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) { benchSgemm(b, s.transA, s.transB, s.m, s.n, s.k) })
	}
}

// BenchmarkKernelCube measures square products of growing size.
func BenchmarkKernelCube(b *testing.B) {
	for _, n := range []int{16, 32, 64, 128, 256, 1024} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchSgemm(b, false, false, n, n, n) })
	}
}

func benchSgemm(b *testing.B, transA, transB bool, m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, bb, c := randSlice(rng, m*k), randSlice(rng, k*n), randSlice(rng, m*n)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	Sgemm(transA, transB, m, n, k, 1, a, lda, bb, ldb, 1, c, n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Sgemm(transA, transB, m, n, k, 1, a, lda, bb, ldb, 1, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
