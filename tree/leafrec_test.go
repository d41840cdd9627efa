package tree

import (
	"bytes"
	"slices"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// TestLeafRecFields checks that the fields a leaf record reads from its
// encoding without decoding it (keys, source, parent_hash) are those of the
// leaf node, for every credential body shape (basic, x509 chain, unknown
// type) and every source, and that the record decodes back to the node.
func TestLeafRecFields(t *testing.T) {
	caps := codec.Capabilities{Versions: []codec.ProtocolVersion{codec.MLS10}, CipherSuites: []codec.CipherSuite{1, 2, 3},
		Extensions: []codec.ExtensionType{0x0a0a}, Proposals: []codec.ProposalType{0x0b0b}, Credentials: []codec.CredentialType{1, 2}}
	creds := map[string]codec.Credential{
		"basic":   {CredentialType: codec.CredentialBasic, Identity: []byte("alice")},
		"x509":    {CredentialType: codec.CredentialX509, Certificates: [][]byte{bytes.Repeat([]byte{1}, 300), bytes.Repeat([]byte{2}, 70)}},
		"unknown": {CredentialType: 0x7a7a, Data: []byte("opaque body")},
	}
	sources := map[string]func(*codec.LeafNode){
		"key_package": func(ln *codec.LeafNode) {
			ln.LeafNodeSource, ln.Lifetime = codec.LeafNodeSourceKeyPackage, codec.Lifetime{NotBefore: 1, NotAfter: 2}
		},
		"update": func(ln *codec.LeafNode) { ln.LeafNodeSource = codec.LeafNodeSourceUpdate },
		"commit": func(ln *codec.LeafNode) {
			ln.LeafNodeSource, ln.ParentHash = codec.LeafNodeSourceCommit, bytes.Repeat([]byte{9}, 32)
		},
	}
	for cn, cred := range creds {
		for sn, setSource := range sources {
			t.Run(cn+"/"+sn, func(t *testing.T) {
				ln := codec.LeafNode{EncryptionKey: bytes.Repeat([]byte{3}, 32), SignatureKey: bytes.Repeat([]byte{4}, 200),
					Credential: cred, Capabilities: caps,
					Extensions: codec.Extensions{{ExtensionType: 0x0c0c, ExtensionData: []byte("x")}}, Signature: bytes.Repeat([]byte{5}, 64)}
				setSource(&ln)
				r, err := newLeafRec(&ln)
				if err != nil {
					t.Fatal(err)
				}
				enc, sig := r.keys()
				v := r.view()
				if !bytes.Equal(enc, ln.EncryptionKey) || !bytes.Equal(sig, ln.SignatureKey) ||
					!bytes.Equal(v.encryptionKey, ln.EncryptionKey) || !bytes.Equal(v.signatureKey, ln.SignatureKey) {
					t.Fatalf("keys %x %x, view %x %x", enc, sig, v.encryptionKey, v.signatureKey)
				}
				if v.source != ln.LeafNodeSource || !bytes.Equal(v.parentHash, ln.ParentHash) {
					t.Fatalf("view source %v parent_hash %x, want %v %x", v.source, v.parentHash, ln.LeafNodeSource, ln.ParentHash)
				}
				if !bytes.Equal(v.signature, ln.Signature) {
					t.Fatalf("view signature %x, want %x", v.signature, ln.Signature)
				}
				if tbs, _ := ln.TBS(nil, 0); ln.LeafNodeSource == codec.LeafNodeSourceKeyPackage && !bytes.Equal(r.raw[:v.tbsEnd], tbs) {
					t.Fatal("record prefix is not the LeafNodeTBS")
				}
				if cap(enc) != len(enc) {
					t.Fatalf("encryption key not clipped: len %d cap %d", len(enc), cap(enc))
				}
				d := r.decode()
				want, _ := ln.Encode()
				got, err := d.Encode()
				if err != nil || !bytes.Equal(got, want) || !bytes.Equal(r.raw, want) {
					t.Fatalf("decoded record re-encodes differently (%v)", err)
				}
				// The decoded value is the caller's: writing into it
				// leaves the record unchanged.
				d.SignatureKey[0] ^= 0xff
				if _, sig := r.keys(); !bytes.Equal(sig, ln.SignatureKey) {
					t.Fatal("decoded leaf node aliases the record")
				}
			})
		}
	}
}

// TestLeafRecRejectsUndecodable checks that a leaf node whose encoding
// would not decode (duplicate extension types: the decoder rejects them,
// the encoder does not) never enters a tree.
func TestLeafRecRejectsUndecodable(t *testing.T) {
	ln := codec.LeafNode{EncryptionKey: []byte{1}, SignatureKey: []byte{2},
		Credential:     codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("a")},
		LeafNodeSource: codec.LeafNodeSourceUpdate,
		Extensions:     codec.Extensions{{ExtensionType: 7}, {ExtensionType: 7}}}
	if _, err := newLeafRec(&ln); err == nil {
		t.Fatal("newLeafRec of a leaf with duplicate extensions succeeded")
	}
	tr := mustNewTreeForRec(t)
	if _, _, err := tr.Add(&ln); err == nil {
		t.Fatal("Add of a leaf with duplicate extensions succeeded")
	}
	ln.Extensions = nil
	if _, err := newLeafRec(&ln); err != nil {
		t.Fatalf("newLeafRec without the duplicate: %v", err)
	}
}

