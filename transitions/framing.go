package transitions

import (
	"encoding/binary"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// handshakeWireFormat is the framing of this member's handshake messages
// under its wire format policy.
func (g *group) handshakeWireFormat() codec.WireFormat {
	if g.pub.Config.WireFormat.Outgoing == 2 { // state.OutgoingPlaintext
		return codec.WireFormatPublicMessage
	}
	return codec.WireFormatPrivateMessage
}

// sealed is a framed outgoing message.
type sealed struct {
	msg      []byte              // MLSMessage bytes
	secrets  keysched.SecretTree // the epoch's secret tree after protection
	consumed *keysched.Consumed  // the ratchet key used, for a PrivateMessage
	deletes  []effects.Effect    // DeleteSecret for the key used
}

// seal frames signed content as a PublicMessage or PrivateMessage (RFC 9420,
// Sections 6.2 and 6.3), per ac.WireFormat.
func (g *group) seal(ac codec.AuthenticatedContent, env Env) (sealed, error) {
	out := sealed{secrets: g.priv.Secrets}
	switch ac.WireFormat {
	case codec.WireFormatPublicMessage:
		pm, err := keysched.ProtectPublic(g.cs, g.priv.Epoch.MembershipKey(), ac, &g.pub.Context)
		if err != nil {
			return out, err
		}
		b, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: ac.WireFormat, PublicMessage: &pm}.Encode()
		if err != nil {
			return out, err
		}
		out.msg = b
	case codec.WireFormatPrivateMessage:
		params := keysched.PrivateParams{Padding: g.padding(ac)}
		copy(params.ReuseGuard[:], env.Entropy.Draw(entropy.ReuseGuard, keysched.ReuseGuardLen))
		// The message is encoded around its ciphertext, in one buffer.
		b, _, st, used, err := keysched.ProtectPrivateMessage(g.cs, g.priv.Secrets, g.priv.Epoch.SenderDataSecret(), ac, params)
		if err != nil {
			return out, err
		}
		out.msg, out.secrets, out.consumed = b, st, &used
		out.deletes = []effects.Effect{deleteMessageKey(g.pub.Context.GroupID, g.epoch(), used.Leaf, uint8(used.Kind), used.Generation)}
	default:
		return out, fmt.Errorf("%w: cannot send wire format %s", ErrInvalidMessage, ac.WireFormat)
	}
	return out, nil
}

// padding returns the number of zero bytes that pad the content of ac to a
// multiple of Config.PaddingSize (RFC 9420, Section 6.3.1).
func (g *group) padding(ac codec.AuthenticatedContent) int {
	p := int(g.pub.Config.PaddingSize)
	if p <= 1 {
		return 0
	}
	c := codec.PrivateMessageContent{ContentType: ac.Content.ContentType, ApplicationData: ac.Content.ApplicationData,
		Proposal: ac.Content.Proposal, Commit: ac.Content.Commit, Auth: ac.Auth}
	b, err := c.Encode()
	if err != nil {
		return 0
	}
	return (p - len(b)%p) % p
}

// maxShownID is the longest group id an error message shows in full, in
// bytes; longer ones show their first and last maxShownID/2 bytes.
const maxShownID = 32

// groupIDs renders two different group ids for an error message so that
// they can be told apart: each in hex, in full up to maxShownID bytes,
// else its first and last bytes and its length; if the two renderings
// still coincide, the offset of the first differing byte is added.
func groupIDs(got, want []byte) (string, string) {
	show := func(id []byte) string {
		if len(id) <= maxShownID {
			return fmt.Sprintf("%x", id)
		}
		return fmt.Sprintf("%x…%x (%d bytes)", id[:maxShownID/2], id[len(id)-maxShownID/2:], len(id))
	}
	g, w := show(got), show(want)
	if g == w {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		g += fmt.Sprintf(" (differs at byte %d)", i)
	}
	return g, w
}

// decodedMessage is the first stage of a received message: a well-formed
// MLSMessage of version mls10 carrying a PublicMessage or PrivateMessage.
type decodedMessage struct {
	msg codec.MLSMessage
	raw []byte // the bytes it arrived in, which its HPKE ciphertexts alias
}

