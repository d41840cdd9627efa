package codec

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/internal/testrun"
)

// allocBudget is what decoding may allocate for n input bytes: the
// package's MaxMemoryPerByte bytes per input byte plus 64 KiB (error
// values, the extension set of a long extension list, and slack for what
// other goroutines of the test binary allocate meanwhile).
func allocBudget(n int) uint64 { return MaxMemoryPerByte*uint64(n) + 64<<10 }

// repeated returns n copies of unit inside a vector.
func repeated(unit []byte, n int) []byte {
	body := make([]byte, 0, len(unit)*n)
	for range n {
		body = append(body, unit...)
	}
	var b cryptobyte.Builder
	AddOpaque(&b, body)
	return b.BytesOrPanic()
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// hostileMessage wraps a commit body in a PublicMessage from a member.
func hostileMessage(commit []byte) []byte {
	return cat([]byte{0, 1, 0, 1}, // mls10, public_message
		[]byte{1, 'g'}, make([]byte, 8), // group_id, epoch
		[]byte{1, 0, 0, 0, 0}, []byte{0}, // sender member 0, authenticated_data
		[]byte{3}, commit, // content_type commit
		[]byte{1, 1, 1, 2}, // signature, confirmation_tag
		[]byte{1, 3})       // membership_tag
}

// TestDecodeAllocationBounded feeds each decoder the worst vectors we
// know — the most elements of the shortest encoding, each costing the
// most memory — and checks the allocation stays within MaxMemoryPerByte
// bytes per input byte plus 64 KiB. An input whose values would take more
// is rejected with a *LimitError naming "decoded memory"; with bounds, a
// vector over its bound is rejected with a *LimitError naming it, having
// allocated almost nothing.
func TestDecodeAllocationBounded(t *testing.T) {
	const n = 1 << 16
	type decoder func([]byte) error
	dec := func(f func([]byte) (any, error)) decoder { return func(b []byte) error { _, err := f(b); return err } }
	commit := func(b []byte) (any, error) { return DecodeCommit(b) }
	bounds := Bounds{MaxProposals: 1024, MaxLeaves: 1 << 16}
	message := func(b []byte) (any, error) { return DecodeMLSMessageBounded(b, bounds) }
	tree := func(b []byte) (any, error) { return DecodeRatchetTree(b) }
	emptyNode := []byte{0, 0} // encryption_key, encrypted_path_secret
	leaf := mustEncode(t, smallLeafNode())
	pathOf := func(nodes []byte) []byte {
		return cat([]byte{0}, []byte{1}, leaf, nodes) // no proposals, path present
	}
	const memory = "decoded memory"
	tests := []struct {
		name      string
		in        []byte
		dec       decoder
		wantLimit string // "" when the input must decode, memory when it may fail on it
	}{
		{"commit of references", cat(repeated([]byte{2, 0}, n), []byte{0}), dec(commit), memory},
		{"commit of removes", cat(repeated([]byte{1, 0, 3, 0, 0, 0, 0}, n), []byte{0}), dec(commit), memory},
		{"commit of 1536 removes (genuine)", cat(repeated([]byte{1, 0, 3, 0, 0, 0, 0}, 1536), []byte{0}), dec(commit), ""},
		{"commit of unknown proposals", cat(repeated([]byte{1, 0xf0, 0xf0, 0}, n), []byte{0}), dec(commit), memory},
		{"commit of self-removes", cat(repeated([]byte{1, 0, 0x0a}, n), []byte{0}), dec(commit), memory},
		{"commit of external inits", cat(repeated([]byte{1, 0, 6, 0}, n), []byte{0}), dec(commit), memory},
		{"commit of psks", cat(repeated([]byte{1, 0, 4, 1, 0, 0}, n), []byte{0}), dec(commit), memory},
		{"commit of group context extensions", cat(repeated([]byte{1, 0, 7, 0}, n), []byte{0}), dec(commit), memory},
		{"path node ciphertexts", cat([]byte{0}, repeated([]byte{0, 0}, n)), func(b []byte) error {
			d := NewDecoder(b)
			var x UpdatePathNode
			x.Unmarshal(d)
			return d.Finish("UpdatePathNode")
		}, memory},
		{"welcome secrets", cat([]byte{0, 1}, repeated([]byte{0, 0, 0}, n), []byte{0}), dec(func(b []byte) (any, error) { return DecodeWelcome(b) }), memory},
		{"x509 chain", cat([]byte{0, 2}, repeated([]byte{0}, n)), dec(func(b []byte) (any, error) { return DecodeCredential(b) }), memory},
		{"x509 chain of one-byte certificates", cat([]byte{0, 2}, repeated([]byte{1, 0}, n)), dec(func(b []byte) (any, error) { return DecodeCredential(b) }), memory},
		{"group secrets psks", cat([]byte{0, 0}, repeated([]byte{1, 0, 0}, n)), dec(func(b []byte) (any, error) { return DecodeGroupSecrets(b) }), memory},
		{"extensions", cat(repeated(func() []byte {
			var b []byte
			for i := range 1 << 16 {
				b = append(b, byte(i>>8), byte(i), 0)
			}
			return b
		}(), 1)), dec(func(b []byte) (any, error) { return DecodeExtensions(b) }), ""},
		{"unmerged leaves", cat([]byte{0, 0}, repeated([]byte{0, 0, 0, 1}, n)), dec(func(b []byte) (any, error) { return DecodeParentNode(b) }), ""},
		{"blank ratchet tree", repeated([]byte{0}, n), dec(tree), ""},
		{"ratchet tree of empty parent nodes", repeated([]byte{1, 2, 0, 0, 0}, n), dec(tree), memory},
		{"ratchet tree of small leaves", repeated(cat([]byte{1, 1}, leaf), n), dec(tree), memory},
		// Bounded: over MaxProposals and MaxLeaves.
		{"message: proposals over the bound", hostileMessage(cat(repeated([]byte{1, 0, 6, 0}, n), []byte{0})), dec(message), "MaxProposals"},
		{"message: external inits at the bound", hostileMessage(cat(repeated([]byte{1, 0, 6, 0}, 1024), []byte{0})), dec(message), memory},
		{"message: unknown proposals at the bound", hostileMessage(cat(repeated([]byte{1, 0xf0, 0xf0, 0}, 1024), []byte{0})), dec(message), memory},
		{"message: welcome secrets over the bound", cat([]byte{0, 1, 0, 3, 0, 1}, repeated([]byte{0, 0, 0}, n), []byte{0}), dec(message), "MaxProposals"},
		{"message: path nodes over the depth of MaxLeaves", hostileMessage(pathOf(repeated(emptyNode, 17))), dec(message), "UpdatePath nodes"},
		{"message: ciphertexts over the bound", hostileMessage(pathOf(cat(repeated(cat([]byte{0}, repeated([]byte{0, 0}, 1<<16+1)), 1)))), dec(message), "MaxLeaves"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			got := testrun.Allocated(func() { err = tt.dec(tt.in) })
			t.Logf("%d bytes in, %d allocated (%.1f per byte): %v", len(tt.in), got, float64(got)/float64(len(tt.in)), err)
			var le *LimitError
			switch {
			case tt.wantLimit == "" || tt.wantLimit == memory && err == nil:
				if err != nil {
					t.Fatalf("hostile input does not decode: %v", err)
				}
			case !errors.As(err, &le) || le.Limit != tt.wantLimit || le.Got <= le.Max:
				t.Fatalf("got %v, want a *LimitError naming %s", err, tt.wantLimit)
			}
			if got > allocBudget(len(tt.in)) {
				t.Errorf("allocated %d bytes for %d input bytes, budget %d", got, len(tt.in), allocBudget(len(tt.in)))
			}
		})
	}
}

