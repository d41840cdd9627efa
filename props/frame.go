package props

import (
	"errors"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// Open returns the AuthenticatedContent of a group message (MLSMessage
// bytes) as the member recv sees it: a PublicMessage is decoded, a
// PrivateMessage decrypted with recv's current epoch secrets. recv's state
// is not changed.
func Open(t TB, recv *Member, msg []byte) codec.AuthenticatedContent {
	t.Helper()
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if m.PublicMessage != nil {
		return m.PublicMessage.AuthenticatedContent()
	}
	if m.PrivateMessage == nil {
		t.Fatalf("open: a %v is not a group message", m.WireFormat)
	}
	s := recv.State
	priv := s.Private()
	ctx := s.GroupContext()
	ac, _, _, err := keysched.UnprotectPrivate(s.Suite(), priv.Secrets, priv.Epoch.SenderDataSecret(), *m.PrivateMessage, &ctx,
		func(l treemath.LeafIndex) ([]byte, error) {
			ln, ok := s.Tree().Leaf(l)
			if !ok {
				return nil, errors.New("blank sender")
			}
			return ln.SignatureKey, nil
		}, transitions.DefaultLimits().Bounds())
	if err != nil {
		t.Fatalf("open: %s cannot decrypt: %v", recv.Name, err)
	}
	return ac
}

// SealOpts are the options of Seal.
type SealOpts struct {
	// Padding is appended to a PrivateMessage's content; nil means none.
	// Non-zero bytes break ValSem011.
	Padding []byte
	// NoMembershipTag leaves a member PublicMessage without its tag.
	NoMembershipTag bool
}

// Sign signs content as from in its current epoch, for wire format wf, and
// returns the AuthenticatedContent with confirmation tag tag.
func Sign(t TB, from *Member, wf codec.WireFormat, content codec.FramedContent, tag []byte) codec.AuthenticatedContent {
	t.Helper()
	ctx := from.State.GroupContext()
	ac, err := keysched.SignContent(from.Signer(), wf, content, &ctx)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	ac.Auth.ConfirmationTag = tag
	return ac
}

// Seal frames ac as from would in its current epoch: a PublicMessage with
// the membership tag computed, or a PrivateMessage encrypted with the next
// key of the sender's ratchet in from's secret tree (from's state is not
// advanced, so two Seals reuse a generation, which a receiver that accepts
// only one of them never notices). The sender leaf of ac need not be from's
// own: the ratchet of ac's sender is used.
func Seal(t TB, from *Member, ac codec.AuthenticatedContent, o SealOpts) []byte {
	t.Helper()
	s := from.State
	cs := s.Suite()
	ctx := s.GroupContext()
	priv := s.Private()
	m := codec.MLSMessage{Version: codec.MLS10, WireFormat: ac.WireFormat}
	switch ac.WireFormat {
	case codec.WireFormatPublicMessage:
		pm := codec.PublicMessage{Content: ac.Content, Auth: ac.Auth}
		if ac.Content.Sender.SenderType == codec.SenderTypeMember && !o.NoMembershipTag {
			tag, err := keysched.MembershipTag(cs, priv.Epoch.MembershipKey(), ac, &ctx)
			if err != nil {
				t.Fatalf("membership tag: %v", err)
			}
			pm.MembershipTag = tag
		}
		m.PublicMessage = &pm
	case codec.WireFormatPrivateMessage:
		c := ac.Content
		pt, err := codec.PrivateMessageContent{ContentType: c.ContentType, ApplicationData: c.ApplicationData,
			Proposal: c.Proposal, Commit: c.Commit, Auth: ac.Auth}.Encode()
		if err != nil {
			t.Fatalf("private content: %v", err)
		}
		pt = append(pt, o.Padding...)
		pm := codec.PrivateMessage{GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData}
		aad, _ := pm.ContentAAD().Encode()
		kind := keysched.Handshake
		if c.ContentType == codec.ContentTypeApplication {
			kind = keysched.Application
		}
		rk, _, err := priv.Secrets.Next(c.Sender.LeafIndex, kind)
		if err != nil {
			t.Fatalf("ratchet key: %v", err)
		}
		var guard [keysched.ReuseGuardLen]byte
		if pm.Ciphertext, err = cs.Seal(rk.Key, keysched.ApplyReuseGuard(rk.Nonce, guard), aad, pt); err != nil {
			t.Fatalf("seal: %v", err)
		}
		sd, _ := codec.SenderData{LeafIndex: c.Sender.LeafIndex, Generation: rk.Generation, ReuseGuard: guard}.Encode()
		key, nonce, err := keysched.SenderDataKeyNonce(cs, priv.Epoch.SenderDataSecret(), pm.Ciphertext)
		if err != nil {
			t.Fatalf("sender data key: %v", err)
		}
		sdaad, _ := pm.SenderDataAAD().Encode()
		if pm.EncryptedSenderData, err = cs.Seal(key, nonce, sdaad, sd); err != nil {
			t.Fatalf("seal sender data: %v", err)
		}
		m.PrivateMessage = &pm
	default:
		t.Fatalf("seal: wire format %v", ac.WireFormat)
	}
	out, err := m.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return out
}

// Reframe opens msg (sent by from) as recv sees it, lets mut change the
// content, then re-signs it as from in the same wire format, keeps its
// confirmation tag and seals it again: the result differs from msg only in
// what mut changed, so a rule that mut breaks is the only framing or
// authentication rule it breaks. (The confirmation tag covers the signed
// content, so a changed commit also carries a stale confirmation tag; the
// receiver checks that tag last, after every rule of the catalog but
// ValSem205.)
func Reframe(t TB, from, recv *Member, msg []byte, mut func(c *codec.FramedContent)) []byte {
	t.Helper()
	ac := Open(t, recv, msg)
	c := ac.Content
	if mut != nil {
		mut(&c)
	}
	return Seal(t, from, Sign(t, from, ac.WireFormat, c, ac.Auth.ConfirmationTag), SealOpts{})
}

// Rejects applies Receive(msg) to recv's state and fails t unless the
// error is code (errors.Is, and code is the outermost rule of the error:
// no other rule failed first), the input
// state's digest is unchanged, and no effects are returned. It returns the
// error.
func Rejects(t TB, recv *Member, env transitions.Env, msg []byte, code valsem.Code) error {
	t.Helper()
	return RejectsEvent(t, recv.State, env, transitions.Receive{At: At, Message: msg}, code)
}

// RejectsEvent is Rejects for any event on state s.
func RejectsEvent(t TB, s state.GroupState, env transitions.Env, ev transitions.Event, code valsem.Code) error {
	t.Helper()
	before := s.Digest()
	next, effs, err := CheckedApply(t, s, ev, env)
	if !errors.Is(err, code) {
		t.Fatalf("got error %v, want %v", err, code)
	}
	// The outermost rule of the error is the one under test: no other rule
	// failed first. (A rule may refine another and wrap its failure as the
	// cause, as ValSem246 wraps the ValSem010 signature failure.)
	var ve *valsem.Error
	if !errors.As(err, &ve) || ve.Code != code {
		t.Fatalf("error %v: the failing rule is not %v", err, code)
	}
	if effs != nil {
		t.Fatalf("rejection returned %d effects", len(effs))
	}
	if next.Digest() != before || s.Digest() != before {
		t.Fatalf("rejection changed the state")
	}
	return err
}

// Accepts applies Receive(msg) to recv's state (without adopting the
// result) and fails t on an error.
func Accepts(t TB, recv *Member, env transitions.Env, msg []byte) {
	t.Helper()
	AcceptsEvent(t, recv.State, env, transitions.Receive{At: At, Message: msg})
}

// AcceptsEvent is Accepts for any event on state s.
func AcceptsEvent(t TB, s state.GroupState, env transitions.Env, ev transitions.Event) {
	t.Helper()
	if _, _, err := CheckedApply(t, s, ev, env); err != nil {
		t.Fatalf("valid %s rejected: %v", transitions.Name(ev), err)
	}
}
