package mls

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/testrun"
	"github.com/mlscore/mlscore/transitions"
)

// hostileTree returns a ratchet_tree extension of size bytes: blank nodes
// (one byte each) ending in one genuine leaf node, the cheapest encoding
// of a tree with about size leaves.
func hostileTree(t *testing.T, leaf *codec.LeafNode, size int) []byte {
	t.Helper()
	last, err := codec.Node{NodeType: codec.NodeTypeLeaf, Leaf: leaf}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	blanks := (size - 4 - 1 - len(last)) &^ 1 // the leaf lands on an even index
	body := make([]byte, blanks, blanks+1+len(last))
	body = append(append(body, 1), last...)
	out := []byte{0x80 | byte(len(body)>>24), byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	out = append(out, body...)
	if _, err := codec.DecodeRatchetTree(out); err != nil {
		t.Fatalf("the hostile tree is not a ratchet_tree: %v", err)
	}
	return out
}

// checkMaxLeaves fails unless err is a *transitions.LimitError naming
// MaxLeaves.
func checkMaxLeaves(t *testing.T, err error) {
	t.Helper()
	var le *transitions.LimitError
	if !errors.As(err, &le) || le.Limit != "MaxLeaves" || le.Got <= le.Max {
		t.Fatalf("got %v, want a *transitions.LimitError naming MaxLeaves", err)
	}
}

// TestHostileTreeBounded feeds a genuine Welcome with a 1 MiB out-of-band
// ratchet tree of blank nodes to JoinGroup, and a GroupInfo carrying that
// tree to JoinExternal: both stop at the MaxLeaves bound while decoding,
// allocating less than 20 bytes per input byte (before the bound was
// checked during decoding, JoinGroup allocated about 330 per byte).
func TestHostileTreeBounded(t *testing.T) {
	const size = 1 << 20
	const maxRatio = 20
	alice := newParty(t, backends[0], "alice")
	bob := newParty(t, backends[0], "bob")
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	out := must[Outgoing](t)(alice.g.AddMembers(must[[]byte](t)(bob.c.KeyPackage())))
	check(t, alice.g.MergePendingCommit())
	nodes := must[codec.RatchetTree](t)(codec.DecodeRatchetTree(must[[]byte](t)(alice.g.RatchetTree())))
	hostile := hostileTree(t, nodes[0].Leaf, size)
	if len(hostile) < size-1 || len(hostile) > size {
		t.Fatalf("hostile tree of %d bytes, want %d", len(hostile), size)
	}

	t.Run("JoinGroup", func(t *testing.T) {
		var err error
		n := testrun.Allocated(func() { _, err = bob.c.JoinGroup(out.Welcome, hostile) })
		checkMaxLeaves(t, err)
		t.Logf("JoinGroup: %d bytes allocated for a %d-byte tree (%.2f per byte): %v", n, len(hostile), float64(n)/float64(len(hostile)), err)
		if n > maxRatio*size {
			t.Errorf("JoinGroup allocated %d bytes for a %d-byte tree, want at most %d", n, size, maxRatio*size)
		}
		// The genuine tree still joins.
		must[*Group](t)(bob.c.JoinGroup(out.Welcome, must[[]byte](t)(alice.g.RatchetTree())))
	})

	t.Run("JoinExternal", func(t *testing.T) {
		m := must[codec.MLSMessage](t)(codec.DecodeMLSMessage(must[[]byte](t)(alice.g.GroupInfo(false))))
		m.GroupInfo.Extensions = append(m.GroupInfo.Extensions, codec.Extension{ExtensionType: codec.ExtensionRatchetTree, ExtensionData: hostile})
		gi := must[[]byte](t)(m.Encode())
		carol := newParty(t, backends[0], "carol")
		var err error
		n := testrun.Allocated(func() { _, _, err = carol.c.JoinExternal(gi, nil) })
		checkMaxLeaves(t, err)
		t.Logf("JoinExternal: %d bytes allocated for a %d-byte group info (%.2f per byte): %v", n, len(gi), float64(n)/float64(len(gi)), err)
		if n > maxRatio*uint64(len(gi)) {
			t.Errorf("JoinExternal allocated %d bytes for a %d-byte group info, want at most %d", n, len(gi), maxRatio*len(gi))
		}
	})
}

// TestKeyPackageLimits: AddMembers and ProposeAdd check a key package
// against MaxMessageBytes before decoding it.
func TestKeyPackageLimits(t *testing.T) {
	o := testOptions("alice")
	o.Limits.MaxMessageBytes = 64
	c, err := NewClient(NewMemoryStorage(), []byte("alice"), o)
	check(t, err)
	g := must[*Group](t)(c.CreateGroup(nil))
	kp := must[[]byte](t)(newParty(t, backends[0], "bob").c.KeyPackage())
	for name, f := range map[string]func() error{
		"AddMembers": func() error { _, err := g.AddMembers(kp); return err },
		"ProposeAdd": func() error { _, _, err := g.ProposeAdd(kp); return err },
	} {
		var le *transitions.LimitError
		if err := f(); !errors.As(err, &le) || le.Limit != "MaxMessageBytes" || le.Got != uint64(len(kp)) || le.Max != 64 {
			t.Errorf("%s of a %d-byte key package: %v, want a MaxMessageBytes *transitions.LimitError", name, len(kp), err)
		}
	}
}

// TestHostileKeyPackagesBounded gives AddMembers and ProposeAdd the worst
// key packages we can build from a genuine one, within the default Limits:
// an x509 chain of 2^20 empty certificates (one byte each on the wire, a
// 24-byte slice each decoded), a leaf node with 65535 empty extensions of
// distinct types (the most a list without duplicates can hold, 3 bytes
// each), capabilities listing 2^19 proposal types, and a credential
// declaring 1 GiB with 8 bytes of data. The chain is rejected while
// decoding with a *transitions.LimitError naming the codec's "decoded
// memory" allowance, the truncated one as ErrNotKeyPackage wrapping
// codec.ErrTruncated, each having allocated at most codec.MaxMemoryPerByte
// bytes per input byte plus 64 KiB. The other two decode (codec.MaxMemoryPerByte
// per byte) and fail their signatures (transitions.ErrInvalidKeyPackage)
// after being re-encoded once for both (the key package's TBS holds the
// leaf node's): at most 20 bytes per input byte plus 64 KiB in all (19.0
// measured for the extensions, 26.7 when each signature had its own
// encoding and copy).
func TestHostileKeyPackagesBounded(t *testing.T) {
	alice := newParty(t, backends[0], "alice")
	g := must[*Group](t)(alice.c.CreateGroup(nil))
	m := must[codec.MLSMessage](t)(codec.DecodeMLSMessage(must[[]byte](t)(newParty(t, backends[0], "bob").c.KeyPackage())))
	genuine := *m.KeyPackage
	encode := func(change func(k *codec.KeyPackage)) []byte {
		k := genuine
		change(&k)
		return must[[]byte](t)(codec.MLSMessage{Version: m.Version, WireFormat: m.WireFormat, KeyPackage: &k}.Encode())
	}
	chain := encode(func(k *codec.KeyPackage) {
		k.LeafNode.Credential = codec.Credential{CredentialType: codec.CredentialX509, Certificates: make([][]byte, 1<<20)}
	})
	extensions := encode(func(k *codec.KeyPackage) {
		k.LeafNode.Extensions = make(codec.Extensions, 65535)
		for i := range k.LeafNode.Extensions {
			k.LeafNode.Extensions[i].ExtensionType = codec.ExtensionType(i + 1)
		}
	})
	capabilities := encode(func(k *codec.KeyPackage) {
		k.LeafNode.Capabilities.Proposals = make([]codec.ProposalType, 1<<19)
	})
	// The genuine key package up to its credential, whose identity then
	// declares 1 GiB - 1 (a 4-byte varint) and holds 8 bytes.
	var b cryptobyte.Builder
	b.AddUint16(uint16(m.Version))
	b.AddUint16(uint16(codec.WireFormatKeyPackage))
	b.AddUint16(uint16(genuine.Version))
	b.AddUint16(uint16(genuine.CipherSuite))
	codec.AddOpaque(&b, genuine.InitKey)
	codec.AddOpaque(&b, genuine.LeafNode.EncryptionKey)
	codec.AddOpaque(&b, genuine.LeafNode.SignatureKey)
	b.AddUint16(uint16(codec.CredentialBasic))
	b.AddBytes([]byte{0xbf, 0xff, 0xff, 0xff})
	b.AddBytes(make([]byte, 8))
	truncated := b.BytesOrPanic()

	const (
		decodeBudget = codec.MaxMemoryPerByte
		validBudget  = 20
	)
	tests := []struct {
		name      string
		in        []byte
		perByte   uint64
		check     func(error) bool
		wantError string
	}{
		{"an x509 chain of empty certificates", chain, decodeBudget, func(err error) bool {
			var le *transitions.LimitError
			return errors.As(err, &le) && le.Limit == "decoded memory" && le.Got > le.Max && errors.Is(err, ErrNotKeyPackage)
		}, `a *transitions.LimitError naming "decoded memory"`},
		{"a declared length of 1 GiB with 8 bytes", truncated, decodeBudget, func(err error) bool {
			return errors.Is(err, ErrNotKeyPackage) && errors.Is(err, codec.ErrTruncated)
		}, "ErrNotKeyPackage wrapping codec.ErrTruncated"},
		{"65535 leaf node extensions", extensions, validBudget, func(err error) bool {
			return errors.Is(err, transitions.ErrInvalidKeyPackage)
		}, "transitions.ErrInvalidKeyPackage"},
		{"2^19 proposal types in capabilities", capabilities, validBudget, func(err error) bool {
			return errors.Is(err, transitions.ErrInvalidKeyPackage)
		}, "transitions.ErrInvalidKeyPackage"},
	}
	for _, tt := range tests {
		for name, f := range map[string]func() error{
			"AddMembers": func() error { _, err := g.AddMembers(tt.in); return err },
			"ProposeAdd": func() error { _, _, err := g.ProposeAdd(tt.in); return err },
		} {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				var err error
				n := testrun.Allocated(func() { err = f() })
				if !tt.check(err) {
					t.Fatalf("got %v, want %s", err, tt.wantError)
				}
				t.Logf("%d bytes in, %d allocated (%.1f per byte): %v", len(tt.in), n, float64(n)/float64(len(tt.in)), err)
				if budget := tt.perByte*uint64(len(tt.in)) + 64<<10; n > budget {
					t.Errorf("allocated %d bytes for a %d-byte key package, want at most %d", n, len(tt.in), budget)
				}
				if g.HasPendingCommit() {
					t.Fatal("a rejected key package left a pending commit")
				}
			})
		}
	}
}

