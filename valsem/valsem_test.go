package valsem

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorsIs(t *testing.T) {
	err := fmt.Errorf("processing commit: %w", Errorf(ValSem103, "encryption key already used by leaf %d", 7))
	if !errors.Is(err, ValSem103) {
		t.Fatalf("errors.Is(%v, ValSem103) = false", err)
	}
	if errors.Is(err, ValSem101) {
		t.Fatalf("errors.Is(%v, ValSem101) = true", err)
	}
	if !strings.Contains(err.Error(), "mls: ValSem103: encryption key already used by leaf 7") {
		t.Fatalf("message %q", err.Error())
	}
	cause := errors.New("inner")
	if w := Wrap(ValSem010, cause, "leaf 3"); !errors.Is(w, cause) || !errors.Is(w, ValSem010) {
		t.Fatalf("Wrap does not unwrap to its cause and code")
	}
}

func TestCatalog(t *testing.T) {
	rules := Catalog()
	if len(rules) != 44 {
		t.Fatalf("catalog has %d rules, want the 44 of the OpenMLS table", len(rules))
	}
	for i, r := range rules {
		if i > 0 && rules[i-1].Code >= r.Code {
			t.Errorf("catalog not strictly ordered at %v", r.Code)
		}
		if r.Summary == "" || r.Section == "" {
			t.Errorf("%v lacks a summary or section", r.Code)
		}
		if got, ok := Lookup(r.Code); !ok || got != r {
			t.Errorf("Lookup(%v) = %v, %v", r.Code, got, ok)
		}
	}
	if _, ok := Lookup(243); ok {
		t.Errorf("ValSem243 is not an OpenMLS rule")
	}
}
