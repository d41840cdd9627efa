package props

import (
	"slices"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// Pair draws a sender and a different receiver among the active members.
func (w *World) Pair(t *rapid.T) (from, recv *Member) {
	from = w.Pick(t, "from")
	return from, w.PickOther(t, "recv", from)
}

// ValidCommit has from create a drawn valid commit that recv can process:
// an empty commit with a path, an Add of a new client (with or without a
// path), or a Remove of a member other than from and recv. The commit
// stays pending at from and is not delivered.
func (w *World) ValidCommit(t *rapid.T, from, recv *Member) []byte {
	w.t.Helper()
	choices := []string{"path", "add"}
	victims := w.activeExcept(from, recv)
	if len(victims) > 0 {
		choices = append(choices, "remove")
	}
	var ev transitions.Commit
	switch rapid.SampledFrom(choices).Draw(t, "commit") {
	case "path":
		ev.ForcePath = true
	case "add":
		ev.Inline = []codec.Proposal{AddOf(w.KeyPackage(w.NewClient(t)))}
		ev.ForcePath = rapid.Bool().Draw(t, "forcePath")
	case "remove":
		v := victims[rapid.IntRange(0, len(victims)-1).Draw(t, "victim")]
		ev.Inline = []codec.Proposal{RemoveOf(v.State.OwnLeaf())}
	}
	msg, _ := w.StartCommit(from, ev)
	return msg
}

// ValidProposal has from send a drawn valid proposal by reference (an
// Update, an Add of a new client, or a Remove of a member other than from
// and recv) without delivering it.
func (w *World) ValidProposal(t *rapid.T, from, recv *Member) []byte {
	w.t.Helper()
	choices := []string{"update", "add"}
	victims := w.activeExcept(from, recv)
	if len(victims) > 0 {
		choices = append(choices, "remove")
	}
	var p codec.Proposal
	switch rapid.SampledFrom(choices).Draw(t, "proposal") {
	case "update":
		p = codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}
	case "add":
		p = AddOf(w.KeyPackage(w.NewClient(t)))
	case "remove":
		p = RemoveOf(victims[rapid.IntRange(0, len(victims)-1).Draw(t, "victim")].State.OwnLeaf())
	}
	return Sent(w.t, w.must(from, transitions.Propose{At: At, Proposal: p, AAD: rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "aad")}))
}

// ValidApplication has from encrypt drawn application data.
func (w *World) ValidApplication(t *rapid.T, from *Member) []byte {
	w.t.Helper()
	data := rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "data")
	return Sent(w.t, w.must(from, transitions.Protect{At: At, Data: data, AAD: rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "aad")}))
}

// ValidMessage draws a content type among kinds (all three if none) and
// returns a valid message of that type from from that recv can process.
func (w *World) ValidMessage(t *rapid.T, from, recv *Member, kinds ...codec.ContentType) ([]byte, codec.ContentType) {
	if len(kinds) == 0 {
		kinds = []codec.ContentType{codec.ContentTypeApplication, codec.ContentTypeProposal, codec.ContentTypeCommit}
	}
	switch k := rapid.SampledFrom(kinds).Draw(t, "kind"); k {
	case codec.ContentTypeApplication:
		return w.ValidApplication(t, from), k
	case codec.ContentTypeProposal:
		return w.ValidProposal(t, from, recv), k
	default:
		return w.ValidCommit(t, from, recv), k
	}
}

// ValidMessageAs is ValidMessage for a message to be re-framed as wire
// format wf: a commit is drawn only if from sends commits in wf, since
// the confirmation tag of a commit covers its wire format and signature.
func (w *World) ValidMessageAs(t *rapid.T, from, recv *Member, wf codec.WireFormat, kinds ...codec.ContentType) ([]byte, codec.ContentType) {
	if len(kinds) == 0 {
		kinds = []codec.ContentType{codec.ContentTypeApplication, codec.ContentTypeProposal, codec.ContentTypeCommit}
	}
	native := codec.WireFormatPrivateMessage
	if from.Config.WireFormat.Outgoing == state.OutgoingPlaintext {
		native = codec.WireFormatPublicMessage
	}
	if native != wf {
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(k codec.ContentType) bool { return k == codec.ContentTypeCommit })
	}
	return w.ValidMessage(t, from, recv, kinds...)
}

