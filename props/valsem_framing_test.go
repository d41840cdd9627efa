package props

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// Properties of the framing rules ValSem002–ValSem011: for a generated
// group and a valid message of a drawn type between two drawn members, the
// message changed in one framing field (and re-signed, re-tagged or
// re-encrypted by its sender) is rejected with exactly that rule, the
// receiver's state is unchanged and no effects are returned; the original
// message is accepted.

// ValSem002: the group id of a message must match the group's.
func TestValSem002(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, _ := w.ValidMessage(t, from, recv)
		bad := Reframe(t, from, recv, msg, func(c *codec.FramedContent) { c.GroupID = Other(t, "gid", c.GroupID) })
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem002)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem003: the epoch of a message must match the group's (or, for
// application messages, a retained past epoch that has not outlived
// Config.MaxPastEpochAge).
func TestValSem003(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		if c := recv.Config; c.MaxPastEpochs > 0 && c.MaxPastEpochAge > 0 && rapid.Bool().Draw(t, "aged") {
			// An application message of the previous epoch, received
			// once that epoch has ended more than MaxPastEpochAge ago
			// (the world's events all happen at At).
			msg := w.Protect(from, []byte("before the commit"))
			w.Commit(t, w.Pick(t, "committer"), transitions.Commit{})
			late := At + c.MaxPastEpochAge + rapid.Uint64Range(1, 1<<32).Draw(t, "late")
			RejectsEvent(t, recv.State, w.Env(recv), transitions.Receive{At: late, Message: msg}, valsem.ValSem003)
			AcceptsEvent(t, recv.State, w.Env(recv), transitions.Receive{At: At + c.MaxPastEpochAge, Message: msg})
			return
		}
		msg, kind := w.ValidMessage(t, from, recv)
		epoch := recv.State.Epoch()
		bad := Reframe(t, from, recv, msg, func(c *codec.FramedContent) {
			if kind != codec.ContentTypeApplication && epoch > 0 && rapid.Bool().Draw(t, "past") {
				// A handshake message of a past epoch; application
				// messages of retained past epochs are legitimate.
				c.Epoch -= rapid.Uint64Range(1, epoch).Draw(t, "back")
				return
			}
			c.Epoch += rapid.Uint64Range(1, 1<<40).Draw(t, "ahead")
		})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem003)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem004: a member sender must point to a non-blank leaf.
func TestValSem004(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, _ := w.ValidMessage(t, from, recv, Handshake...)
		ac := Open(t, recv, msg)
		tr := recv.State.Tree()
		var blank []treemath.LeafIndex
		for l := range uint32(tr.LeafCount()) {
			if _, ok := tr.Leaf(treemath.LeafIndex(l)); !ok {
				blank = append(blank, treemath.LeafIndex(l))
			}
		}
		wf := ac.WireFormat
		c := ac.Content
		if len(blank) > 0 && rapid.Bool().Draw(t, "blank") {
			// A blank leaf inside the tree: its ratchet exists, so either
			// framing reaches the sender check.
			c.Sender.LeafIndex = rapid.SampledFrom(blank).Draw(t, "leaf")
		} else {
			// A leaf outside the tree has no ratchet, so only a
			// PublicMessage reaches the sender check.
			c.Sender.LeafIndex = treemath.LeafIndex(uint32(tr.LeafCount()) + rapid.Uint32Range(0, 1<<20).Draw(t, "beyond"))
			wf = codec.WireFormatPublicMessage
		}
		bad := Seal(t, from, Sign(t, from, wf, c, ac.Auth.ConfirmationTag), SealOpts{})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem004)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem005: application messages must use PrivateMessage.
func TestValSem005(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg := w.ValidApplication(t, from)
		ac := Open(t, recv, msg)
		bad := Seal(t, from, Sign(t, from, codec.WireFormatPublicMessage, ac.Content, nil), SealOpts{})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem005)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem006: decryption of a PrivateMessage must succeed.
