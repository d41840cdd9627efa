package tree_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// group is a test harness: a tree and the real members behind its leaves,
// with each member's private path.
type group struct {
	s       *suite.Suite
	t       tree.Tree
	members map[treemath.LeafIndex]member
	privs   map[treemath.LeafIndex]tree.PrivatePath
	nextID  uint64
	epoch   uint64
}

func newGroup(tb tester, s *suite.Suite) *group {
	tb.Helper()
	m := newMember(tb, s, 0)
	t, err := tree.New(s, m.keyPackageLeaf(tb, s, 0))
	if err != nil {
		tb.Fatal(err)
	}
	p, err := tree.NewPrivatePath(s, 0, m.encPriv)
	if err != nil {
		tb.Fatal(err)
	}
	return &group{s: s, t: t, nextID: 1,
		members: map[treemath.LeafIndex]member{0: m},
		privs:   map[treemath.LeafIndex]tree.PrivatePath{0: p}}
}

func (g *group) add(tb tester) treemath.LeafIndex {
	tb.Helper()
	id := g.nextID
	g.nextID++
	m := newMember(tb, g.s, id)
	t, i, err := g.t.Add(m.keyPackageLeaf(tb, g.s, id))
	if err != nil {
		tb.Fatal(err)
	}
	p, err := tree.NewPrivatePath(g.s, i, m.encPriv)
	if err != nil {
		tb.Fatal(err)
	}
	g.t, g.members[i], g.privs[i] = t, m, p
	return i
}

func (g *group) remove(tb tester, i treemath.LeafIndex) {
	tb.Helper()
	t, err := g.t.Remove(i)
	if err != nil {
		tb.Fatal(err)
	}
	g.t = t
	delete(g.members, i)
	delete(g.privs, i)
	g.prune()
}

func (g *group) prune() {
	for j, p := range g.privs {
		g.privs[j] = p.Prune(g.t)
	}
}

// update gives member i a fresh leaf key through an Update.
func (g *group) update(tb tester, i treemath.LeafIndex) {
	tb.Helper()
	m := g.members[i]
	id := g.nextID
	g.nextID++
	priv, pub, err := g.s.DeriveKeyPair(seedBytes("update enc", id, g.s.HashLen()))
	if err != nil {
		tb.Fatal(err)
	}
	old, _ := g.t.Leaf(i)
	ln := *old
	ln.EncryptionKey, ln.LeafNodeSource, ln.Lifetime, ln.ParentHash = pub, codec.LeafNodeSourceUpdate, codec.Lifetime{}, nil
	if err := tree.SignLeaf(m.signer, &ln, testGroupID, i); err != nil {
		tb.Fatal(err)
	}
	t, err := g.t.Update(i, &ln)
	if err != nil {
		tb.Fatal(err)
	}
	g.t = t
	if g.privs[i], err = g.privs[i].WithLeafKey(g.s, priv); err != nil {
		tb.Fatal(err)
	}
	g.prune()
}

func (g *group) groupContext(tb tester, t tree.Tree) []byte {
	tb.Helper()
	gc, err := codec.GroupContext{Version: codec.MLS10, CipherSuite: codec.CipherSuite(g.s.ID()), GroupID: testGroupID,
		Epoch: g.epoch, TreeHash: t.Hash(), ConfirmedTranscriptHash: []byte("cth")}.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return gc
}

