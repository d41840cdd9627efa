package keysched

import (
	"errors"
	"runtime"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/internal/testrun"
)

// TestUnprotectPrivateBounds: a member holding the group's keys sends a
// properly encrypted commit whose decrypted content is far over the
// receiver's bounds (many two-byte proposal references; an
// UpdatePathNode with many empty ciphertexts). UnprotectPrivate rejects
// it with a *codec.LimitError naming the bound, in the decoder's counting
// pass: the bytes it allocates stay within maxAllocRatio times the
// ciphertext (the decryption buffer and the fixed costs). Without bounds,
// decoding would allocate a ProposalOrRef or an HPKECiphertext per
// element, 20 to 24 times the ciphertext: the decoder's memory allowance
// (16 per input byte) rejects it too, within maxUnbounded times.
func TestUnprotectPrivateBounds(t *testing.T) {
	const (
		n             = 1 << 16 // elements in the hostile vector
		maxAllocRatio = 4
		maxUnbounded  = 10 // the same input decoded without bounds, rejected by the memory allowance
	)
	bounds := codec.Bounds{MaxProposals: 1000, MaxLeaves: 1000}
	refs := make([]codec.ProposalOrRef, n)
	for i := range refs {
		refs[i] = codec.ProposalOrRef{Type: codec.ProposalOrRefReference}
	}
	leaf := codec.LeafNode{EncryptionKey: []byte{1}, SignatureKey: []byte{2}, Credential: codec.Credential{CredentialType: 1, Identity: []byte("x")},
		LeafNodeSource: codec.LeafNodeSourceCommit, ParentHash: []byte{3}, Signature: []byte{4}}
	path := &codec.UpdatePath{LeafNode: leaf, Nodes: []codec.UpdatePathNode{{EncryptionKey: []byte{1}, EncryptedPathSecret: make([]codec.HPKECiphertext, n)}}}
	for _, tt := range []struct {
		name   string
		commit codec.Commit
		limit  string
		max    uint32
	}{
		{"proposals", codec.Commit{Proposals: refs}, "MaxProposals", bounds.MaxProposals},
		{"path secrets", codec.Commit{Path: path}, "MaxLeaves", bounds.MaxLeaves},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 1, 2)
			sds := f.es.SenderDataSecret()
			st := f.tree(t, 2)
			c := f.content(codec.ContentTypeCommit, nil)
			c.Commit = &tt.commit
			ac := f.signed(t, codec.WireFormatPrivateMessage, c)
			pm, _, _, err := ProtectPrivate(f.cs, st, sds, ac, PrivateParams{})
			if err != nil {
				t.Fatal(err)
			}
			in := uint64(len(pm.Ciphertext))
			var uerr error
			got := allocatedAfterGC(func() {
				_, _, _, uerr = UnprotectPrivate(f.cs, st, sds, pm, f.ctx, f.senderKey, bounds)
			})
			var le *codec.LimitError
			if !errors.As(uerr, &le) || !errors.Is(uerr, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed wrapping a *codec.LimitError", uerr)
			}
			if le.Limit != tt.limit || le.Max != uint64(tt.max) || le.Got != uint64(tt.max)+1 {
				t.Fatalf("limit error %+v, want %s %d > %d", le, tt.limit, tt.max+1, tt.max)
			}
			if got > maxAllocRatio*in {
				t.Fatalf("allocated %d bytes for a %d-byte ciphertext (%.1f×), want ≤ %d×", got, in, float64(got)/float64(in), maxAllocRatio)
			}
			unbounded := allocatedAfterGC(func() {
				_, _, _, uerr = UnprotectPrivate(f.cs, st, sds, pm, f.ctx, f.senderKey, codec.Bounds{})
			})
			// Without bounds, the decoder's memory allowance still rejects
			// the content, whose values would take over 16 times its
			// size: the input is hostile enough for the test to fail.
			if !errors.As(uerr, &le) || le.Limit != "decoded memory" {
				t.Fatalf("unbounded: %v, want a *codec.LimitError naming decoded memory", uerr)
			}
			if unbounded > maxUnbounded*in {
				t.Fatalf("unbounded decoding allocated %d bytes for %d (%.1f×)", unbounded, in, float64(unbounded)/float64(in))
			}
			t.Logf("ciphertext %d bytes: bounded %d bytes allocated (%.2f×), unbounded %d (%.1f×)", in, got, float64(got)/float64(in), unbounded, float64(unbounded)/float64(in))
		})
	}
}

// allocatedAfterGC collects garbage first, so that a collection the
// measured call would otherwise trigger does not blur its count.
func allocatedAfterGC(f func()) uint64 {
	runtime.GC()
	return testrun.Allocated(f)
}
