package props

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/valsem"
)

// Properties of the external commit rules ValSem240–ValSem246: a new
// client joins a generated group by an external commit from a published
// GroupInfo (with a drawn number of external PSKs); a drawn member accepts
// it. The same commit with its proposal list, path or signature changed to
// break one rule, re-signed by the joiner, is rejected with exactly that
// rule, and the member's state is unchanged.

// externalWorld draws a world whose clients hold an external PSK, and an
// external commit of a new client to it, with a receiver.
func externalWorld(t *rapid.T) (w *World, joiner, recv *Member, msg []byte) {
	w = Gen(t, Options{ExternalPSK: true, MaxOps: 2})
	joiner, msg = w.ValidExternalCommit(t)
	return w, joiner, w.Pick(t, "recv"), msg
}

// withList returns a mutation that replaces an external commit's proposal
// list by what edit makes of it.
func withList(edit func([]codec.ProposalOrRef) []codec.ProposalOrRef) func(*codec.FramedContent) {
	return func(c *codec.FramedContent) { c.Commit.Proposals = edit(c.Commit.Proposals) }
}

func inline(p codec.Proposal) codec.ProposalOrRef {
	return codec.ProposalOrRef{Type: codec.ProposalOrRefProposal, Proposal: &p}
}

// insert puts x at a drawn position of l.
func insert(t *rapid.T, l []codec.ProposalOrRef, x codec.ProposalOrRef) []codec.ProposalOrRef {
	i := rapid.IntRange(0, len(l)).Draw(t, "at")
	out := append([]codec.ProposalOrRef(nil), l[:i]...)
	out = append(out, x)
	return append(out, l[i:]...)
}

// ValSem240: an external commit must cover at least one inline ExternalInit.
func TestValSem240(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w, joiner, recv, msg := externalWorld(t)
		var victim *Member
		if rapid.Bool().Draw(t, "withRemove") {
			victim = w.Pick(t, "victim")
		}
		bad := ReframeExternal(t, joiner, recv, msg, withList(func(l []codec.ProposalOrRef) []codec.ProposalOrRef {
			var out []codec.ProposalOrRef
			for _, p := range l {
				if p.Proposal.ProposalType != codec.ProposalExternalInit {
					out = append(out, p)
				}
			}
			if victim != nil {
				out = insert(t, out, inline(RemoveOf(victim.State.OwnLeaf())))
			}
			return out
		}))
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem240)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem241: an external commit must cover at most one inline ExternalInit.
func TestValSem241(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w, joiner, recv, msg := externalWorld(t)
		bad := ReframeExternal(t, joiner, recv, msg, withList(func(l []codec.ProposalOrRef) []codec.ProposalOrRef {
			var ei codec.Proposal
			for _, p := range l {
				if p.Proposal.ProposalType == codec.ProposalExternalInit {
					ei = *p.Proposal
				}
			}
			second := codec.Proposal{ProposalType: codec.ProposalExternalInit, ExternalInit: &codec.ExternalInit{KEMOutput: ei.ExternalInit.KEMOutput}}
			if rapid.Bool().Draw(t, "otherKEM") {
				second.ExternalInit.KEMOutput = Bytes(t, "kem", len(ei.ExternalInit.KEMOutput))
			}
			return insert(t, l, inline(second))
		}))
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem241)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem242: an external commit may only cover inline ExternalInit, Remove
// and PreSharedKey.
func TestValSem242(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w, joiner, recv, msg := externalWorld(t)
		var p codec.Proposal
		switch rapid.SampledFrom([]string{"add", "update", "gce", "reinit", "custom"}).Draw(t, "type") {
		case "add":
			_, kp := w.NewKeyPackage(t)
			p = AddOf(kp)
		case "update":
			ln, _ := recv.State.Tree().Leaf(recv.State.OwnLeaf())
			p = codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{LeafNode: *ln}}
		case "gce":
			p = gceOf(recv.State.GroupContext().Extensions)
		case "reinit":
			ctx := recv.State.GroupContext()
			p = codec.Proposal{ProposalType: codec.ProposalReInit, ReInit: &codec.ReInit{GroupID: ctx.GroupID, Version: codec.MLS10, CipherSuite: ctx.CipherSuite}}
		case "custom":
			p = codec.Proposal{ProposalType: codec.ProposalType(rapid.Uint16Range(8, 0xffff).Draw(t, "pt")), Data: []byte{1}}
		}
		bad := ReframeExternal(t, joiner, recv, msg, withList(func(l []codec.ProposalOrRef) []codec.ProposalOrRef { return insert(t, l, inline(p)) }))
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem242)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem244: an external commit must not cover proposals by reference.
func TestValSem244(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w, joiner, recv, msg := externalWorld(t)
		ref := Bytes(t, "ref", recv.State.Suite().HashLen())
		if rapid.Bool().Draw(t, "stored") {
			// A proposal the receiver holds.
			w.ProposeUpdate(w.PickOther(t, "proposer", recv))
			ref = recv.State.PendingProposals()[0].Ref
		}
		bad := ReframeExternal(t, joiner, recv, msg, withList(func(l []codec.ProposalOrRef) []codec.ProposalOrRef {
			return insert(t, l, codec.ProposalOrRef{Type: codec.ProposalOrRefReference, Reference: ref})
		}))
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem244)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem245: an external commit must contain a path.
func TestValSem245(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w, joiner, recv, msg := externalWorld(t)
		bad := ReframeExternal(t, joiner, recv, msg, func(c *codec.FramedContent) { c.Commit.Path = nil })
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem245)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem246: an external commit's signature must verify with the path leaf's key.
func TestValSem246(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w, joiner, recv, msg := externalWorld(t)
		// Signed by a member of the group, or by another new client.
		signer := w.PickOther(t, "signer")
		if rapid.Bool().Draw(t, "client") {
			signer = w.NewClient(t)
		}
		_ = joiner
		bad := ReframeExternal(t, signer, recv, msg, nil)
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem246)
		Accepts(t, recv, w.Env(recv), msg)
	})
}
