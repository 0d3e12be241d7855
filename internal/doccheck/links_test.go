package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
)

// mdLink matches a Markdown link or image target: ](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// slug turns a heading into its GitHub anchor: lower case, spaces to
// hyphens, punctuation other than hyphens and underscores dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of a Markdown document's headings, outside
// code blocks.
func anchors(doc string) map[string]bool {
	a := map[string]bool{}
	fence := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
			continue
		}
		if !fence && strings.HasPrefix(line, "#") {
			a[slug(strings.TrimLeft(line, "#"))] = true
		}
	}
	return a
}

// links returns the link targets of a Markdown document, outside code
// blocks.
func links(doc string) []string {
	var out []string
	fence := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fence = !fence
			continue
		}
		if fence {
			continue
		}
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestDocLinks checks that every relative link and image in README.md and
// docs/*.md names a file or folder that exists and, with a #fragment into a
// Markdown file, one of its headings.
func TestDocLinks(t *testing.T) {
	root := moduleRoot(t)
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	pages = append(pages, filepath.Join(root, "README.md"))
	var bad []string
	checked := 0
	for _, page := range pages {
		doc, err := os.ReadFile(page)
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, page)
		for _, target := range links(string(doc)) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			file, frag, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(path); err != nil {
					bad = append(bad, rel+": "+target+": no such file")
					continue
				}
			}
			if frag != "" && strings.HasSuffix(path, ".md") {
				dest, err := os.ReadFile(path)
				require.NoError(t, err)
				if !anchors(string(dest))[frag] {
					bad = append(bad, rel+": "+target+": no heading #"+frag)
				}
			}
		}
	}
	require.Greater(t, checked, 20, "found too few links")
	require.Empty(t, bad, "broken links:\n%s", strings.Join(bad, "\n"))
}

// TestSlug checks the anchors of a few headings like the docs' own.
func TestSlug(t *testing.T) {
	require.Equal(t, "train-it-with-your-own-loop", slug(" Train it with your own loop"))
	require.Equal(t, "flatten-and-dropout", slug("Flatten and Dropout"))
	require.Equal(t, "adam-and-adamw-optimadam-from-optimnewadam-and-optimnewadamw", slug("Adam and AdamW: `optim.Adam`, from `optim.NewAdam` and `optim.NewAdamW`"))
	require.Equal(t, []string{"a.md#x", "b.png"}, links("see [a](a.md#x) and ![b](b.png)\n```\n[c](c.md)\n```"))
}
