//go:build amd64 && !purego

package layers

import "golang.org/x/sys/cpu"

// useAVX2 selects this package's assembly loops (2×2 max-pooling in
// pool_amd64.s, the Winograd transforms in winograd_amd64.s) where the CPU
// has AVX2. Tests turn it off to compare them with the Go loops, which
// handle the edges, other CPUs and other architectures with the same
// results.
var useAVX2 = cpu.X86.HasAVX2