// Handshake is the handshake content types.
var Handshake = []codec.ContentType{codec.ContentTypeProposal, codec.ContentTypeCommit}

// Bytes draws n bytes.
func Bytes(t *rapid.T, label string, n int) []byte {
	return rapid.SliceOfN(rapid.Byte(), n, n).Draw(t, label)
}

// FlipBit flips one drawn bit of b (in place) and returns b.
func FlipBit(t *rapid.T, label string, b []byte) []byte {
	if len(b) == 0 {
		t.Fatalf("%s: nothing to flip", label)
	}
	i := rapid.IntRange(0, len(b)-1).Draw(t, label+".byte")
	b[i] ^= 1 << rapid.IntRange(0, 7).Draw(t, label+".bit")
	return b
}

// Other returns drawn non-empty bytes that differ from b.
func Other(t *rapid.T, label string, b []byte) []byte {
	n := rapid.IntRange(1, max(len(b), 1)+4).Draw(t, label+".len")
	out := Bytes(t, label, n)
	if string(out) == string(b) {
		out = append(out, 1)
	}
	return out
}

// proposeUpdate is the event of an Update proposal with fresh keys.
var proposeUpdate = transitions.Propose{At: At, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{}}}

// PublishGroupInfo has m publish a GroupInfo of the current epoch with the
// external_pub extension and, if withTree, the ratchet_tree extension.
func (w *World) PublishGroupInfo(m *Member, withTree bool) []byte {
	w.t.Helper()
	effs := w.must(m, transitions.PublishGroupInfo{At: At, RatchetTree: withTree})
	gi, ok := effects.Find[effects.PublishGroupInfo](effs)
	if !ok {
		w.t.Fatalf("no group info published")
	}
	return gi.GroupInfo
}

// ExternalJoinEvent returns the event with which joiner joins from the
// GroupInfo gi by an external commit, injecting psks external PSKs.
func (w *World) ExternalJoinEvent(joiner *Member, gi, ratchetTree []byte, psks int) transitions.ExternalJoin {
	ev := transitions.ExternalJoin{At: At, GroupInfo: gi, RatchetTree: ratchetTree, SignatureKey: joiner.Sig, Credential: credential(joiner),
		Capabilities: w.caps, Config: joiner.Config}
	for range psks {
		ev.PSKs = append(ev.PSKs, PSKID)
	}
	return ev
}

// ValidExternalCommit has a new client join by an external commit from a
// GroupInfo published by a drawn member, with a drawn number of external
// PSKs if the world has one, and returns the client (its join staged) and
// the commit.
func (w *World) ValidExternalCommit(t *rapid.T) (*Member, []byte) {
	w.t.Helper()
	gi := w.PublishGroupInfo(w.Pick(t, "publisher"), true)
	joiner := w.NewClient(t)
	psks := 0
	if w.pskKey != nil {
		psks = rapid.IntRange(0, 2).Draw(t, "psks")
	}
	return joiner, Sent(w.t, w.must(joiner, w.ExternalJoinEvent(joiner, gi, nil, psks)))
}

// ReframeExternal opens the external commit msg, lets mut change its
// content, re-signs it with signer's key (the joiner's, or another for
// ValSem246) over recv's group context, keeps the confirmation tag and
// frames it as a PublicMessage again.
func ReframeExternal(t TB, signer *Member, recv *Member, msg []byte, mut func(c *codec.FramedContent)) []byte {
	t.Helper()
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil || m.PublicMessage == nil {
		t.Fatalf("not a public message: %v", err)
	}
	ac := m.PublicMessage.AuthenticatedContent()
	c := ac.Content
	if mut != nil {
		mut(&c)
	}
	ctx := recv.State.GroupContext()
	ac2, err := keysched.SignContent(signer.Signer(), codec.WireFormatPublicMessage, c, &ctx)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	out, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPublicMessage,
		PublicMessage: &codec.PublicMessage{Content: c, Auth: codec.FramedContentAuthData{Signature: ac2.Auth.Signature,
			ConfirmationTag: ac.Auth.ConfirmationTag}}}.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return out
}
