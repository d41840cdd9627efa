package mls

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
	"github.com/mlscore/mlscore/tree"
	"github.com/mlscore/mlscore/treemath"
)

// scribbler writes through every value the library hands out: every byte
// of every byte string, every number, flag and string reachable through
// exported fields, pointers, slices, arrays, maps and interfaces. It calls
// every exported method whose arguments are all leaf or node indices (with
// every index up to max) and scribbles through the results, recursively, so
// that a new accessor is covered without changing the test. Unexported
// fields are out of its reach, as they are out of every caller's.
type scribbler struct {
	max     uint32 // indices 0..max are passed to methods taking one
	depth   int    // how deep results of methods are followed
	touched int    // how many writes were made (a test that writes nothing proves nothing)
	seen    map[uintptr]bool
}

var (
	leafIndexType = reflect.TypeFor[treemath.LeafIndex]()
	nodeIndexType = reflect.TypeFor[treemath.NodeIndex]()
)

// value writes through v and everything reachable from it.
func (sc *scribbler) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || sc.seen[v.Pointer()] {
			return
		}
		sc.seen[v.Pointer()] = true
		sc.value(v.Elem())
		sc.methods(v, sc.depth)
	case reflect.Interface:
		if !v.IsNil() {
			sc.value(addressable(v.Elem()))
		}
	case reflect.Struct:
		v = addressable(v)
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				sc.value(v.Field(i))
			}
		}
		sc.methods(v, sc.depth)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := v.Bytes()
			for i := range b {
				b[i] ^= 0xA5
				sc.touched++
			}
			return
		}
		for i := range v.Len() {
			sc.value(v.Index(i))
		}
	case reflect.Array:
		v = addressable(v)
		for i := range v.Len() {
			sc.value(v.Index(i))
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			sc.value(addressable(it.Value()))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.CanSet() {
			v.SetInt(v.Int() ^ 1)
			sc.touched++
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if v.CanSet() {
			v.SetUint(v.Uint() ^ 1)
			sc.touched++
		}
	case reflect.Bool:
		if v.CanSet() {
			v.SetBool(!v.Bool())
			sc.touched++
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + "!")
			sc.touched++
		}
	}
}

// addressable returns v, or an addressable copy of it, so that its fields
// can be set: writing into the copy still reaches every slice and pointer
// it shares with the original.
func addressable(v reflect.Value) reflect.Value {
	if v.CanAddr() {
		return v
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	return c
}

// methods calls the exported methods of v that take only indices and
// scribbles through their results.
func (sc *scribbler) methods(v reflect.Value, depth int) {
	if depth <= 0 {
		return
	}
	t := v.Type()
	for i := range t.NumMethod() {
		m := t.Method(i)
		mt := m.Type // receiver first
		if mt.IsVariadic() || mt.NumOut() == 0 {
			continue
		}
		var argTypes []reflect.Type
		ok := true
		for j := 1; j < mt.NumIn(); j++ {
			if at := mt.In(j); at == leafIndexType || at == nodeIndexType {
				argTypes = append(argTypes, at)
			} else {
				ok = false
			}
		}
		if !ok || len(argTypes) > 1 {
			continue
		}
		calls := [][]reflect.Value{nil}
		if len(argTypes) == 1 {
			calls = nil
			for x := range sc.max + 1 {
				calls = append(calls, []reflect.Value{reflect.ValueOf(x).Convert(argTypes[0])})
			}
		}
		for _, args := range calls {
			for _, out := range call(v.Method(i), args) {
				sc.result(out, depth-1)
			}
		}
	}
}

// call calls m with args. A method that panics (an accessor of a zero
// value, an index outside the tree) hands nothing out: its results are
// none.
func call(m reflect.Value, args []reflect.Value) (out []reflect.Value) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	return m.Call(args)
}

// result scribbles through a method's result, ranging over iterators.
func (sc *scribbler) result(out reflect.Value, depth int) {
	saved := sc.depth
	sc.depth = depth
	defer func() { sc.depth = saved }()
	if out.Kind() == reflect.Func && out.Type().CanSeq2() {
		for k, v := range out.Seq2() {
			sc.value(addressable(k))
			sc.value(addressable(v))
		}
		return
	}
	if out.Kind() == reflect.Func && out.Type().CanSeq() {
		for v := range out.Seq() {
			sc.value(addressable(v))
		}
		return
	}
	sc.value(out)
}

// scribble writes through all of vs and returns the number of writes.
func scribble(max uint32, vs ...any) int {
	sc := &scribbler{max: max, depth: 4, seen: map[uintptr]bool{}}
	for _, v := range vs {
		if v != nil {
			sc.value(reflect.ValueOf(v))
		}
	}
	return sc.touched
}

