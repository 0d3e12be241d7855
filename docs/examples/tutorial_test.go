package examples_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// snippets returns the Go code blocks of a Markdown document, each as its
// lines.
func snippets(doc string) [][]string {
	var blocks [][]string
	var cur []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, cur)
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// norm strips indentation and collapses runs of spaces, so that a snippet
// taken from inside a function matches at any depth, whatever gofmt's
// alignment of its comments.
func norm(line string) string { return strings.Join(strings.Fields(line), " ") }

// pieces splits a snippet at its elision lines ("// ..." or "..."), which
// stand for code the tutorial leaves out, and drops blank lines at the
// ends of each piece.
func pieces(block []string) [][]string {
	var out [][]string
	var cur []string
	flush := func() {
		for len(cur) > 0 && norm(cur[0]) == "" {
			cur = cur[1:]
		}
		for len(cur) > 0 && norm(cur[len(cur)-1]) == "" {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for _, l := range block {
		if n := norm(l); n == "// ..." || n == "..." {
			flush()
			continue
		}
		cur = append(cur, l)
	}
	flush()
	return out
}

// find returns the index of the first line of src, at or after from, where
// the lines of piece appear in a row (compared without indentation), or −1.
func find(src []string, piece []string, from int) int {
	for i := from; i+len(piece) <= len(src); i++ {
		ok := true
		for j, l := range piece {
			if norm(src[i+j]) != norm(l) {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// TestTutorialMatchesExamples checks that every Go snippet of
// docs/custom-models.md is code of example_test.go, line for line and in
// order within the snippet, so the tutorial shows what the Examples run.
func TestTutorialMatchesExamples(t *testing.T) {
	doc, err := os.ReadFile("../custom-models.md")
	require.NoError(t, err)
	code, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	src := strings.Split(string(code), "\n")
	blocks := snippets(string(doc))
	require.GreaterOrEqual(t, len(blocks), 5, "the tutorial should have its snippets")
	for bi, b := range blocks {
		at := 0
		for _, p := range pieces(b) {
			i := find(src, p, at)
			require.GreaterOrEqual(t, i, 0, "snippet %d of docs/custom-models.md is not in example_test.go:\n%s", bi+1, strings.Join(p, "\n"))
			at = i + len(p)
		}
	}
}

// TestSnippetMatching makes sure the matcher can fail.
func TestSnippetMatching(t *testing.T) {
	src := strings.Split("func f() {\n\ta := 1\n\tb := 2\n\tc := 3\n}", "\n")
	require.Equal(t, 1, find(src, []string{"a := 1", "b := 2"}, 0))
	require.Equal(t, -1, find(src, []string{"a := 1", "c := 3"}, 0))
	require.Equal(t, [][]string{{"a := 1"}, {"c := 3"}}, pieces([]string{"", "a := 1", "// ...", "c := 3", ""}))
	require.Equal(t, [][]string{{"x"}}, snippets("text\n```go\nx\n```\n```sh\ny\n```\n"))
}
