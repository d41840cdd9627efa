package transitions

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/valsem"
)

// TestGroupIDsTellApart: the ValSem002 message renders two different
// group ids differently, whatever their length and wherever they differ.
func TestGroupIDsTellApart(t *testing.T) {
	long := bytes.Repeat([]byte{0xab}, 64)
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name      string
		got, want []byte
		wantGot   string
		wantWant  string
	}{
		{"short ids in full", []byte("other"), []byte("group"), "6f74686572", "67726f7570"},
		{"32 bytes in full", flip(long[:32], 31), long[:32], strings.Repeat("ab", 31) + "aa", strings.Repeat("ab", 32)},
		{"long ids differing at the end", flip(long, 63), long,
			strings.Repeat("ab", 16) + "…" + strings.Repeat("ab", 15) + "aa (64 bytes)", strings.Repeat("ab", 16) + "…" + strings.Repeat("ab", 16) + " (64 bytes)"},
		{"long ids differing in the middle", flip(long, 40), long,
			strings.Repeat("ab", 16) + "…" + strings.Repeat("ab", 16) + " (64 bytes) (differs at byte 40)", strings.Repeat("ab", 16) + "…" + strings.Repeat("ab", 16) + " (64 bytes)"},
		{"different lengths", long[:40], long[:41], strings.Repeat("ab", 16) + "…" + strings.Repeat("ab", 16) + " (40 bytes)", strings.Repeat("ab", 16) + "…" + strings.Repeat("ab", 16) + " (41 bytes)"},
		{"empty id", nil, []byte{1}, "", "01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, w := groupIDs(tt.got, tt.want)
			if g != tt.wantGot || w != tt.wantWant {
				t.Errorf("groupIDs = %q, %q; want %q, %q", g, w, tt.wantGot, tt.wantWant)
			}
			if g == w {
				t.Errorf("two different ids render alike: %q", g)
			}
		})
	}
}

// TestValSem002ShowsBothIDs: a message for another group whose id shares
// the group's first eight bytes is rejected with an error that shows both
// ids in full.
func TestValSem002ShowsBothIDs(t *testing.T) {
	w, a, b, _ := trio(t, codec.Capabilities{}, nil)
	msg := commitMsg(t, w, a, Commit{ForcePath: true})
	gid := a.s.GroupID()
	other := append(bytes.Clone(gid[:len(gid)-1]), gid[len(gid)-1]^1)
	bad := reframe(t, a, msg, func(pm *codec.PublicMessage) { pm.Content.GroupID = other })
	_, _, err := Apply(b.s, Receive{At: testAt, Message: bad}, w.env(b))
	if !errorsIs(err, valsem.ValSem002) {
		t.Fatalf("got %v, want ValSem002", err)
	}
	if len(gid) > 32 {
		t.Fatalf("test group id of %d bytes: the test expects one shown in full", len(gid))
	}
	if want := fmt.Sprintf("message for group %x, this is group %x", other, gid); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}