// TestHandedOutValuesAreSealed writes through every value the public API
// returns — the shell's State, Members, PendingProposals, processed
// messages and outgoing messages, and through State every accessor of the
// state, its tree and nodes, its public and private parts, its pending and
// staged commits and stored proposals, and the core's effects — and checks
// that the groups' digests and behaviour are unchanged: the commits merge,
// both members agree on the epoch, messages still verify and decrypt.
func TestHandedOutValuesAreSealed(t *testing.T) {
	alice, bob := pair(t)
	const max = 8 // covers every leaf and node index of a two-member tree

	// Bob proposes an update; Alice stores it.
	prop, ref, err := bob.g.ProposeSelfUpdate()
	check(t, err)
	pmProp := must[*ProcessedMessage](t)(alice.g.ProcessMessage(prop))
	// Alice sends an application message; Bob decrypts it.
	app := must[[]byte](t)(alice.g.Send([]byte("hello")))
	pmApp := must[*ProcessedMessage](t)(bob.g.ProcessMessage(app))
	// Alice proposes to add carol; Bob stores it. Alice commits both
	// proposals (pending at Alice); Bob stages the commit, whose
	// proposals, added and updated members the staged commit lists.
	carol := newParty(t, backends[0], "carol")
	addProp, _, err := alice.g.ProposeAdd(must[[]byte](t)(carol.c.KeyPackage()))
	check(t, err)
	must[*ProcessedMessage](t)(bob.g.ProcessMessage(addProp))
	commit := must[Outgoing](t)(alice.g.CommitPendingProposals())
	pmCommit := must[*ProcessedMessage](t)(bob.g.ProcessMessage(bytes.Clone(commit.Commit)))
	if sc, ok := bob.g.State().StagedCommit(); !ok || len(sc.Proposals) != 2 || len(sc.Added) != 1 || len(sc.Updated) != 1 {
		t.Fatalf("bob's staged commit: %v, want one Update and one Add", ok)
	}
	if _, ok := alice.g.State().PendingCommit(); !ok {
		t.Fatal("alice has no pending commit")
	}

	digests := func() [2][32]byte { return [2][32]byte{alice.g.State().Digest(), bob.g.State().Digest()} }
	handedOut := []struct {
		name string
		v    any
	}{
		{"alice's State", alice.g.State()}, {"bob's State", bob.g.State()},
		{"Members", alice.g.Members()}, {"PendingProposals", alice.g.PendingProposals()},
		{"bob's PendingProposals", bob.g.PendingProposals()},
		{"processed proposal", pmProp}, {"processed application message", pmApp},
		{"add proposal message", addProp},
		{"processed commit", pmCommit}, {"outgoing commit", commit},
		{"EpochAuthenticator", alice.g.EpochAuthenticator()}, {"ID", alice.g.ID()},
		{"proposal message", prop}, {"proposal ref", ref}, {"application message", app},
	}
	n := 0
	for _, h := range handedOut {
		before := digests()
		n += scribble(max, h.v)
		if after := digests(); after != before {
			t.Errorf("writing into %s changed a group's state", h.name)
		}
	}
	// A public observer (package replay) hands out its public part.
	obs := replay.NewObserver(alice.g.State().Public(), alice.g.OwnLeaf())
	od := obs.Digest()
	n += scribble(max, obs.Public(), obs)
	if obs.Digest() != od {
		t.Error("writing into an observer's public part changed the observer")
	}
	if n < 1000 {
		t.Fatalf("only %d writes: the scribbler misses the values it should write through", n)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Behaviour: the commit merges on both sides to the same epoch, and
	// messages still verify and decrypt both ways.
	check(t, bob.g.MergeStagedCommit())
	check(t, alice.g.MergePendingCommit())
	if !bytes.Equal(alice.g.EpochAuthenticator(), bob.g.EpochAuthenticator()) {
		t.Fatal("the members disagree on the epoch after the commit")
	}
	for _, pair := range [][2]*party{{alice, bob}, {bob, alice}} {
		msg := must[[]byte](t)(pair[0].g.Send([]byte("still works")))
		pm := must[*ProcessedMessage](t)(pair[1].g.ProcessMessage(msg))
		if string(pm.Data) != "still works" {
			t.Fatalf("%s read %q", pair[1].name, pm.Data)
		}
	}
	up := must[Outgoing](t)(alice.g.SelfUpdate())
	check(t, alice.g.MergePendingCommit())
	deliver(t, alice, up.Commit, bob)
	if !bytes.Equal(alice.g.EpochAuthenticator(), bob.g.EpochAuthenticator()) {
		t.Fatal("the members disagree on the epoch after a second commit")
	}
}

// TestCoreOutputsAreSealed runs events through transitions.Apply, writes
// through the new state and every effect returned, and checks that the
// input state is unchanged and that applying the same event to it again
// with the same seed gives the same new state and effects, bit for bit.
func TestCoreOutputsAreSealed(t *testing.T) {
	alice, bob := pair(t)
	prop, _, err := bob.g.ProposeSelfUpdate()
	check(t, err)
	pending := must[Outgoing](t)(bob.g.CommitPendingProposals())

	kp := must[[]byte](t)(newParty(t, backends[0], "carol").c.KeyPackage())
	add := must[codec.Proposal](t)(addProposal(kp, transitions.Limits{}))
	seed := [32]byte{42}
	at := alice.c.now()
	steps := []struct {
		name string
		g    *Group
		ev   transitions.Event
	}{
		{"protect", alice.g, transitions.Protect{At: at, Data: []byte("data"), AAD: []byte("aad")}},
		{"propose", alice.g, transitions.Propose{At: at, Proposal: add}},
		{"commit", alice.g, transitions.Commit{At: at, Inline: []codec.Proposal{add}, PublishGroupInfo: true}},
		{"receive proposal", alice.g, transitions.Receive{At: at, Message: prop}},
		{"receive commit", alice.g, transitions.Receive{At: at, Message: pending.Commit}},
		{"confirm", bob.g, transitions.ConfirmCommit{At: at}},
		{"export", alice.g, transitions.Export{Label: "l", Context: []byte("c"), Length: 16}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			s := st.g.State()
			in := s.Digest()
			n1, e1, err := transitions.Apply(s, st.ev, st.g.c.env(seed))
			check(t, err)
			d1, ed1 := n1.Digest(), effects.Digest(e1)
			if scribble(8, n1, e1) == 0 && len(e1) > 0 {
				t.Fatal("nothing written")
			}
			if s.Digest() != in {
				t.Fatal("writing into Apply's outputs changed its input state")
			}
			if n1.Digest() != d1 {
				t.Fatal("writing into Apply's outputs changed the new state")
			}
			n2, e2, err := transitions.Apply(s, st.ev, st.g.c.env(seed))
			check(t, err)
			if n2.Digest() != d1 || effects.Digest(e2) != ed1 {
				t.Fatal("the same event applied again gives another result")
			}
		})
	}
}

