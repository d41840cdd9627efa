package entropy

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
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
