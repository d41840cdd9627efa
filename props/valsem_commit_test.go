package props

import (
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/valsem"
)

// Properties of the commit rules ValSem200–ValSem209: a valid commit of a
// drawn member is accepted by another; the same commit with its proposal
// list or UpdatePath rewritten to break one rule (the path's parent hashes
// recomputed and its leaf re-signed where keys change; the content
// re-signed and re-tagged) is rejected with exactly that rule, and the
// receiver's state is unchanged.

// pathCommit has from commit an empty commit with a path: its provisional
// tree is the current tree.
func pathCommit(w *World, from *Member) []byte {
	msg, _ := w.StartCommit(from, transitions.Commit{ForcePath: true})
	return msg
}

// rewritePath returns msg (a commit of from) with its path changed by mut.
func rewritePath(t *rapid.T, from, recv *Member, msg []byte, mut func(p *codec.UpdatePath)) []byte {
	return Reframe(t, from, recv, msg, func(c *codec.FramedContent) { mut(c.Commit.Path) })
}

// ValSem200: a commit must not cover an inline Remove of its sender.
func TestValSem200(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg, v := removeCommit(t, w, from)
		bad := []codec.Proposal{RemoveOf(from.State.OwnLeaf())}
		if rapid.Bool().Draw(t, "withOther") {
			bad = Shuffled(t, append(bad, RemoveOf(v))...)
		}
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(bad...)), valsem.ValSem200)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem201: a path must be present if a covered proposal requires one.
func TestValSem201(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		var msg []byte
		switch rapid.SampledFrom([]string{"remove", "empty", "update", "gce"}).Draw(t, "requires") {
		case "remove":
			msg, _ = removeCommit(t, w, from)
		case "empty":
			msg = pathCommit(w, from)
		case "update":
			// An Update by reference of another member.
			w.ProposeUpdate(w.PickOther(t, "proposer", from))
			msg, _ = w.StartCommit(from, transitions.Commit{})
		case "gce":
			gce := codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions,
				GroupContextExtensions: &codec.GroupContextExtensions{Extensions: recv.State.GroupContext().Extensions}}
			msg, _ = w.StartCommit(from, transitions.Commit{Inline: []codec.Proposal{gce}})
		}
		bad := Reframe(t, from, recv, msg, func(c *codec.FramedContent) { c.Commit.Path = nil })
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem201)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem202: a path must have the right length.
func TestValSem202(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg := pathCommit(w, from)
		bad := rewritePath(t, from, recv, msg, func(p *codec.UpdatePath) {
			switch rapid.SampledFrom([]string{"dropNode", "addNode", "dropSecret", "addSecret"}).Draw(t, "how") {
			case "dropNode":
				i := rapid.IntRange(0, len(p.Nodes)-1).Draw(t, "node")
				p.Nodes = append(p.Nodes[:i:i], p.Nodes[i+1:]...)
			case "addNode":
				i := rapid.IntRange(0, len(p.Nodes)-1).Draw(t, "node")
				p.Nodes = append(p.Nodes, p.Nodes[i])
			case "dropSecret":
				// One ciphertext fewer than the resolution at every node.
				for i := range p.Nodes {
					n := &p.Nodes[i]
					n.EncryptedPathSecret = n.EncryptedPathSecret[:len(n.EncryptedPathSecret)-1]
				}
			case "addSecret":
				for i := range p.Nodes {
					n := &p.Nodes[i]
					n.EncryptedPathSecret = append(n.EncryptedPathSecret, n.EncryptedPathSecret[0])
				}
			}
		})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem202)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem203: path secrets must decrypt.
func TestValSem203(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg := pathCommit(w, from)
		kem := rapid.Bool().Draw(t, "kem")
		bad := rewritePath(t, from, recv, msg, func(p *codec.UpdatePath) {
			// Every ciphertext of the path is corrupted (the public part,
			// which the parent hashes and signature cover, is not).
			for i := range p.Nodes {
				for k := range p.Nodes[i].EncryptedPathSecret {
					ct := &p.Nodes[i].EncryptedPathSecret[k]
					if kem {
						ct.KEMOutput = FlipBit(t, "kem", ct.KEMOutput)
					} else {
						ct.Ciphertext = FlipBit(t, "ct", ct.Ciphertext)
					}
				}
			}
		})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem203)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem204: path public keys must match those derived from the path secrets.
