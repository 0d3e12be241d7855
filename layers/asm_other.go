//go:build !amd64 || purego

package layers

// useAVX2 is false where there are no assembly loops (not amd64, or built
// with the purego tag): everything goes through the Go loops, and the
// stand-ins of pool_other.go and winograd_other.go, which keep the dispatch
// compiling, are never called.
var useAVX2 = false