// TestHostileMessagesBounded sends a member the worst commits we can build
// for each bound through Group.ProcessMessage, within the default Limits:
// a commit of the shortest inline proposals at the MaxProposals bound
// (4-byte external inits and unknown proposals, which would take over 30
// bytes per input byte), over it (2-byte references), and an UpdatePath
// deeper than a tree of MaxLeaves leaves. Each is rejected while decoding
// with a *transitions.LimitError naming its bound, having allocated at most
// codec.MaxMemoryPerByte bytes per input byte plus 64 KiB.
func TestHostileMessagesBounded(t *testing.T) {
	alice := newParty(t, backends[0], "alice")
	alice.g = must[*Group](t)(alice.c.CreateGroup(nil))
	id := alice.g.ID()
	message := func(commit []byte) []byte {
		var b cryptobyte.Builder
		b.AddUint16(1) // mls10
		b.AddUint16(uint16(codec.WireFormatPublicMessage))
		codec.AddOpaque(&b, id)
		b.AddUint64(0)                    // epoch
		b.AddBytes([]byte{1, 0, 0, 0, 0}) // sender: member 0
		codec.AddOpaque(&b, nil)          // authenticated_data
		b.AddUint8(uint8(codec.ContentTypeCommit))
		b.AddBytes(commit)
		b.AddBytes([]byte{1, 1, 1, 2, 1, 3}) // signature, confirmation_tag, membership_tag
		return b.BytesOrPanic()
	}
	proposals := func(unit []byte, n int) []byte {
		var b cryptobyte.Builder
		codec.AddOpaque(&b, bytes.Repeat(unit, n))
		b.AddUint8(0) // no path
		return b.BytesOrPanic()
	}
	leaf := must[codec.RatchetTree](t)(codec.DecodeRatchetTree(must[[]byte](t)(alice.g.RatchetTree())))[0].Leaf
	deepPath := func(nodes int) []byte {
		var b cryptobyte.Builder
		codec.AddOpaque(&b, nil)
		b.AddUint8(1)
		leaf.Marshal(&b)
		codec.AddOpaque(&b, bytes.Repeat([]byte{0, 0}, nodes))
		return b.BytesOrPanic()
	}
	max := int(transitions.DefaultLimits().MaxProposals)
	tests := []struct {
		name, limit string
		in          []byte
	}{
		{"external inits at MaxProposals", "decoded memory", message(proposals([]byte{1, 0, 6, 0}, max))},
		{"unknown proposals at MaxProposals", "decoded memory", message(proposals([]byte{1, 0xf0, 0xf0, 0}, max))},
		{"references over MaxProposals", "MaxProposals", message(proposals([]byte{2, 0}, 1<<16))},
		{"an UpdatePath deeper than MaxLeaves", "UpdatePath nodes", message(deepPath(17))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := testrun.Allocated(func() { _, err = alice.g.ProcessMessage(tt.in) })
			var le *transitions.LimitError
			if !errors.As(err, &le) || le.Limit != tt.limit || le.Got <= le.Max {
				t.Fatalf("got %v, want a *transitions.LimitError naming %s", err, tt.limit)
			}
			t.Logf("%d bytes in, %d allocated (%.1f per byte): %v", len(tt.in), n, float64(n)/float64(len(tt.in)), err)
			if budget := codec.MaxMemoryPerByte*uint64(len(tt.in)) + 64<<10; n > budget {
				t.Errorf("allocated %d bytes for a %d-byte message, want at most %d", n, len(tt.in), budget)
			}
		})
	}
}
