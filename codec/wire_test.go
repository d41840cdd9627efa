package codec

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// within reports whether the bytes of b lie in buf (empty slices count):
// flipping every bit of buf flips every bit of b. buf is restored.
func within(b, buf []byte) bool {
	if len(b) == 0 {
		return true
	}
	before := bytes.Clone(b)
	flip := func() {
		for i := range buf {
			buf[i] ^= 0xff
		}
	}
	flip()
	defer flip()
	for i := range b {
		if b[i] != ^before[i] {
			return false
		}
	}
	return true
}

// TestSharedDecodeProperty: the shared decoder gives the same values as the
// copying one, its HPKE ciphertexts alias the input with their capacity
// clipped, and nothing else does (so a state that keeps a decoded leaf or
// key never keeps the message alive).
func TestSharedDecodeProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMLSMessage().Draw(t, "m")
		enc, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		want, err := DecodeMLSMessage(enc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeMLSMessageShared(enc)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("shared decode differs (-copy +shared):\n%s", d)
		}
		var cts [][]byte
		if pm := got.PublicMessage; pm != nil && pm.Content.Commit != nil && pm.Content.Commit.Path != nil {
			for _, n := range pm.Content.Commit.Path.Nodes {
				if len(n.EncryptionKey) > 0 && within(n.EncryptionKey, enc) {
					t.Fatalf("encryption key aliases the input")
				}
				for _, c := range n.EncryptedPathSecret {
					cts = append(cts, c.KEMOutput, c.Ciphertext)
				}
			}
			if ln := pm.Content.Commit.Path.LeafNode; len(ln.SignatureKey) > 0 && within(ln.SignatureKey, enc) {
				t.Fatalf("leaf signature key aliases the input")
			}
		}
		if pm := got.PrivateMessage; pm != nil {
			cts = append(cts, pm.Ciphertext, pm.EncryptedSenderData)
			if len(pm.GroupID) > 0 && within(pm.GroupID, enc) {
				t.Fatalf("group id aliases the input")
			}
		}
		for _, c := range cts {
			if len(c) > 0 && (!within(c, enc) || cap(c) != len(c)) {
				t.Fatalf("ciphertext of %d bytes: aliases the input %v, capacity %d", len(c), within(c, enc), cap(c))
			}
		}
	})
}

// TestReceivedWireProperty: the FramedWire of a decoded PublicMessage is
// made of sub-slices of its encoding and equals WireOf (the re-encoding),
// which is what makes verifying over the received bytes sound.
func TestReceivedWireProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genFramedContent().Draw(t, "content")
		pm := PublicMessage{Content: c, Auth: genAuth(t, c.ContentType)}
		if c.Sender.SenderType == SenderTypeMember {
			pm.MembershipTag = genSmallBytes().Draw(t, "membership")
		}
		enc, err := MLSMessage{Version: MLS10, WireFormat: WireFormatPublicMessage, PublicMessage: &pm}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		m, err := DecodeMLSMessageShared(enc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.PublicMessage.ReceivedWire(enc[4:])
		if err != nil {
			t.Fatal(err)
		}
		want, err := WireOf(pm.AuthenticatedContent())
		if err != nil {
			t.Fatal(err)
		}
		if got.WireFormat != want.WireFormat || !bytes.Equal(got.Head, want.Head) || !bytes.Equal(got.Body, want.Body) || !bytes.Equal(got.Auth, want.Auth) {
			t.Fatalf("received wire %x|%x|%x, re-encoded %x|%x|%x", got.Head, got.Body, got.Auth, want.Head, want.Body, want.Auth)
		}
		for _, p := range [][]byte{got.Head, got.Body, got.Auth} {
			if !within(p, enc) {
				t.Fatal("a part of the received wire is not a sub-slice of the message")
			}
		}
		fc, _ := c.Encode()
		if !bytes.Equal(append(append([]byte(nil), got.Head...), got.Body...), fc) || got.ContentLen() != len(fc) {
			t.Fatal("head and body are not the FramedContent")
		}
		sig := got.SignaturePart()
		var b []byte
		b = append(b, sig...)
		if want := opaqueLen(len(pm.Auth.Signature)); len(sig) != want || !bytes.Equal(sig[len(sig)-len(pm.Auth.Signature):], pm.Auth.Signature) {
			t.Fatalf("signature part %x of %d bytes, want %d", b, len(sig), want)
		}
	})
}

// TestPrivateContentSharedProperty: the body and auth spans of a decoded
// PrivateMessageContent are its encoding's, before the padding.
func TestPrivateContentSharedProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ct := ContentType(rapid.IntRange(1, 3).Draw(t, "ct"))
		c := PrivateMessageContent{ContentType: ct, Auth: genAuth(t, ct), Padding: rapid.IntRange(0, 40).Draw(t, "pad")}
		c.ApplicationData, c.Proposal, c.Commit = genBody(t, ct)
		enc, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, body, auth, err := DecodePrivateMessageContentShared(enc, ct, Bounds{})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c, got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("decode differs:\n%s", d)
		}
		w, err := WireOf(AuthenticatedContent{Content: FramedContent{ContentType: ct, ApplicationData: c.ApplicationData, Proposal: c.Proposal, Commit: c.Commit, Sender: MemberSender(0)}, Auth: c.Auth})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, w.Body) || !bytes.Equal(auth, w.Auth) || !within(body, enc) || !within(auth, enc) {
			t.Fatalf("spans %x|%x, want %x|%x", body, auth, w.Body, w.Auth)
		}
	})
}

// TestAppendFramedHead: the head a PrivateMessage's receiver lays out is
// the FramedContent's, and HeadLen its length.
func TestAppendFramedHead(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genFramedContent().Draw(t, "content")
		h, err := AppendFramedHead(nil, c.GroupID, c.Epoch, c.Sender, c.AuthenticatedData, c.ContentType)
		if err != nil {
			t.Fatal(err)
		}
		fc, _ := c.Encode()
		if len(h) != HeadLen(c) || !bytes.HasPrefix(fc, h) {
			t.Fatalf("head %x (HeadLen %d), content %x", h, HeadLen(c), fc)
		}
	})
}
