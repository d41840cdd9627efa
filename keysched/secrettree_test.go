package keysched

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

func testSuite(t testing.TB) *suite.Suite {
	t.Helper()
	cs, err := suite.Lookup(1)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// testTree returns a secret tree with a fixed encryption secret.
func testTree(t testing.TB, leaves treemath.LeafCount, cfg RatchetConfig) SecretTree {
	t.Helper()
	cs := testSuite(t)
	st, err := NewSecretTree(cs, bytes.Repeat([]byte{7}, cs.HashLen()), leaves, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// refKeys returns the keys of generations 0..n-1 of one ratchet, derived in
// order from a fresh tree with a permissive configuration.
func refKeys(t testing.TB, leaves treemath.LeafCount, leaf treemath.LeafIndex, kind RatchetKind, n int) []RatchetKey {
	t.Helper()
	st := testTree(t, leaves, RatchetConfig{MaximumForwardDistance: 1 << 20})
	keys := make([]RatchetKey, n)
	for g := range n {
		var err error
		keys[g], st, err = st.Next(leaf, kind)
		if err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestSecretTreeWindow(t *testing.T) {
	cfg := RatchetConfig{OutOfOrderTolerance: 5, MaximumForwardDistance: 100}
	tests := []struct {
		name     string
		requests []uint32 // generations asked for, in order
		wantErr  []error  // per request; nil = success
	}{
		{"in order", []uint32{0, 1, 2, 3}, []error{nil, nil, nil, nil}},
		{"skip then fill within tolerance", []uint32{5, 3, 4, 1, 2}, []error{nil, nil, nil, nil, nil}},
		{"skip, oldest kept is next-tolerance", []uint32{5, 1, 0}, []error{nil, nil, ErrGenerationExpired}},
		{"reuse of newest", []uint32{3, 3}, []error{nil, ErrGenerationConsumed}},
		{"reuse of out-of-order key", []uint32{4, 2, 2}, []error{nil, nil, ErrGenerationConsumed}},
		{"reuse after skipping past it", []uint32{0, 1, 0}, []error{nil, nil, ErrGenerationConsumed}},
		{"expired past window", []uint32{20, 14}, []error{nil, ErrGenerationExpired}},
		{"edge of window", []uint32{20, 16, 15}, []error{nil, nil, ErrGenerationExpired}},
		{"max forward distance allowed", []uint32{100}, []error{nil}},
		{"beyond max forward distance", []uint32{101}, []error{ErrGenerationTooFar}},
		{"distance counted from next", []uint32{50, 151, 253, 252}, []error{nil, nil, ErrGenerationTooFar, nil}},
		{"failed request changes nothing", []uint32{101, 0, 1}, []error{ErrGenerationTooFar, nil, nil}},
	}
	const leaves, leaf = 8, 5
	ref := refKeys(t, leaves, leaf, Application, 300)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := testTree(t, leaves, cfg)
			for i, g := range tt.requests {
				k, nt, err := st.Key(leaf, Application, g)
				if !errors.Is(err, tt.wantErr[i]) || (err == nil) != (tt.wantErr[i] == nil) {
					t.Fatalf("request %d (generation %d): err = %v, want %v", i, g, err, tt.wantErr[i])
				}
				if err != nil {
					var ge *GenerationError
					if !errors.As(err, &ge) || ge.Leaf != leaf || ge.Kind != Application || ge.Generation != g {
						t.Fatalf("request %d: error %v is not a GenerationError for leaf %d generation %d", i, err, leaf, g)
					}
					continue
				}
				if k.Generation != g || !bytes.Equal(k.Key, ref[g].Key) || !bytes.Equal(k.Nonce, ref[g].Nonce) {
					t.Fatalf("request %d (generation %d): wrong key", i, g)
				}
				st = nt
			}
		})
	}
}

// TestSecretTreeOldValueUnchanged checks persistence: after a new tree value
// consumed a generation, the old value still yields the same key, and the
// handshake ratchet is independent of the application ratchet.
func TestSecretTreeOldValueUnchanged(t *testing.T) {
	old := testTree(t, 16, DefaultRatchetConfig())
	k1, nt, err := old.Key(3, Application, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := nt.Key(3, Application, 2); !errors.Is(err, ErrGenerationConsumed) {
		t.Fatalf("new tree: reuse gives %v, want ErrGenerationConsumed", err)
	}
	// Mutating a returned key must not affect either tree.
	k1.Key[0] ^= 0xff
	k2, _, err := old.Key(3, Application, 2)
	if err != nil {
		t.Fatalf("old tree after new consumed: %v", err)
	}
	k1.Key[0] ^= 0xff
	if !bytes.Equal(k1.Key, k2.Key) || !bytes.Equal(k1.Nonce, k2.Nonce) {
		t.Fatal("old tree yields a different key")
	}
	if g := old.NextGeneration(3, Application); g != 0 {
		t.Fatalf("old tree NextGeneration = %d, want 0", g)
	}
	if g := nt.NextGeneration(3, Application); g != 3 {
		t.Fatalf("new tree NextGeneration = %d, want 3", g)
	}
	if g := nt.NextGeneration(3, Handshake); g != 0 {
		t.Fatalf("handshake ratchet moved: NextGeneration = %d", g)
	}
	hk, _, err := nt.Key(3, Handshake, 2)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(hk.Key, k1.Key) {
		t.Fatal("handshake and application keys coincide")
	}
}

// TestSecretTreeDeletionSchedule checks the example of RFC 9420, Section
// 9.2: in a four-member group, after receiving from D, the tree secrets of
// D, F and G are consumed and only E (node 1) and C (node 4) remain.
func TestSecretTreeDeletionSchedule(t *testing.T) {
	st := testTree(t, 4, DefaultRatchetConfig())
	_, st, err := st.Key(3, Application, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Collect(st.nodes.Keys()); !slices.Equal(got, []uint32{1, 4}) {
		t.Fatalf("stored node secrets %v, want [1 4] (E and C)", got)
	}
	s, _ := st.senders.Get(3)
	if _, ok := s[Application].past.Get(0); !ok {
		t.Fatal("K0/N0 not retained for out-of-order generation 0")
	}
	if s[Application].next != 2 || s[Handshake].next != 0 {
		t.Fatalf("ratchet positions AR%d HR%d, want AR2 HR0", s[Application].next, s[Handshake].next)
	}
	// Every other leaf still derives its keys, and the tree keeps one
	// secret per unexpanded subtree.
	for leaf := range treemath.LeafIndex(3) {
		if _, st, err = st.Key(leaf, Handshake, 0); err != nil {
			t.Fatalf("leaf %d: %v", leaf, err)
		}
	}
	if st.nodes.Len() != 0 {
		t.Fatalf("%d node secrets left after expanding every leaf", st.nodes.Len())
	}
}

func TestSecretTreeErrors(t *testing.T) {
	st := testTree(t, 4, DefaultRatchetConfig())
	if _, _, err := st.Key(4, Application, 0); !errors.Is(err, ErrLeafOutOfRange) {
		t.Fatalf("leaf 4 of 4: %v", err)
	}
	cs := testSuite(t)
	if _, err := NewSecretTree(cs, []byte{1}, 4, DefaultRatchetConfig()); !errors.Is(err, ErrSecretLength) {
		t.Fatalf("short secret: %v", err)
	}
	if _, err := NewSecretTree(cs, make([]byte, cs.HashLen()), 0, DefaultRatchetConfig()); !errors.Is(err, ErrLeafOutOfRange) {
		t.Fatalf("zero leaves: %v", err)
	}
}

// TestPropSecretTreePermutation: any order of delivery of the generations
// 0..T-1 decrypts with out-of-order tolerance T, and each key is the one an
// in-order receiver derives.
func TestPropSecretTreePermutation(t *testing.T) {
	ref := refKeys(t, 8, 6, Handshake, 64)
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 64).Draw(rt, "window")
		perm := rapid.Permutation(gens(n)).Draw(rt, "order")
		st := testTree(t, 8, RatchetConfig{OutOfOrderTolerance: uint32(n), MaximumForwardDistance: uint32(n)})
		for _, g := range perm {
			k, nt, err := st.Key(6, Handshake, g)
			if err != nil {
				rt.Fatalf("generation %d in order %v: %v", g, perm, err)
			}
			if !bytes.Equal(k.Key, ref[g].Key) || !bytes.Equal(k.Nonce, ref[g].Nonce) {
				rt.Fatalf("generation %d: wrong key", g)
			}
			if _, _, err := nt.Key(6, Handshake, g); !errors.Is(err, ErrGenerationConsumed) {
				rt.Fatalf("generation %d reused: %v", g, err)
			}
			st = nt
		}
	})
}

func gens(n int) []uint32 {
	g := make([]uint32, n)
	for i := range g {
		g[i] = uint32(i)
	}
	return g
}

// TestPropSecretTreeModel compares random request sequences on one ratchet
// against a naive model of the window rules, and checks that an old tree
// value answers exactly as it did before the new values were derived.
func TestPropSecretTreeModel(t *testing.T) {
	const maxGen = 120
	ref := refKeys(t, 4, 2, Application, maxGen+1)
	rapid.Check(t, func(rt *rapid.T) {
		cfg := RatchetConfig{
			OutOfOrderTolerance:    rapid.Uint32Range(0, 10).Draw(rt, "tolerance"),
			MaximumForwardDistance: rapid.Uint32Range(0, 40).Draw(rt, "forward"),
		}
		st := testTree(t, 4, cfg)
		var next uint64
		consumed := map[uint32]bool{}
		type snapshot struct {
			tree SecretTree
			g    uint32
			err  error
		}
		var snaps []snapshot
		for range rapid.IntRange(1, 60).Draw(rt, "steps") {
			g := rapid.Uint32Range(0, maxGen).Draw(rt, "generation")
			var want error
			switch {
			case uint64(g) < next && next-uint64(g) > uint64(cfg.OutOfOrderTolerance):
				want = ErrGenerationExpired
			case uint64(g) < next && consumed[g]:
				want = ErrGenerationConsumed
			case uint64(g) >= next && uint64(g)-next > uint64(cfg.MaximumForwardDistance):
				want = ErrGenerationTooFar
			}
			k, nt, err := st.Key(2, Application, g)
			if !errors.Is(err, want) || (err == nil) != (want == nil) {
				rt.Fatalf("generation %d (next %d): err = %v, want %v", g, next, err, want)
			}
			snaps = append(snaps, snapshot{st, g, want})
			if err != nil {
				continue
			}
			if !bytes.Equal(k.Key, ref[g].Key) || !bytes.Equal(k.Nonce, ref[g].Nonce) {
				rt.Fatalf("generation %d: wrong key", g)
			}
			consumed[g] = true
			next = max(next, uint64(g)+1)
			st = nt
		}
		for i, s := range snaps {
			_, _, err := s.tree.Key(2, Application, s.g)
			if !errors.Is(err, s.err) || (err == nil) != (s.err == nil) {
				rt.Fatalf("snapshot %d changed: generation %d now gives %v, before %v", i, s.g, err, s.err)
			}
		}
	})
}

func TestSecretTreePositions(t *testing.T) {
	st := testTree(t, 8, DefaultRatchetConfig())
	_, st, _ = st.Key(6, Application, 3)
	_, st, _ = st.Key(1, Handshake, 0)
	got := slices.Collect(st.Positions())
	if len(got) != 2 || got[0].Leaf != 1 || got[1].Leaf != 6 {
		t.Fatalf("positions %+v", got)
	}
	if got[0].HandshakeNext != 1 || got[1].AppNext != 4 || !slices.Equal(got[1].AppKept, []uint32{0, 1, 2}) {
		t.Fatalf("positions %+v", got)
	}
}
