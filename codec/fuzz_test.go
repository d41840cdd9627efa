package codec

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/treemath"
)

// mustEncode encodes a hand-built seed value.
func mustEncode(tb testing.TB, v interface{ Encode() ([]byte, error) }) []byte {
	tb.Helper()
	b, err := v.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// seedFromVectors adds the values of the given messages.json fields, if the
// vectors are present.
func seedFromVectors(f *testing.F, fields ...string) {
	cases, err := messagesVectors()
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		for _, field := range fields {
			f.Add(c[field])
		}
	}
}

func smallLeafNode() LeafNode {
	return LeafNode{
		EncryptionKey:  []byte{1, 2},
		SignatureKey:   []byte{3},
		Credential:     Credential{CredentialType: CredentialBasic, Identity: []byte("alice")},
		Capabilities:   Capabilities{Versions: []ProtocolVersion{MLS10}, CipherSuites: []CipherSuite{1}},
		LeafNodeSource: LeafNodeSourceKeyPackage,
		Lifetime:       Lifetime{NotBefore: 1, NotAfter: 2},
		Extensions:     Extensions{{ExtensionType: 0x0a0a, ExtensionData: []byte{0}}},
		Signature:      []byte{4, 5},
	}
}

func smallKeyPackage() KeyPackage {
	return KeyPackage{Version: MLS10, CipherSuite: 1, InitKey: []byte{7}, LeafNode: smallLeafNode(), Signature: []byte{8}}
}

func smallWelcome() Welcome {
	return Welcome{
		CipherSuite: 1,
		Secrets: []EncryptedGroupSecrets{{
			NewMember:             KeyPackageRef{1, 2, 3},
			EncryptedGroupSecrets: HPKECiphertext{KEMOutput: []byte{4}, Ciphertext: []byte{5, 6}},
		}},
		EncryptedGroupInfo: []byte{7, 8, 9},
	}
}

func smallGroupInfo() GroupInfo {
	return GroupInfo{
		GroupContext:    GroupContext{Version: MLS10, CipherSuite: 1, GroupID: []byte("g"), Epoch: 3, TreeHash: []byte{1}},
		ConfirmationTag: []byte{2},
		Signer:          1,
		Signature:       []byte{3},
	}
}

func FuzzDecodeMLSMessage(f *testing.F) {
	kp, w, gi := smallKeyPackage(), smallWelcome(), smallGroupInfo()
	commit := Commit{Proposals: []ProposalOrRef{
		{Type: ProposalOrRefReference, Reference: ProposalRef{1}},
		{Type: ProposalOrRefProposal, Proposal: &Proposal{ProposalType: ProposalRemove, Remove: &Remove{Removed: 2}}},
	}}
	for _, m := range []MLSMessage{
		{Version: MLS10, WireFormat: WireFormatKeyPackage, KeyPackage: &kp},
		{Version: MLS10, WireFormat: WireFormatWelcome, Welcome: &w},
		{Version: MLS10, WireFormat: WireFormatGroupInfo, GroupInfo: &gi},
		{Version: MLS10, WireFormat: WireFormatPrivateMessage, PrivateMessage: &PrivateMessage{
			GroupID: []byte("g"), Epoch: 1, ContentType: ContentTypeApplication, Ciphertext: []byte{1, 2},
		}},
		{Version: MLS10, WireFormat: WireFormatPublicMessage, PublicMessage: &PublicMessage{
			Content: FramedContent{GroupID: []byte("g"), Sender: MemberSender(0), ContentType: ContentTypeCommit, Commit: &commit},
			Auth:    FramedContentAuthData{Signature: []byte{1}, ConfirmationTag: []byte{2}}, MembershipTag: []byte{3},
		}},
	} {
		f.Add(mustEncode(f, m))
	}
	seedFromVectors(f, "mls_welcome", "mls_group_info", "mls_key_package",
		"public_message_application", "public_message_proposal", "public_message_commit", "private_message")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, DecodeMLSMessage)
		// The shared decoder accepts exactly the same inputs, and a
		// PublicMessage's received parts are its re-encoded ones.
		_, errCopy := DecodeMLSMessage(data)
		m := fuzzRoundTrip(t, data, DecodeMLSMessageShared)
		if _, errShared := DecodeMLSMessageShared(data); (errCopy == nil) != (errShared == nil) {
			t.Fatalf("copying decoder: %v, shared decoder: %v", errCopy, errShared)
		}
		if m.PublicMessage != nil {
			got, err := m.PublicMessage.ReceivedWire(data[4:])
			if err != nil {
				t.Fatal(err)
			}
			want, err := WireOf(m.PublicMessage.AuthenticatedContent())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Head, want.Head) || !bytes.Equal(got.Body, want.Body) || !bytes.Equal(got.Auth, want.Auth) {
				t.Fatalf("received parts differ from the re-encoded ones")
			}
		}
	})
}

