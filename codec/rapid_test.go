package codec

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/treemath"
)

// Generators of random, valid wire structures. Sizes stay small so that
// rapid explores shapes rather than long byte strings; varint lengths of
// two and four bytes come from the occasional long opaque.

func genBytes() *rapid.Generator[[]byte] {
	return rapid.Custom(func(t *rapid.T) []byte {
		b := rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "bytes")
		// Occasionally stretch to lengths around the 1-, 2- and 4-byte
		// varint boundaries (63/64 and 16383/16384) without drawing every
		// byte.
		if n := rapid.SampledFrom([]int{0, 0, 0, 63, 64, 16383, 16384}).Draw(t, "stretch"); n > 0 && len(b) > 0 {
			b = bytes.Repeat(b, n/len(b)+1)[:n]
		}
		return b
	})
}

func genSmallBytes() *rapid.Generator[[]byte] { return rapid.SliceOfN(rapid.Byte(), 0, 6) }

func genU16s[T ~uint16]() *rapid.Generator[[]T] {
	return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) T { return T(rapid.Uint16().Draw(t, "v")) }), 0, 4)
}

func genExtensions() *rapid.Generator[Extensions] {
	return rapid.Custom(func(t *rapid.T) Extensions {
		types := rapid.SliceOfNDistinct(rapid.Uint16(), 0, 4, rapid.ID[uint16]).Draw(t, "types")
		var es Extensions
		for _, ty := range types {
			es = append(es, Extension{ExtensionType: ExtensionType(ty), ExtensionData: genSmallBytes().Draw(t, "data")})
		}
		return es
	})
}

func genCredential() *rapid.Generator[Credential] {
	return rapid.Custom(func(t *rapid.T) Credential {
		ct := CredentialType(rapid.SampledFrom([]uint16{1, 2, 0, 0x0a0a, 0xf000}).Draw(t, "type"))
		c := Credential{CredentialType: ct}
		switch ct {
		case CredentialBasic:
			c.Identity = genBytes().Draw(t, "identity")
		case CredentialX509:
			c.Certificates = rapid.SliceOfN(genSmallBytes(), 0, 3).Draw(t, "certs")
		default:
			c.Data = genSmallBytes().Draw(t, "data")
		}
		return c
	})
}

func genCapabilities() *rapid.Generator[Capabilities] {
	return rapid.Custom(func(t *rapid.T) Capabilities {
		return Capabilities{
			Versions:     genU16s[ProtocolVersion]().Draw(t, "versions"),
			CipherSuites: genU16s[CipherSuite]().Draw(t, "suites"),
			Extensions:   genU16s[ExtensionType]().Draw(t, "extensions"),
			Proposals:    genU16s[ProposalType]().Draw(t, "proposals"),
			Credentials:  genU16s[CredentialType]().Draw(t, "credentials"),
		}
	})
}

func genLeafNode() *rapid.Generator[LeafNode] {
	return rapid.Custom(func(t *rapid.T) LeafNode {
		n := LeafNode{
			EncryptionKey:  genBytes().Draw(t, "enc"),
			SignatureKey:   genSmallBytes().Draw(t, "sig_key"),
			Credential:     genCredential().Draw(t, "cred"),
			Capabilities:   genCapabilities().Draw(t, "caps"),
			LeafNodeSource: LeafNodeSource(rapid.IntRange(1, 3).Draw(t, "source")),
			Extensions:     genExtensions().Draw(t, "ext"),
			Signature:      genSmallBytes().Draw(t, "sig"),
		}
		switch n.LeafNodeSource {
		case LeafNodeSourceKeyPackage:
			n.Lifetime = Lifetime{rapid.Uint64().Draw(t, "nb"), rapid.Uint64().Draw(t, "na")}
		case LeafNodeSourceCommit:
			n.ParentHash = genSmallBytes().Draw(t, "ph")
		}
		return n
	})
}