func TestValSem006(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg := w.ValidApplication(t, from)
		m, err := codec.DecodeMLSMessage(msg)
		if err != nil {
			t.Fatal(err)
		}
		pm := m.PrivateMessage
		switch rapid.SampledFrom([]string{"ciphertext", "senderData", "key"}).Draw(t, "tamper") {
		case "ciphertext":
			FlipBit(t, "ct", pm.Ciphertext)
		case "senderData":
			FlipBit(t, "sd", pm.EncryptedSenderData)
		case "key":
			// The content sealed under another key: the sender data names
			// a generation whose key does not open it.
			other := Open(t, recv, msg)
			other.Content.ApplicationData = append(other.Content.ApplicationData, 'x')
			re, _ := codec.DecodeMLSMessage(Seal(t, from, Sign(t, from, codec.WireFormatPrivateMessage, other.Content, nil), SealOpts{}))
			pm.Ciphertext = FlipBit(t, "ct", re.PrivateMessage.Ciphertext)
			pm.EncryptedSenderData = re.PrivateMessage.EncryptedSenderData
		}
		bad, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem006)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem007: a PublicMessage from a member must carry a membership tag.
func TestValSem007(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, _ := w.ValidMessageAs(t, from, recv, codec.WireFormatPublicMessage, Handshake...)
		ac := Open(t, recv, msg)
		bad := Seal(t, from, Sign(t, from, codec.WireFormatPublicMessage, ac.Content, ac.Auth.ConfirmationTag), SealOpts{NoMembershipTag: true})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem007)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem008: the membership tag must verify.
func TestValSem008(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, _ := w.ValidMessageAs(t, from, recv, codec.WireFormatPublicMessage, Handshake...)
		ac := Open(t, recv, msg)
		good := Seal(t, from, Sign(t, from, codec.WireFormatPublicMessage, ac.Content, ac.Auth.ConfirmationTag), SealOpts{})
		m, _ := codec.DecodeMLSMessage(good)
		if rapid.Bool().Draw(t, "flip") {
			FlipBit(t, "tag", m.PublicMessage.MembershipTag)
		} else {
			m.PublicMessage.MembershipTag = Other(t, "tag", m.PublicMessage.MembershipTag)
		}
		bad, _ := m.Encode()
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem008)
		Accepts(t, recv, w.Env(recv), good)
	})
}

// ValSem009: a commit must carry a confirmation tag.
func TestValSem009(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg := w.ValidCommit(t, from, recv)
		ac := Open(t, recv, msg)
		bad := Seal(t, from, Sign(t, from, ac.WireFormat, ac.Content, nil), SealOpts{})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem009)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem010: the signature must verify.
func TestValSem010(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, _ := w.ValidMessage(t, from, recv)
		ac := Open(t, recv, msg)
		if rapid.Bool().Draw(t, "wrongKey") {
			// Signed with another member's key.
			other := w.PickOther(t, "signer", from)
			ac.Auth.Signature = Sign(t, other, ac.WireFormat, ac.Content, nil).Auth.Signature
		} else {
			FlipBit(t, "sig", ac.Auth.Signature)
		}
		bad := Seal(t, from, ac, SealOpts{})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem010)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem011: PrivateMessageContent padding must be all zero.
func TestValSem011(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, _ := w.ValidMessageAs(t, from, recv, codec.WireFormatPrivateMessage)
		ac := Open(t, recv, msg)
		ac = Sign(t, from, codec.WireFormatPrivateMessage, ac.Content, ac.Auth.ConfirmationTag)
		pad := make([]byte, rapid.IntRange(1, 64).Draw(t, "padLen"))
		pad[rapid.IntRange(0, len(pad)-1).Draw(t, "nonZeroAt")] = rapid.ByteRange(1, 255).Draw(t, "nonZero")
		bad := Seal(t, from, ac, SealOpts{Padding: pad})
		good := Seal(t, from, ac, SealOpts{Padding: make([]byte, len(pad))})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem011)
		Accepts(t, recv, w.Env(recv), good)
	})
}