// commit has member i send an UpdatePath (excluding the leaves in
// exclude, just added); every other old member processes it and must
// reach the same commit secret; new members join from their path secret.
func (g *group) commit(tb tester, i treemath.LeafIndex, exclude ...treemath.LeafIndex) {
	tb.Helper()
	g.epoch++
	tmpl, _ := g.t.Leaf(i)
	nt, pu, err := g.t.GeneratePath(i, *tmpl, testGroupID, seedBytes("leaf secret", g.epoch, g.s.HashLen()), g.members[i].signer)
	if err != nil {
		tb.Fatal(err)
	}
	gc := g.groupContext(tb, nt)
	path, err := pu.Encrypt(gc, exclude, seedBytes("encap", g.epoch, 32))
	if err != nil {
		tb.Fatal(err)
	}
	if err := pu.Private().Check(nt); err != nil {
		tb.Fatalf("committer's private path: %v", err)
	}
	for j, p := range g.privs {
		if j == i || slicesContains(exclude, j) {
			continue
		}
		rt, err := g.t.MergePath(i, &path)
		if err != nil {
			tb.Fatalf("leaf %d merges path of %d: %v", j, i, err)
		}
		if !bytes.Equal(rt.Hash(), nt.Hash()) {
			tb.Fatalf("leaf %d: merged tree hash differs from the committer's", j)
		}
		rp, err := rt.DecryptPath(p, i, &path, gc, exclude)
		if err != nil {
			tb.Fatalf("leaf %d decrypts path of %d: %v", j, i, err)
		}
		if !bytes.Equal(rp.CommitSecret, pu.CommitSecret()) {
			tb.Fatalf("leaf %d: commit secret differs", j)
		}
		g.privs[j] = rp.Private
	}
	for _, j := range exclude {
		x, ps, ok := pu.PathSecretFor(j)
		if !ok {
			tb.Fatalf("no path secret for new member %d", j)
		}
		if g.privs[j], err = g.privs[j].Join(nt, x, ps); err != nil {
			tb.Fatalf("new member %d joins: %v", j, err)
		}
	}
	g.t, g.privs[i] = nt, pu.Private()
}

func slicesContains(s []treemath.LeafIndex, x treemath.LeafIndex) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// check asserts every invariant of the harness.
func (g *group) check(tb tester) {
	tb.Helper()
	t := g.t
	if got, want := t.Hash(), naiveRootHash(tb, t); !bytes.Equal(got, want) {
		tb.Fatalf("cached tree hash %x, recomputed %x", got, want)
	}
	enc := mustEncode(tb, t)
	dt, err := tree.Decode(g.s, enc, treemath.MaxLeaves)
	if err != nil {
		tb.Fatalf("decode own encoding: %v", err)
	}
	if !bytes.Equal(mustEncode(tb, dt), enc) || !bytes.Equal(dt.Hash(), t.Hash()) {
		tb.Fatal("encoding does not round-trip")
	}
	if err := t.Validate(testGroupID, t.Hash()); err != nil {
		tb.Fatalf("validate: %v", err)
	}
	if t.MemberCount() != len(g.members) {
		tb.Fatalf("%d members in the tree, %d in the harness", t.MemberCount(), len(g.members))
	}
	for i, ln := range t.Members() {
		if j, ok := t.LeafBySignatureKey(ln.SignatureKey); !ok || j != i {
			tb.Fatalf("signature key index: leaf %d maps to %d, %v", i, j, ok)
		}
		if x, ok := t.NodeByEncryptionKey(ln.EncryptionKey); !ok || x != i.Node() {
			tb.Fatalf("encryption key index: leaf %d maps to node %d, %v", i, x, ok)
		}
		if err := g.privs[i].Check(t); err != nil {
			tb.Fatalf("private path of %d: %v", i, err)
		}
	}
	// The leaf count is the smallest power of two above the last member.
	var last treemath.LeafIndex
	for i := range t.Members() {
		last = i
	}
	if n := t.LeafCount(); n > 1 && uint64(last) < uint64(n/2) {
		tb.Fatalf("tree of %d leaves not truncated (last member %d)", n, last)
	}
}

