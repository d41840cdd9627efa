package keysched

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/valsem"
)

// bigCommit is a commit whose path carries n ciphertexts, the shape of a
// commit after a bulk add.
func bigCommit(n int) *codec.Commit {
	node := codec.UpdatePathNode{EncryptionKey: []byte("key")}
	for i := range n {
		node.EncryptedPathSecret = append(node.EncryptedPathSecret, codec.HPKECiphertext{KEMOutput: bytes.Repeat([]byte{byte(i)}, 32), Ciphertext: bytes.Repeat([]byte{byte(i + 1)}, 48)})
	}
	return &codec.Commit{Path: &codec.UpdatePath{LeafNode: codec.LeafNode{SignatureKey: []byte("sig"), LeafNodeSource: codec.LeafNodeSourceCommit}, Nodes: []codec.UpdatePathNode{node}}}
}

// TestUnprotectWire: the FramedWire returned for a received message (a
// PublicMessage's sub-slices, a PrivateMessage's decrypted bytes) equals the
// re-encoding of its content, and the transcript hash and proposal
// reference over it equal the ones over the re-encoding; a message whose
// received bytes were changed after signing is rejected (ValSem008 or
// ValSem010 for a PublicMessage), however large it is.
func TestUnprotectWire(t *testing.T) {
	f := newFixture(t, 1, 4)
	mk, sds := f.es.MembershipKey(), f.es.SenderDataSecret()
	ctxBytes, err := f.ctx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 1000} {
		for _, ct := range []codec.ContentType{codec.ContentTypeApplication, codec.ContentTypeProposal, codec.ContentTypeCommit} {
			for _, wf := range []codec.WireFormat{codec.WireFormatPublicMessage, codec.WireFormatPrivateMessage} {
				if wf == codec.WireFormatPublicMessage && ct == codec.ContentTypeApplication {
					continue
				}
				t.Run(fmt.Sprintf("size=%d/%v/%v", size, ct, wf), func(t *testing.T) {
					c := f.content(ct, bytes.Repeat([]byte{7}, size))
					if ct == codec.ContentTypeCommit {
						c.Commit = bigCommit(size)
					}
					ac := f.signed(t, wf, c)
					want, err := codec.WireOf(ac)
					if err != nil {
						t.Fatal(err)
					}
					var got codec.FramedWire
					m := codec.MLSMessage{Version: codec.MLS10, WireFormat: wf}
					if wf == codec.WireFormatPublicMessage {
						pm, err := ProtectPublic(f.cs, mk, ac, f.ctx)
						if err != nil {
							t.Fatal(err)
						}
						m.PublicMessage = &pm
					} else {
						pm, _, _, err := ProtectPrivate(f.cs, f.tree(t, 4), sds, ac, PrivateParams{Padding: 13})
						if err != nil {
							t.Fatal(err)
						}
						m.PrivateMessage = &pm
					}
					raw, err := m.Encode()
					if err != nil {
						t.Fatal(err)
					}
					dm, err := codec.DecodeMLSMessageShared(raw)
					if err != nil {
						t.Fatal(err)
					}
					if wf == codec.WireFormatPublicMessage {
						if got, err = dm.PublicMessage.ReceivedWire(raw[4:]); err != nil {
							t.Fatal(err)
						}
						if _, err := UnprotectPublicWire(f.cs, mk, *dm.PublicMessage, got, f.ctx, f.pub); err != nil {
							t.Fatal(err)
						}
						// One changed byte in the received content: the
						// membership tag no longer verifies.
						bad := bytes.Clone(raw)
						bad[len(raw)/2] ^= 1
						if bm, err := codec.DecodeMLSMessageShared(bad); err == nil {
							bw, err := bm.PublicMessage.ReceivedWire(bad[4:])
							if err == nil {
								_, err = UnprotectPublicWire(f.cs, mk, *bm.PublicMessage, bw, f.ctx, f.pub)
							}
							if err == nil {
								t.Fatal("a changed message was accepted")
							}
						}
					} else {
						u, err := UnprotectPrivateWire(f.cs, f.tree(t, 4), sds, *dm.PrivateMessage, ctxBytes, f.senderKey, codec.Bounds{})
						if err != nil {
							t.Fatal(err)
						}
						got = u.Wire
					}
					if got.WireFormat != want.WireFormat || !bytes.Equal(got.Head, want.Head) || !bytes.Equal(got.Body, want.Body) || !bytes.Equal(got.Auth, want.Auth) {
						t.Fatalf("received wire differs from the re-encoding")
					}
					if ct == codec.ContentTypeCommit {
						interim := []byte("interim")
						h1, err := ConfirmedTranscriptHashWire(f.cs, interim, got)
						if err != nil {
							t.Fatal(err)
						}
						h2, err := ConfirmedTranscriptHashOf(f.cs, interim, ac)
						if err != nil {
							t.Fatal(err)
						}
						in, _ := ac.ConfirmedTranscriptHashInput().Encode()
						if !bytes.Equal(h1, h2) || !bytes.Equal(h1, ConfirmedTranscriptHash(f.cs, interim, in)) {
							t.Fatal("transcript hash over the received bytes differs")
						}
					} else if _, err := ConfirmedTranscriptHashWire(f.cs, nil, got); err == nil {
						t.Fatal("transcript hash of a non-commit")
					}
				})
			}
		}
	}
}

// TestUnprotectPublicWireSignature: the signature is checked over the
// received bytes: a PublicMessage from a non-member (no membership tag)
// whose received content differs from what was signed fails ValSem010.
func TestUnprotectPublicWireSignature(t *testing.T) {
	f := newFixture(t, 1, 4)
	c := f.content(codec.ContentTypeProposal, nil)
	c.Sender = codec.Sender{SenderType: codec.SenderTypeExternal, SenderIndex: 0}
	ac := f.signed(t, codec.WireFormatPublicMessage, c)
	pm, err := ProtectPublic(f.cs, nil, ac, f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPublicMessage, PublicMessage: &pm}.Encode()
	dm, _ := codec.DecodeMLSMessageShared(raw)
	w, err := dm.PublicMessage.ReceivedWire(raw[4:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnprotectPublicWire(f.cs, nil, *dm.PublicMessage, w, f.ctx, f.pub); err != nil {
		t.Fatal(err)
	}
	// The epoch is part of the received head.
	bad := bytes.Clone(raw)
	bad[4+1+len(c.GroupID)+7] ^= 1
	bm, err := codec.DecodeMLSMessageShared(bad)
	if err != nil {
		t.Fatal(err)
	}
	bw, _ := bm.PublicMessage.ReceivedWire(bad[4:])
	_, err = UnprotectPublicWire(f.cs, nil, *bm.PublicMessage, bw, f.ctx, f.pub)
	wantCode(t, err, valsem.ValSem010)
}
