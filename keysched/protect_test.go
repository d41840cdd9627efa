package keysched

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
	"github.com/mlscore/mlscore/valsem"
)

// fixture is a two-member group in one epoch, sender at leaf 1.
type fixture struct {
	cs      *suite.Suite
	es      EpochSecrets
	ctx     *codec.GroupContext
	signer  Signer
	priv    []byte // the signer's private key
	pub     []byte
	otherPu []byte // a different member's key
	sender  treemath.LeafIndex
}

func newFixture(t testing.TB, id suite.ID, leaves treemath.LeafCount) fixture {
	t.Helper()
	cs, err := suite.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	init, err := NewInitSecret(cs, bytes.Repeat([]byte{1}, cs.HashLen()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := &codec.GroupContext{
		Version: codec.MLS10, CipherSuite: codec.CipherSuite(id), GroupID: []byte("group"),
		Epoch: 3, TreeHash: bytes.Repeat([]byte{2}, cs.HashLen()), ConfirmedTranscriptHash: bytes.Repeat([]byte{3}, cs.HashLen()),
	}
	gc, err := ctx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	j, err := init.Joiner(nil, gc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := j.WithPSK(NoPSK)
	if err != nil {
		t.Fatal(err)
	}
	es, err := m.Epoch(gc)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := cs.GenerateSignatureKey(bytes.Repeat([]byte{4}, cs.SignatureSeedLen()))
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := cs.GenerateSignatureKey(bytes.Repeat([]byte{5}, cs.SignatureSeedLen()))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := cs.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{cs: cs, es: es, ctx: ctx, signer: signer, priv: priv, pub: pub, otherPu: other, sender: 1}
}

func (f fixture) tree(t testing.TB, leaves treemath.LeafCount) SecretTree {
	t.Helper()
	st, err := f.es.SecretTree(leaves, DefaultRatchetConfig())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (f fixture) senderKey(leaf treemath.LeafIndex) ([]byte, error) {
	if leaf != f.sender {
		return nil, valsem.Errorf(valsem.ValSem004, "leaf %d is blank", leaf)
	}
	return f.pub, nil
}

func (f fixture) content(ct codec.ContentType, data []byte) codec.FramedContent {
	c := codec.FramedContent{
		GroupID: f.ctx.GroupID, Epoch: f.ctx.Epoch, Sender: codec.MemberSender(f.sender),
		AuthenticatedData: []byte("aad"), ContentType: ct,
	}
	switch ct {
	case codec.ContentTypeApplication:
		c.ApplicationData = data
	case codec.ContentTypeProposal:
		c.Proposal = &codec.Proposal{ProposalType: codec.ProposalRemove, Remove: &codec.Remove{Removed: 0}}
	case codec.ContentTypeCommit:
		c.Commit = &codec.Commit{}
	}
	return c
}

func (f fixture) signed(t testing.TB, wf codec.WireFormat, c codec.FramedContent) codec.AuthenticatedContent {
	t.Helper()
	ac, err := SignContent(f.signer, wf, c, f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.ContentType == codec.ContentTypeCommit {
		ac.Auth.ConfirmationTag = f.es.ConfirmationTag(f.ctx.ConfirmedTranscriptHash)
	}
	return ac
}

func wantCode(t *testing.T, err error, code valsem.Code) {
	t.Helper()
	if !errors.Is(err, code) {
		t.Fatalf("err = %v, want %v", err, code)
	}
}

func TestPublicMessageTamper(t *testing.T) {
	f := newFixture(t, 1, 2)
	mk := f.es.MembershipKey()
	ac := f.signed(t, codec.WireFormatPublicMessage, f.content(codec.ContentTypeCommit, nil))
	pm, err := ProtectPublic(f.cs, mk, ac, f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Positive space.
	if _, err := UnprotectPublic(f.cs, mk, pm, f.ctx, f.pub); err != nil {
		t.Fatalf("valid message rejected: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(codec.PublicMessage) (codec.PublicMessage, []byte)
		code   valsem.Code
	}{
		{"membership tag flipped", func(m codec.PublicMessage) (codec.PublicMessage, []byte) {
			m.MembershipTag = bytes.Clone(m.MembershipTag)
			m.MembershipTag[0] ^= 1
			return m, f.pub
		}, valsem.ValSem008},
		{"membership tag truncated", func(m codec.PublicMessage) (codec.PublicMessage, []byte) {
			m.MembershipTag = m.MembershipTag[:len(m.MembershipTag)-1]
			return m, f.pub
		}, valsem.ValSem008},
		{"membership tag missing", func(m codec.PublicMessage) (codec.PublicMessage, []byte) {
			m.MembershipTag = nil
			return m, f.pub
		}, valsem.ValSem007},
		{"content changed (tag over old content)", func(m codec.PublicMessage) (codec.PublicMessage, []byte) {
			m.Content.AuthenticatedData = []byte("other")
			return m, f.pub
		}, valsem.ValSem008},
		{"content changed and re-tagged", func(m codec.PublicMessage) (codec.PublicMessage, []byte) {
			m.Content.AuthenticatedData = []byte("other")
			tag, err := MembershipTag(f.cs, mk, m.AuthenticatedContent(), f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			m.MembershipTag = tag
			return m, f.pub
		}, valsem.ValSem010},
		{"signature flipped and re-tagged", func(m codec.PublicMessage) (codec.PublicMessage, []byte) {
			m.Auth.Signature = bytes.Clone(m.Auth.Signature)
			m.Auth.Signature[3] ^= 1
			tag, err := MembershipTag(f.cs, mk, m.AuthenticatedContent(), f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			m.MembershipTag = tag
			return m, f.pub
		}, valsem.ValSem010},
		{"wrong signer key", func(m codec.PublicMessage) (codec.PublicMessage, []byte) {
			return m, f.otherPu
		}, valsem.ValSem010},
		{"confirmation tag missing", func(m codec.PublicMessage) (codec.PublicMessage, []byte) {
			m.Auth.ConfirmationTag = nil
			tag, err := MembershipTag(f.cs, mk, m.AuthenticatedContent(), f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			m.MembershipTag = tag
			return m, f.pub
		}, valsem.ValSem009},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, pub := tt.mutate(pm)
			_, err := UnprotectPublic(f.cs, mk, m, f.ctx, pub)
			wantCode(t, err, tt.code)
		})
	}
	t.Run("application data", func(t *testing.T) {
		app := f.signed(t, codec.WireFormatPublicMessage, f.content(codec.ContentTypeApplication, []byte("hi")))
		if _, err := ProtectPublic(f.cs, mk, app, f.ctx); !errors.Is(err, ErrContentType) {
			t.Fatalf("ProtectPublic(application) err = %v", err)
		}
		_, err := UnprotectPublic(f.cs, mk, codec.PublicMessage{Content: app.Content, Auth: app.Auth}, f.ctx, f.pub)
		wantCode(t, err, valsem.ValSem005)
	})
}

// reseal re-encrypts pm's content after mutate changed its plaintext, with
// the same key, nonce and sender data, so only the plaintext differs.
func reseal(t *testing.T, f fixture, st SecretTree, pm codec.PrivateMessage, mutate func([]byte) []byte) codec.PrivateMessage {
	t.Helper()
	sds := f.es.SenderDataSecret()
	sd, err := DecryptSenderData(f.cs, sds, pm)
	if err != nil {
		t.Fatal(err)
	}
	rk, _, err := st.Key(sd.LeafIndex, ratchetKindOf(pm.ContentType), sd.Generation)
	if err != nil {
		t.Fatal(err)
	}
	aad, _ := pm.ContentAAD().Encode()
	nonce := ApplyReuseGuard(rk.Nonce, sd.ReuseGuard)
	pt, err := f.cs.Open(rk.Key, nonce, aad, pm.Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	pm.Ciphertext, err = f.cs.Seal(rk.Key, nonce, aad, mutate(pt))
	if err != nil {
		t.Fatal(err)
	}
	sdBytes, _ := sd.Encode()
	sdAAD, _ := pm.SenderDataAAD().Encode()
	key, n, err := SenderDataKeyNonce(f.cs, sds, pm.Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	pm.EncryptedSenderData, err = f.cs.Seal(key, n, sdAAD, sdBytes)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func TestPrivateMessageTamper(t *testing.T) {
	f := newFixture(t, 1, 2)
	sds := f.es.SenderDataSecret()
	st := f.tree(t, 2)
	ac := f.signed(t, codec.WireFormatPrivateMessage, f.content(codec.ContentTypeApplication, []byte("hello")))
	pm, sendTree, used, err := ProtectPrivate(f.cs, st, sds, ac, PrivateParams{Padding: 16, ReuseGuard: [4]byte{9, 9, 9, 9}})
	if err != nil {
		t.Fatal(err)
	}
	if used != (Consumed{Leaf: 1, Kind: Application, Generation: 0}) {
		t.Fatalf("consumed %+v", used)
	}
	if sendTree.NextGeneration(1, Application) != 1 {
		t.Fatal("sender tree did not advance")
	}
	// Positive space, on the receiver's own copy of the tree.
	got, recvTree, _, err := UnprotectPrivate(f.cs, st, sds, pm, f.ctx, f.senderKey, codec.Bounds{})
	if err != nil {
		t.Fatalf("valid message rejected: %v", err)
	}
	if !bytes.Equal(got.Content.ApplicationData, []byte("hello")) {
		t.Fatal("wrong plaintext")
	}
	// The same message again: its key is consumed.
	_, _, _, err = UnprotectPrivate(f.cs, recvTree, sds, pm, f.ctx, f.senderKey, codec.Bounds{})
	wantCode(t, err, valsem.ValSem006)
	if !errors.Is(err, ErrGenerationConsumed) {
		t.Fatalf("replay: err = %v, want ErrGenerationConsumed", err)
	}

	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name   string
		mutate func(codec.PrivateMessage) codec.PrivateMessage
		code   valsem.Code
		sent   error // also matches this sentinel, if non-nil
	}{
		{"sender data flipped", func(m codec.PrivateMessage) codec.PrivateMessage {
			m.EncryptedSenderData = flip(m.EncryptedSenderData, 0)
			return m
		}, valsem.ValSem006, nil},
		{"ciphertext flipped", func(m codec.PrivateMessage) codec.PrivateMessage {
			m.Ciphertext = flip(m.Ciphertext, len(m.Ciphertext)-1)
			return m
		}, valsem.ValSem006, nil},
		{"authenticated data changed", func(m codec.PrivateMessage) codec.PrivateMessage {
			m.AuthenticatedData = []byte("other")
			return m
		}, valsem.ValSem006, nil},
		{"epoch changed", func(m codec.PrivateMessage) codec.PrivateMessage {
			m.Epoch++
			return m
		}, valsem.ValSem006, nil},
		{"non-zero padding", func(m codec.PrivateMessage) codec.PrivateMessage {
			return reseal(t, f, st, m, func(pt []byte) []byte { return flip(pt, len(pt)-1) })
		}, valsem.ValSem011, codec.ErrNonZeroPadding},
		{"signature flipped", func(m codec.PrivateMessage) codec.PrivateMessage {
			// The signature sits right after the application data: opaque
			// "hello" (1+5 bytes), then the signature's length prefix.
			return reseal(t, f, st, m, func(pt []byte) []byte { return flip(pt, 6+2+3) })
		}, valsem.ValSem010, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, nt, _, err := UnprotectPrivate(f.cs, st, sds, tt.mutate(pm), f.ctx, f.senderKey, codec.Bounds{})
			wantCode(t, err, tt.code)
			if tt.sent != nil && !errors.Is(err, tt.sent) {
				t.Fatalf("err = %v, want also %v", err, tt.sent)
			}
			if nt.NextGeneration(1, Application) != 0 {
				t.Fatal("a rejected message advanced the ratchet")
			}
		})
	}
	t.Run("wrong signer key", func(t *testing.T) {
		_, _, _, err := UnprotectPrivate(f.cs, st, sds, pm, f.ctx, func(treemath.LeafIndex) ([]byte, error) { return f.otherPu, nil }, codec.Bounds{})
		wantCode(t, err, valsem.ValSem010)
	})
	t.Run("sender from PublicMessage-only type", func(t *testing.T) {
		ext := ac
		ext.Content.Sender = codec.Sender{SenderType: codec.SenderTypeNewMemberProposal}
		if _, _, _, err := ProtectPrivate(f.cs, st, sds, ext, PrivateParams{}); !errors.Is(err, ErrSenderType) {
			t.Fatalf("err = %v, want ErrSenderType", err)
		}
	})
}

// TestSenderDataMalformed: sender data that decrypts but does not decode
// as SenderData (a byte too many or too few) is ValSem006. The message is
// leaf 0's first, with a zero reuse guard: the very key, nonce and sender
// that a zero SenderData names, so the content would open and verify if
// the decoding error were ignored.
func TestSenderDataMalformed(t *testing.T) {
	f := newFixture(t, 1, 2)
	f.sender = 0
	sds := f.es.SenderDataSecret()
	st := f.tree(t, 2)
	ac := f.signed(t, codec.WireFormatPrivateMessage, f.content(codec.ContentTypeApplication, []byte("hello")))
	pm, _, used, err := ProtectPrivate(f.cs, st, sds, ac, PrivateParams{})
	if err != nil {
		t.Fatal(err)
	}
	if used != (Consumed{Leaf: 0, Kind: Application, Generation: 0}) {
		t.Fatalf("consumed %+v", used)
	}
	if _, _, _, err := UnprotectPrivate(f.cs, st, sds, pm, f.ctx, f.senderKey, codec.Bounds{}); err != nil {
		t.Fatalf("valid message rejected: %v", err)
	}
	valid, err := codec.SenderData{}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	key, nonce, err := SenderDataKeyNonce(f.cs, sds, pm.Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	aad, _ := pm.SenderDataAAD().Encode()
	tests := []struct {
		name string
		pt   []byte
	}{
		{"trailing byte", append(bytes.Clone(valid), 0)},
		{"truncated", valid[:len(valid)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := pm
			var err error
			if bad.EncryptedSenderData, err = f.cs.Seal(key, nonce, aad, tt.pt); err != nil {
				t.Fatal(err)
			}
			_, _, _, err = UnprotectPrivate(f.cs, st, sds, bad, f.ctx, f.senderKey, codec.Bounds{})
			wantCode(t, err, valsem.ValSem006)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want also ErrMalformed", err)
			}
		})
	}
}

// TestPrivateMessageAllSuites round-trips every content type under every
// suite, with out-of-order delivery.
func TestPrivateMessageAllSuites(t *testing.T) {
	for id := suite.ID(1); id <= 7; id++ {
		t.Run(fmt.Sprintf("suite=%d", id), func(t *testing.T) {
			f := newFixture(t, id, 4)
			sds := f.es.SenderDataSecret()
			send, recv := f.tree(t, 4), f.tree(t, 4)
			var msgs []codec.PrivateMessage
			for i, ct := range []codec.ContentType{codec.ContentTypeApplication, codec.ContentTypeProposal, codec.ContentTypeCommit, codec.ContentTypeApplication} {
				ac := f.signed(t, codec.WireFormatPrivateMessage, f.content(ct, []byte{byte(i)}))
				pm, nt, _, err := ProtectPrivate(f.cs, send, sds, ac, PrivateParams{Padding: i})
				if err != nil {
					t.Fatal(err)
				}
				send = nt
				msgs = append(msgs, pm)
			}
			for _, i := range []int{3, 1, 2, 0} {
				_, nt, c, err := UnprotectPrivate(f.cs, recv, sds, msgs[i], f.ctx, f.senderKey, codec.Bounds{})
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				recv = nt
				if c.Leaf != 1 {
					t.Fatalf("consumed %+v", c)
				}
			}
		})
	}
}

// TestSignContentBytes checks that signing over the cached GroupContext
// encoding signs exactly the FramedContentTBS that codec encodes, for every
// content type, body lengths across the varint boundaries, and senders
// with and without a GroupContext in their TBS.
func TestSignContentBytes(t *testing.T) {
	f := newFixture(t, 1, 2)
	cb, err := f.ctx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	newMember := f.content(codec.ContentTypeProposal, nil)
	newMember.Sender = codec.Sender{SenderType: codec.SenderTypeNewMemberProposal}
	tests := []struct {
		name string
		wf   codec.WireFormat
		c    codec.FramedContent
	}{
		{"application empty", codec.WireFormatPrivateMessage, f.content(codec.ContentTypeApplication, nil)},
		{"application 63 B", codec.WireFormatPrivateMessage, f.content(codec.ContentTypeApplication, make([]byte, 63))},
		{"application 64 B", codec.WireFormatPrivateMessage, f.content(codec.ContentTypeApplication, make([]byte, 64))},
		{"application 16 KiB", codec.WireFormatPrivateMessage, f.content(codec.ContentTypeApplication, make([]byte, 1<<14))},
		{"proposal public", codec.WireFormatPublicMessage, f.content(codec.ContentTypeProposal, nil)},
		{"commit", codec.WireFormatPublicMessage, f.content(codec.ContentTypeCommit, nil)},
		{"new member proposal", codec.WireFormatPublicMessage, newMember},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ac, err := SignContentBytes(f.signer, tc.wf, tc.c, cb)
			if err != nil {
				t.Fatal(err)
			}
			// A Signer without SignWithLabelAt signs the same TBS.
			ks, err := SignContentBytes(KeySigner{Suite: f.cs, Priv: f.priv}, tc.wf, tc.c, cb)
			if err != nil || !bytes.Equal(ks.Auth.Signature, ac.Auth.Signature) {
				t.Fatalf("KeySigner: signature %x, %v; want %x", ks.Auth.Signature, err, ac.Auth.Signature)
			}
			ref := codec.AuthenticatedContent{WireFormat: tc.wf, Content: tc.c}
			tbs, err := ref.TBS(f.ctx).Encode()
			if err != nil {
				t.Fatal(err)
			}
			if err := f.cs.VerifyWithLabel(f.pub, labelFramedContent, tbs, ac.Auth.Signature); err != nil {
				t.Fatalf("signature does not verify over the codec's FramedContentTBS: %v", err)
			}
			if err := VerifySignature(f.cs, f.pub, ac, f.ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := SignContentBytes(f.signer, codec.WireFormatPrivateMessage, f.content(codec.ContentTypeApplication, nil), nil); !errors.Is(err, codec.ErrInvalidValue) {
		t.Fatalf("member sender without GroupContext: err = %v, want ErrInvalidValue", err)
	}
	if _, err := SignContentBytes(f.signer, codec.WireFormatPublicMessage, newMember, nil); err != nil {
		t.Fatalf("new member proposal without GroupContext: %v", err)
	}
}

// TestPrivateAADs: the two AADs privateAADs lays out in one buffer are the
// codec's encodings of PrivateContentAAD and SenderDataAAD, for group ids
// and authenticated data around the varint length boundaries.
func TestPrivateAADs(t *testing.T) {
	for _, c := range []struct{ gid, ad int }{{0, 0}, {1, 0}, {16, 5}, {63, 64}, {64, 63}, {300, 16384}} {
		pm := codec.PrivateMessage{GroupID: bytes.Repeat([]byte{1}, c.gid), Epoch: 1<<40 + 7, ContentType: codec.ContentTypeApplication,
			AuthenticatedData: bytes.Repeat([]byte{2}, c.ad)}
		content, sd, err := privateAADs(pm)
		if err != nil {
			t.Fatal(err)
		}
		wantContent, err := pm.ContentAAD().Encode()
		if err != nil {
			t.Fatal(err)
		}
		wantSD, err := pm.SenderDataAAD().Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(content, wantContent) || !bytes.Equal(sd, wantSD) {
			t.Fatalf("gid %d, ad %d: got %x / %x, want %x / %x", c.gid, c.ad, content, sd, wantContent, wantSD)
		}
		if cap(sd) != len(sd) {
			t.Fatalf("sender data AAD has capacity past its length")
		}
	}
}

// TestProtectPrivateMessageEncoding: the message ProtectPrivateMessage
// lays out around its in-place ciphertext is the codec's encoding of the
// MLSMessage carrying the PrivateMessage it returns, for each content
// type, padding, and lengths on both sides of the varint boundaries
// (group id, authenticated data, ciphertext); and it decrypts.
func TestProtectPrivateMessageEncoding(t *testing.T) {
	f := newFixture(t, 1, 4)
	sds := f.es.SenderDataSecret()
	send := f.tree(t, 4)
	recv := f.tree(t, 4)
	type tc struct {
		ct        codec.ContentType
		data, ad  int
		gid, pad  int
		bigCommit int
	}
	cases := []tc{
		{ct: codec.ContentTypeApplication}, {ct: codec.ContentTypeApplication, data: 100, ad: 63, pad: 13},
		{ct: codec.ContentTypeApplication, data: 16384 - 16 - 66 - 1, ad: 64}, {ct: codec.ContentTypeApplication, data: 16384, gid: 64},
		{ct: codec.ContentTypeProposal, pad: 7}, {ct: codec.ContentTypeCommit}, {ct: codec.ContentTypeCommit, bigCommit: 200, ad: 300},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d/%v/data=%d/ad=%d/gid=%d/pad=%d", i, c.ct, c.data, c.ad, c.gid, c.pad), func(t *testing.T) {
			fc := f.content(c.ct, bytes.Repeat([]byte{byte(i)}, c.data))
			fc.AuthenticatedData = bytes.Repeat([]byte{0xad}, c.ad)
			if c.bigCommit > 0 {
				fc.Commit = bigCommit(c.bigCommit)
			}
			if c.gid > 0 {
				fc.GroupID = bytes.Repeat([]byte{0x61}, c.gid)
			}
			ac := f.signed(t, codec.WireFormatPrivateMessage, fc)
			msg, pm, nt, used, err := ProtectPrivateMessage(f.cs, send, sds, ac, PrivateParams{Padding: c.pad, ReuseGuard: [4]byte{1, 2, 3, byte(i)}})
			if err != nil {
				t.Fatal(err)
			}
			send = nt
			want, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPrivateMessage, PrivateMessage: &pm}.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(msg, want) {
				t.Fatalf("message\n%x\nwant\n%x", msg, want)
			}
			if uint64(used.Generation) != send.NextGeneration(f.sender, ratchetKindOf(c.ct))-1 {
				t.Fatalf("consumed %+v", used)
			}
			if c.gid > 0 {
				return // the receiver's group has the fixture's id
			}
			m, err := codec.DecodeMLSMessage(msg)
			if err != nil {
				t.Fatal(err)
			}
			got, nr, _, err := UnprotectPrivate(f.cs, recv, sds, *m.PrivateMessage, f.ctx, f.senderKey, codec.Bounds{})
			if err != nil {
				t.Fatal(err)
			}
			recv = nr
			if !bytes.Equal(got.Content.ApplicationData, fc.ApplicationData) || !bytes.Equal(got.Content.AuthenticatedData, fc.AuthenticatedData) {
				t.Fatal("decrypted content differs")
			}
		})
	}
}
