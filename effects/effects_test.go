package effects

import (
	"bytes"
	"testing"
)

func TestSortByPhase(t *testing.T) {
	in := []Effect{
		DeleteSecret{Ref: SecretRef{Kind: SecretLeafKey, ID: []byte{1}}},
		DeliverApplication{Data: []byte("hi")},
		SendToGroup{Message: []byte{1}},
		PersistSecret{Ref: SecretRef{Kind: SecretInitKey, ID: []byte{2}}, Secret: []byte{3}},
		SendWelcome{Welcome: []byte{4}},
	}
	if Sorted(in) {
		t.Fatalf("unsorted input reported sorted")
	}
	out := Sort(in)
	want := []Phase{PhasePersist, PhaseSend, PhaseSend, PhaseDeliver, PhaseDelete}
	for i, e := range out {
		if e.Phase() != want[i] {
			t.Fatalf("out[%d] phase %d, want %d", i, e.Phase(), want[i])
		}
	}
	// Stable: the two sends keep their order.
	if _, ok := out[1].(SendToGroup); !ok {
		t.Fatalf("stable order lost: %T", out[1])
	}
	if _, ok := in[0].(DeleteSecret); !ok {
		t.Fatalf("Sort modified its input")
	}
	if !Sorted(out) {
		t.Fatalf("Sort output not sorted")
	}
}

func TestDigestSensitiveAndSecretFree(t *testing.T) {
	secret := []byte("very secret key material 0123456789")
	a := []Effect{PersistSecret{Ref: SecretRef{Kind: SecretInitKey, ID: []byte{1}}, Secret: secret}}
	b := []Effect{PersistSecret{Ref: SecretRef{Kind: SecretInitKey, ID: []byte{1}}, Secret: []byte("other")}}
	c := []Effect{DeleteSecret{Ref: SecretRef{Kind: SecretInitKey, ID: []byte{1}}}}
	if Digest(a) == Digest(b) || Digest(a) == Digest(c) {
		t.Fatalf("digest ignores the secret or the kind")
	}
	if bytes.Contains(Encode(a), secret) {
		t.Fatalf("encoding reveals the secret")
	}
	d1 := []Effect{SendToGroup{Group: []byte{1}, Message: []byte{2, 3}}}
	d2 := []Effect{SendToGroup{Group: []byte{1, 2}, Message: []byte{3}}}
	if Digest(d1) == Digest(d2) {
		t.Fatalf("field boundaries not encoded")
	}
	if Digest(nil) != Digest([]Effect{}) {
		t.Fatalf("nil and empty lists differ")
	}
}
