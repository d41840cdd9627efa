package vectors

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestVectors runs every vector file as a subtest. A file fails the test if
// any of its cases failed; skipped cases are logged with their reasons.
func TestVectors(t *testing.T) {
	files, err := Files(DefaultDir())
	if errors.Is(err, ErrNoVectors) {
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := RunFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range r.Messages {
				t.Log(m)
			}
			if r.Failed > 0 {
				t.Errorf("%s: %s", filepath.Base(f), r)
			}
		})
	}
}
