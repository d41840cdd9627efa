package suite

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// TestPartsMatchWhole: hashing, MACing and reference-hashing in parts equals
// doing it over the concatenation, for part boundaries anywhere (empty
// parts included) and lengths around the varint limits.
func TestPartsMatchWhole(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		for _, n := range []int{0, 1, 63, 64, 16383, 16384, 70000} {
			whole := seq(byte(n), n)
			for _, cut := range [][2]int{{0, 0}, {0, n}, {n / 3, 2 * n / 3}, {n, n}} {
				parts := [][]byte{whole[:cut[0]], nil, whole[cut[0]:cut[1]], whole[cut[1]:]}
				name := fmt.Sprintf("n=%d/cut=%v", n, cut)
				if !bytes.Equal(s.HashParts(parts...), s.Hash(whole)) {
					t.Errorf("%s: HashParts differs from Hash", name)
				}
				key := seq(9, s.nh)
				if !bytes.Equal(s.MACParts(key, parts...), s.MAC(key, whole)) {
					t.Errorf("%s: MACParts differs from MAC", name)
				}
				if !bytes.Equal(s.RefHashParts("MLS 1.0 Proposal Reference", parts...), s.RefHash("MLS 1.0 Proposal Reference", whole)) {
					t.Errorf("%s: RefHashParts differs from RefHash", name)
				}
			}
		}
	})
}

// TestVerifyWithLabelAt: verifying in place accepts exactly what
// VerifyWithLabel accepts, for content lengths around the varint limits and
// headroom of exactly LabelHeadroom or more; too little headroom is an
// error, not a panic.
func TestVerifyWithLabelAt(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		priv, pub, err := s.GenerateSignatureKey(seq(1, s.SignatureSeedLen()))
		if err != nil {
			t.Fatal(err)
		}
		const label = "FramedContentTBS"
		for _, n := range []int{0, 1, 63, 64, 16383, 16384} {
			content := seq(byte(n), n)
			sig, err := s.SignWithLabel(priv, label, content)
			if err != nil {
				t.Fatal(err)
			}
			for _, extra := range []int{0, 5} {
				off := LabelHeadroom(label) + extra
				buf := append(make([]byte, off), content...)
				if err := s.VerifyWithLabelAt(pub, label, buf, off, sig); err != nil {
					t.Errorf("n=%d extra=%d: %v", n, extra, err)
				}
				if !bytes.Equal(buf[off:], content) {
					t.Errorf("n=%d: the content was changed", n)
				}
				bad := append([]byte(nil), sig...)
				bad[len(bad)/2] ^= 1
				if err := s.VerifyWithLabelAt(pub, label, buf, off, bad); !errors.Is(err, ErrBadSignature) {
					t.Errorf("n=%d: a flipped signature gave %v", n, err)
				}
				if err := s.VerifyWithLabelAt(pub, "LeafNodeTBS", buf, off, sig); err == nil {
					t.Errorf("n=%d: another label verified", n)
				}
			}
			buf := append(make([]byte, 3), content...)
			if err := s.VerifyWithLabelAt(pub, label, buf, 3, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("n=%d: too little headroom gave %v", n, err)
			}
		}
	})
}

// TestSignWithLabelAt: signing in place gives the signature SignWithLabel
// gives (every suite signs deterministically), which VerifyWithLabel
// accepts, and leaves the content alone; too little headroom is ErrLength.
func TestSignWithLabelAt(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s *Suite) {
		priv, pub, err := s.GenerateSignatureKey(seq(2, s.SignatureSeedLen()))
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.NewSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		const label = "FramedContentTBS"
		for _, n := range []int{0, 1, 63, 64, 16383, 16384} {
			content := seq(byte(n), n)
			want, err := g.SignWithLabel(label, content)
			if err != nil {
				t.Fatal(err)
			}
			for _, extra := range []int{0, 5} {
				off := LabelHeadroom(label) + extra
				buf := append(make([]byte, off), content...)
				sig, err := g.SignWithLabelAt(label, buf, off)
				if err != nil {
					t.Fatalf("n=%d extra=%d: %v", n, extra, err)
				}
				if !bytes.Equal(sig, want) {
					t.Errorf("n=%d extra=%d: signature differs from SignWithLabel's", n, extra)
				}
				if err := s.VerifyWithLabel(pub, label, content, sig); err != nil {
					t.Errorf("n=%d extra=%d: %v", n, extra, err)
				}
				if !bytes.Equal(buf[off:], content) {
					t.Errorf("n=%d: the content was changed", n)
				}
			}
			buf := append(make([]byte, 3), content...)
			if _, err := g.SignWithLabelAt(label, buf, 3); !errors.Is(err, ErrLength) {
				t.Errorf("n=%d: too little headroom gave %v", n, err)
			}
		}
	})
}
