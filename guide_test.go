package mls

import (
	"go/ast"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGuideNames keeps docs/guide.md true to the code: every `mls.Name`
// it uses is an exported name of this package (a declaration, or a method
// or field written as mls.Type.Name), and every Test, Example or
// Benchmark function it cites exists in some package of the module.
func TestGuideNames(t *testing.T) {
	guide, err := os.ReadFile("docs/guide.md")
	check(t, err)
	exported := map[string]bool{}
	for _, f := range packageFiles(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				exported[n.Name.Name] = true
			case *ast.TypeSpec:
				exported[n.Name.Name] = true
			case *ast.ValueSpec:
				for _, id := range n.Names {
					exported[id.Name] = true
				}
			case *ast.Field:
				for _, id := range n.Names {
					exported[id.Name] = true
				}
			}
			return true
		})
	}
	for _, m := range regexp.MustCompile(`\bmls\.([A-Z]\w*)(?:\.([A-Z]\w*))?`).FindAllStringSubmatch(string(guide), -1) {
		for _, name := range m[1:] {
			if name != "" && !exported[name] {
				t.Errorf("docs/guide.md names %s, which package mls does not declare", m[0])
			}
		}
	}

	funcs := map[string]bool{}
	check(t, filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`(?m)^func ((?:Test|Example|Benchmark)\w*)\(`).FindAllSubmatch(b, -1) {
			funcs[string(m[1])] = true
		}
		return nil
	}))
	for _, m := range regexp.MustCompile("`(?:\\w+\\.)?((?:Test|Example|Benchmark)[A-Z_]\\w*)`").FindAllStringSubmatch(string(guide), -1) {
		if !funcs[m[1]] {
			t.Errorf("docs/guide.md cites %s, which no test file of the module declares", m[1])
		}
	}
}
