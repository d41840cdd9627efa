package replay

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/state"
)

// reflectDiff is DiffViews as it was written with reflection: the oracle
// that the reflection-free DiffViews (the core may not import reflect)
// must match, field by field.
func reflectDiff(a, b state.View) []string {
	var out []string
	reflectDiffValue(&out, "", reflect.ValueOf(a), reflect.ValueOf(b))
	return out
}

func reflectDiffValue(out *[]string, path string, a, b reflect.Value) {
	if len(*out) >= maxDiffLines || reflect.DeepEqual(a.Interface(), b.Interface()) {
		return
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			name := a.Type().Field(i).Name
			if path != "" {
				name = path + "." + name
			}
			reflectDiffValue(out, name, a.Field(i), b.Field(i))
		}
		return
	case reflect.Slice:
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d → %d entries", path, a.Len(), b.Len()))
		}
		for i := range max(a.Len(), b.Len()) {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= a.Len():
				*out = append(*out, fmt.Sprintf("%s: added %s", p, reflectFormat(b.Index(i))))
			case i >= b.Len():
				*out = append(*out, fmt.Sprintf("%s: removed %s", p, reflectFormat(a.Index(i))))
			default:
				reflectDiffValue(out, p, a.Index(i), b.Index(i))
			}
			if len(*out) >= maxDiffLines {
				*out = append(*out, "…")
				return
			}
		}
		return
	}
	*out = append(*out, fmt.Sprintf("%s: %s → %s", path, reflectFormat(a), reflectFormat(b)))
}

func reflectFormat(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if len(s) > 16 {
			return s[:16] + "…"
		}
		if s == "" {
			return `""`
		}
		return s
	case reflect.Struct:
		var parts []string
		for i := range v.NumField() {
			parts = append(parts, v.Type().Field(i).Name+":"+reflectFormat(v.Field(i)))
		}
		return "{" + strings.Join(parts, " ") + "}"
	case reflect.Slice:
		var parts []string
		for i := range min(v.Len(), 8) {
			parts = append(parts, reflectFormat(v.Index(i)))
		}
		if v.Len() > 8 {
			parts = append(parts, fmt.Sprintf("… %d more", v.Len()-8))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// fill sets v (settable) to a value that differs from its zero value in
// every field, with n elements in each slice and strings of length sl.
func fill(v reflect.Value, n, sl int, seed *int) {
	*seed++
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				panic("state.View has an unexported field: DiffViews cannot see it")
			}
			fill(v.Field(i), n, sl, seed)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			fill(v.Index(i), n, sl, seed)
		}
	case reflect.String:
		v.SetString(strings.Repeat(fmt.Sprintf("%x", *seed%16), sl))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*seed))
	default:
		panic("state.View has a field of kind " + v.Kind().String() + " that the test does not fill")
	}
}

// TestDiffViewsEveryField changes each field of a View alone (and every
// field at once, and lists in length and content) and checks DiffViews
// against the reflection oracle: a field DiffViews leaves out, or prints
// differently, fails here.
func TestDiffViewsEveryField(t *testing.T) {
	seed := 0
	var full state.View
	fill(reflect.ValueOf(&full).Elem(), 2, 20, &seed)
	var longer state.View
	fill(reflect.ValueOf(&longer).Elem(), 10, 4, &seed)
	check := func(name string, a, b state.View) {
		t.Helper()
		got, want := DiffViews(a, b), reflectDiff(a, b)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
		if len(want) == 0 && !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the views differ and the oracle lists nothing", name)
		}
	}
	check("zero to full", state.View{}, full)
	check("full to zero", full, state.View{})
	check("full to longer", full, longer)
	check("equal", full, full)
	var walk func(path string, dst, src reflect.Value)
	walk = func(path string, dst, src reflect.Value) {
		for i := range dst.NumField() {
			name := path + dst.Type().Field(i).Name
			if dst.Field(i).Kind() == reflect.Struct {
				walk(name+".", dst.Field(i), src.Field(i))
				continue
			}
			var one state.View
			ov := reflect.ValueOf(&one).Elem()
			for _, p := range strings.Split(name, ".") {
				ov = ov.FieldByName(p)
			}
			ov.Set(src.Field(i))
			check(name, state.View{}, one)
			check(name+" (changed in full)", full, with(full, name, longer))
		}
	}
	walk("", reflect.ValueOf(&full).Elem(), reflect.ValueOf(&full).Elem())
}

// with returns v with the field at path taken from w.
func with(v state.View, path string, w state.View) state.View {
	dv, wv := reflect.ValueOf(&v).Elem(), reflect.ValueOf(w)
	for _, p := range strings.Split(path, ".") {
		dv, wv = dv.FieldByName(p), wv.FieldByName(p)
	}
	dv.Set(wv)
	return v
}
