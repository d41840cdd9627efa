package tree

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// updatePathNodeLabel is the EncryptWithLabel label of path secrets
// (RFC 9420, Section 7.6).
const updatePathNodeLabel = "UpdatePathNode"

// encapSeedLabel is the ExpandWithLabel label under which Encrypt derives
// the HPKE encapsulation seed of each ciphertext from its seed argument.
// It is specific to mlscore and distinct from every RFC 9420 label.
const encapSeedLabel = "mlscore UpdatePath encap"

// PathUpdate is the committer's side of a TreeKEM update [RFC 9420,
// Section 7.4]: the new tree it produced, the path secrets of the sender's
// filtered direct path, the new private keys and the commit secret. Obtain
// one from Tree.GeneratePath, then call Encrypt once the provisional
// GroupContext (which contains the new tree hash) is known. It is
// immutable.
//
// [RFC 9420, Section 7.4]: https://www.rfc-editor.org/rfc/rfc9420#section-7.4
type PathUpdate struct {
	t            Tree // the tree after merging the path
	sender       treemath.LeafIndex
	fdp, copath  []treemath.NodeIndex
	secrets      [][]byte // path secrets, one per node of fdp
	pubs         [][]byte // node public keys, one per node of fdp
	commitSecret []byte
	priv         PrivatePath
	leaf         *codec.LeafNode
}

// derivePath derives the path secrets and key pairs of an UpdatePath from
// leafSecret [RFC 9420, Section 7.4]: the leaf key pair from
// DeriveSecret(leaf_secret, "node"), path_secret[0] =
// DeriveSecret(leaf_secret, "path"), path_secret[n+1] =
// DeriveSecret(path_secret[n], "path"), and commit_secret the path secret
// after the last node.
func derivePath(s *suite.Suite, leaf treemath.LeafIndex, fdp []treemath.NodeIndex, leafSecret []byte) (leafKey nodeKey, keys []nodeKey, secrets [][]byte, commit []byte, err error) {
	if leafKey, err = deriveNodeKey(s, leaf.Node(), leafSecret); err != nil {
		return
	}
	ps, err := s.DeriveSecret(leafSecret, "path")
	if err != nil {
		return
	}
	keys = make([]nodeKey, len(fdp))
	secrets = make([][]byte, len(fdp))
	for j, x := range fdp {
		secrets[j] = ps
		if keys[j], err = deriveNodeKey(s, x, ps); err != nil {
			return
		}
		if ps, err = s.DeriveSecret(ps, "path"); err != nil {
			return
		}
	}
	return leafKey, keys, secrets, ps, nil
}

// pathParentHashes computes, top down, the parent_hash of each node of the
// filtered direct path fdp (with copath children copath) given their new
// public keys, and the parent hash the leaf must carry [RFC 9420, Section
// 7.9]: the root-most node gets an empty parent_hash, and each node below
// gets the parent hash of the next node up, computed over the tree hash of
// that node's copath child (unchanged by the path, and with no unmerged
// leaves to remove since the path resets them).
func (t Tree) pathParentHashes(fdp, copath []treemath.NodeIndex, pubs [][]byte) (phs [][]byte, leafPH []byte, err error) {
	phs = make([][]byte, len(fdp))
	var above []byte // parent hash of the node above, as seen from below
	for j := len(fdp) - 1; j >= 0; j-- {
		if j == len(fdp)-1 {
			phs[j] = []byte{}
		} else {
			phs[j] = above
		}
		sib := t.lookup(copath[j])
		if above, err = parentHash(t.s, pubs[j], phs[j], sib.treeHash()); err != nil {
			return nil, nil, err
		}
	}
	return phs, above, nil
}