// TestChargedSizes checks the sizes decoding charges against the memory
// allowance: a list element's exact size, a structure allocated on its own
// its size rounded up to at most the next 16 bytes (a size class). The
// charges are the sizes on a 64-bit platform; on a 32-bit one, where
// pointers and slice headers are half as large, they must still cover the
// real sizes (a stricter allowance), and only that is checked.
func TestChargedSizes(t *testing.T) {
	wide := unsafe.Sizeof(uintptr(0)) == 8
	tests := []struct {
		name         string
		charged, got uintptr
		exact        bool
	}{
		{"ProposalOrRef", sizeProposalOrRef, unsafe.Sizeof(ProposalOrRef{}), true},
		{"[]byte", sizeBytes, unsafe.Sizeof([]byte(nil)), true},
		{"Extension", sizeExtension, unsafe.Sizeof(Extension{}), true},
		{"ExternalSender", sizeExternalSender, unsafe.Sizeof(ExternalSender{}), true},
		{"HPKECiphertext", sizeHPKECiphertext, unsafe.Sizeof(HPKECiphertext{}), true},
		{"UpdatePathNode", sizeUpdatePathNode, unsafe.Sizeof(UpdatePathNode{}), true},
		{"PreSharedKeyID", sizePreSharedKeyID, unsafe.Sizeof(PreSharedKeyID{}), true},
		{"EncryptedGroupSecrets", sizeEncryptedGroupSecrets, unsafe.Sizeof(EncryptedGroupSecrets{}), true},
		{"*Node", sizeNodePointer, unsafe.Sizeof((*Node)(nil)), true},
		{"Proposal", sizeProposal, unsafe.Sizeof(Proposal{}), false},
		{"Add", sizeAdd, unsafe.Sizeof(Add{}), false},
		{"Update", sizeUpdate, unsafe.Sizeof(Update{}), false},
		{"Remove", sizeRemove, unsafe.Sizeof(Remove{}), false},
		{"PreSharedKey", sizePreSharedKey, unsafe.Sizeof(PreSharedKey{}), false},
		{"ReInit", sizeReInit, unsafe.Sizeof(ReInit{}), false},
		{"ExternalInit", sizeExternalInit, unsafe.Sizeof(ExternalInit{}), false},
		{"GroupContextExtensions", sizeGroupContextExtensions, unsafe.Sizeof(GroupContextExtensions{}), false},
		{"Node", sizeNode, unsafe.Sizeof(Node{}), false},
		{"LeafNode", sizeLeafNode, unsafe.Sizeof(LeafNode{}), false},
		{"ParentNode", sizeParentNode, unsafe.Sizeof(ParentNode{}), false},
	}
	for _, tt := range tests {
		if tt.charged < tt.got || wide && (tt.exact && tt.charged != tt.got || tt.charged >= tt.got+16) {
			t.Errorf("%s: charged %d bytes, size %d", tt.name, tt.charged, tt.got)
		}
	}
}

// TestPathNodes checks the bound on an UpdatePath's nodes: the depth of
// the smallest full tree of MaxLeaves leaves.
func TestPathNodes(t *testing.T) {
	for _, tt := range []struct{ maxLeaves, want uint32 }{
		{0, 31}, {1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {1 << 16, 16}, {1<<16 + 1, 17}, {1 << 31, 31}, {1<<31 + 1, 31},
	} {
		if got := pathNodes(tt.maxLeaves); got != tt.want {
			t.Errorf("pathNodes(%d) = %d, want %d", tt.maxLeaves, got, tt.want)
		}
	}
}
