package mls

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readOnlyTables lists the package-level variables of the pure core that
// are not errors: each is a table written once at initialisation and only
// read afterwards. docs/design.md forbids package-level mutable state in the
// core (no caches, pools, counters or registries): a new entry here needs a
// reviewer's agreement that the variable is never written after init.
var readOnlyTables = []string{
	"suite.suites",               // the suite descriptions
	"keysched.NoPSK",             // the zero PSK secret
	"keysched.externalInitLabel", // a constant label as bytes
	"state.PureCiphertext",       // wire format policies
	"state.PurePlaintext",        //
	"state.MixedPlaintext",       //
	"state.MixedCiphertext",      //
	"state.encodingMagic",        // snapshot magic bytes
	"state.publicMagic",          //
	"transitions.placeholderKey", // a constant placeholder
	"transitions.greaseValues",   // the RFC 9420 GREASE values
}

// TestNoPackageState fails if a core package declares a package-level
// variable that is neither an error value nor a listed read-only table.
func TestNoPackageState(t *testing.T) {
	forEachCoreDecl(t, func(pkg string, fs *token.FileSet, d ast.Decl) {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			return
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name == "_" || (i < len(vs.Values) && isErrorValue(vs.Values[i])) {
					continue
				}
				if !slices.Contains(readOnlyTables, pkg+"."+n.Name) {
					t.Errorf("%s: package-level variable %s.%s in the pure core (docs/design.md: no package-level mutable state)", fs.Position(n.Pos()), pkg, n.Name)
				}
			}
		}
	})
}

// isErrorValue reports whether e is errors.New(...) or fmt.Errorf(...).
func isErrorValue(e ast.Expr) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	s, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := s.X.(*ast.Ident)
	return ok && ((x.Name == "errors" && s.Sel.Name == "New") || (x.Name == "fmt" && s.Sel.Name == "Errorf"))
}

// maxCoreFuncLines bounds the length of a function of the pure core (issue
// 11: one path per protocol step, no function over about 100 lines).
const maxCoreFuncLines = 100

// longCoreFuncs lists the core functions still over the bound, each with
// the length it may not exceed. An entry may only shrink or go; it is
// empty now, and stays so.
var longCoreFuncs = map[string]int{}

// TestCoreFunctionLength fails if a function of the pure core is longer
// than maxCoreFuncLines lines (or than its entry in longCoreFuncs).
func TestCoreFunctionLength(t *testing.T) {
	forEachCoreDecl(t, func(pkg string, fs *token.FileSet, d ast.Decl) {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			return
		}
		n := fs.Position(fd.End()).Line - fs.Position(fd.Pos()).Line + 1
		limit := maxCoreFuncLines
		if l, ok := longCoreFuncs[pkg+"."+fd.Name.Name]; ok {
			limit = l
		}
		if n > limit {
			t.Errorf("%s: %s.%s is %d lines, at most %d (split it: one step per function)", fs.Position(fd.Pos()), pkg, fd.Name.Name, n, limit)
		}
	})
}

// forEachCoreDecl calls f with every top-level declaration of the pure
// core's non-test files, and the package it belongs to.
func forEachCoreDecl(t *testing.T, f func(pkg string, fs *token.FileSet, d ast.Decl)) {
	t.Helper()
	for _, dir := range core {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		pkg := filepath.Base(dir)
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			fs := token.NewFileSet()
			af, err := parser.ParseFile(fs, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range af.Decls {
				f(pkg, fs, d)
			}
		}
	}
}
