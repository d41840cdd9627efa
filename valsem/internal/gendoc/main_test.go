package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/valsem"
)

// root is the module root, seen from this package's directory.
const root = "../../.."

// TestGenerated fails when docs/validation.md is not what go generate
// ./valsem writes from the catalog.
func TestGenerated(t *testing.T) {
	got, err := os.ReadFile(filepath.Join(root, "docs", "validation.md"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile(filepath.Join(root, "valsem", "testdata", "mutation.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := Render(valsem.Catalog(), table); !bytes.Equal(got, want) {
		t.Fatal("docs/validation.md is stale: run go generate ./valsem")
	}
}

var rowRE = regexp.MustCompile(`^\| (ValSem\d{3}) \| (.*) \| \[([0-9.]+)\]\([^)]*\) \| (.*) \| (.*) \|$`)

// TestTable parses the table of docs/validation.md and fails if a rule of
// the catalog has no row, no enforcing function or no property, if a named
// function does not exist or does not reference the rule's constant, or if
// a named property test does not exist in props/*_test.go.
func TestTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "validation.md"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ enforcers, properties []string }
	rows := map[string]row{}
	for _, line := range strings.Split(string(doc), "\n") {
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("%s has two rows", m[1])
		}
		rows[m[1]] = row{names(m[4]), names(m[5])}
	}
	funcs := map[string]map[string][]string{} // package dir -> function name -> ValSem constants referenced
	for _, r := range valsem.Catalog() {
		code := r.Code.String()
		rw, ok := rows[code]
		switch {
		case !ok:
			t.Errorf("%s has no row in docs/validation.md", code)
			continue
		case len(rw.enforcers) == 0:
			t.Errorf("%s names no enforcing function", code)
		case len(rw.properties) == 0:
			t.Errorf("%s names no property", code)
		}
		for _, e := range rw.enforcers {
			pkg, fn, _ := strings.Cut(e, ".")
			if funcs[pkg] == nil {
				funcs[pkg] = parseFuncs(t, filepath.Join(root, pkg), false)
			}
			refs, ok := funcs[pkg][fn]
			if !ok {
				t.Errorf("%s: enforcing function %s does not exist", code, e)
			} else if !contains(refs, code) {
				t.Errorf("%s: %s does not reference valsem.%s", code, e, code)
			}
		}
		for _, p := range rw.properties {
			name, ok := strings.CutPrefix(p, "props.")
			if funcs["props_test"] == nil {
				funcs["props_test"] = parseFuncs(t, filepath.Join(root, "props"), true)
			}
			if _, exists := funcs["props_test"][name]; !ok || !exists {
				t.Errorf("%s: property %s does not exist in props", code, p)
			}
		}
	}
	if len(rows) != len(valsem.Catalog()) {
		t.Errorf("docs/validation.md has %d rule rows, the catalog %d rules", len(rows), len(valsem.Catalog()))
	}
}

// names returns the `quoted` names of a table cell.
func names(cell string) []string {
	var out []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// parseFuncs parses the Go files of dir (the test files if tests, else the
// others) and returns their functions, named "F", "T.M" or "(*T).M", with
// the valsem.ValSemNNN constants each references.
func parseFuncs(t *testing.T, dir string, tests bool) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	out := map[string][]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") != tests {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			name := fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				switch rt := fd.Recv.List[0].Type.(type) {
				case *ast.StarExpr:
					if id, ok := rt.X.(*ast.Ident); ok {
						name = "(*" + id.Name + ")." + name
					}
				case *ast.Ident:
					name = rt.Name + "." + name
				}
			}
			refs := []string{}
			if fd.Body != nil {
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if se, ok := n.(*ast.SelectorExpr); ok {
						if x, ok := se.X.(*ast.Ident); ok && x.Name == "valsem" && strings.HasPrefix(se.Sel.Name, "ValSem") {
							refs = append(refs, se.Sel.Name)
						}
					}
					return true
				})
			}
			out[name] = append(out[name], refs...)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