func genKeyPackage() *rapid.Generator[KeyPackage] {
	return rapid.Custom(func(t *rapid.T) KeyPackage {
		return KeyPackage{
			Version:     ProtocolVersion(rapid.Uint16().Draw(t, "v")),
			CipherSuite: CipherSuite(rapid.Uint16().Draw(t, "cs")),
			InitKey:     genSmallBytes().Draw(t, "init"),
			LeafNode:    genLeafNode().Draw(t, "leaf"),
			Extensions:  genExtensions().Draw(t, "ext"),
			Signature:   genSmallBytes().Draw(t, "sig"),
		}
	})
}

func genLeafIndices() *rapid.Generator[[]treemath.LeafIndex] {
	return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) treemath.LeafIndex {
		return treemath.LeafIndex(rapid.Uint32().Draw(t, "i"))
	}), 0, 4)
}

func genNode() *rapid.Generator[*Node] {
	return rapid.Custom(func(t *rapid.T) *Node {
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 0:
			return nil
		case 1:
			ln := genLeafNode().Draw(t, "leaf")
			return &Node{NodeType: NodeTypeLeaf, Leaf: &ln}
		default:
			return &Node{NodeType: NodeTypeParent, Parent: &ParentNode{
				EncryptionKey:  genSmallBytes().Draw(t, "enc"),
				ParentHash:     genSmallBytes().Draw(t, "ph"),
				UnmergedLeaves: genLeafIndices().Draw(t, "unmerged"),
			}}
		}
	})
}

func genPSKID() *rapid.Generator[PreSharedKeyID] {
	return rapid.Custom(func(t *rapid.T) PreSharedKeyID {
		p := PreSharedKeyID{PSKType: PSKType(rapid.IntRange(1, 2).Draw(t, "type"))}
		if p.PSKType == PSKTypeExternal {
			p.PSKID = genSmallBytes().Draw(t, "id")
		} else {
			p.Usage = ResumptionPSKUsage(rapid.IntRange(1, 3).Draw(t, "usage"))
			p.PSKGroupID = genSmallBytes().Draw(t, "gid")
			p.PSKEpoch = rapid.Uint64().Draw(t, "epoch")
		}
		p.PSKNonce = genSmallBytes().Draw(t, "nonce")
		return p
	})
}

func genProposal() *rapid.Generator[Proposal] {
	return rapid.Custom(func(t *rapid.T) Proposal {
		p := Proposal{ProposalType: ProposalType(rapid.SampledFrom([]uint16{1, 2, 3, 4, 5, 6, 7, 0x000A, 0, 0xf001}).Draw(t, "type"))}
		switch p.ProposalType {
		case ProposalAdd:
			p.Add = &Add{KeyPackage: genKeyPackage().Draw(t, "kp")}
		case ProposalUpdate:
			p.Update = &Update{LeafNode: genLeafNode().Draw(t, "leaf")}
		case ProposalRemove:
			p.Remove = &Remove{Removed: treemath.LeafIndex(rapid.Uint32().Draw(t, "removed"))}
		case ProposalPreSharedKey:
			p.PreSharedKey = &PreSharedKey{PSK: genPSKID().Draw(t, "psk")}
		case ProposalReInit:
			p.ReInit = &ReInit{
				GroupID:     genSmallBytes().Draw(t, "gid"),
				Version:     ProtocolVersion(rapid.Uint16().Draw(t, "v")),
				CipherSuite: CipherSuite(rapid.Uint16().Draw(t, "cs")),
				Extensions:  genExtensions().Draw(t, "ext"),
			}
		case ProposalExternalInit:
			p.ExternalInit = &ExternalInit{KEMOutput: genBytes().Draw(t, "kem")}
		case ProposalGroupContextExtensions:
			p.GroupContextExtensions = &GroupContextExtensions{Extensions: genExtensions().Draw(t, "ext")}
		case ProposalSelfRemove:
			// An empty struct: nothing to draw.
		default:
			p.Data = genSmallBytes().Draw(t, "data")
		}
		return p
	})
}

