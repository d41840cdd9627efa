package props

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// Properties of the proposal rules ValSem101–ValSem113: a valid commit (or
// standalone proposal) of a drawn member is accepted by another; the same
// message with its proposal list or proposal rewritten to break one rule,
// re-signed and re-tagged by its sender, is rejected with exactly that
// rule, and the receiver's state is unchanged.

// addCommit has from commit the Add of a fresh client (with a path) and
// returns the message with the key package.
func addCommit(t *rapid.T, w *World, from *Member) ([]byte, *Member, codec.KeyPackage) {
	j, kp := w.NewKeyPackage(t)
	msg, _ := w.StartCommit(from, transitions.Commit{Inline: []codec.Proposal{AddOf(kp)}, ForcePath: true})
	return msg, j, kp
}

// ValSem101: an Add's signature key must be unique among proposals and members.
func TestValSem101(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, j, kp := addCommit(t, w, from)
		var bad []codec.Proposal
		if rapid.Bool().Draw(t, "member") {
			// A key package of a member: its signature key is in the tree.
			m := w.Pick(t, "member")
			bad = []codec.Proposal{AddOf(w.KeyPackage(m))}
		} else {
			// Two key packages of one client in one list.
			bad = Shuffled(t, AddOf(kp), AddOf(w.KeyPackage(j)))
		}
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(bad...)), valsem.ValSem101)
		Accepts(t, recv, w.Env(recv), msg)

		// A standalone Add is checked on receipt, before any commit
		// applies it to the tree: one of a member's key package is
		// refused then.
		badProp := AddOf(w.KeyPackage(w.Pick(t, "proposedMember")))
		rejectsProposal(t, w, from, recv, AddOf(kp), badProp, valsem.ValSem101)
	})
}

// rejectsProposal has recv propose good as a standalone proposal and
// checks that from (whose pending commit it aborts) rejects the same
// message carrying bad instead with code, and accepts it as sent.
func rejectsProposal(t *rapid.T, w *World, from, recv *Member, good, bad codec.Proposal, code valsem.Code) {
	w.must(from, transitions.AbortCommit{At: At})
	prop := Sent(w.t, w.must(recv, transitions.Propose{At: At, Proposal: good}))
	Rejects(t, from, w.Env(from), Reframe(t, recv, from, prop, func(c *codec.FramedContent) { c.Proposal = &bad }), code)
	Accepts(t, from, w.Env(from), prop)
}

// ValSem102: an Add's init key must be unique among proposals.
func TestValSem102(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, _, kp := addCommit(t, w, from)
		other, _ := w.NewKeyPackage(t)
		dup := w.CraftKeyPackage(other, func(k *codec.KeyPackage) { k.InitKey = kp.InitKey })
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(Shuffled(t, AddOf(kp), AddOf(dup))...)), valsem.ValSem102)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem103: an Add's encryption key must be unique among proposals and members.
func TestValSem103(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, _, kp := addCommit(t, w, from)
		other, _ := w.NewKeyPackage(t)
		var bad []codec.Proposal
		if rapid.Bool().Draw(t, "inTree") {
			// The key of a leaf or parent node of the tree.
			keys, _ := NodeKeys(recv.State.Tree())
			key := rapid.SampledFrom(keys).Draw(t, "key")
			bad = []codec.Proposal{AddOf(w.CraftKeyPackage(other, func(k *codec.KeyPackage) { k.LeafNode.EncryptionKey = key }))}
		} else {
			dup := w.CraftKeyPackage(other, func(k *codec.KeyPackage) { k.LeafNode.EncryptionKey = kp.LeafNode.EncryptionKey })
			bad = Shuffled(t, AddOf(kp), AddOf(dup))
		}
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(bad...)), valsem.ValSem103)
		Accepts(t, recv, w.Env(recv), msg)

		// A standalone Add is checked on receipt, before any commit
		// applies it to the tree: one reusing a tree node's key is
		// refused then.
		keys, _ := NodeKeys(from.State.Tree())
		key := rapid.SampledFrom(keys).Draw(t, "proposedKey")
		badProp := AddOf(w.CraftKeyPackage(other, func(k *codec.KeyPackage) { k.LeafNode.EncryptionKey = key }))
		rejectsProposal(t, w, from, recv, AddOf(kp), badProp, valsem.ValSem103)
	})
}

// ValSem104: an Add's init key and encryption key must differ.
func TestValSem104(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, j, kp := addCommit(t, w, from)
		bad := []codec.Proposal{AddOf(w.CraftKeyPackage(j, func(k *codec.KeyPackage) { k.InitKey = k.LeafNode.EncryptionKey }))}
		if rapid.Bool().Draw(t, "withValid") {
			_, other := w.NewKeyPackage(t)
			bad = Shuffled(t, append(bad, AddOf(other))...)
		}
		_ = kp
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(bad...)), valsem.ValSem104)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem105: an Add's ciphersuite and protocol version must match the group's.
func TestValSem105(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, j, _ := addCommit(t, w, from)
		bad := w.CraftKeyPackage(j, func(k *codec.KeyPackage) {
			if rapid.Bool().Draw(t, "version") {
				k.Version = codec.ProtocolVersion(rapid.Uint16Range(2, 0xffff).Draw(t, "v"))
				return
			}
			cs := codec.CipherSuite(rapid.Uint16().Draw(t, "cs"))
			if cs == k.CipherSuite {
				cs++
			}
			k.CipherSuite = cs
		})
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(AddOf(bad))), valsem.ValSem105)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem106: an Add's leaf must support the group's required capabilities.
func TestValSem106(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{RequiredCapabilities: true})
		from, recv := w.Pair(t)
		msg, j, _ := addCommit(t, w, from)
		bad := w.CraftKeyPackage(j, func(k *codec.KeyPackage) {
			k.LeafNode.Capabilities.Extensions = rapid.SliceOfNDistinct(rapid.Custom(func(t *rapid.T) codec.ExtensionType {
				return codec.ExtensionType(rapid.Uint16Range(6, uint16(ExtCustom)-1).Draw(t, "ext"))
			}), 0, 3, func(e codec.ExtensionType) codec.ExtensionType { return e }).Draw(t, "exts")
		})
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(AddOf(bad))), valsem.ValSem106)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// removeCommit has from commit the removal of a drawn member other than
// itself and returns the message and the removed leaf.
func removeCommit(t *rapid.T, w *World, from *Member) ([]byte, treemath.LeafIndex) {
	v := w.PickOther(t, "removed", from).State.OwnLeaf()
	msg, _ := w.StartCommit(from, transitions.Commit{Inline: []codec.Proposal{RemoveOf(v)}})
	return msg, v
}

