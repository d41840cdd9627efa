package codec

import (
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/internal/testrun"
)

// allocBudget is what decoding may allocate for n input bytes:
// maxAllocPerByte bytes per input byte plus 64 KiB (error values, the
// duplicate-extension map's first buckets, and slack for what other
// goroutines of the test binary allocate meanwhile).
func allocBudget(n int) uint64 { return maxAllocPerByte*uint64(n) + 64<<10 }

// maxAllocPerByte is the documented worst case of the package's decoders
// (see the package documentation): a vector of the shortest elements
// whose Go representation is largest, an inline proposal of 4 bytes
// costing 160 (ProposalOrRef, Proposal and ExternalInit).
const maxAllocPerByte = 48

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
// most memory — and checks the allocation stays within maxAllocPerByte
// bytes per input byte; with bounds, a vector over its bound is rejected
// with a *LimitError naming it, having allocated almost nothing.
func TestDecodeAllocationBounded(t *testing.T) {
	const n = 1 << 16
	type decoder func([]byte) error
	dec := func(f func([]byte) (any, error)) decoder { return func(b []byte) error { _, err := f(b); return err } }
	commit := func(b []byte) (any, error) { return DecodeCommit(b) }
	bounds := Bounds{MaxProposals: 1024, MaxLeaves: 1 << 16}
	message := func(b []byte) (any, error) { return DecodeMLSMessageBounded(b, bounds) }
	emptyNode := []byte{0, 0} // encryption_key, encrypted_path_secret
	pathOf := func(nodes []byte) []byte {
		ln := mustEncode(t, smallLeafNode())
		return cat([]byte{0}, []byte{1}, ln, nodes) // no proposals, path present
	}
	tests := []struct {
		name      string
		in        []byte
		dec       decoder
		wantLimit string // "" when the input decodes
	}{
		{"commit of references", cat(repeated([]byte{2, 0}, n), []byte{0}), dec(commit), ""},
		{"commit of removes", cat(repeated([]byte{1, 0, 3, 0, 0, 0, 0}, n), []byte{0}), dec(commit), ""},
		{"commit of unknown proposals", cat(repeated([]byte{1, 0xf0, 0xf0, 0}, n), []byte{0}), dec(commit), ""},
		{"commit of external inits", cat(repeated([]byte{1, 0, 6, 0}, n), []byte{0}), dec(commit), ""},
		{"path node ciphertexts", cat([]byte{0}, repeated([]byte{0, 0}, n)), func(b []byte) error {
			var x UpdatePathNode
			d := NewDecoder(b)
			x.Unmarshal(d)
			return d.Finish("UpdatePathNode")
		}, ""},
		{"welcome secrets", cat([]byte{0, 1}, repeated([]byte{0, 0, 0}, n), []byte{0}), dec(func(b []byte) (any, error) { return DecodeWelcome(b) }), ""},
		{"x509 chain", cat([]byte{0, 2}, repeated([]byte{0}, n)), dec(func(b []byte) (any, error) { return DecodeCredential(b) }), ""},
		{"group secrets psks", cat([]byte{0, 0}, repeated([]byte{1, 0, 0}, n)), dec(func(b []byte) (any, error) { return DecodeGroupSecrets(b) }), ""},
		{"extensions", cat(repeated(func() []byte {
			var b []byte
			for i := range 1 << 16 {
				b = append(b, byte(i>>8), byte(i), 0)
			}
			return b
		}(), 1)), dec(func(b []byte) (any, error) { return DecodeExtensions(b) }), ""},
		{"unmerged leaves", cat([]byte{0, 0}, repeated([]byte{0, 0, 0, 1}, n)), dec(func(b []byte) (any, error) { return DecodeParentNode(b) }), ""},
		{"blank ratchet tree", repeated([]byte{0}, n), dec(func(b []byte) (any, error) { return DecodeRatchetTree(b) }), ""},
		// Bounded: over MaxProposals and MaxLeaves.
		{"message: proposals over the bound", hostileMessage(cat(repeated([]byte{1, 0, 6, 0}, n), []byte{0})), dec(message), "MaxProposals"},
		{"message: welcome secrets over the bound", cat([]byte{0, 1, 0, 3, 0, 1}, repeated([]byte{0, 0, 0}, n), []byte{0}), dec(message), "MaxProposals"},
		{"message: path nodes over 31", hostileMessage(pathOf(repeated(emptyNode, 32))), dec(message), "UpdatePath nodes"},
		{"message: ciphertexts over the bound", hostileMessage(pathOf(cat(repeated(cat([]byte{0}, repeated([]byte{0, 0}, 1<<16+1)), 1)))), dec(message), "MaxLeaves"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			got := testrun.Allocated(func() { err = tt.dec(tt.in) })
			t.Logf("%d bytes in, %d allocated (%.1f per byte): %v", len(tt.in), got, float64(got)/float64(len(tt.in)), err)
			if tt.wantLimit == "" {
				if err != nil {
					t.Fatalf("hostile input does not decode: %v", err)
				}
			} else {
				var le *LimitError
				if !errors.As(err, &le) || le.Limit != tt.wantLimit || le.Got <= le.Max {
					t.Fatalf("got %v, want a *LimitError naming %s", err, tt.wantLimit)
				}
			}
			if got > allocBudget(len(tt.in)) {
				t.Errorf("allocated %d bytes for %d input bytes, budget %d", got, len(tt.in), allocBudget(len(tt.in)))
			}
		})
	}
}