func genUpdatePath() *rapid.Generator[*UpdatePath] {
	return rapid.Custom(func(t *rapid.T) *UpdatePath {
		if !rapid.Bool().Draw(t, "has_path") {
			return nil
		}
		p := &UpdatePath{LeafNode: genLeafNode().Draw(t, "leaf")}
		for range rapid.IntRange(0, 3).Draw(t, "n") {
			n := UpdatePathNode{EncryptionKey: genSmallBytes().Draw(t, "enc")}
			for range rapid.IntRange(0, 2).Draw(t, "m") {
				n.EncryptedPathSecret = append(n.EncryptedPathSecret, HPKECiphertext{
					KEMOutput:  genSmallBytes().Draw(t, "kem"),
					Ciphertext: genSmallBytes().Draw(t, "ct"),
				})
			}
			p.Nodes = append(p.Nodes, n)
		}
		return p
	})
}

func genCommit() *rapid.Generator[Commit] {
	return rapid.Custom(func(t *rapid.T) Commit {
		c := Commit{Path: genUpdatePath().Draw(t, "path")}
		for range rapid.IntRange(0, 3).Draw(t, "n") {
			if rapid.Bool().Draw(t, "inline") {
				p := genProposal().Draw(t, "proposal")
				c.Proposals = append(c.Proposals, ProposalOrRef{Type: ProposalOrRefProposal, Proposal: &p})
			} else {
				c.Proposals = append(c.Proposals, ProposalOrRef{Type: ProposalOrRefReference, Reference: genSmallBytes().Draw(t, "ref")})
			}
		}
		return c
	})
}

func genSender() *rapid.Generator[Sender] {
	return rapid.Custom(func(t *rapid.T) Sender {
		s := Sender{SenderType: SenderType(rapid.IntRange(1, 4).Draw(t, "type"))}
		switch s.SenderType {
		case SenderTypeMember:
			s.LeafIndex = treemath.LeafIndex(rapid.Uint32().Draw(t, "leaf"))
		case SenderTypeExternal:
			s.SenderIndex = rapid.Uint32().Draw(t, "index")
		}
		return s
	})
}

// genBody draws the content-type-selected body.
func genBody(t *rapid.T, ct ContentType) (app []byte, p *Proposal, c *Commit) {
	switch ct {
	case ContentTypeApplication:
		app = genBytes().Draw(t, "app")
	case ContentTypeProposal:
		v := genProposal().Draw(t, "proposal")
		p = &v
	case ContentTypeCommit:
		v := genCommit().Draw(t, "commit")
		c = &v
	}
	return app, p, c
}

func genAuth(t *rapid.T, ct ContentType) FramedContentAuthData {
	a := FramedContentAuthData{Signature: genSmallBytes().Draw(t, "sig")}
	if ct == ContentTypeCommit {
		a.ConfirmationTag = genSmallBytes().Draw(t, "tag")
	}
	return a
}

func genFramedContent() *rapid.Generator[FramedContent] {
	return rapid.Custom(func(t *rapid.T) FramedContent {
		c := FramedContent{
			GroupID:           genSmallBytes().Draw(t, "gid"),
			Epoch:             rapid.Uint64().Draw(t, "epoch"),
			Sender:            genSender().Draw(t, "sender"),
			AuthenticatedData: genSmallBytes().Draw(t, "aad"),
			ContentType:       ContentType(rapid.IntRange(1, 3).Draw(t, "ct")),
		}
		c.ApplicationData, c.Proposal, c.Commit = genBody(t, c.ContentType)
		return c
	})
}

func genGroupContext() *rapid.Generator[GroupContext] {
	return rapid.Custom(func(t *rapid.T) GroupContext {
		return GroupContext{
			Version:                 ProtocolVersion(rapid.Uint16().Draw(t, "v")),
			CipherSuite:             CipherSuite(rapid.Uint16().Draw(t, "cs")),
			GroupID:                 genBytes().Draw(t, "gid"),
			Epoch:                   rapid.Uint64().Draw(t, "epoch"),
			TreeHash:                genSmallBytes().Draw(t, "th"),
			ConfirmedTranscriptHash: genSmallBytes().Draw(t, "cth"),
			Extensions:              genExtensions().Draw(t, "ext"),
		}
	})
}

