package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/valsem"
)

const root = "../.."

func catalogProps() map[string]string {
	rules := map[string]string{}
	for _, r := range valsem.Catalog() {
		rules[r.Code.String()] = r.Property
	}
	return rules
}

// TestSites: every rule of the catalog has at least one enforcement site
// (ValSem400's fall-through error aside, every site is found), every extra
// check matches exactly one if statement, site IDs are unique, and every
// mutant is still valid Go that differs from the original.
func TestSites(t *testing.T) {
	rules := catalogProps()
	sites, unguarded, err := findSites(root, rules)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	ids := map[string]bool{}
	checks := map[string]bool{}
	for _, s := range sites {
		if ids[s.ID] {
			t.Errorf("two sites named %s", s.ID)
		}
		ids[s.ID] = true
		for _, r := range s.Rules {
			seen[r] = true
		}
		if s.Check != "" {
			checks[s.Check] = true
		}
		if len(s.Tests) == 0 {
			t.Errorf("%s: no tests", s.ID)
		}
		src, err := os.ReadFile(filepath.Join(root, s.File))
		if err != nil {
			t.Fatal(err)
		}
		mut := mutate(src, withGuard(s.edits, "false"))
		if string(mut) == string(src) {
			t.Errorf("%s: the mutant is the original", s.ID)
		}
		if !strings.Contains(string(mut), "false && (") && !strings.Contains(string(mut), "if false {") {
			t.Errorf("%s: the mutant disables nothing", s.ID)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), s.File, mut, 0); err != nil {
			t.Errorf("%s: the mutant does not parse: %v", s.ID, err)
		}
	}
	for code := range rules {
		if !seen[code] {
			t.Errorf("%s: no enforcement site found", code)
		}
	}
	for _, x := range extras {
		if x.Check != "" && !checks[x.Check] {
			t.Errorf("extra check %q: no site", x.Check)
		}
	}
	for _, u := range unguarded {
		if !strings.HasPrefix(u, "transitions/psk.go:") || !strings.Contains(u, "ValSem400") {
			t.Errorf("rule error outside any if or case: %s", u)
		}
	}
}

// TestGuards checks the mutation of each kind of guard on a small file.
func TestGuards(t *testing.T) {
	dir := t.TempDir()
	src := `package p

import "github.com/mlscore/mlscore/valsem"

func f(a, b int) error {
	if a > b {
		return valsem.Errorf(valsem.ValSem002, "a")
	}
	switch {
	case a == 1, b == 2:
		return valsem.Errorf(valsem.ValSem003, "b")
	}
	switch a {
	case 7:
		return valsem.Wrap(valsem.ValSem004, nil, "c")
	}
	if a == b {
		return nil
	} else {
		return valsem.Errorf(valsem.ValSem005, "d")
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sites, _, err := findSites(dir, map[string]string{"ValSem002": "T2", "ValSem003": "T3", "ValSem004": "T4", "ValSem005": "T5"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		rule, mutant string
	}{
		{"ValSem002", "if false && (a > b) {"},
		{"ValSem003", "case false && (a == 1), false && (b == 2):"},
		{"ValSem004", "case 7:\n\t\tif false {\nreturn valsem.Wrap(valsem.ValSem004, nil, \"c\")\n}"},
		{"ValSem005", "} else {\n\t\tif false {\nreturn valsem.Errorf(valsem.ValSem005, \"d\")\n}"},
	}
	if len(sites) != len(want) {
		t.Fatalf("%d sites, want %d", len(sites), len(want))
	}
	for i, w := range want {
		s := sites[i]
		if len(s.Rules) != 1 || s.Rules[0] != w.rule {
			t.Errorf("site %d: rules %v, want %s", i, s.Rules, w.rule)
		}
		if got := string(mutate([]byte(src), withGuard(s.edits, "false"))); !strings.Contains(got, w.mutant) {
			t.Errorf("site %d (%s): mutant lacks %q:\n%s", i, w.rule, w.mutant, got)
		}
		if s.Func != "f" || s.ID != "p.go:f#"+string(rune('1'+i)) {
			t.Errorf("site %d: func %q id %q", i, s.Func, s.ID)
		}
	}
}

// TestKnownTable: every survivor of the committed table has its reason,
// and readKnown finds each of them (so CI accepts exactly those).
func TestKnownTable(t *testing.T) {
	path := filepath.Join(root, "valsem", "testdata", "mutation.txt")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	survivors := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "| `") && strings.Contains(line, "| survived |") {
			survivors++
			if strings.HasSuffix(line, "|  |") {
				t.Errorf("survivor without a reason: %s", line)
			}
		}
	}
	known, err := readKnown(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != survivors {
		t.Errorf("readKnown found %d survivors with reasons, the table has %d", len(known), survivors)
	}
}

// TestTableCoversSites: the committed table has exactly one row for each
// site the code has now, under the same rule or check, so that CI's random
// sample never draws a site the table does not know (a new site must be
// run once with -write, and a survivor given its reason, before it lands).
func TestTableCoversSites(t *testing.T) {
	sites, _, err := findSites(root, catalogProps())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "valsem", "testdata", "mutation.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := rowRE.FindStringSubmatch(line); m != nil {
			rows[m[1]+" "+m[2]]++
		}
	}
	for _, s := range sites {
		key := s.ID + " " + s.label()
		switch rows[key] {
		case 0:
			t.Errorf("site %s (%s) is not in valsem/testdata/mutation.txt: run go run ./internal/mutatecheck -write valsem/testdata/mutation.txt", s.ID, s.label())
		case 1:
		default:
			t.Errorf("site %s (%s) has %d rows in the table", s.ID, s.label(), rows[key])
		}
		delete(rows, key)
	}
	for key := range rows {
		t.Errorf("the table lists %s, which is no longer a site", key)
	}
}
