// Package examples holds the code of docs/custom-models.md as Example
// functions, which go test compiles and runs, so that the tutorial cannot
// drift from the library: a test checks that every Go snippet of the
// tutorial appears, line for line, in example_test.go.
//
//	go test ./docs/examples
package examples