func genGroupInfo() *rapid.Generator[GroupInfo] {
	return rapid.Custom(func(t *rapid.T) GroupInfo {
		return GroupInfo{
			GroupContext:    genGroupContext().Draw(t, "gc"),
			Extensions:      genExtensions().Draw(t, "ext"),
			ConfirmationTag: genSmallBytes().Draw(t, "tag"),
			Signer:          treemath.LeafIndex(rapid.Uint32().Draw(t, "signer")),
			Signature:       genSmallBytes().Draw(t, "sig"),
		}
	})
}

func genWelcome() *rapid.Generator[Welcome] {
	return rapid.Custom(func(t *rapid.T) Welcome {
		w := Welcome{CipherSuite: CipherSuite(rapid.Uint16().Draw(t, "cs")), EncryptedGroupInfo: genBytes().Draw(t, "egi")}
		for range rapid.IntRange(0, 3).Draw(t, "n") {
			w.Secrets = append(w.Secrets, EncryptedGroupSecrets{
				NewMember: genSmallBytes().Draw(t, "ref"),
				EncryptedGroupSecrets: HPKECiphertext{
					KEMOutput:  genSmallBytes().Draw(t, "kem"),
					Ciphertext: genSmallBytes().Draw(t, "ct"),
				},
			})
		}
		return w
	})
}

func genMLSMessage() *rapid.Generator[MLSMessage] {
	return rapid.Custom(func(t *rapid.T) MLSMessage {
		m := MLSMessage{
			Version:    ProtocolVersion(rapid.Uint16().Draw(t, "v")),
			WireFormat: WireFormat(rapid.IntRange(1, 5).Draw(t, "wf")),
		}
		switch m.WireFormat {
		case WireFormatPublicMessage:
			c := genFramedContent().Draw(t, "content")
			pm := &PublicMessage{Content: c, Auth: genAuth(t, c.ContentType)}
			if c.Sender.SenderType == SenderTypeMember {
				pm.MembershipTag = genSmallBytes().Draw(t, "membership")
			}
			m.PublicMessage = pm
		case WireFormatPrivateMessage:
			m.PrivateMessage = &PrivateMessage{
				GroupID:             genSmallBytes().Draw(t, "gid"),
				Epoch:               rapid.Uint64().Draw(t, "epoch"),
				ContentType:         ContentType(rapid.IntRange(1, 3).Draw(t, "ct")),
				AuthenticatedData:   genSmallBytes().Draw(t, "aad"),
				EncryptedSenderData: genSmallBytes().Draw(t, "esd"),
				Ciphertext:          genBytes().Draw(t, "ciphertext"),
			}
		case WireFormatWelcome:
			w := genWelcome().Draw(t, "welcome")
			m.Welcome = &w
		case WireFormatGroupInfo:
			g := genGroupInfo().Draw(t, "gi")
			m.GroupInfo = &g
		case WireFormatKeyPackage:
			k := genKeyPackage().Draw(t, "kp")
			m.KeyPackage = &k
		}
		return m
	})
}