func TestValSem204(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg := pathCommit(w, from)
		tr := recv.State.Tree()
		j := CommonAncestorIndex(tr, from.State.OwnLeaf(), recv.State.OwnLeaf())
		cs := recv.State.Suite()
		bad := rewritePath(t, from, recv, msg, func(p *codec.UpdatePath) {
			// Another path secret for the common ancestor, encrypted to
			// every node of its copath child's resolution under the
			// provisional group context: it decrypts, but the keys
			// derived from it are not the path's.
			merged, err := tr.MergePath(from.State.OwnLeaf(), p)
			if err != nil {
				t.Fatal(err)
			}
			ctx := recv.State.GroupContext()
			ctx.Epoch++
			ctx.TreeHash = merged.Hash()
			prov, _ := ctx.Encode()
			secret := Bytes(t, "secret", cs.HashLen())
			res := tr.Resolution(tr.FilteredCopath(from.State.OwnLeaf())[j])
			for k, x := range res {
				kem, ct, err := cs.EncryptWithLabel(tr.EncryptionKey(x), "UpdatePathNode", prov, secret, Bytes(t, "seed", cs.HPKESeedLen()))
				if err != nil {
					t.Fatal(err)
				}
				p.Nodes[j].EncryptedPathSecret[k] = codec.HPKECiphertext{KEMOutput: kem, Ciphertext: ct}
			}
		})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem204)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem205: the confirmation tag must verify.
func TestValSem205(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg := w.ValidCommit(t, from, recv)
		ac := Open(t, recv, msg)
		if rapid.Bool().Draw(t, "flip") {
			FlipBit(t, "tag", ac.Auth.ConfirmationTag)
		} else {
			ac.Auth.ConfirmationTag = Other(t, "tag", ac.Auth.ConfirmationTag)
		}
		Rejects(t, recv, w.Env(recv), Seal(t, from, ac, SealOpts{}), valsem.ValSem205)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem206: a path's leaf encryption key must be unique among proposals and members.
func TestValSem206(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg := pathCommit(w, from)
		tr := recv.State.Tree()
		bad := rewritePath(t, from, recv, msg, func(p *codec.UpdatePath) {
			// A key that stays in the tree, or one of the path's own.
			keys := RemainingKeys(tr, from.State.OwnLeaf())
			for _, n := range p.Nodes {
				keys = append(keys, n.EncryptionKey)
			}
			p.LeafNode.EncryptionKey = rapid.SampledFrom(keys).Draw(t, "key")
			FixPath(t, from, tr, p)
		})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem206)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem207: a path's parent encryption keys must be unique among proposals and members.
func TestValSem207(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{})
		from, recv := w.Pair(t)
		msg := pathCommit(w, from)
		tr := recv.State.Tree()
		bad := rewritePath(t, from, recv, msg, func(p *codec.UpdatePath) {
			k := rapid.IntRange(0, len(p.Nodes)-1).Draw(t, "node")
			// A key that stays in the tree, or another path node's.
			keys := RemainingKeys(tr, from.State.OwnLeaf())
			for i, n := range p.Nodes {
				if i != k {
					keys = append(keys, n.EncryptionKey)
				}
			}
			p.Nodes[k].EncryptionKey = rapid.SampledFrom(keys).Draw(t, "key")
			FixPath(t, from, tr, p)
		})
		Rejects(t, recv, w.Env(recv), bad, valsem.ValSem207)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// gceOf returns a GroupContextExtensions proposal.
func gceOf(exts codec.Extensions) codec.Proposal {
	return codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions, GroupContextExtensions: &codec.GroupContextExtensions{Extensions: exts}}
}