// mustNewTreeForRec returns a one-member tree of suite 1.
func mustNewTreeForRec(t *testing.T) Tree {
	s, err := suite.Lookup(suite.X25519AES128GCMSHA256Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	self := codec.LeafNode{EncryptionKey: []byte{8}, SignatureKey: []byte{9},
		Credential:     codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("b")},
		LeafNodeSource: codec.LeafNodeSourceUpdate}
	tr, err := New(s, &self)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestLeafRecVerify checks the record's signature verification (over its
// encoding, without decoding) against VerifyLeafSignature, for every
// source, and that a changed signature or another leaf index fails.
func TestLeafRecVerify(t *testing.T) {
	s, err := suite.Lookup(suite.X25519AES128GCMSHA256Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := s.GenerateSignatureKey(bytes.Repeat([]byte{7}, s.SignatureSeedLen()))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := s.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	gid := []byte("group")
	for _, src := range []codec.LeafNodeSource{codec.LeafNodeSourceKeyPackage, codec.LeafNodeSourceUpdate, codec.LeafNodeSourceCommit} {
		ln := codec.LeafNode{EncryptionKey: bytes.Repeat([]byte{3}, 32), SignatureKey: pub,
			Credential: codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("a")}, LeafNodeSource: src}
		if src == codec.LeafNodeSourceCommit {
			ln.ParentHash = bytes.Repeat([]byte{1}, 32)
		}
		if err := SignLeaf(signer, &ln, gid, 5); err != nil {
			t.Fatal(err)
		}
		r, err := newLeafRec(&ln)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyLeafSignature(s, &ln, gid, 5); err != nil {
			t.Fatalf("%v: VerifyLeafSignature: %v", src, err)
		}
		if err := r.verify(s, gid, 5); err != nil {
			t.Fatalf("%v: record verify: %v", src, err)
		}
		if src != codec.LeafNodeSourceKeyPackage {
			if err := r.verify(s, gid, 6); err == nil {
				t.Fatalf("%v: record verifies at another leaf index", src)
			}
		}
		ln.Signature[0] ^= 1
		bad, _ := newLeafRec(&ln)
		if err := bad.verify(s, gid, 5); err == nil {
			t.Fatalf("%v: record with a changed signature verifies", src)
		}
	}
}

// TestParentRecFields checks the fields a parent record reads from its
// encoding (key, parent hash, unmerged leaves) against the parent node,
// and that it decodes to a value of its own.
func TestParentRecFields(t *testing.T) {
	many := make([]treemath.LeafIndex, 4100) // 16400 bytes: a 4-byte length prefix
	for j := range many {
		many[j] = treemath.LeafIndex(2 * j)
	}
	for k, um := range [][]treemath.LeafIndex{nil, {3}, {1, 2, 1 << 20}, many[:15], many[:16], many} {
		// Key and parent hash lengths around the varint boundaries (63/64
		// bytes, 16383/16384 bytes).
		keyLen := []int{65, 63, 64, 1, 16383, 16384}[k]
		p := codec.ParentNode{EncryptionKey: bytes.Repeat([]byte{1}, keyLen), ParentHash: bytes.Repeat([]byte{2}, 48+k), UnmergedLeaves: um}
		r, err := newParentRec(&p)
		if err != nil {
			t.Fatal(err)
		}
		if enc, err := p.Encode(); err != nil || !bytes.Equal(r.raw, enc) || cap(r.raw) != len(enc) {
			t.Fatalf("record of %d bytes (capacity %d) differs from the codec's encoding of %d bytes (%v)", len(r.raw), cap(r.raw), len(enc), err)
		}
		key, ph, raw := r.fields()
		if !bytes.Equal(key, p.EncryptionKey) || !bytes.Equal(r.key(), p.EncryptionKey) || !bytes.Equal(ph, p.ParentHash) {
			t.Fatalf("fields %x %x, want %x %x", key, ph, p.EncryptionKey, p.ParentHash)
		}
		if len(raw) != 4*len(um) {
			t.Fatalf("%d bytes of unmerged leaves, want %d", len(raw), 4*len(um))
		}
		for j, u := range um {
			if got := unmergedAt(raw, j); got != u {
				t.Fatalf("unmerged leaf %d: %d, want %d", j, got, u)
			}
		}
		if got := r.unmerged(); !slices.Equal(got, um) || (len(um) == 0) != (got == nil) {
			t.Fatalf("unmerged %v, want %v", got, um)
		}
		// withUnmerged writes another list around the same key and hash.
		other := []treemath.LeafIndex{7, 9}
		w, err := r.withUnmerged(other)
		q := codec.ParentNode{EncryptionKey: p.EncryptionKey, ParentHash: p.ParentHash, UnmergedLeaves: other}
		if enc, _ := q.Encode(); err != nil || !bytes.Equal(w.raw, enc) {
			t.Fatalf("withUnmerged: %x (%v), want %x", w.raw, err, enc)
		}
		d := r.decode()
		want, _ := p.Encode()
		if got, err := d.Encode(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("decoded record re-encodes differently (%v)", err)
		}
		d.EncryptionKey[0] ^= 0xff
		if !bytes.Equal(r.key(), p.EncryptionKey) {
			t.Fatal("decoded parent node aliases the record")
		}
	}
}
