package keysched

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
)

func TestScheduleLengthChecks(t *testing.T) {
	cs := testSuite(t)
	if _, err := NewInitSecret(cs, []byte{1}); !errors.Is(err, ErrSecretLength) {
		t.Fatalf("NewInitSecret(short) = %v", err)
	}
	if _, err := NewJoinerSecret(cs, nil); !errors.Is(err, ErrSecretLength) {
		t.Fatalf("NewJoinerSecret(nil) = %v", err)
	}
	if _, err := (InitSecret{}).Joiner(nil, nil); err == nil {
		t.Fatal("zero InitSecret accepted")
	}
	init, _ := NewInitSecret(cs, make([]byte, cs.HashLen()))
	if _, err := init.Joiner([]byte{1, 2}, nil); !errors.Is(err, ErrSecretLength) {
		t.Fatalf("short commit secret: %v", err)
	}
	// A nil commit secret is the all-zero secret.
	a, _ := init.Joiner(nil, []byte("gc"))
	b, _ := init.Joiner(make([]byte, cs.HashLen()), []byte("gc"))
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("nil commit secret differs from the zero secret")
	}
	// NoPSK is the all-zero PSK secret.
	zero, _ := NewPSKSecret(cs, make([]byte, cs.HashLen()))
	m1, _ := a.WithPSK(NoPSK)
	m2, _ := a.WithPSK(zero)
	if !bytes.Equal(m1.secret, m2.secret) {
		t.Fatal("NoPSK differs from the zero psk_secret")
	}
	if p, _ := ComputePSKSecret(cs, nil); p.secret != nil {
		t.Fatal("no PSKs must give NoPSK")
	}
}

// TestEpochSecretsImmutable checks that accessors return copies.
func TestEpochSecretsImmutable(t *testing.T) {
	f := newFixture(t, 1, 2)
	k := f.es.MembershipKey()
	k[0] ^= 0xff
	if bytes.Equal(k, f.es.MembershipKey()) {
		t.Fatal("MembershipKey returned internal memory")
	}
	n1 := f.es.Next().Bytes()
	n1[0] ^= 0xff
	if bytes.Equal(n1, f.es.Next().Bytes()) {
		t.Fatal("Next returned internal memory")
	}
}

func TestExporterAndExternalInit(t *testing.T) {
	f := newFixture(t, 1, 2)
	a, err := f.es.Export("label", []byte("ctx"), 42)
	if err != nil || len(a) != 42 {
		t.Fatalf("Export: %x, %v", a, err)
	}
	b, _ := f.es.Export("label", []byte("ctx2"), 42)
	c, _ := f.es.Export("other", []byte("ctx"), 42)
	if bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("exporter ignores label or context")
	}
	_, pub, err := f.es.ExternalKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	kemOut, joinerInit, err := ExternalInit(f.cs, pub, bytes.Repeat([]byte{6}, f.cs.HPKESeedLen()))
	if err != nil {
		t.Fatal(err)
	}
	groupInit, err := f.es.ExternalInit(kemOut)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(joinerInit.Bytes(), groupInit.Bytes()) {
		t.Fatal("external init secrets differ")
	}
}

func TestResumptionPSK(t *testing.T) {
	f := newFixture(t, 1, 2)
	nonce := bytes.Repeat([]byte{8}, f.cs.HashLen())
	psks := []PSK{
		{ID: ResumptionPSKID(codec.ResumptionPSKUsageApplication, f.ctx.GroupID, f.ctx.Epoch, nonce), Secret: f.es.ResumptionPSK()},
		{ID: ExternalPSKID([]byte("ext"), nonce), Secret: []byte("external secret")},
	}
	p1, err := ComputePSKSecret(f.cs, psks)
	if err != nil {
		t.Fatal(err)
	}
	psks[0].ID.Usage = codec.ResumptionPSKUsageBranch
	p2, err := ComputePSKSecret(f.cs, psks)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(p1.Bytes(f.cs), p2.Bytes(f.cs)) {
		t.Fatal("usage does not affect psk_secret")
	}
	psks[0], psks[1] = psks[1], psks[0]
	p3, _ := ComputePSKSecret(f.cs, psks)
	if bytes.Equal(p2.Bytes(f.cs), p3.Bytes(f.cs)) {
		t.Fatal("order does not affect psk_secret")
	}
}

