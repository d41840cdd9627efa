package keysched

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// TestEncodingCoversEveryField fails when a field is added to a type that
// MarshalSecrets encodes, so that no new part of a state can silently
// escape snapshots: encode the field (and decode and check it), or, if it
// is a cache derived from the encoded fields, add it to derived.
func TestEncodingCoversEveryField(t *testing.T) {
	derived := map[string]bool{} // "Type.field" of caches rebuilt on decoding
	tests := []struct {
		typ    reflect.Type
		fields []string
	}{
		{reflect.TypeFor[SecretTree](), []string{"cs", "leaves", "cfg", "nodes", "senders"}},
		{reflect.TypeFor[senderRatchets](), nil}, // an array of ratchet
		{reflect.TypeFor[ratchet](), []string{"next", "secret", "past"}},
		{reflect.TypeFor[RatchetKey](), []string{"Generation", "Key", "Nonce"}},
		{reflect.TypeFor[RatchetConfig](), []string{"OutOfOrderTolerance", "MaximumForwardDistance"}},
		{reflect.TypeFor[EpochSecrets](), []string{"cs", "senderData", "encryption", "exporter", "external",
			"confirmationKey", "membershipKey", "resumptionPSK", "epochAuthenticator", "init"}},
	}
	for _, tt := range tests {
		if tt.typ.Kind() != reflect.Struct {
			continue
		}
		var got []string
		for f := range tt.typ.Fields() {
			if !derived[tt.typ.Name()+"."+f.Name] {
				got = append(got, f.Name)
			}
		}
		if !slices.Equal(got, tt.fields) {
			t.Errorf("%s has fields %v, the encoding covers %v: encode the new field or declare it derived", tt.typ.Name(), got, tt.fields)
		}
	}
}

func encodeTree(t interface{ Fatal(...any) }, st SecretTree) []byte {
	var b cryptobyte.Builder
	st.MarshalSecrets(&b)
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// drawTree draws a new secret tree of up to 2^maxLog2 leaves, with an
// out-of-order tolerance up to maxTolerance.
func drawTree(t *rapid.T, maxLog2 int, maxTolerance uint32) SecretTree {
	leaves := treemath.LeafCount(1) << rapid.IntRange(0, maxLog2).Draw(t, "log2 leaves")
	cfg := RatchetConfig{OutOfOrderTolerance: rapid.Uint32Range(0, maxTolerance).Draw(t, "tolerance"), MaximumForwardDistance: 40}
	cs, _ := suite.Lookup(1)
	st, err := NewSecretTree(cs, bytes.Repeat([]byte{7}, cs.HashLen()), leaves, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func decodeTree(data []byte) (SecretTree, error) {
	var st SecretTree
	d := codec.NewDecoder(data)
	st.UnmarshalSecrets(d, nil)
	return st, d.Finish("SecretTree")
}

// TestPropSecretTreeRoundTrip: after random requests, a secret tree
// survives MarshalSecrets and UnmarshalSecrets with its positions, and the
// decoded tree serves every later request exactly like the original —
// same keys, same errors, same positions.
func TestPropSecretTreeRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		st := drawTree(t, 4, 6)
		leaves := st.Leaves()
		req := rapid.Custom(func(t *rapid.T) [3]uint32 {
			return [3]uint32{rapid.Uint32Range(0, uint32(leaves)-1).Draw(t, "leaf"), rapid.Uint32Range(0, 1).Draw(t, "kind"), rapid.Uint32Range(0, 30).Draw(t, "generation")}
		})
		before := rapid.SliceOfN(req, 0, 20).Draw(t, "before")
		after := rapid.SliceOfN(req, 1, 20).Draw(t, "after")
		for _, r := range before {
			if _, next, err := st.Key(treemath.LeafIndex(r[0]), RatchetKind(r[1]), r[2]); err == nil {
				st = next
			}
		}
		enc := encodeTree(t, st)
		got, err := decodeTree(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(encodeTree(t, got), enc) {
			t.Fatal("re-encoding differs")
		}
		if !reflect.DeepEqual(slices.Collect(st.Positions()), slices.Collect(got.Positions())) {
			t.Fatal("positions differ")
		}
		for _, r := range after {
			k1, n1, err1 := st.Key(treemath.LeafIndex(r[0]), RatchetKind(r[1]), r[2])
			k2, n2, err2 := got.Key(treemath.LeafIndex(r[0]), RatchetKind(r[1]), r[2])
			if fmt.Sprint(err1) != fmt.Sprint(err2) || !reflect.DeepEqual(k1, k2) {
				t.Fatalf("request %v: original %v %v, decoded %v %v", r, k1, err1, k2, err2)
			}
			if !bytes.Equal(encodeTree(t, n1), encodeTree(t, n2)) {
				t.Fatalf("request %v: trees differ afterwards", r)
			}
			st, got = n1, n2
		}
	})
}

// TestSecretTreeDecodeRejects checks the invariants decoding enforces.
func TestSecretTreeDecodeRejects(t *testing.T) {
	st := testTree(t, 8, RatchetConfig{OutOfOrderTolerance: 3, MaximumForwardDistance: 100})
	_, st, _ = st.Key(2, Application, 5)
	enc := encodeTree(t, st)
	for n := range len(enc) {
		if _, err := decodeTree(enc[:n]); err == nil {
			t.Fatalf("truncated at %d: accepted", n)
		}
	}
	for i := range enc {
		bad := bytes.Clone(enc)
		bad[i] ^= 0x01
		got, err := decodeTree(bad)
		if err == nil && !bytes.Equal(encodeTree(t, got), bad) {
			t.Fatalf("flip at %d: accepted but not canonical", i)
		}
	}
	// A tree that lost a node secret would panic on expansion: refused.
	var b cryptobyte.Builder
	b.AddUint8(1)
	b.AddUint16(1)
	b.AddUint32(2)
	b.AddUint32(0)
	b.AddUint32(0)
	codec.AddVector(&b, func(*cryptobyte.Builder) {})
	codec.AddVector(&b, func(*cryptobyte.Builder) {})
	lost, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeTree(lost); err == nil {
		t.Fatal("a tree with no secret for its leaves was accepted")
	}
}