func TestGroupLifecycle(t *testing.T) {
	for _, id := range suite.All() {
		t.Run(id.String(), func(t *testing.T) {
			g := newGroup(t, mustSuite(t, id))
			var added []treemath.LeafIndex
			for range 6 {
				added = append(added, g.add(t))
			}
			g.check(t)
			g.commit(t, 0, added...)
			g.check(t)
			g.update(t, 3)
			g.check(t)
			g.commit(t, 5)
			g.check(t)
			g.remove(t, 6)
			g.remove(t, 2)
			g.check(t)
			g.commit(t, 4)
			g.check(t)
			n := g.add(t)
			g.commit(t, 1, n)
			g.check(t)
		})
	}
}

// TestPersistence: after an update, the old tree value still encodes to
// the same bytes and has the same tree hash, and both versions remain
// usable.
func TestPersistence(t *testing.T) {
	s := mustSuite(t, suite.X25519AES128GCMSHA256Ed25519)
	g := newGroup(t, s)
	for range 7 {
		g.add(t)
	}
	g.commit(t, 0, 1, 2, 3, 4, 5, 6, 7)
	old := g.t
	oldEnc, oldHash := mustEncode(t, old), old.Hash()
	oldPriv := g.privs[2]

	g.commit(t, 2) // path update
	g.update(t, 5) // update
	g.remove(t, 7) // remove and truncate? (7 is the last leaf: no, 6 remains)
	g.add(t)       // add into the freed leaf
	g.commit(t, 3, 7)
	g.check(t)

	if !bytes.Equal(mustEncode(t, old), oldEnc) {
		t.Fatal("old tree's encoding changed")
	}
	if !bytes.Equal(old.Hash(), oldHash) || !bytes.Equal(naiveRootHash(t, old), oldHash) {
		t.Fatal("old tree's hash changed")
	}
	if err := old.Validate(testGroupID, oldHash); err != nil {
		t.Fatalf("old tree no longer valid: %v", err)
	}
	if err := oldPriv.Check(old); err != nil {
		t.Fatalf("old private path no longer fits the old tree: %v", err)
	}
	// The old version remains usable: branch from it.
	branch, err := old.Remove(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := branch.Validate(testGroupID, nil); err != nil {
		t.Fatalf("branch from the old tree: %v", err)
	}
	if !bytes.Equal(mustEncode(t, old), oldEnc) {
		t.Fatal("old tree's encoding changed by branching")
	}
	if bytes.Equal(branch.Hash(), g.t.Hash()) {
		t.Fatal("branch and new tree should differ")
	}
}

// TestPathUpdateAllocatesLogNodes counts the tree nodes built by each
// single-leaf operation and asserts at most c·(log₂N+1), with c = 1: only
// the changed leaf and its direct path are new, every copath subtree is
// shared. N = 65536 runs in the long run (MLS_LONG=1).
func TestPathUpdateAllocatesLogNodes(t *testing.T) {
	sizes := []int{16, 256, 4096}
	if longRun() {
		sizes = append(sizes, 65536)
	}
	const c = 1
	s := mustSuite(t, suite.X25519AES128GCMSHA256Ed25519)
	snd, rcv := newMember(t, s, 100), newMember(t, s, 101)
	for _, n := range sizes {
		base := synthTree(t, s, n, map[treemath.LeafIndex]member{0: snd, 1: rcv})
		limit := c * (log2(base.LeafCount()) + 1)
		check := func(op string, old, nt tree.Tree) {
			t.Helper()
			if got := nt.NodesBuilt(); got > limit {
				t.Errorf("N=%d %s: built %d nodes, limit %d", n, op, got, limit)
			}
			if got := tree.FreshNodes(old, nt); got > limit || got < 0 {
				t.Errorf("N=%d %s: %d nodes not shared with the old tree, limit %d", n, op, got, limit)
			}
		}
		tmpl, _ := base.Leaf(0)
		nt, pu, err := base.GeneratePath(0, *tmpl, testGroupID, seedBytes("leaf", 1, 32), snd.signer)
		if err != nil {
			t.Fatal(err)
		}
		check("GeneratePath", base, nt)
		path, err := pu.Encrypt([]byte("gc"), nil, seedBytes("encap", 1, 32))
		if err != nil {
			t.Fatal(err)
		}
		mt, err := base.MergePath(0, &path)
		if err != nil {
			t.Fatal(err)
		}
		check("MergePath", base, mt)
		ln, _ := base.Leaf(9)
		upd := *ln
		upd.EncryptionKey = seedBytes("upd", 9, 32)
		ut, err := base.Update(9, &upd)
		if err != nil {
			t.Fatal(err)
		}
		check("Update", base, ut)
		rt, err := base.Remove(9)
		if err != nil {
			t.Fatal(err)
		}
		check("Remove", base, rt)
		add := upd
		add.SignatureKey = seedBytes("add sig", 9, 32)
		at, i, err := rt.Add(&add)
		if err != nil || i != 9 {
			t.Fatalf("add: leaf %d, %v", i, err)
		}
		check("Add", rt, at)
		// Remove blanked the log₂N parents above leaf 9; Add put the
		// leaf's two keys back.
		if want := tree.IndexSize(base) - log2(base.LeafCount()); tree.IndexSize(at) != want {
			t.Errorf("N=%d: key index size %d after remove+add, want %d", n, tree.IndexSize(at), want)
		}
	}
}

func TestDecodeTrailingBlank(t *testing.T) {
	s := mustSuite(t, suite.X25519AES128GCMSHA256Ed25519)
	g := newGroup(t, s)
	g.add(t)
	g.add(t)
	nodes := g.t.Nodes()
	for _, bad := range []codec.RatchetTree{append(nodes, nil), append(append(nodes, nil), nil), {}} {
		enc, err := bad.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tree.Decode(s, enc, treemath.MaxLeaves); !errors.Is(err, valsem.ValSem300) {
			t.Errorf("decode of %d nodes ending blank: %v, want ValSem300", len(bad), err)
		}
	}
	// A leaf at a parent position.
	wrong := append(codec.RatchetTree{}, nodes...)
	wrong[1] = nodes[0]
	if _, err := tree.FromNodes(s, wrong); !errors.Is(err, valsem.ValSem300) {
		t.Errorf("leaf at node 1: %v, want ValSem300", err)
	}
}

// tamper returns g's tree with node x replaced by f(copy of node x).
func tamper(tb tester, g *group, x treemath.NodeIndex, f func(n *codec.Node)) tree.Tree {
	tb.Helper()
	nodes := append(codec.RatchetTree{}, g.t.Nodes()...)
	n := *nodes[x]
	if n.Leaf != nil {
		l := *n.Leaf
		n.Leaf = &l
	}
	if n.Parent != nil {
		p := *n.Parent
		n.Parent = &p
	}
	f(&n)
	nodes[x] = &n
	t, err := tree.FromNodes(g.s, nodes)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestValidateRejects(t *testing.T) {
	s := mustSuite(t, suite.X25519AES128GCMSHA256Ed25519)
	g := newGroup(t, s)
	for range 5 {
		g.add(t)
	}
	g.commit(t, 0, 1, 2, 3, 4, 5)
	g.add(t) // leaf 6: unmerged at the root, outside every parent hash
	g.check(t)
	// Node 3 is the parent of leaves 0..3, set by leaf 0's commit; node 7
	// is the root.
	tests := []struct {
		name string
		x    treemath.NodeIndex
		f    func(n *codec.Node)
		want error
	}{
		{"parent hash", 3, func(n *codec.Node) { n.Parent.ParentHash = []byte("wrong") }, tree.ErrParentHash},
		{"parent key", 7, func(n *codec.Node) { n.Parent.EncryptionKey = seedBytes("k", 1, 32) }, tree.ErrParentHash},
		{"unmerged unsorted", 7, func(n *codec.Node) { n.Parent.UnmergedLeaves = []treemath.LeafIndex{6, 6} }, tree.ErrUnmergedLeaves},
		{"unmerged blank", 7, func(n *codec.Node) { n.Parent.UnmergedLeaves = []treemath.LeafIndex{6, 7} }, tree.ErrUnmergedLeaves},
		{"unmerged outside", 3, func(n *codec.Node) { n.Parent.UnmergedLeaves = []treemath.LeafIndex{5} }, tree.ErrUnmergedLeaves},
		{"unmerged missing in between", 7, func(n *codec.Node) { n.Parent.UnmergedLeaves = []treemath.LeafIndex{1, 6} }, tree.ErrUnmergedLeaves},
		{"duplicate encryption key", 4, func(n *codec.Node) { k, _ := g.t.Leaf(1); n.Leaf.EncryptionKey = k.EncryptionKey }, tree.ErrDuplicateKey},
		{"duplicate parent key", 1, func(n *codec.Node) { k, _ := g.t.Parent(3); n.Parent.EncryptionKey = k.EncryptionKey }, tree.ErrDuplicateKey},
		{"leaf signature", 12, func(n *codec.Node) {
			n.Leaf.Signature = append([]byte{}, n.Leaf.Signature...)
			n.Leaf.Signature[0] ^= 1
		}, tree.ErrLeafSignature},
		{"leaf content", 12, func(n *codec.Node) { n.Leaf.Credential.Identity = []byte("mallory") }, tree.ErrLeafSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := tamper(t, g, tt.x, tt.f)
			if err := bad.Validate(testGroupID, nil); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if err := g.t.Validate(testGroupID, []byte("other hash")); !errors.Is(err, tree.ErrTreeHash) {
		t.Fatalf("tree hash: got %v", err)
	}
	if err := g.t.Validate([]byte("other group"), nil); !errors.Is(err, tree.ErrLeafSignature) {
		t.Fatalf("group id: got %v", err)
	}
}

// fullGroupOf8 returns a group of 8 members after a commit covering them
// all (every parent set), and leaf 5's node as a path template.
func fullGroupOf8(t *testing.T) (*group, *codec.LeafNode) {
	g := newGroup(t, mustSuite(t, suite.X25519AES128GCMSHA256Ed25519))
	for range 7 {
		g.add(t)
	}
	g.commit(t, 0, 1, 2, 3, 4, 5, 6, 7)
	tmpl, _ := g.t.Leaf(5)
	return g, tmpl
}

func TestPathRejects(t *testing.T) {
	g, tmpl := fullGroupOf8(t)
	nt, pu, err := g.t.GeneratePath(5, *tmpl, testGroupID, seedBytes("leaf", 9, 32), g.members[5].signer)
	if err != nil {
		t.Fatal(err)
	}
	gc := g.groupContext(t, nt)
	path, err := pu.Encrypt(gc, nil, seedBytes("encap", 9, 32))
	if err != nil {
		t.Fatal(err)
	}
	clone := func() codec.UpdatePath {
		p := path
		p.Nodes = append([]codec.UpdatePathNode{}, path.Nodes...)
		for j := range p.Nodes {
			p.Nodes[j].EncryptedPathSecret = append([]codec.HPKECiphertext{}, path.Nodes[j].EncryptedPathSecret...)
		}
		return p
	}

	short := clone()
	short.Nodes = short.Nodes[:len(short.Nodes)-1]
	if _, err := g.t.MergePath(5, &short); !errors.Is(err, valsem.ValSem202) {
		t.Errorf("short path: %v, want ValSem202", err)
	}
	badPH := clone()
	badPH.Nodes[1].EncryptionKey = seedBytes("other", 1, 32)
	if _, err := g.t.MergePath(5, &badPH); !errors.Is(err, tree.ErrParentHash) {
		t.Errorf("changed public key: %v, want ErrParentHash", err)
	}
	dup := clone()
	dup.Nodes[0].EncryptionKey = g.t.EncryptionKey(2)
	if _, err := nt.DecryptPath(g.privs[4], 5, &dup, gc, nil); !errors.Is(err, valsem.ValSem204) {
		t.Errorf("wrong public key for leaf 4: %v, want ValSem204", err)
	}
	noCT := clone()
	noCT.Nodes[0].EncryptedPathSecret = nil
	if _, err := nt.DecryptPath(g.privs[4], 5, &noCT, gc, nil); !errors.Is(err, valsem.ValSem202) {
		t.Errorf("missing ciphertext: %v, want ValSem202", err)
	}
	badCT := clone()
	ct := badCT.Nodes[0].EncryptedPathSecret[0]
	ct.Ciphertext = append([]byte{}, ct.Ciphertext...)
	ct.Ciphertext[0] ^= 1
	badCT.Nodes[0].EncryptedPathSecret[0] = ct
	if _, err := nt.DecryptPath(g.privs[4], 5, &badCT, gc, nil); !errors.Is(err, valsem.ValSem203) {
		t.Errorf("tampered ciphertext: %v, want ValSem203", err)
	}
	if _, err := nt.DecryptPath(g.privs[4], 5, &path, []byte("other context"), nil); !errors.Is(err, valsem.ValSem203) {
		t.Errorf("wrong group context: %v, want ValSem203", err)
	}
	if _, err := nt.DecryptPath(g.privs[4], 5, &short, gc, nil); !errors.Is(err, valsem.ValSem202) {
		t.Errorf("short path, decrypted: %v, want ValSem202", err)
	}
	// Leaf 4 blank: node 9, the common ancestor of leaves 4 and 5, leaves
	// the filtered direct path of leaf 5 (a path of the right length for
	// that tree names no secret for leaf 4).
	without4, err := nt.Remove(4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := without4.DecryptPath(g.privs[4], 5, &short, gc, nil); !errors.Is(err, valsem.ValSem203) || !errors.Is(err, tree.ErrNoPathSecret) {
		t.Errorf("common ancestor off the filtered path: %v, want ValSem203", err)
	}
	// Leaf 4 excluded (a new member): no ciphertext for it.
	pathEx, err := pu.Encrypt(gc, []treemath.LeafIndex{4}, seedBytes("encap", 10, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nt.DecryptPath(g.privs[4], 5, &pathEx, gc, []treemath.LeafIndex{4}); !errors.Is(err, valsem.ValSem203) || !errors.Is(err, tree.ErrNoPathSecret) {
		t.Errorf("excluded receiver: %v, want ValSem203", err)
	}
	if _, err := nt.DecryptPath(g.privs[4], 5, &path, gc, nil); err != nil {
		t.Errorf("original path: %v", err)
	}
	mt, err := g.t.MergePath(5, &path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mt.Hash(), nt.Hash()) {
		t.Fatal("receiver and committer trees differ")
	}
}

func TestAddRejectsDuplicateKeys(t *testing.T) {
	s := mustSuite(t, suite.X25519AES128GCMSHA256Ed25519)
	g := newGroup(t, s)
	g.add(t)
	ln, _ := g.t.Leaf(1)
	dupSig := *ln
	dupSig.EncryptionKey = seedBytes("fresh", 1, 32)
	if _, _, err := g.t.Add(&dupSig); !errors.Is(err, valsem.ValSem101) || !errors.Is(err, tree.ErrDuplicateKey) {
		t.Errorf("duplicate signature key: %v, want ValSem101", err)
	}
	dupEnc := *ln
	dupEnc.SignatureKey = seedBytes("fresh", 2, 32)
	if _, _, err := g.t.Add(&dupEnc); !errors.Is(err, valsem.ValSem103) {
		t.Errorf("duplicate encryption key: %v, want ValSem103", err)
	}
	other, _ := g.t.Leaf(0)
	upd := *ln
	upd.EncryptionKey = other.EncryptionKey
	if _, err := g.t.Update(1, &upd); !errors.Is(err, valsem.ValSem110) {
		t.Errorf("update to another member's key: %v, want ValSem110", err)
	}
	if _, err := g.t.Remove(5); !errors.Is(err, valsem.ValSem108) {
		t.Errorf("remove outside the tree: %v, want ValSem108", err)
	}
}

func TestResolutionAndFilteredPath(t *testing.T) {
	s := mustSuite(t, suite.X25519AES128GCMSHA256Ed25519)
	g := newGroup(t, s)
	for range 7 {
		g.add(t)
	}
	g.remove(t, 2)
	g.remove(t, 3)
	// Leaves 2 and 3 are blank: node 5, the copath child of node 3 for
	// leaf 0, has an empty resolution, so node 3 is filtered out.
	if got := g.t.FilteredDirectPath(0); !equalNodes(got, 1, 7) {
		t.Errorf("filtered direct path of 0: %v, want [1 7]", got)
	}
	if got := g.t.FilteredCopath(0); !equalNodes(got, 2, 11) {
		t.Errorf("filtered copath of 0: %v, want [2 11]", got)
	}
	if got := g.t.Resolution(7); !equalNodes(got, 0, 2, 8, 10, 12, 14) {
		t.Errorf("resolution of root: %v", got)
	}
	if got := g.t.Resolution(7, 5, 6); !equalNodes(got, 0, 2, 8, 14) {
		t.Errorf("resolution of root excluding 5, 6: %v", got)
	}
	if got := g.t.Resolution(5); len(got) != 0 {
		t.Errorf("resolution of blank subtree: %v", got)
	}
}

func equalNodes(got []treemath.NodeIndex, want ...treemath.NodeIndex) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestTruncate(t *testing.T) {
	s := mustSuite(t, suite.X25519AES128GCMSHA256Ed25519)
	g := newGroup(t, s)
	for range 8 {
		g.add(t)
	}
	if g.t.LeafCount() != 16 {
		t.Fatalf("9 members in %d leaves", g.t.LeafCount())
	}
	g.remove(t, 8)
	if g.t.LeafCount() != 8 {
		t.Fatalf("after removing leaf 8: %d leaves, want 8", g.t.LeafCount())
	}
	g.remove(t, 7)
	g.remove(t, 6)
	g.remove(t, 5)
	g.remove(t, 4)
	if g.t.LeafCount() != 4 {
		t.Fatalf("after removing leaves 4..7: %d leaves, want 4", g.t.LeafCount())
	}
	g.check(t)
	for _, i := range []treemath.LeafIndex{3, 2, 1} {
		g.remove(t, i)
	}
	if g.t.LeafCount() != 1 || g.t.MemberCount() != 1 {
		t.Fatalf("single member: %d leaves, %d members", g.t.LeafCount(), g.t.MemberCount())
	}
	g.check(t)
	i := g.add(t)
	g.commit(t, 0, i)
	g.check(t)
}

// TestMergePathKeptSignatureKeyChecked: a path whose leaf keeps its
// signature key does not re-index it, so a tree in which another leaf
// holds the same key (FromNodes does not check uniqueness; Validate does)
// must still be caught when the path merges.
func TestMergePathKeptSignatureKeyChecked(t *testing.T) {
	g, tmpl := fullGroupOf8(t)
	if _, _, err := g.t.GeneratePath(5, *tmpl, testGroupID, seedBytes("leaf", 9, 32), g.members[5].signer); err != nil {
		t.Fatalf("path in the valid tree: %v", err)
	}
	nodes := g.t.Nodes()
	nodes[treemath.LeafIndex(2).Node()].Leaf.SignatureKey = tmpl.SignatureKey
	dup, err := tree.FromNodes(g.t.Suite(), nodes)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dup.GeneratePath(5, *tmpl, testGroupID, seedBytes("leaf", 9, 32), g.members[5].signer); !errors.Is(err, tree.ErrDuplicateKey) {
		t.Fatalf("path keeping a signature key leaf 2 also holds: %v, want ErrDuplicateKey", err)
	}
}
