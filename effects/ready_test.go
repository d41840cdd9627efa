package effects

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// declaredKinds returns the names of the types of this package's non-test
// files that have a Phase method: the effect kinds.
func declaredKinds(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fs := token.NewFileSet()
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fs, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Name.Name != "Phase" {
				continue
			}
			if id, ok := fd.Recv.List[0].Type.(*ast.Ident); ok {
				out = append(out, id.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// readyKinds returns the element type names of Ready's slice fields, with
// the field path of each.
func readyKinds(v reflect.Type, path string, out map[string]string) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Type.Kind() {
		case reflect.Struct:
			readyKinds(f.Type, path+f.Name+".", out)
		case reflect.Slice:
			out[f.Type.Elem().Name()] = path + f.Name
		}
	}
}

// TestGroupCoversEveryKind: every effect kind declared in this package has
// a field of Ready, and Group puts one of each into its field.
func TestGroupCoversEveryKind(t *testing.T) {
	kinds := declaredKinds(t)
	if len(kinds) < 15 {
		t.Fatalf("found only %d effect kinds: %v", len(kinds), kinds)
	}
	fields := map[string]string{}
	readyKinds(reflect.TypeOf(Ready{}), "", fields)
	for _, k := range kinds {
		if _, ok := fields[k]; !ok {
			t.Errorf("effect kind %s has no field in Ready", k)
		}
	}
	if len(fields) != len(kinds) {
		t.Errorf("Ready has %d fields, %d kinds are declared", len(fields), len(kinds))
	}
	// One zero value of each kind, through Group: each lands in its field.
	effs := []Effect{PersistSecret{}, DeleteSecret{}, SendToGroup{}, SendWelcome{}, PublishGroupInfo{},
		DeliverApplication{}, ProposalReceived{}, CommitStaged{}, EpochAdvanced{}, RemovedFromGroup{}, Exported{},
		KeyPackageCreated{}, SignatureKeyCreated{}, WelcomeStaged{}, Joined{}}
	if len(effs) != len(kinds) {
		t.Fatalf("the sample has %d kinds, %d are declared", len(effs), len(kinds))
	}
	r := Group(effs)
	var count func(v reflect.Value) int
	count = func(v reflect.Value) int {
		n := 0
		for i := range v.NumField() {
			switch f := v.Field(i); f.Kind() {
			case reflect.Struct:
				n += count(f)
			case reflect.Slice:
				if f.Len() != 1 {
					t.Errorf("field %s holds %d effects, want 1", v.Type().Field(i).Name, f.Len())
				}
				n += f.Len()
			}
		}
		return n
	}
	if n := count(reflect.ValueOf(r)); n != len(kinds) {
		t.Errorf("Group placed %d of %d effects", n, len(kinds))
	}
	if s := r.Secrets(); len(s) != 2 || s[0].Phase() != PhasePersist || s[1].Phase() != PhaseDelete {
		t.Errorf("Secrets %v", s)
	}
}
