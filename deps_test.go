package mls

// This file enforces the dependency rules of docs/design.md ("Module and
// layout"): each package imports only packages listed above it in the
// layering below, and the pure core imports none of the forbidden standard
// packages (no randomness, clock, I/O or reflection of its own).
//
// DO NOT CHANGE THIS DATA TO FIX BUILDS. A new package gets a place in the
// layering in a reviewed change to docs/design.md first.

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
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
	"internal/mutatecheck", // a tool (go run): reads the catalog, runs go test on mutants
	"internal/testrun",     // sizes the test runs (imported by _test files only)
	"internal/atomicfile",  // the one atomic file writer (not core: it does I/O)
	"internal/pds",
	"internal/core",
	"codec",
	"entropy",
	"entropy/system",
	"suite",
	"tree",
	"keysched",
	"state",
	"effects",
	"transitions",
	"x509cred",              // X.509 credential validation (imports codec only)
	"x509cred/x509credtest", // deterministic test PKIs for x509cred and the shell's tests
	"internal/synth",        // fixtures: synthetic N-member states for benchmarks
	"internal/shellhook",    // the shell's two entry points for its benchmarks (set by mls)
	"replay",
	"replay/logfile", // a replay log in a file (not core: it does I/O)
	"sim",
	"entropy/entropytest",
	"props",
	"vectors",
	".",                   // root package mls: the shell
	"storagetest",         // the conformance suite of the shell's Storage backends
	"internal/shellbench", // the shell's storage benchmarks, for every backend's module
	"cmd/mls",
}

// core lists the pure packages. A core package imports, of this module,
// only other core packages, so nothing outside the list (the system
// entropy of entropy/system, the shell, the log files of replay/logfile) is
// reachable from the core, directly or transitively.
var core = []string{
	"treemath", "valsem", "internal/pds", "internal/core", "codec", "entropy", "suite", "tree", "keysched",
	"state", "effects", "transitions", "replay",
}

// coreKeyHolders lists the packages that may import internal/core, whose
// Key unlocks the zero-copy accessors and the state constructors: the
// packages that own or build states. internal/synth builds synthetic
// N-member states for benchmarks (fixtures, never states handed to a caller).
// A new entry lets a package write into the memory of live states.
var coreKeyHolders = []string{"tree", "state", "transitions", "internal/synth"}

// forbidden lists the standard packages the core may not import. Each entry
// forbids the package and everything under it: "net" forbids net/http,
// "os" forbids os/exec (but not "osx"), "math/rand" forbids math/rand/v2.
var forbidden = []string{
	"crypto/rand", "math/rand", "time", "os", "net", "crypto/hpke", "hash/maphash",
	"reflect", "unsafe", "log", "io/ioutil", "syscall", "runtime/cgo", "plugin",
}

// isForbidden reports whether the import path im is a forbidden package or
// lies under one.
func isForbidden(im string) bool {
	for _, f := range forbidden {
		if im == f || strings.HasPrefix(im, f+"/") {
			return true
		}
	}
	return false
}

