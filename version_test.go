package mls

import (
	"regexp"
	"testing"

	"github.com/mlscore/mlscore/replay"
)

// TestVersion checks that Version is a semantic version and that the logs
// the shell writes record it in their header.
func TestVersion(t *testing.T) {
	if !regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`).MatchString(Version) {
		t.Fatalf("Version %q is not a semantic version", Version)
	}
	store := NewMemoryStorage()
	c := must[*Client](t)(NewClient(store, []byte("alice"), testOptions("alice")))
	g := must[*Group](t)(c.CreateGroup(nil))
	l := must[*replay.Log](t)(replay.ReadLog(must[[]byte](t)(c.ExportLog(g.ID()))))
	if want := "github.com/mlscore/mlscore@v" + Version; l.Header.Module != want {
		t.Errorf("log header module %q, want %q", l.Header.Module, want)
	}
}