// mergePath returns t with leaf i replaced by ln, the nodes of fdp set to
// fresh parent nodes (public key, parent hash, no unmerged leaves) and the
// rest of i's direct path blanked [RFC 9420, Section 7.5], and checks that
// every new key is unique in the new tree (ValSem206 for the leaf's
// encryption key, ValSem207 for the parents').
func (t Tree) mergePath(i treemath.LeafIndex, old *leafRec, ln *codec.LeafNode, fdp []treemath.NodeIndex, pubs, phs [][]byte) (Tree, error) {
	rec, err := newLeafRec(ln)
	if err != nil {
		return t, err
	}
	prs := make([]*parentRec, len(fdp))
	for k := range fdp {
		if prs[k], err = newParentRec(&codec.ParentNode{EncryptionKey: pubs[k], ParentHash: phs[k]}); err != nil {
			return t, err
		}
	}
	j := 0
	nt, collided, err := t.replacePath(i, old, rec, func(x treemath.NodeIndex, _ *parentRec) *parentRec {
		if j < len(fdp) && fdp[j] == x {
			j++
			return prs[j-1]
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	if !collided {
		// No key the path inserted met its hash elsewhere in the index:
		// each has one holder, and the checks below would all pass.
		return nt, nil
	}
	if h := nt.holders(kindSignature, ln.SignatureKey); len(h) > 1 {
		return t, fmt.Errorf("%w: signature key of leaf %d also held by node %d", ErrDuplicateKey, i, otherHolder(h, i.Node()))
	}
	// ValSem206: the path's leaf encryption key must be unique.
	if h := nt.holders(kindEncryption, ln.EncryptionKey); len(h) > 1 {
		return t, valsem.Wrap(valsem.ValSem206, ErrDuplicateKey, fmt.Sprintf("encryption key of leaf %d also held by node %d", i, otherHolder(h, i.Node())))
	}
	// ValSem207: the path's parent encryption keys must be unique.
	for k, x := range fdp {
		if h := nt.holders(kindEncryption, pubs[k]); len(h) > 1 {
			return t, valsem.Wrap(valsem.ValSem207, ErrDuplicateKey, fmt.Sprintf("encryption key of node %d also held by node %d", x, otherHolder(h, x)))
		}
	}
	return nt, nil
}

// GeneratePath performs the committer's side of a TreeKEM update from leaf
// sender [RFC 9420, Sections 7.4, 7.5 and 7.9]. From leafSecret (Nh bytes
// of fresh entropy) it derives the leaf's new HPKE key pair and one path
// secret and key pair per node of the filtered direct path; it computes the
// parent hashes, builds the new leaf node from template (its encryption
// key, leaf_node_source = commit and parent_hash are set, the other fields
// kept) and signs it with sign over LeafNodeTBS with groupID and sender.
// It returns the tree with the path merged and the PathUpdate from which
// the UpdatePath is encrypted. t is the provisional tree: the committed
// proposals already applied.
func (t Tree) GeneratePath(sender treemath.LeafIndex, template codec.LeafNode, groupID, leafSecret []byte, sign Signer) (Tree, *PathUpdate, error) {
	if uint64(sender) >= uint64(t.leaves) {
		return t, nil, fmt.Errorf("%w: leaf %d", ErrLeafIndex, sender)
	}
	old, _ := t.leafRec(sender)
	fdp, copath := t.filteredPath(sender)
	leafKey, keys, secrets, commit, err := derivePath(t.s, sender, fdp, leafSecret)
	if err != nil {
		return t, nil, err
	}
	pubs := make([][]byte, len(keys))
	for j, k := range keys {
		pubs[j] = k.pub
	}
	phs, leafPH, err := t.pathParentHashes(fdp, copath, pubs)
	if err != nil {
		return t, nil, err
	}
	ln := template
	ln.EncryptionKey = leafKey.pub
	ln.LeafNodeSource = codec.LeafNodeSourceCommit
	ln.Lifetime = codec.Lifetime{}
	ln.ParentHash = leafPH
	if err := SignLeaf(sign, &ln, groupID, sender); err != nil {
		return t, nil, err
	}
	nt, err := t.mergePath(sender, old, &ln, fdp, pubs, phs)
	if err != nil {
		return t, nil, err
	}
	priv := PrivatePath{leaf: sender, keys: append([]nodeKey{leafKey}, keys...)}
	slices.SortFunc(priv.keys, func(a, b nodeKey) int { return cmp.Compare(a.node, b.node) })
	return nt, &PathUpdate{
		t: nt, sender: sender, fdp: fdp, copath: copath,
		secrets: secrets, pubs: pubs, commitSecret: commit, priv: priv, leaf: &ln,
	}, nil
}

// Encrypt builds the UpdatePath [RFC 9420, Section 7.6]: for each node of
// the filtered direct path, its public key and its path secret encrypted
// with EncryptWithLabel(pub, "UpdatePathNode", groupContext, path_secret)
// to every node of the resolution of its copath child, leaving out the
// members added by this commit (exclude). groupContext is the encoded
// provisional GroupContext. The encapsulation randomness of the ciphertext
// for resolution position m of path node x is
// ExpandWithLabel(seed, "mlscore UpdatePath encap", uint32(x) || uint32(m),
// HPKESeedLen), so one seed determines the whole UpdatePath.
//
// [RFC 9420, Section 7.6]: https://www.rfc-editor.org/rfc/rfc9420#section-7.6
func (u *PathUpdate) Encrypt(groupContext []byte, exclude []treemath.LeafIndex, seed []byte) (codec.UpdatePath, error) {
	s := u.t.s
	out := codec.UpdatePath{LeafNode: *u.leaf, Nodes: make([]codec.UpdatePathNode, len(u.fdp))}
	var ctx [8]byte
	for j, x := range u.fdp {
		res := u.t.Resolution(u.copath[j], exclude...)
		cts := make([]codec.HPKECiphertext, len(res))
		for m, r := range res {
			binary.BigEndian.PutUint32(ctx[:4], uint32(x))
			binary.BigEndian.PutUint32(ctx[4:], uint32(m))
			es, err := s.ExpandWithLabel(seed, encapSeedLabel, ctx[:], s.HPKESeedLen())
			if err != nil {
				return codec.UpdatePath{}, err
			}
			kem, ct, err := s.EncryptWithLabel(u.t.encryptionKey(r), updatePathNodeLabel, groupContext, u.secrets[j], es)
			if err != nil {
				return codec.UpdatePath{}, fmt.Errorf("mls: encrypt path secret of node %d to node %d: %w", x, r, err)
			}
			cts[m] = codec.HPKECiphertext{KEMOutput: kem, Ciphertext: ct}
		}
		out.Nodes[j] = codec.UpdatePathNode{EncryptionKey: u.pubs[j], EncryptedPathSecret: cts}
	}
	return out, nil
}

// Tree returns the tree with the path merged (the same value GeneratePath
// returned).
func (u *PathUpdate) Tree() Tree { return u.t }

// CommitSecret returns the commit secret: the path secret following the
// root's [RFC 9420, Section 8]. The caller owns the returned slice.
//
// [RFC 9420, Section 8]: https://www.rfc-editor.org/rfc/rfc9420#section-8
func (u *PathUpdate) CommitSecret() []byte { return slices.Clone(u.commitSecret) }

// Private returns the committer's new private state: its new leaf key and
// a key for every node of its filtered direct path.
func (u *PathUpdate) Private() PrivatePath { return u.priv }

// LeafNode returns the committer's new, signed leaf node. It must not be
// modified.
func (u *PathUpdate) LeafNode() *codec.LeafNode { return u.leaf }

// PathSecretFor returns the path secret a new member at leaf i receives in
// its Welcome [RFC 9420, Section 12.4.3.1]: the one of the lowest node of
// the committer's filtered direct path above i (their common ancestor).
//
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
func (u *PathUpdate) PathSecretFor(i treemath.LeafIndex) (treemath.NodeIndex, []byte, bool) {
	ca := treemath.CommonAncestor(i.Node(), u.sender.Node())
	j := slices.Index(u.fdp, ca)
	if j < 0 || i == u.sender {
		return 0, nil, false
	}
	return ca, slices.Clone(u.secrets[j]), true
}

// MergePath merges the UpdatePath path of a commit by sender into the
// tree, as a receiver does first [RFC 9420, Section 7.5]: the path must
// have one node per node of the sender's filtered direct path (ValSem202);
// the parent hashes are recomputed from the root down and the leaf's
// parent_hash must equal the one for the first node (ErrParentHash); the
// sender's leaf is replaced, the filtered direct path gets the new public
// keys with no unmerged leaves, the rest of the direct path is blanked;
// new keys must be unique (ValSem206, ValSem207). The leaf node's
// signature and the rest of leaf validation are the caller's (see
// VerifyLeafSignature). t is the provisional tree: the committed
// proposals already applied.
//
// [RFC 9420, Section 7.5]: https://www.rfc-editor.org/rfc/rfc9420#section-7.5
func (t Tree) MergePath(sender treemath.LeafIndex, path *codec.UpdatePath) (Tree, error) {
	old, ok := t.leafRec(sender)
	if !ok {
		return t, fmt.Errorf("%w: path sender leaf %d is blank or outside the tree", ErrLeafIndex, sender)
	}
	fdp, copath := t.filteredPath(sender)
	// ValSem202: one UpdatePathNode per node of the filtered direct path.
	if len(path.Nodes) != len(fdp) {
		return t, valsem.Errorf(valsem.ValSem202, "path of leaf %d has %d nodes, its filtered direct path %d", sender, len(path.Nodes), len(fdp))
	}
	pubs := make([][]byte, len(fdp))
	for j, n := range path.Nodes {
		pubs[j] = n.EncryptionKey
	}
	phs, leafPH, err := t.pathParentHashes(fdp, copath, pubs)
	if err != nil {
		return t, err
	}
	// The tree keeps the leaf node's encoding, so later changes to path
	// by the caller cannot reach it.
	ln := &path.LeafNode
	if ln.LeafNodeSource != codec.LeafNodeSourceCommit {
		return t, fmt.Errorf("%w: path leaf node of leaf %d has source %v, want commit", ErrParentHash, sender, ln.LeafNodeSource)
	}
	if !bytes.Equal(ln.ParentHash, leafPH) {
		return t, fmt.Errorf("%w: path leaf node of leaf %d: parent_hash %x, want %x", ErrParentHash, sender, ln.ParentHash, leafPH)
	}
	return t.mergePath(sender, old, ln, fdp, pubs, phs)
}

// ReceivedPath is what a receiver obtains from an UpdatePath.
type ReceivedPath struct {
	// Private is the receiver's new private state: the keys of the nodes
	// it shares with the sender's path replaced by the derived ones.
	Private PrivatePath
	// CommitSecret is the path secret following the root's.
	CommitSecret []byte
	// Node is the lowest common ancestor of sender and receiver, whose
	// path secret the receiver decrypted, and PathSecret that secret.
	Node       treemath.NodeIndex
	PathSecret []byte
}

// DecryptPath performs the receiver's second step [RFC 9420, Section 7.5]
// on t, the tree returned by MergePath: find the node of the sender's
// filtered direct path that is the common ancestor with the receiver,
// decrypt its path secret with the private key of the node of the copath
// child's resolution (excluding the members added by this commit) that
// priv holds, derive the path secrets and key pairs up to the root, check
// every derived public key against the path (ValSem204), and return the new
// private state and the commit secret. A ciphertext count that differs
// from the resolution's size is ValSem202; a ciphertext that does not
// decrypt, or no usable key, is ValSem203. groupContext is the encoded
// provisional GroupContext.
//
// [RFC 9420, Section 7.5]: https://www.rfc-editor.org/rfc/rfc9420#section-7.5
func (t Tree) DecryptPath(priv PrivatePath, sender treemath.LeafIndex, path *codec.UpdatePath, groupContext []byte, exclude []treemath.LeafIndex) (ReceivedPath, error) {
	own := priv.Leaf()
	if own == sender || uint64(own) >= uint64(t.leaves) {
		return ReceivedPath{}, fmt.Errorf("%w: receiver leaf %d, sender leaf %d", ErrLeafIndex, own, sender)
	}
	fdp, copath := t.filteredPath(sender)
	// ValSem202: one UpdatePathNode per node of the filtered direct path.
	if len(path.Nodes) != len(fdp) {
		return ReceivedPath{}, valsem.Errorf(valsem.ValSem202, "path of leaf %d has %d nodes, its filtered direct path %d", sender, len(path.Nodes), len(fdp))
	}
	ca := treemath.CommonAncestor(own.Node(), sender.Node())
	j := slices.Index(fdp, ca)
	if j < 0 {
		return ReceivedPath{}, valsem.Wrap(valsem.ValSem203, ErrNoPathSecret, fmt.Sprintf("common ancestor %d of leaves %d and %d is not on the filtered direct path", ca, own, sender))
	}
	res := t.Resolution(copath[j], exclude...)
	cts := path.Nodes[j].EncryptedPathSecret
	// ValSem202: one ciphertext per resolution node.
	if len(cts) != len(res) {
		return ReceivedPath{}, valsem.Errorf(valsem.ValSem202, "node %d has %d encrypted path secrets, resolution of %d has %d nodes", ca, len(cts), copath[j], len(res))
	}
	m := -1
	var key nodeKey
	for k, r := range res {
		if nk, ok := priv.find(r); ok && bytes.Equal(nk.pub, t.encryptionKey(r)) {
			m, key = k, nk
			break
		}
	}
	// ValSem203: the receiver must be able to decrypt a path secret.
	if m < 0 {
		return ReceivedPath{}, valsem.Wrap(valsem.ValSem203, ErrNoPathSecret, fmt.Sprintf("leaf %d holds no key of the resolution of node %d", own, copath[j]))
	}
	ps, err := t.s.DecryptWithLabel(key.priv, updatePathNodeLabel, groupContext, cts[m].KEMOutput, cts[m].Ciphertext)
	if err != nil {
		return ReceivedPath{}, valsem.Wrap(valsem.ValSem203, err, fmt.Sprintf("path secret of node %d for node %d", ca, key.node))
	}
	out := ReceivedPath{Node: ca, PathSecret: slices.Clone(ps)}
	add := make([]nodeKey, 0, len(fdp)-j)
	for k := j; k < len(fdp); k++ {
		nk, err := deriveNodeKey(t.s, fdp[k], ps)
		if err != nil {
			return ReceivedPath{}, err
		}
		// ValSem204: derived public keys must match the path's.
		if !bytes.Equal(nk.pub, path.Nodes[k].EncryptionKey) {
			return ReceivedPath{}, valsem.Errorf(valsem.ValSem204, "public key derived for node %d differs from the path's", fdp[k])
		}
		add = append(add, nk)
		if ps, err = t.s.DeriveSecret(ps, "path"); err != nil {
			return ReceivedPath{}, err
		}
	}
	out.CommitSecret = ps
	// Every node of the sender's direct path from the common ancestor up
	// was reset by the path: forget the old keys, keep the new ones.
	out.Private = priv.with(func(x treemath.NodeIndex) bool {
		return x != own.Node() && treemath.IsAncestor(x, ca)
	}, add...)
	return out, nil
}