// TestWelcomeRoundTrip creates a Welcome for two recipients and joins from
// it, ending in the committer's epoch secrets and interim transcript hash.
func TestWelcomeRoundTrip(t *testing.T) {
	f := newFixture(t, 1, 2)
	cs := f.cs
	init, _ := NewInitSecret(cs, bytes.Repeat([]byte{1}, cs.HashLen()))
	gc, _ := f.ctx.Encode()
	joiner, _ := init.Joiner(bytes.Repeat([]byte{2}, cs.HashLen()), gc)
	inter, _ := joiner.WithPSK(NoPSK)
	ws, _ := inter.Welcome()
	es, _ := inter.Epoch(gc)
	signPriv, signPub, _ := cs.GenerateSignatureKey(bytes.Repeat([]byte{3}, cs.SignatureSeedLen()))
	gi, err := SignGroupInfo(cs, signPriv, codec.GroupInfo{
		GroupContext:    *f.ctx,
		ConfirmationTag: es.ConfirmationTag(f.ctx.ConfirmedTranscriptHash),
		Signer:          0,
	})
	if err != nil {
		t.Fatal(err)
	}
	var recips []WelcomeRecipient
	var privs [][]byte
	for i := range 2 {
		priv, pub, err := cs.DeriveKeyPair(bytes.Repeat([]byte{byte(10 + i)}, cs.HashLen()))
		if err != nil {
			t.Fatal(err)
		}
		privs = append(privs, priv)
		recips = append(recips, WelcomeRecipient{
			Ref: codec.KeyPackageRef{byte(i)}, InitKey: pub,
			Secrets: codec.GroupSecrets{JoinerSecret: joiner.Bytes()},
			Seed:    bytes.Repeat([]byte{byte(20 + i)}, cs.HPKESeedLen()),
		})
	}
	w, err := SealWelcome(ws, gi, recips)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		gs, err := DecryptGroupSecrets(cs, w, codec.KeyPackageRef{byte(i)}, privs[i])
		if err != nil {
			t.Fatalf("recipient %d: %v", i, err)
		}
		j, _ := NewJoinerSecret(cs, gs.JoinerSecret)
		m, _ := j.WithPSK(NoPSK)
		ws2, _ := m.Welcome()
		gi2, err := ws2.DecryptGroupInfo(w.EncryptedGroupInfo)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyGroupInfo(cs, signPub, gi2); err != nil {
			t.Fatal(err)
		}
		gc2, _ := gi2.GroupContext.Encode()
		es2, _ := m.Epoch(gc2)
		if !es2.VerifyConfirmationTag(gi2.GroupContext.ConfirmedTranscriptHash, gi2.ConfirmationTag) {
			t.Fatal("confirmation tag does not verify")
		}
		if !bytes.Equal(es2.EpochAuthenticator(), es.EpochAuthenticator()) {
			t.Fatal("joiner and committer disagree on the epoch authenticator")
		}
		want, _ := InterimTranscriptHash(cs, f.ctx.ConfirmedTranscriptHash, gi.ConfirmationTag)
		got, _ := InterimTranscriptHash(cs, gi2.GroupContext.ConfirmedTranscriptHash, gi2.ConfirmationTag)
		if !bytes.Equal(want, got) {
			t.Fatal("interim transcript hash differs")
		}
	}
	if _, err := DecryptGroupSecrets(cs, w, codec.KeyPackageRef{9}, privs[0]); !errors.Is(err, ErrNoMatchingSecrets) {
		t.Fatalf("unknown ref: %v", err)
	}
	if _, err := DecryptGroupSecrets(cs, w, codec.KeyPackageRef{0}, privs[1]); err == nil {
		t.Fatal("wrong init key decrypted the group secrets")
	}
	gi.Signature[0] ^= 1
	if err := VerifyGroupInfo(cs, signPub, gi); !errors.Is(err, ErrGroupInfoSignature) {
		t.Fatalf("tampered GroupInfo: %v", err)
	}
}

func TestTranscriptHashesRejectNonCommit(t *testing.T) {
	f := newFixture(t, 1, 2)
	ac := f.signed(t, codec.WireFormatPublicMessage, f.content(codec.ContentTypeProposal, nil))
	if _, _, err := TranscriptHashes(f.cs, nil, ac); !errors.Is(err, ErrNotCommit) {
		t.Fatalf("err = %v", err)
	}
}