// zeroKey1 and zeroKey2 return the zero value of a function's parameter
// (the first after the receiver, or the first), whose type the caller
// need not — and, for core.Key, cannot — name: how code outside the core
// obtains a core.Key without importing internal/core.
func zeroKey1[R, K, A any](func(R, K) A) K {
	var k K
	return k
}

func zeroKey2[R, K, A, B any](func(R, K) (A, B)) K {
	var k K
	return k
}

func zeroKey3[R, K, P, A, B any](func(R, K, P) (A, B)) K {
	var k K
	return k
}

func zeroKeyFirst[K, P, Q, A, B any](func(K, P, Q) (A, B)) K {
	var k K
	return k
}

// TestZeroCoreKeyUnlocksNothing: the zero core.Key, which any caller can
// obtain through type inference, opens none of the core's zero-copy
// accessors and constructors: writing through what they return, or
// through the parts given to them, leaves every state unchanged.
func TestZeroCoreKeyUnlocksNothing(t *testing.T) {
	alice, _ := pair(t)
	st := alice.g.State()
	live := func() [2][32]byte { return [2][32]byte{alice.g.State().Digest(), st.Digest()} }
	before := live()

	k := zeroKey2(state.GroupState.Shared)
	pub, priv := st.Shared(k)
	n := scribble(8, pub, priv)
	ctx := st.SharedGroupContextBytes(zeroKey1(state.GroupState.SharedGroupContextBytes))
	n += scribble(8, ctx)
	sig, ok := st.Tree().SharedSignatureKey(zeroKey3(tree.Tree.SharedSignatureKey), 0)
	if !ok {
		t.Fatal("no signature key at leaf 0")
	}
	n += scribble(8, sig)
	if n < 100 {
		t.Fatalf("only %d writes", n)
	}
	if live() != before {
		t.Fatal("writing through a zero-key accessor's result changed a group's state")
	}
	if leaf, _ := alice.g.State().Tree().Leaf(0); !bytes.Equal(leaf.SignatureKey, alice.c.pub) {
		t.Fatal("the tree's signature key changed")
	}

	// Constructors given the zero key copy what they are given.
	pub2, priv2 := st.Public(), st.Private()
	built, err := state.New(zeroKeyFirst(state.New), pub2, priv2)
	check(t, err)
	withPriv, err := st.WithPrivate(zeroKey3(state.GroupState.WithPrivate), priv2)
	check(t, err)
	d1, d2 := built.Digest(), withPriv.Digest()
	if scribble(8, pub2, priv2) < 50 {
		t.Fatal("nothing written into the parts")
	}
	if built.Digest() != d1 || withPriv.Digest() != d2 {
		t.Fatal("writing into the parts given to a zero-key constructor changed the state it built")
	}
}
