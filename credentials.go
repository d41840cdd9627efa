package mls

import (
	"bytes"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
)

// entering returns the members of a staged commit's next epoch whose
// credential or signature key is new: every added leaf (an external
// joiner's too), and the updated leaves and the committer's leaf where
// their credential or signature key changed. Only those leaves are read.
func entering(cur state.GroupState, sc state.StagedCommit) []Member {
	cands := slices.Clone(sc.Added)
	changed := slices.Clone(sc.Updated)
	if sc.Sender.SenderType == codec.SenderTypeMember {
		changed = append(changed, sc.Sender.LeafIndex)
	}
	for _, i := range changed {
		nl, ok := sc.Next.Tree().Leaf(i)
		if !ok || slices.Contains(cands, i) {
			continue
		}
		ol, ok := cur.Tree().Leaf(i)
		if !ok || !bytes.Equal(ol.SignatureKey, nl.SignatureKey) || !sameCredential(ol.Credential, nl.Credential) {
			cands = append(cands, i)
		}
	}
	slices.Sort(cands)
	var out []Member
	for _, i := range cands {
		if ln, ok := sc.Next.Tree().Leaf(i); ok {
			out = append(out, Member{Index: i, Credential: ln.Credential, Identity: ln.Credential.Identity,
				SignatureKey: ln.SignatureKey, EncryptionKey: ln.EncryptionKey})
		}
	}
	return out
}

// sameCredential reports whether a and b are the same credential.
func sameCredential(a, b codec.Credential) bool {
	return a.CredentialType == b.CredentialType && bytes.Equal(a.Identity, b.Identity) && bytes.Equal(a.Data, b.Data) &&
		slices.EqualFunc(a.Certificates, b.Certificates, bytes.Equal)
}
