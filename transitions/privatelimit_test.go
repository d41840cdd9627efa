package transitions

import (
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
)

// TestPrivateCommitLimits: a member sends a properly encrypted
// PrivateMessage commit with more proposal references than the receiver's
// MaxProposals; Receive rejects it with a *LimitError naming MaxProposals,
// as it would the same commit in a PublicMessage, and the state is
// unchanged.
func TestPrivateCommitLimits(t *testing.T) {
	w, a, b, _ := trio(t, codec.Capabilities{}, nil)
	max := DefaultLimits().MaxProposals
	refs := make([]codec.ProposalOrRef, 4*max)
	for i := range refs {
		refs[i] = codec.ProposalOrRef{Type: codec.ProposalOrRefReference, Reference: make([]byte, 32)}
	}
	ctx := a.s.GroupContext()
	content := codec.FramedContent{GroupID: ctx.GroupID, Epoch: ctx.Epoch, Sender: codec.MemberSender(0),
		ContentType: codec.ContentTypeCommit, Commit: &codec.Commit{Proposals: refs}}
	ac, err := keysched.SignContent(signerOf(t, a), codec.WireFormatPrivateMessage, content, &ctx)
	if err != nil {
		t.Fatal(err)
	}
	ac.Auth.ConfirmationTag = make([]byte, 32)
	priv := a.s.Private()
	pm, _, _, err := keysched.ProtectPrivate(a.s.Suite(), priv.Secrets, priv.Epoch.SenderDataSecret(), ac, keysched.PrivateParams{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPrivateMessage, PrivateMessage: &pm}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	before := b.s.Digest()
	next, effs, err := Apply(b.s, Receive{At: testAt, Message: msg}, w.env(b))
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "MaxProposals" || le.Max != uint64(max) || le.Got != uint64(max)+1 {
		t.Fatalf("err = %v, want a *LimitError MaxProposals %d > %d", err, max+1, max)
	}
	if effs != nil || next.Digest() != before || b.s.Digest() != before {
		t.Fatal("rejection changed the state or returned effects")
	}
}
