package replay_test

import (
	"bytes"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// TestApplyRecordsAsRecorderAndReplay drives events through Apply by hand
// and checks that the records it produces are the ones a Recorder wrote
// for the same events and seeds, that the key store follows the secrets
// (the input's store unchanged), and that replaying the log reaches the
// same state: the three callers of the driver agree.
func TestApplyRecordsAsRecorderAndReplay(t *testing.T) {
	data, _ := recordedLog(t, replay.Full)
	l, err := replay.ReadLog(data)
	if err != nil {
		t.Fatal(err)
	}
	var cur state.GroupState
	var keys transitions.KeyStore
	for i, want := range l.Records {
		ev, err := transitions.DecodeEvent(want.Event)
		if err != nil {
			t.Fatal(err)
		}
		before := keys
		a, err := replay.Apply(replay.Input{State: cur, Event: ev, Seed: want.Seed, Keys: keys})
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		got, err := a.Record()
		if err != nil {
			t.Fatal(err)
		}
		got.Seq, got.Prev = want.Seq, want.Prev
		if !bytes.Equal(replay.EncodeRecord(got), replay.EncodeRecord(want)) {
			t.Errorf("record %d: Apply's record differs from the Recorder's:\n got %+v\nwant %+v", i, got, want)
		}
		var secrets []effects.Effect
		for _, e := range a.Effects {
			switch e := e.(type) {
			case effects.PersistSecret:
				secrets = append(secrets, e)
				if e.Ref.Kind == effects.SecretKeyPackage {
					if _, ok := a.Keys.KeyPackage(e.Ref.ID); !ok {
						t.Errorf("record %d: the new key package is not in Applied.Keys", i)
					}
					if _, ok := before.KeyPackage(e.Ref.ID); ok {
						t.Errorf("record %d: Apply changed the input's key store", i)
					}
				}
			case effects.DeleteSecret:
				secrets = append(secrets, e)
			}
		}
		if len(secrets) != len(a.Secrets) {
			t.Errorf("record %d: %d secret effects, Applied.Secrets has %d", i, len(secrets), len(a.Secrets))
		}
		cur, keys = a.Next, a.Keys
	}
	res, err := replay.ReplayLog(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Final().Digest() != cur.Digest() {
		t.Error("replay and Apply end in different states")
	}
}

// TestApplyEncodedIsTheRecordsEvent checks that a caller's encoding is the
// one recorded (Replay passes the record's bytes), and that Env.Keys is
// read after Keys: a signer only the environment holds signs.
func TestApplyEncodedIsTheRecordsEvent(t *testing.T) {
	cs := suite.X25519AES128GCMSHA256Ed25519
	a, err := replay.Apply(replay.Input{Event: transitions.NewSignatureKey{At: 1, Suite: cs}, Seed: [32]byte{1}})
	if err != nil || a.Err != nil {
		t.Fatal(err, a.Err)
	}
	var pub []byte
	for _, e := range a.Effects {
		if sk, ok := e.(effects.SignatureKeyCreated); ok {
			pub = sk.PublicKey
		}
	}
	cred := codec.Credential{CredentialType: codec.CredentialBasic, Identity: []byte("alice")}
	ev := transitions.NewKeyPackage{At: 2, Suite: cs, SignatureKey: pub, Credential: cred, Lifetime: codec.Lifetime{NotAfter: 1 << 40}}
	enc := []byte("the caller's bytes")
	k, err := replay.Apply(replay.Input{Event: ev, Encoded: enc, Seed: [32]byte{2}, Env: transitions.Env{Keys: a.Keys}})
	if err != nil || k.Err != nil {
		t.Fatalf("signing with the environment's key: %v %v", err, k.Err)
	}
	rec, err := k.Record()
	if err != nil || !bytes.Equal(rec.Event, enc) {
		t.Fatalf("record event %q, %v", rec.Event, err)
	}
	if r, err := replay.Apply(replay.Input{Event: ev, Seed: [32]byte{2}}); err != nil || r.Err == nil {
		t.Fatalf("without a signer: %v, event error %v", err, r.Err)
	}
}