// ValSem208: at most one GroupContextExtensions proposal per commit.
func TestValSem208(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{RequiredCapabilities: rapid.Bool().Draw(t, "required")})
		from, recv := w.Pair(t)
		exts := recv.State.GroupContext().Extensions
		msg, _ := w.StartCommit(from, transitions.Commit{Inline: []codec.Proposal{gceOf(exts)}})
		bad := []codec.Proposal{gceOf(exts), gceOf(nil)}
		if rapid.Bool().Draw(t, "withAdd") {
			_, kp := w.NewKeyPackage(t)
			bad = append(bad, AddOf(kp))
		}
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(Shuffled(t, bad...)...)), valsem.ValSem208)
		Accepts(t, recv, w.Env(recv), msg)
	})
}

// ValSem209: GroupContextExtensions may only hold extensions all members support.
func TestValSem209(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := Gen(t, Options{RequiredCapabilities: rapid.Bool().Draw(t, "required")})
		from, recv := w.Pair(t)
		exts := recv.State.GroupContext().Extensions
		msg, _ := w.StartCommit(from, transitions.Commit{Inline: []codec.Proposal{gceOf(exts)}})
		// A non-default extension type no leaf lists.
		unsupported := codec.ExtensionType(rapid.Uint16Range(6, 0xfeff).Filter(notGrease).Draw(t, "ext"))
		bad := append(codec.Extensions(nil), exts...)
		switch rapid.SampledFrom([]string{"extension", "required", "requiredProposal", "requiredCredential", "malformed"}).Draw(t, "how") {
		case "extension":
			bad = append(bad, codec.Extension{ExtensionType: unsupported, ExtensionData: rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "data")})
		case "required":
			rc, _ := codec.RequiredCapabilities{ExtensionTypes: []codec.ExtensionType{unsupported}}.Encode()
			bad = codec.Extensions{{ExtensionType: codec.ExtensionRequiredCapabilities, ExtensionData: rc}}
		case "requiredProposal":
			// A non-default proposal type no leaf lists.
			pt := codec.ProposalType(rapid.Uint16Range(8, 0xfeff).Filter(notGrease).Draw(t, "proposalType"))
			rc, _ := codec.RequiredCapabilities{ProposalTypes: []codec.ProposalType{pt}}.Encode()
			bad = codec.Extensions{{ExtensionType: codec.ExtensionRequiredCapabilities, ExtensionData: rc}}
		case "requiredCredential":
			// A credential type other than basic, which every leaf
			// lists, and x509, which none does.
			ct := codec.CredentialType(rapid.Uint16Range(2, 0xfeff).Filter(notGrease).Draw(t, "credentialType"))
			rc, _ := codec.RequiredCapabilities{CredentialTypes: []codec.CredentialType{ct}}.Encode()
			bad = codec.Extensions{{ExtensionType: codec.ExtensionRequiredCapabilities, ExtensionData: rc}}
		case "malformed":
			// required_capabilities that does not decode: a truncated
			// or invalid vector length.
			data := rapid.SampledFrom([][]byte{{0xff}, {0x40}, {0x05, 0x00}}).Draw(t, "data")
			bad = codec.Extensions{{ExtensionType: codec.ExtensionRequiredCapabilities, ExtensionData: data}}
		}
		Rejects(t, recv, w.Env(recv), Reframe(t, from, recv, msg, SetProposals(gceOf(bad))), valsem.ValSem209)
		Accepts(t, recv, w.Env(recv), msg)

		// The same extensions in a standalone proposal, checked against
		// the current members.
		rejectsProposal(t, w, from, recv, gceOf(exts), gceOf(bad), valsem.ValSem209)

		// A new group's extensions must be supported by its creator.
		create := transitions.CreateGroup{At: At, Suite: recv.State.Suite().ID(), SignatureKey: recv.Sig,
			Credential: codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte(recv.Name)}, Config: recv.Config, Lifetime: lifetime,
			GroupContextExtensions: codec.Extensions{{ExtensionType: unsupported}}}
		if _, _, err := transitions.Apply(state.GroupState{}, create, w.Env(recv)); !errors.Is(err, valsem.ValSem209) {
			t.Fatalf("CreateGroup with extension %d its creator does not support: %v, want ValSem209", unsupported, err)
		}
	})
}

// notGrease reports whether v is not a GREASE value (RFC 9420, Section
// 13.5), which every client treats as known.
func notGrease(v uint16) bool { return v&0x0f0f != 0x0a0a }