// ValSem107: a removed member must be unique among proposals.
func TestValSem107(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, v := removeCommit(t, w, from)
		bad := []codec.Proposal{RemoveOf(v), RemoveOf(v)}
		if rapid.Bool().Draw(t, "withAdd") {
			bad = Shuffled(t, append(bad, AddOf(w.KeyPackage(w.NewClient(t))))...)
		}
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(bad...)), valsem.ValSem107)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem108: a removed member must be an existing member.
func TestValSem108(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, _ := removeCommit(t, w, from)
		tr := recv.State.Tree()
		var l treemath.LeafIndex
		if blank := BlankLeaves(tr); len(blank) > 0 && rapid.Bool().Draw(t, "blank") {
			l = rapid.SampledFrom(blank).Draw(t, "leaf")
		} else {
			l = treemath.LeafIndex(uint32(tr.LeafCount()) + rapid.Uint32Range(0, 1<<30).Draw(t, "beyond"))
		}
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(RemoveOf(l))), valsem.ValSem108)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem109: an Update's leaf must support the group's required capabilities.
func TestValSem109(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{RequiredCapabilities: true})
		from, recv := w.Pair(t)
		good, bad := w.Update(t, from, recv, func(ln *codec.LeafNode) { ln.Capabilities.Extensions = nil })
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem109)
		Accepts(t, recv, w.Env(recv), good)
	})
}

// ValSem110: an Update's encryption key must be unique among proposals and members.
func TestValSem110(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		keys, _ := NodeKeys(recv.State.Tree())
		key := rapid.SampledFrom(keys).Draw(t, "key") // possibly the sender's own current key
		good, bad := w.Update(t, from, recv, func(ln *codec.LeafNode) { ln.EncryptionKey = key })
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem110)
		Accepts(t, recv, w.Env(recv), good)
	})
}

// ValSem111: the sender of a full commit must not include its own Update proposals.
func TestValSem111(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		w.ProposeUpdate(from) // every other member stores it
		var ref []byte
		for _, sp := range recv.State.PendingProposals() {
			if sp.Sender.LeafIndex == from.State.OwnLeaf() {
				ref = sp.Ref
			}
		}
		msg, _ := w.StartCommit(from, transitions.Commit{ForcePath: true}) // the committer leaves its own update out
		bad := Reframe(t, from, recv, msg, func(c *codec.FramedContent) {
			c.Commit.Proposals = append(c.Commit.Proposals, codec.ProposalOrRef{Type: codec.ProposalOrRefReference, Reference: ref})
		})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem111)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem112: the sender type must fit the content (e.g. an Update only
// from a member).
func TestValSem112(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		good := w.ValidUpdate(from)
		ac := Open(t, recv, good)
		c := ac.Content
		switch rapid.SampledFrom([]string{"external", "newMemberProposal", "newMemberCommit"}).Draw(t, "sender") {
		case "external":
			// An Update from an external sender.
			c.Sender = codec.Sender{SenderType: codec.SenderTypeExternal, SenderIndex: rapid.Uint32Range(0, 4).Draw(t, "index")}
		case "newMemberProposal":
			// A new_member_proposal sender may only send an Add.
			c.Sender = codec.Sender{SenderType: codec.SenderTypeNewMemberProposal}
		case "newMemberCommit":
			// A new_member_commit sender may only send a commit.
			c.Sender = codec.Sender{SenderType: codec.SenderTypeNewMemberCommit}
		}
		bad := Seal(t, from, Sign(t, from, codec.WireFormatPublicMessage, c, nil), SealOpts{})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem112)
		Accepts(t, recv, w.Env(recv), good)
	})
}

// ValSem113: every proposal type must be supported by all members.
func TestValSem113(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{CustomProposal: true})
		from, recv := w.Pair(t)
		custom := codec.Proposal{ProposalType: PropCustom, Data: rapid.SliceOfN(rapid.Byte(), 0, 16).Draw(t, "data")}
		msg, _ := w.StartCommit(from, transitions.Commit{Inline: []codec.Proposal{custom}})
		pt := codec.ProposalType(rapid.Uint16Range(uint16(codec.ProposalGroupContextExtensions)+1, 0xffff).Filter(notGrease).Draw(t, "type"))
		// PropCustom is supported; SelfRemove (0x000A) has its own rules
		// (only by reference) and no body.
		for pt == PropCustom || pt == codec.ProposalSelfRemove {
			pt++
		}
		bad := Reframe(t, from, recv, msg, SetProposals(codec.Proposal{ProposalType: pt, Data: custom.Data}))
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem113)
		Accepts(t, recv, w.Env(recv), msg)
	})
}