func decodeMessage(raw []byte, env Env) (decodedMessage, error) {
	if err := checkLimit("MaxMessageBytes", uint64(len(raw)), uint64(env.Limits.MaxMessageBytes)); err != nil {
		return decodedMessage{}, err
	}
	// The message is processed within this event: its ciphertexts may
	// alias the event's bytes instead of being copied.
	m, err := codec.DecodeMLSMessageSharedBounded(raw, env.Limits.Bounds())
	if err != nil {
		return decodedMessage{}, limitFrom(err)
	}
	if m.Version != codec.MLS10 {
		return decodedMessage{}, fmt.Errorf("%w: version %d", ErrInvalidMessage, m.Version)
	}
	if m.WireFormat != codec.WireFormatPublicMessage && m.WireFormat != codec.WireFormatPrivateMessage {
		return decodedMessage{}, fmt.Errorf("%w: a %s is not a group message", ErrInvalidMessage, m.WireFormat)
	}
	return decodedMessage{msg: m, raw: raw}, nil
}

// epochKeys is what decrypting and authenticating a message of one epoch
// needs: the current epoch, or a retained past one.
type epochKeys struct {
	past             int // index into Private.Past, or -1 for the current epoch
	ctx              *codec.GroupContext
	ctxBytes         []byte // ctx encoded, as the state keeps it; nil: encode ctx when needed
	tree             tree.Tree
	senderDataSecret []byte
	secrets          keysched.SecretTree
}

// framedMessage is a message whose group id, epoch and sender fit this
// group (ValSem002–ValSem004) and whose framing the policy accepts.
type framedMessage struct {
	raw  []byte // the MLSMessage bytes
	wf   codec.WireFormat
	pub  *codec.PublicMessage
	priv *codec.PrivateMessage
	ct   codec.ContentType
	keys epochKeys
}

func (g *group) frame(d decodedMessage) (framedMessage, error) {
	f := framedMessage{raw: d.raw, wf: d.msg.WireFormat, pub: d.msg.PublicMessage, priv: d.msg.PrivateMessage}
	var gid []byte
	var epoch uint64
	if f.pub != nil {
		gid, epoch, f.ct = f.pub.Content.GroupID, f.pub.Content.Epoch, f.pub.Content.ContentType
	} else {
		gid, epoch, f.ct = f.priv.GroupID, f.priv.Epoch, f.priv.ContentType
	}
	// ValSem002: the group id must be the group's.
	if !equalBytes(gid, g.pub.Context.GroupID) {
		got, want := groupIDs(gid, g.gid())
		return f, valsem.Errorf(valsem.ValSem002, "message for group %s, this is group %s", got, want)
	}
	f.keys = epochKeys{past: -1, ctx: &g.pub.Context, ctxBytes: g.s.SharedGroupContextBytes(core.K()), tree: g.pub.Tree, senderDataSecret: g.priv.Epoch.SenderDataSecret(), secrets: g.priv.Secrets}
	if epoch != g.epoch() {
		// ValSem003: the epoch must be the current one; application
		// messages may also come from a retained past epoch.
		found := false
		if f.priv != nil && f.ct == codec.ContentTypeApplication {
			for i, pe := range g.priv.Past {
				if pe.Context.Epoch == epoch {
					f.keys = epochKeys{past: i, ctx: &g.priv.Past[i].Context, tree: pe.Tree, senderDataSecret: pe.SenderDataSecret, secrets: pe.Secrets}
					found = true
					break
				}
			}
		}
		if !found {
			return f, valsem.Errorf(valsem.ValSem003, "%s", g.pastEpochReason(epoch, f.priv != nil && f.ct == codec.ContentTypeApplication))
		}
	}
	if f.ct != codec.ContentTypeApplication {
		// The wire format policy applies to handshake messages.
		// Senders outside the group can only send PublicMessages (RFC
		// 9420, Section 6), which the policy therefore does not restrict.
		if f.pub != nil && !g.pub.Config.WireFormat.AcceptsPublic() && f.pub.Content.Sender.SenderType == codec.SenderTypeMember {
			return f, fmt.Errorf("%w: wire format policy rejects a %s handshake message", ErrInvalidMessage, f.wf)
		}
		if f.priv != nil && !g.pub.Config.WireFormat.AcceptsPrivate() {
			return f, fmt.Errorf("%w: wire format policy rejects a %s handshake message", ErrInvalidMessage, f.wf)
		}
	}
	if f.pub != nil {
		snd := f.pub.Content.Sender
		switch snd.SenderType {
		case codec.SenderTypeMember:
			// ValSem004: a member sender must be a non-blank leaf.
			if _, ok := g.pub.Tree.SharedSignatureKey(core.K(), snd.LeafIndex); !ok {
				return f, valsem.Errorf(valsem.ValSem004, "sender leaf %d is blank or outside the tree", snd.LeafIndex)
			}
			if snd.LeafIndex == g.self() {
				return f, ownMessageError{leaf: snd.LeafIndex}
			}
		default:
			if err := g.frameNonMember(f.pub); err != nil {
				return f, err
			}
		}
	}
	return f, nil
}

