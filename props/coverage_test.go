package props

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/valsem"
)

// TestCatalogCoverage parses props/*_test.go and fails if a rule of
// valsem.Catalog has no property TestValSemNNN, if the catalog names
// another property, or if a TestValSemNNN names no rule.
func TestCatalogCoverage(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{}
	for _, path := range files {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "TestValSem") {
				tests[fd.Name.Name] = true
			}
		}
	}
	known := map[string]bool{}
	for _, r := range valsem.Catalog() {
		name := "Test" + r.Code.String()
		known[name] = true
		if !tests[name] {
			t.Errorf("%v has no property %s in props", r.Code, name)
		}
		if r.Property != name {
			t.Errorf("catalog names property %q for %v, want %s", r.Property, r.Code, name)
		}
	}
	for name := range tests {
		if !known[name] {
			t.Errorf("%s tests no rule of the catalog", name)
		}
	}
}
