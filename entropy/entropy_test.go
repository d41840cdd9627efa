package entropy

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
)

func TestDrawsAreLabelAddressed(t *testing.T) {
	seed := [32]byte{1, 2, 3}
	a := FromSeed(seed)
	x1 := a.Draw(LeafEncryption, 32)
	y1 := a.Draw(HPKEEncap, 32)
	x2 := a.Draw(LeafEncryption, 32)

	// The same draws in another order give the same bytes per label.
	b := FromSeed(seed)
	if got := b.Draw(HPKEEncap, 32); !bytes.Equal(got, y1) {
		t.Fatalf("reordered draw differs")
	}
	if got := b.Draw(LeafEncryption, 32); !bytes.Equal(got, x1) {
		t.Fatalf("first draw for label differs")
	}
	if bytes.Equal(x1, x2) {
		t.Fatalf("two draws for one label returned the same bytes")
	}
	if bytes.Equal(x1, y1) {
		t.Fatalf("two labels returned the same bytes")
	}
	if c := FromSeed([32]byte{9}).Draw(LeafEncryption, 32); bytes.Equal(c, x1) {
		t.Fatalf("different seeds returned the same bytes")
	}
}

// TestDrawDefinition checks Draw against its documented definition,
// computed independently here.
func TestDrawDefinition(t *testing.T) {
	seed := [32]byte{7}
	info := append([]byte("psk.nonce"), 0, 0, 0, 0)
	info = binary.BigEndian.AppendUint32(info, 48)
	info = binary.BigEndian.AppendUint32(info, 0)
	want, err := hkdf.Key(sha256.New, seed[:], nil, string(info), 48)
	if err != nil {
		t.Fatal(err)
	}
	if got := FromSeed(seed).Draw(PSKNonce, 48); !bytes.Equal(got, want) {
		t.Fatalf("Draw = %x, want %x", got, want)
	}
}

func TestLongDraw(t *testing.T) {
	s := FromSeed([32]byte{})
	b := s.Draw(GroupID, 20000)
	if len(b) != 20000 {
		t.Fatalf("len = %d", len(b))
	}
	if bytes.Equal(b[:8160], b[8160:16320]) {
		t.Fatalf("blocks repeat")
	}
	if len(s.Draw(GroupID, 0)) != 0 {
		t.Fatalf("empty draw not empty")
	}
}

// TestDrawMatchesHKDF checks draws of every length class (empty, within
// one HMAC block, several blocks, several HKDF-Expand calls) and repeated
// draws for one label against crypto/hkdf, computed here from the
// definition in FromSeed's documentation.
func TestDrawMatchesHKDF(t *testing.T) {
	seed := [32]byte{3, 1, 4, 1, 5}
	prk, err := hkdf.Extract(sha256.New, seed[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	want := func(label Label, i uint32, n int) []byte {
		info := binary.BigEndian.AppendUint32(append([]byte(label), 0, 0, 0, 0), uint32(n))
		binary.BigEndian.PutUint32(info[len(label):], i)
		var out []byte
		for block := uint32(0); len(out) < n; block++ {
			m := min(n-len(out), 255*32)
			b, err := hkdf.Expand(sha256.New, prk, string(binary.BigEndian.AppendUint32(bytes.Clone(info), block)), m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
		return out
	}
	s := FromSeed(seed)
	counts := map[Label]uint32{}
	for _, c := range []struct {
		label Label
		n     int
	}{{ReuseGuard, 4}, {ReuseGuard, 4}, {LeafEncryption, 32}, {GroupID, 0}, {HPKEEncap, 33}, {PSKNonce, 64},
		{GroupInit, 100}, {ReuseGuard, 4}, {WelcomeEncap, 255 * 32}, {GroupID, 255*32 + 1}, {Label("a label longer than the sixty-four bytes the info buffer holds on the stack"), 31},
		{Label(strings.Repeat("a label longer than the HMAC's stack buffer ", 6)), 70}} {
		got := s.Draw(c.label, c.n)
		if w := want(c.label, counts[c.label], c.n); !bytes.Equal(got, w) || len(got) != c.n {
			t.Fatalf("Draw(%q, %d) #%d = %x, want %x", c.label, c.n, counts[c.label], got, w)
		}
		counts[c.label]++
	}
}

// TestDrawAllocations: a Source costs one allocation, and a draw one more
// (its output): keying and expanding run on the stack.
func TestDrawAllocations(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { FromSeed([32]byte{1}).Draw(ReuseGuard, 4) }); n > 2 {
		t.Fatalf("FromSeed and a 4-byte draw: %v allocations, want 2", n)
	}
	s := FromSeed([32]byte{2})
	s.Draw(LeafEncryption, 32)
	if n := testing.AllocsPerRun(100, func() { s.Draw(LeafEncryption, 32) }); n > 1 {
		t.Fatalf("a 32-byte draw: %v allocations, want 1", n)
	}
}
