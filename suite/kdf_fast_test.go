package suite

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// TestExpandWithLabelShortMatchesGeneric checks the single-block fast path
// of ExpandWithLabel against the generic HKDF-Expand (crypto/hmac) over the
// boundaries of its conditions: output lengths 0..Nh+1, labels and contexts
// around the one-byte varint limit, secrets shorter and longer than a hash
// block.
func TestExpandWithLabelShortMatchesGeneric(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		secrets := [][]byte{nil, seq(1, 1), seq(2, s.nh), seq(3, s.blockSize()), seq(4, s.blockSize()+1), seq(5, 300)}
		labels := []string{"", "key", "nonce", strings.Repeat("l", 55), strings.Repeat("l", 56), strings.Repeat("l", 80)}
		contexts := [][]byte{nil, seq(6, 4), seq(7, 63), seq(8, 64), seq(9, 200)}
		fast := 0
		for _, secret := range secrets {
			for _, label := range labels {
				for _, ctx := range contexts {
					for _, length := range []int{0, 1, s.nn, s.nk, s.nh - 1, s.nh, s.nh + 1, 2*s.nh + 3} {
						name := fmt.Sprintf("secret=%d/label=%d/ctx=%d/len=%d", len(secret), len(label), len(ctx), length)
						got, err := s.ExpandWithLabel(secret, label, ctx, length)
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						info, err := labeledStruct(2, mlsPrefix, label, ctx)
						if err != nil {
							t.Fatal(err)
						}
						binary.BigEndian.PutUint16(info, uint16(length))
						want := hkdfExpand(s.newHash, s.nh, secret, info, length)
						if !bytes.Equal(got, want) {
							t.Fatalf("%s: got %x, want %x", name, got, want)
						}
						if _, ok := s.expandWithLabelShort(secret, label, ctx, length); ok {
							fast++
						}
					}
				}
			}
		}
		if fast == 0 {
			t.Fatal("the fast path never ran")
		}
	})
}

// TestExpandWithLabelShortAllocs pins the fast path to one allocation (the
// result), the property the secret tree and key schedule rely on.
func TestExpandWithLabelShortAllocs(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		secret, ctx := seq(1, s.nh), seq(2, 4)
		if n := testing.AllocsPerRun(100, func() {
			if _, err := s.ExpandWithLabel(secret, "secret", ctx, s.nh); err != nil {
				t.Fatal(err)
			}
		}); n > 1 {
			t.Fatalf("ExpandWithLabel allocates %v times per call, want 1", n)
		}
	})
}

// TestMACShortMatchesGeneric checks the stack HMAC of Extract and MAC
// against crypto/hmac for data lengths around the buffer limit and keys
// around the block size.
func TestMACShortMatchesGeneric(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		for _, key := range [][]byte{nil, seq(1, 7), seq(2, s.nh), seq(3, s.blockSize()), seq(4, s.blockSize()+1)} {
			for _, n := range []int{0, 1, s.nh, hmacBufLen - s.blockSize() - 1, hmacBufLen - s.blockSize(), hmacBufLen - s.blockSize() + 1, 1000} {
				data := seq(5, n)
				want := hmacSum(s.newHash, key, data)
				if got := s.MAC(key, data); !bytes.Equal(got, want) {
					t.Fatalf("MAC key=%d data=%d: got %x, want %x", len(key), n, got, want)
				}
				if got := s.Extract(key, data); !bytes.Equal(got, want) {
					t.Fatalf("Extract salt=%d ikm=%d: got %x, want %x", len(key), n, got, want)
				}
			}
		}
	})
}
