package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// moduleRoot returns the folder holding go.mod, walking up from the test's
// working directory (the package folder).
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above %s", dir)
		dir = parent
	}
}

// packageDirs returns every folder under root that holds non-test Go files,
// skipping hidden folders, testdata and vendor.
func packageDirs(t *testing.T, root string) []string {
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			seen[filepath.Dir(p)] = true
		}
		return nil
	})
	require.NoError(t, err)
	dirs := make([]string, 0, len(seen))
	for d := range seen {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}

// problem is one exported identifier without a proper doc comment.
type problem struct {
	pos  token.Position
	name string
	why  string
}

func (p problem) String() string {
	return fmt.Sprintf("%s:%d: %s %s", p.pos.Filename, p.pos.Line, p.name, p.why)
}

// checker collects the problems of the files it is shown.
type checker struct {
	fset     *token.FileSet
	problems []problem
	checked  int // identifiers looked at
}

// expect records a problem unless doc is a comment that starts with name
// (for a method Type.Name, with Name).
func (c *checker) expect(pos token.Pos, name string, doc *ast.CommentGroup) {
	c.checked++
	if doc == nil || strings.TrimSpace(doc.Text()) == "" {
		c.problems = append(c.problems, problem{c.fset.Position(pos), name, "has no doc comment"})
		return
	}
	text := doc.Text()
	short := name
	if i := strings.LastIndex(name, "."); i >= 0 {
		short = name[i+1:]
	}
	if !startsWithWord(text, short) {
		first, _, _ := strings.Cut(strings.TrimSpace(doc.Text()), "\n")
		c.problems = append(c.problems, problem{c.fset.Position(pos), name, fmt.Sprintf("has a doc comment that does not start with %q: %q", short, first)})
	}
}

// startsWithWord reports whether text starts with word followed by a
// non-identifier character (or the end).
func startsWithWord(text, word string) bool {
	if !strings.HasPrefix(text, word) {
		return false
	}
	rest := text[len(word):]
	if rest == "" {
		return true
	}
	r := rest[0]
	return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
}

// receiverType returns the name of a method's receiver type, without
// pointer or type parameters.
func receiverType(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// file checks the top-level declarations of one file.
func (c *checker) file(f *ast.File) {
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			name := d.Name.Name
			if recv := receiverType(d); recv != "" {
				if !ast.IsExported(recv) {
					continue // methods of unexported types are not documented
				}
				name = recv + "." + name
			}
			c.expect(d.Name.Pos(), name, d.Doc)
		case *ast.GenDecl:
			c.genDecl(d)
		}
	}
}

// genDecl checks a type, const or var declaration. In a parenthesised
// group, a spec may rely on the group's comment: a const or var block with
// a comment documents every name in it; a type still needs its own.
func (c *checker) genDecl(d *ast.GenDecl) {
	grouped := d.Lparen.IsValid()
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			if !s.Name.IsExported() {
				continue
			}
			doc := s.Doc
			if doc == nil && !grouped {
				doc = d.Doc
			}
			c.expect(s.Name.Pos(), s.Name.Name, doc)
		case *ast.ValueSpec:
			doc := s.Doc
			if doc == nil && !grouped {
				doc = d.Doc
			}
			for i, n := range s.Names {
				if !n.IsExported() {
					continue
				}
				switch {
				case doc != nil && i == 0:
					c.expect(n.Pos(), n.Name, doc)
				case doc != nil:
					// "A, B and C are ..." documents several names at once.
					c.checked++
				case grouped && d.Doc != nil:
					// The group's comment documents the whole block.
					c.checked++
				default:
					c.problems = append(c.problems, problem{c.fset.Position(n.Pos()), n.Name, "has no doc comment (nor has its group)"})
				}
			}
		}
	}
}

// checkDir parses the non-test files of one package folder and returns its
// problems, and whether it is a command (package main), which is skipped.
func checkDir(t *testing.T, root, dir string) (problems []problem, checked int, isMain, pkgDoc bool) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	c := &checker{fset: fset}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		require.NoError(t, err)
		files = append(files, f)
	}
	var docFiles []string
	for _, f := range files {
		if f.Name.Name == "main" {
			return nil, 0, true, false
		}
		if f.Doc != nil {
			pkgDoc = true
			docFiles = append(docFiles, filepath.Base(fset.Position(f.Package).Filename))
		}
	}
	if len(docFiles) > 1 {
		c.problems = append(c.problems, problem{fset.Position(files[0].Package), "package " + files[0].Name.Name,
			fmt.Sprintf("has package comments in %d files (%s): keep one, in doc.go", len(docFiles), strings.Join(docFiles, ", "))})
	}
	for _, f := range files {
		c.file(f)
	}
	for i := range c.problems {
		if rel, err := filepath.Rel(root, c.problems[i].pos.Filename); err == nil {
			c.problems[i].pos.Filename = rel
		}
	}
	return c.problems, c.checked, false, pkgDoc
}

// TestDocComments fails listing every exported identifier of every library
// package that lacks a doc comment starting with its name, and every
// package without a package comment.
func TestDocComments(t *testing.T) {
	root := moduleRoot(t)
	var all []string
	packages, idents := 0, 0
	for _, dir := range packageDirs(t, root) {
		problems, checked, isMain, pkgDoc := checkDir(t, root, dir)
		if isMain {
			continue
		}
		packages++
		idents += checked
		rel, _ := filepath.Rel(root, dir)
		if !pkgDoc {
			all = append(all, fmt.Sprintf("%s: package has no package comment (put it in doc.go)", rel))
		}
		for _, p := range problems {
			all = append(all, p.String())
		}
	}
	t.Logf("%d packages, %d exported identifiers", packages, idents)
	require.Greater(t, packages, 5, "found too few packages under %s", root)
	require.Greater(t, idents, 300, "found too few exported identifiers under %s", root)
	require.Empty(t, all, "exported identifiers without a proper doc comment:\n%s", strings.Join(all, "\n"))
}

// TestCheckerFindsProblems runs the checker on a small source with every
// kind of mistake it must catch, and on the forms it must accept.
func TestCheckerFindsProblems(t *testing.T) {
	const src = `package p

// Good is documented.
type Good int

type Bare struct{}

// Wrong names another thing.
type Renamed int

// A Thing must start with its name, not an article.
type Thing int

// Method is documented.
func (Good) Method() {}

func (Good) Undocumented() {}

func (*Bare) PtrMethod() {}

func (unexported) Ignored() {}

type unexported int

// F does things.
func F() {}

func G() {}

// Hx is not H.
func H() {}

// Grouped constants share this comment.
const (
	One = 1
	Two = 2
)

const (
	Lonely = 1
	// Named is documented.
	Named = 2
)

// X and Y are documented together.
var X, Y int

var Z int
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	require.NoError(t, err)
	c := &checker{fset: fset}
	c.file(f)
	var names []string
	for _, p := range c.problems {
		names = append(names, p.name)
	}
	require.Equal(t, []string{"Bare", "Renamed", "Thing", "Good.Undocumented", "Bare.PtrMethod", "G", "H", "Lonely", "Z"}, names)
}