func TestDependencyRules(t *testing.T) {
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
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != "." && err == nil {
				return filepath.SkipDir // a nested module (storage/sqlite): its own rules
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
	for _, v := range dependencyViolations(imports) {
		t.Error(v)
	}
}

// dependencyViolations checks the imports of each package directory (a
// path relative to the module root) against the layering, the core's
// closure and the forbidden list, and returns one message per violation,
// in a deterministic order.
func dependencyViolations(imports map[string]map[string]bool) []string {
	rank := map[string]int{}
	for i, p := range layers {
		rank[p] = i
	}
	var out []string
	for _, dir := range slices.Sorted(maps.Keys(imports)) {
		r, ok := rank[dir]
		if !ok {
			out = append(out, fmt.Sprintf("package %q has no place in the layering of deps_test.go", dir))
			continue
		}
		isCore := slices.Contains(core, dir)
		for _, im := range slices.Sorted(maps.Keys(imports[dir])) {
			if rel, ok := strings.CutPrefix(im, modulePath+"/"); ok {
				ir, known := rank[rel]
				switch {
				case !known:
					out = append(out, fmt.Sprintf("%s imports %s, which has no place in the layering", dir, im))
				case ir >= r:
					out = append(out, fmt.Sprintf("%s imports %s, which is not below it in the layering", dir, rel))
				case isCore && !slices.Contains(core, rel):
					out = append(out, fmt.Sprintf("core package %s imports %s, which is not a core package", dir, rel))
				}
				if rel == "internal/core" && !slices.Contains(coreKeyHolders, dir) {
					out = append(out, fmt.Sprintf("%s imports internal/core, whose key only %v may hold", dir, coreKeyHolders))
				}
			} else if im == modulePath && r <= rank["."] {
				out = append(out, fmt.Sprintf("%s imports the shell package mls", dir))
			}
			if isCore && isForbidden(im) {
				out = append(out, fmt.Sprintf("core package %s imports forbidden %s", dir, im))
			}
		}
	}
	return out
}

// TestDependencyViolations runs the checker on synthetic import lists: a
// guard that cannot fail guards nothing.
func TestDependencyViolations(t *testing.T) {
	m := func(ims ...string) map[string]bool {
		r := map[string]bool{}
		for _, im := range ims {
			r[im] = true
		}
		return r
	}
	tests := []struct {
		name    string
		imports map[string]map[string]bool
		want    []string
	}{
		{"clean core", map[string]map[string]bool{
			"tree": m("bytes", "crypto/sha256", modulePath+"/codec", modulePath+"/suite"),
		}, nil},
		{"net/http under net", map[string]map[string]bool{
			"tree": m("net/http"),
		}, []string{"core package tree imports forbidden net/http"}},
		{"os/exec under os", map[string]map[string]bool{
			"codec": m("os/exec"),
		}, []string{"core package codec imports forbidden os/exec"}},
		{"math/rand/v2 under math/rand", map[string]map[string]bool{
			"keysched": m("math/rand/v2"),
		}, []string{"core package keysched imports forbidden math/rand/v2"}},
		{"log/slog under log", map[string]map[string]bool{
			"state": m("log/slog"),
		}, []string{"core package state imports forbidden log/slog"}},
		{"prefix is by path element", map[string]map[string]bool{
			"codec": m("osx", "timex/y", "netip", "logging"),
		}, nil},
		{"shell may use the forbidden", map[string]map[string]bool{
			".": m("os", "net/http", "crypto/rand", modulePath+"/entropy/system"),
		}, nil},
		{"core reaches system entropy", map[string]map[string]bool{
			"transitions": m(modulePath + "/entropy/system"),
		}, []string{"core package transitions imports entropy/system, which is not a core package"}},
		{"core reaches replay", map[string]map[string]bool{
			"transitions": m(modulePath + "/replay"),
		}, []string{"transitions imports replay, which is not below it in the layering"}},
		{"entropy is core", map[string]map[string]bool{
			"entropy": m("crypto/rand"),
		}, []string{"core package entropy imports forbidden crypto/rand"}},
		{"core key holder", map[string]map[string]bool{
			"transitions": m(modulePath + "/internal/core"),
		}, nil},
		{"core key outside the holders", map[string]map[string]bool{
			"effects": m(modulePath + "/internal/core"),
			"sim":     m(modulePath + "/internal/core"),
		}, []string{
			"effects imports internal/core, whose key only [tree state transitions internal/synth] may hold",
			"sim imports internal/core, whose key only [tree state transitions internal/synth] may hold",
		}},
		{"unknown package", map[string]map[string]bool{
			"foo": m("fmt"),
		}, []string{`package "foo" has no place in the layering of deps_test.go`}},
		{"unknown import", map[string]map[string]bool{
			"sim": m(modulePath + "/bar"),
		}, []string{"sim imports " + modulePath + "/bar, which has no place in the layering"}},
		{"shell import", map[string]map[string]bool{
			"sim": m(modulePath),
		}, []string{"sim imports the shell package mls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dependencyViolations(tt.imports)
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations = %q, want %q", got, tt.want)
			}
		})
	}
}
