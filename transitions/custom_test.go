package transitions

import (
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
)

// TestSendableValues: a client sends only proposal types that RFC 9420
// defines or that lie in the private-use range 0xF000–0xFFFF (Section
// 17.4), never a GREASE value as a real proposal type, credential type or
// group context extension (Section 13.5); anything else fails with
// ErrUnsendable and an unchanged state. Every member advertises the GREASE
// and unregistered values in its capabilities, so that only the sender's
// rule can reject them.
func TestSendableValues(t *testing.T) {
	const (
		greaseProposal  codec.ProposalType   = 0x0A0A
		greaseExtension codec.ExtensionType  = 0x1A1A
		greaseCred      codec.CredentialType = 0x2A2A
	)
	caps := codec.Capabilities{
		Proposals:   []codec.ProposalType{0xF000, 0xFAFA, greaseProposal, 0x0008, 0xEFFF},
		Extensions:  []codec.ExtensionType{extCustom, greaseExtension},
		Credentials: []codec.CredentialType{codec.CredentialBasic, greaseCred},
	}
	custom := func(pt codec.ProposalType) codec.Proposal { return codec.Proposal{ProposalType: pt, Data: []byte("x")} }
	greaseCredential := codec.Credential{CredentialType: greaseCred, Data: []byte("g")}
	tests := []struct {
		name string
		ev   func(w *world, a, b *member) (*member, Event)
		ok   bool
	}{
		{"propose private use 0xf000", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: custom(0xF000)}
		}, true},
		{"propose private use 0xfafa", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: custom(0xFAFA)}
		}, true},
		{"propose grease", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: custom(greaseProposal)}
		}, false},
		{"propose reserved 0", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: custom(0)}
		}, false},
		{"propose unregistered 0x0008", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: custom(0x0008)}
		}, false},
		{"propose unregistered 0xefff", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: custom(0xEFFF)}
		}, false},
		{"commit inline private use", func(w *world, a, b *member) (*member, Event) {
			return a, Commit{At: testAt, Inline: []codec.Proposal{custom(0xF000)}}
		}, true},
		{"commit inline grease", func(w *world, a, b *member) (*member, Event) {
			return a, Commit{At: testAt, Inline: []codec.Proposal{custom(0xF000), custom(greaseProposal)}}
		}, false},
		{"gce custom extension", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: gceOf(codec.Extensions{{ExtensionType: extCustom, ExtensionData: []byte{}}})}
		}, true},
		{"gce grease extension", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: gceOf(codec.Extensions{{ExtensionType: greaseExtension, ExtensionData: []byte{}}})}
		}, false},
		{"commit inline gce grease extension", func(w *world, a, b *member) (*member, Event) {
			return a, Commit{At: testAt, Inline: []codec.Proposal{gceOf(codec.Extensions{{ExtensionType: greaseExtension, ExtensionData: []byte{}}})}}
		}, false},
		{"reinit grease extension", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalReInit, ReInit: &codec.ReInit{GroupID: []byte("n"),
				Version: codec.MLS10, CipherSuite: 1, Extensions: codec.Extensions{{ExtensionType: greaseExtension, ExtensionData: []byte{}}}}}}
		}, false},
		{"update grease credential", func(w *world, a, b *member) (*member, Event) {
			return b, Propose{At: testAt, Proposal: codec.Proposal{ProposalType: codec.ProposalUpdate, Update: &codec.Update{LeafNode: codec.LeafNode{Credential: greaseCredential}}}}
		}, false},
		{"external propose private use", func(w *world, a, b *member) (*member, Event) {
			ds := w.addExternalSigner(a, "ds")
			return ds, ExternalPropose{At: testAt, GroupInfo: w.groupInfo(a, false), SignatureKey: ds.sig, Proposal: custom(0xF000)}
		}, true},
		{"external propose grease", func(w *world, a, b *member) (*member, Event) {
			ds := w.addExternalSigner(a, "ds")
			return ds, ExternalPropose{At: testAt, GroupInfo: w.groupInfo(a, false), SignatureKey: ds.sig, Proposal: custom(greaseProposal)}
		}, false},
		{"key package grease credential", func(w *world, a, b *member) (*member, Event) {
			d := w.newMember("dave")
			return d, NewKeyPackage{At: testAt, Suite: w.cs, SignatureKey: d.sig, Credential: greaseCredential, Lifetime: testLifetime, Capabilities: caps}
		}, false},
		{"create group grease credential", func(w *world, a, b *member) (*member, Event) {
			d := w.newMember("dave")
			return d, CreateGroup{At: testAt, Suite: w.cs, GroupID: []byte("g"), SignatureKey: d.sig, Credential: greaseCredential, Lifetime: testLifetime,
				Config: w.cfg, Capabilities: caps}
		}, false},
		{"create group grease context extension", func(w *world, a, b *member) (*member, Event) {
			d := w.newMember("dave")
			return d, CreateGroup{At: testAt, Suite: w.cs, GroupID: []byte("g"), SignatureKey: d.sig, Credential: w.credential(d), Lifetime: testLifetime,
				Config: w.cfg, Capabilities: caps, GroupContextExtensions: codec.Extensions{{ExtensionType: greaseExtension, ExtensionData: []byte{}}}}
		}, false},
		{"external join grease credential", func(w *world, a, b *member) (*member, Event) {
			d := w.newMember("dave")
			return d, ExternalJoin{At: testAt, GroupInfo: w.groupInfo(a, true), SignatureKey: d.sig, Credential: greaseCredential, Config: w.cfg, Capabilities: caps}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 1, state.DefaultConfig())
			w.caps = caps
			a := w.create("alice")
			b := w.add(a, "bob", "carol")[0]
			m, ev := tt.ev(w, a, b)
			_, err := w.apply(m, ev)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			mustIs(t, err, ErrUnsendable)
		})
	}
}
