package vectors

import (
	"bytes"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

type treeKEMCase struct {
	CipherSuite             uint16   `json:"cipher_suite"`
	GroupID                 HexBytes `json:"group_id"`
	Epoch                   uint64   `json:"epoch"`
	ConfirmedTranscriptHash HexBytes `json:"confirmed_transcript_hash"`
	RatchetTree             HexBytes `json:"ratchet_tree"`
	LeavesPrivate           []struct {
		Index          uint32   `json:"index"`
		EncryptionPriv HexBytes `json:"encryption_priv"`
		SignaturePriv  HexBytes `json:"signature_priv"`
		PathSecrets    []struct {
			Node       uint32   `json:"node"`
			PathSecret HexBytes `json:"path_secret"`
		} `json:"path_secrets"`
	} `json:"leaves_private"`
	UpdatePaths []struct {
		Sender        uint32     `json:"sender"`
		UpdatePath    HexBytes   `json:"update_path"`
		PathSecrets   []HexBytes `json:"path_secrets"`
		CommitSecret  HexBytes   `json:"commit_secret"`
		TreeHashAfter HexBytes   `json:"tree_hash_after"`
	} `json:"update_paths"`
}

// runTreeKEM checks UpdatePath processing and generation (tree package)
// against treekem.json.
func runTreeKEM(data []byte, r *Result) {
	cases, ok := decodeCases[treeKEMCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if err := checkTreeKEM(c); err != "" {
			r.Fail("case %d (suite %d): %s", i, c.CipherSuite, err)
			continue
		}
		r.Pass()
	}
}

func checkTreeKEM(c treeKEMCase) string {
	s, err := suite.Lookup(suite.ID(c.CipherSuite))
	if err != nil {
		return sprintf("suite: %v", err)
	}
	t, err := tree.Decode(s, c.RatchetTree, treemath.MaxLeaves)
	if err != nil {
		return sprintf("ratchet_tree: %v", err)
	}
	// The private state of each leaf, checked against the public tree.
	privs := map[treemath.LeafIndex]tree.PrivatePath{}
	signers := map[treemath.LeafIndex][]byte{}
	for _, lp := range c.LeavesPrivate {
		i := treemath.LeafIndex(lp.Index)
		p, err := tree.NewPrivatePath(s, i, lp.EncryptionPriv)
		if err != nil {
			return sprintf("leaves_private[%d]: %v", i, err)
		}
		for _, ps := range lp.PathSecrets {
			if p, err = p.WithPathSecret(s, treemath.NodeIndex(ps.Node), ps.PathSecret); err != nil {
				return sprintf("leaves_private[%d] node %d: %v", i, ps.Node, err)
			}
		}
		if err := p.Check(t); err != nil {
			return sprintf("leaves_private[%d]: %v", i, err)
		}
		privs[i], signers[i] = p, lp.SignaturePriv
	}
	groupContext := func(th []byte) ([]byte, error) {
		return codec.GroupContext{
			Version: codec.MLS10, CipherSuite: codec.CipherSuite(c.CipherSuite), GroupID: c.GroupID,
			Epoch: c.Epoch, TreeHash: th, ConfirmedTranscriptHash: c.ConfirmedTranscriptHash,
		}.Encode()
	}
	// receive merges path into t and has every other member decrypt it;
	// it returns the commit secret they agree on and the decrypted path
	// secrets by leaf.
	receive := func(sender treemath.LeafIndex, path *codec.UpdatePath) (tree.Tree, []byte, map[treemath.LeafIndex][]byte, string) {
		merged, err := t.MergePath(sender, path)
		if err != nil {
			return merged, nil, nil, sprintf("merge path of %d: %v", sender, err)
		}
		if err := tree.VerifyLeafSignature(s, &path.LeafNode, c.GroupID, sender); err != nil {
			return merged, nil, nil, sprintf("path of %d: %v", sender, err)
		}
		gc, err := groupContext(merged.Hash())
		if err != nil {
			return merged, nil, nil, sprintf("group context: %v", err)
		}
		var commit []byte
		secrets := map[treemath.LeafIndex][]byte{}
		for j := range t.Members() {
			if j == sender {
				continue
			}
			p, ok := privs[j]
			if !ok {
				return merged, nil, nil, sprintf("no private state for leaf %d", j)
			}
			rp, err := merged.DecryptPath(p, sender, path, gc, nil)
			if err != nil {
				return merged, nil, nil, sprintf("leaf %d decrypts path of %d: %v", j, sender, err)
			}
			if err := rp.Private.Check(merged); err != nil {
				return merged, nil, nil, sprintf("leaf %d after path of %d: %v", j, sender, err)
			}
			if commit != nil && !bytes.Equal(commit, rp.CommitSecret) {
				return merged, nil, nil, sprintf("leaf %d: commit secret %x differs from %x", j, rp.CommitSecret, commit)
			}
			commit = rp.CommitSecret
			secrets[j] = rp.PathSecret
		}
		return merged, commit, secrets, ""
	}
	for k, up := range c.UpdatePaths {
		sender := treemath.LeafIndex(up.Sender)
		path, err := codec.DecodeUpdatePath(up.UpdatePath)
		if err != nil {
			return sprintf("update_paths[%d]: %v", k, err)
		}
		merged, commit, secrets, msg := receive(sender, &path)
		if msg != "" {
			return sprintf("update_paths[%d]: %s", k, msg)
		}
		if !bytes.Equal(merged.Hash(), up.TreeHashAfter) {
			return sprintf("update_paths[%d]: tree_hash_after: got %x, want %x", k, merged.Hash(), []byte(up.TreeHashAfter))
		}
		for j, want := range up.PathSecrets {
			got := secrets[treemath.LeafIndex(j)]
			if !bytes.Equal(got, want) {
				return sprintf("update_paths[%d]: path_secrets[%d]: got %x, want %x", k, j, got, []byte(want))
			}
		}
		if commit != nil && !bytes.Equal(commit, up.CommitSecret) {
			return sprintf("update_paths[%d]: commit_secret: got %x, want %x", k, commit, []byte(up.CommitSecret))
		}

		// Generate a fresh path from the same sender and have every other
		// member process it.
		tmpl, ok := t.Leaf(sender)
		if !ok {
			return sprintf("update_paths[%d]: sender %d is blank", k, sender)
		}
		signer, err := s.NewSigner(signers[sender])
		if err != nil {
			return sprintf("update_paths[%d]: signature_priv: %v", k, err)
		}
		leafSecret := s.Hash(append([]byte("treekem leaf secret"), byte(k)))
		nt, pu, err := t.GeneratePath(sender, *tmpl, c.GroupID, leafSecret, signer)
		if err != nil {
			return sprintf("update_paths[%d]: generate: %v", k, err)
		}
		gc, err := groupContext(nt.Hash())
		if err != nil {
			return sprintf("group context: %v", err)
		}
		np, err := pu.Encrypt(gc, nil, s.Hash([]byte("treekem encap seed")))
		if err != nil {
			return sprintf("update_paths[%d]: encrypt: %v", k, err)
		}
		if err := pu.Private().Check(nt); err != nil {
			return sprintf("update_paths[%d]: sender private state: %v", k, err)
		}
		rt, rcommit, _, msg := receive(sender, &np)
		if msg != "" {
			return sprintf("update_paths[%d]: new path: %s", k, msg)
		}
		if !bytes.Equal(rt.Hash(), nt.Hash()) {
			return sprintf("update_paths[%d]: new path: receiver tree hash %x, sender's %x", k, rt.Hash(), nt.Hash())
		}
		if rcommit != nil && !bytes.Equal(rcommit, pu.CommitSecret()) {
			return sprintf("update_paths[%d]: new path: commit secret %x, sender's %x", k, rcommit, pu.CommitSecret())
		}
	}
	return ""
}