// authenticatedMessage is a message whose membership tag or encryption and
// signature verified (ValSem005–ValSem011).
type authenticatedMessage struct {
	wf       codec.WireFormat
	ac       codec.AuthenticatedContent
	wire     codec.FramedWire // ac's bytes as received
	keys     epochKeys
	secrets  keysched.SecretTree // keys.secrets without the key used
	consumed *keysched.Consumed
}

func (g *group) authenticate(f framedMessage, b codec.Bounds) (authenticatedMessage, error) {
	a := authenticatedMessage{wf: f.wf, keys: f.keys, secrets: f.keys.secrets}
	if f.pub != nil {
		ac, w, err := g.unprotectPublic(f)
		if err != nil {
			return a, err
		}
		a.ac, a.wire = ac, w
		return a, nil
	}
	senderKey := func(l treemath.LeafIndex) ([]byte, error) {
		key, ok := f.keys.tree.SharedSignatureKey(core.K(), l)
		if !ok {
			// ValSem004: the sender must be a non-blank leaf.
			return nil, valsem.Errorf(valsem.ValSem004, "sender leaf %d is blank or outside the tree", l)
		}
		if l == g.self() {
			return nil, ownMessageError{leaf: l}
		}
		return key, nil
	}
	cb := f.keys.ctxBytes
	if cb == nil { // a past epoch's GroupContext is kept decoded only
		var err error
		if cb, err = f.keys.ctx.Encode(); err != nil {
			return a, err
		}
	}
	u, err := keysched.UnprotectPrivateWire(g.cs, f.keys.secrets, f.keys.senderDataSecret, *f.priv, cb, senderKey, b)
	if err != nil {
		// An echoed own message fails on its consumed key before the
		// sender is checked: tell it apart (only on this error path, so
		// a valid message pays no second sender data decryption).
		if sd, sderr := keysched.DecryptSenderData(g.cs, f.keys.senderDataSecret, *f.priv); sderr == nil && sd.LeafIndex == g.self() {
			return a, ownMessageError{leaf: sd.LeafIndex}
		}
		return a, limitFrom(err)
	}
	a.ac, a.wire, a.secrets, a.consumed = u.Content, u.Wire, u.Secrets, &u.Consumed
	return a, nil
}

// proposalRef computes RefHash("MLS 1.0 Proposal Reference",
// AuthenticatedContent) (RFC 9420, Section 5.2) of a proposal framed here.
func proposalRef(cs *suite.Suite, ac codec.AuthenticatedContent) ([]byte, error) {
	w, err := codec.WireOf(ac)
	if err != nil {
		return nil, err
	}
	return proposalRefWire(cs, w), nil
}

// proposalRefWire is proposalRef over the bytes a proposal arrived in.
func proposalRefWire(cs *suite.Suite, w codec.FramedWire) []byte {
	var wf [2]byte
	binary.BigEndian.PutUint16(wf[:], uint16(w.WireFormat))
	return cs.RefHashParts("MLS 1.0 Proposal Reference", wf[:], w.Head, w.Body, w.Auth)
}
