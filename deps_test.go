package mls

// This file enforces the dependency rules of DESIGN.md ("Module and
// layout"): each package imports only packages listed above it in the
// layering below, and the pure core imports none of the forbidden standard
// packages (no randomness, clock, I/O or reflection of its own).
//
// DO NOT CHANGE THIS DATA TO FIX BUILDS. A new package gets a place in the
// layering in a reviewed change to DESIGN.md first.

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/mlscore/mlscore"

// layers lists the module's packages from the bottom up: a package may
// import only packages of earlier entries (and its own subpackages' test
// helpers never reach production code).
var layers = []string{
	"treemath",
	"valsem",
	"valsem/internal/gendoc",
	"internal/pds",
	"codec",
	"entropy",
	"suite",
	"tree",
	"keysched",
	"state",
	"effects",
	"transitions",
	"replay",
	"sim",
	"entropy/entropytest",
	"props",
	"vectors",
	".", // root package mls: the shell
	"cmd/mls",
}

// core lists the pure packages and forbidden lists what they may not import.
var core = []string{
	"treemath", "valsem", "internal/pds", "codec", "suite", "tree", "keysched",
	"state", "effects", "transitions",
}

var forbidden = []string{
	"crypto/rand", "math/rand", "math/rand/v2", "time", "os", "os/exec", "net",
	"crypto/hpke", "hash/maphash", "reflect", "unsafe", "log", "log/slog", "io/ioutil",
	"syscall",
}

func TestDependencyRules(t *testing.T) {
	rank := map[string]int{}
	for i, p := range layers {
		rank[p] = i
	}
	imports := map[string]map[string]bool{} // package dir -> imports (non-test files)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "interop") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			imports[dir][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, ims := range imports {
		r, ok := rank[dir]
		if !ok {
			t.Errorf("package %q has no place in the layering of deps_test.go", dir)
			continue
		}
		for im := range ims {
			if rel, ok := strings.CutPrefix(im, modulePath+"/"); ok {
				ir, known := rank[rel]
				if !known {
					t.Errorf("%s imports %s, which has no place in the layering", dir, im)
				} else if ir >= r {
					t.Errorf("%s imports %s, which is not below it in the layering", dir, rel)
				}
			} else if im == modulePath && dir != "cmd/mls" {
				t.Errorf("%s imports the shell package mls", dir)
			}
			if slices.Contains(core, dir) && slices.Contains(forbidden, im) {
				t.Errorf("core package %s imports forbidden %s", dir, im)
			}
		}
	}
}