func FuzzDecodeKeyPackage(f *testing.F) {
	f.Add(mustEncode(f, smallKeyPackage()))
	cases, err := messagesVectors()
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		// Strip the MLSMessage header (version, wire_format).
		f.Add(c["mls_key_package"][4:])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, DecodeKeyPackage)
	})
}

func FuzzDecodeWelcome(f *testing.F) {
	f.Add(mustEncode(f, smallWelcome()))
	f.Add(mustEncode(f, Welcome{}))
	cases, err := messagesVectors()
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add(c["mls_welcome"][4:])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, DecodeWelcome)
	})
}

func FuzzDecodeGroupInfo(f *testing.F) {
	f.Add(mustEncode(f, smallGroupInfo()))
	cases, err := messagesVectors()
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add(c["mls_group_info"][4:])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, DecodeGroupInfo)
	})
}

func FuzzDecodeRatchetTree(f *testing.F) {
	ln := smallLeafNode()
	ln.LeafNodeSource, ln.Lifetime, ln.ParentHash = LeafNodeSourceCommit, Lifetime{}, []byte{9}
	f.Add(mustEncode(f, RatchetTree{
		{NodeType: NodeTypeLeaf, Leaf: &ln},
		{NodeType: NodeTypeParent, Parent: &ParentNode{EncryptionKey: []byte{1}, UnmergedLeaves: []treemath.LeafIndex{1}}},
		nil, nil,
		{NodeType: NodeTypeLeaf, Leaf: &ln},
	}))
	seedFromVectors(f, "ratchet_tree")
	f.Fuzz(func(t *testing.T, data []byte) {
		tree := fuzzRoundTrip(t, data, DecodeRatchetTree)
		_ = tree.Wellformed() // must not panic
	})
}

func FuzzReadVarint(f *testing.F) {
	for _, s := range [][]byte{{0x00}, {0x3f}, {0x40, 0x40}, {0x7f, 0xff}, {0x80, 0, 0x40, 0}, {0xbf, 0xff, 0xff, 0xff}, {0x40, 0x00}, {0xc0}, {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := cryptobyte.String(data)
		v, err := ReadVarintErr(&s)
		if err != nil {
			if len(s) != len(data) {
				t.Fatalf("failed read consumed input")
			}
			return
		}
		n := len(data) - len(s)
		var b cryptobyte.Builder
		AddVarint(&b, v)
		enc, err := b.Bytes()
		if err != nil || !bytes.Equal(enc, data[:n]) {
			t.Fatalf("ReadVarint(%x) = %d, re-encodes as %x (%v)", data[:n], v, enc, err)
		}
	})
}

// fuzzRoundTrip is the fuzz property: decoding never panics, allocates
// within the package's budget per input byte (allocBudget), and a
// successful decode re-encodes to exactly the input.
func fuzzRoundTrip[T interface{ Encode() ([]byte, error) }](t *testing.T, data []byte, dec func([]byte) (T, error)) T {
	var v T
	var err error
	if n := testrun.Allocated(func() { v, err = dec(data) }); n > allocBudget(len(data)) {
		t.Fatalf("decoding %d bytes allocated %d, budget %d", len(data), n, allocBudget(len(data)))
	}
	if err != nil {
		var zero T
		return zero
	}
	enc, err := v.Encode()
	if err != nil {
		t.Fatalf("decoded value does not encode: %v", err)
	}
	if !bytes.Equal(enc, data) {
		t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc, data)
	}
	return v
}