// checkRoundTrip is the property: v encodes, the encoding decodes to a
// value equal to v, and that value re-encodes to the same bytes.
func checkRoundTrip[T interface{ Encode() ([]byte, error) }](t *rapid.T, v T, dec func([]byte) (T, error)) {
	enc, err := v.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	got, err := dec(enc)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if diff := cmp.Diff(v, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	enc2, err := got.Encode()
	if err != nil || string(enc2) != string(enc) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
}

func TestRoundTripProperty(t *testing.T) {
	tests := []struct {
		name string
		prop func(*rapid.T)
	}{
		{"MLSMessage", func(t *rapid.T) { checkRoundTrip(t, genMLSMessage().Draw(t, "m"), DecodeMLSMessage) }},
		{"KeyPackage", func(t *rapid.T) { checkRoundTrip(t, genKeyPackage().Draw(t, "kp"), DecodeKeyPackage) }},
		{"LeafNode", func(t *rapid.T) { checkRoundTrip(t, genLeafNode().Draw(t, "ln"), DecodeLeafNode) }},
		{"RatchetTree", func(t *rapid.T) {
			tree := RatchetTree(rapid.SliceOfN(genNode(), 0, 5).Draw(t, "tree"))
			checkRoundTrip(t, tree, DecodeRatchetTree)
		}},
		{"Proposal", func(t *rapid.T) { checkRoundTrip(t, genProposal().Draw(t, "p"), DecodeProposal) }},
		{"Commit", func(t *rapid.T) { checkRoundTrip(t, genCommit().Draw(t, "c"), DecodeCommit) }},
		{"GroupInfo", func(t *rapid.T) { checkRoundTrip(t, genGroupInfo().Draw(t, "gi"), DecodeGroupInfo) }},
		{"GroupContext", func(t *rapid.T) { checkRoundTrip(t, genGroupContext().Draw(t, "gc"), DecodeGroupContext) }},
		{"Welcome", func(t *rapid.T) { checkRoundTrip(t, genWelcome().Draw(t, "w"), DecodeWelcome) }},
		{"GroupSecrets", func(t *rapid.T) {
			g := GroupSecrets{
				JoinerSecret: genSmallBytes().Draw(t, "js"),
				PSKs:         rapid.SliceOfN(genPSKID(), 0, 3).Draw(t, "psks"),
			}
			if rapid.Bool().Draw(t, "has_path_secret") {
				g.PathSecret = &PathSecret{PathSecret: genSmallBytes().Draw(t, "ps")}
			}
			checkRoundTrip(t, g, DecodeGroupSecrets)
		}},
		{"FramedContentTBS", func(t *rapid.T) {
			c := genFramedContent().Draw(t, "content")
			tbs := FramedContentTBS{Version: MLS10, WireFormat: WireFormat(rapid.IntRange(1, 5).Draw(t, "wf")), Content: c}
			if hasContext(c.Sender.SenderType) {
				gc := genGroupContext().Draw(t, "gc")
				tbs.Context = &gc
			}
			checkRoundTrip(t, tbs, DecodeFramedContentTBS)
		}},
		{"AuthenticatedContent", func(t *rapid.T) {
			c := genFramedContent().Draw(t, "content")
			a := AuthenticatedContent{WireFormat: WireFormat(rapid.IntRange(1, 2).Draw(t, "wf")), Content: c, Auth: genAuth(t, c.ContentType)}
			checkRoundTrip(t, a, DecodeAuthenticatedContent)
		}},
		{"PrivateMessageContent", func(t *rapid.T) {
			ct := ContentType(rapid.IntRange(1, 3).Draw(t, "ct"))
			c := PrivateMessageContent{ContentType: ct, Auth: genAuth(t, ct), Padding: rapid.IntRange(0, 40).Draw(t, "pad")}
			c.ApplicationData, c.Proposal, c.Commit = genBody(t, ct)
			checkRoundTrip(t, c, func(b []byte) (PrivateMessageContent, error) { return DecodePrivateMessageContent(b, ct) })
		}},
		{"SenderData", func(t *rapid.T) {
			s := SenderData{
				LeafIndex:  treemath.LeafIndex(rapid.Uint32().Draw(t, "leaf")),
				Generation: rapid.Uint32().Draw(t, "gen"),
			}
			copy(s.ReuseGuard[:], rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "guard"))
			checkRoundTrip(t, s, DecodeSenderData)
		}},
		{"ExternalSenders", func(t *rapid.T) {
			ss := ExternalSenders(rapid.SliceOfN(rapid.Custom(func(t *rapid.T) ExternalSender {
				return ExternalSender{SignatureKey: genSmallBytes().Draw(t, "key"), Credential: genCredential().Draw(t, "cred")}
			}), 0, 3).Draw(t, "senders"))
			checkRoundTrip(t, ss, DecodeExternalSenders)
		}},
		{"RequiredCapabilities", func(t *rapid.T) {
			r := RequiredCapabilities{
				ExtensionTypes:  genU16s[ExtensionType]().Draw(t, "e"),
				ProposalTypes:   genU16s[ProposalType]().Draw(t, "p"),
				CredentialTypes: genU16s[CredentialType]().Draw(t, "c"),
			}
			checkRoundTrip(t, r, DecodeRequiredCapabilities)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { rapid.Check(t, tt.prop) })
	}
}
