package transitions

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// group is a read-only view of an in-group state with its parts unpacked,
// for the duration of one transition.
type group struct {
	s    state.GroupState
	pub  state.Public
	priv state.Private
	cs   *suite.Suite
	// public marks the public mode (a PublicGroup): no member, no secret;
	// priv is the zero Private, self is no leaf and membership tags are
	// not checked.
	public bool
}

// inGroup unpacks an in-group state for one transition. Which events a
// state admits is the lifecycle table's business (lifecycle.go); this
// fails only for a state in no group.
func inGroup(s state.GroupState) (*group, error) {
	g, err := groupOf(s)
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// groupOf is inGroup returning the view itself, for the message paths:
// a caller whose view does not escape keeps its several hundred bytes on
// the stack instead of allocating them per message.
func groupOf(s state.GroupState) (group, error) {
	if !s.InGroup() {
		return group{}, fmt.Errorf("%w: not in a group", ErrWrongState)
	}
	pub, priv := s.Shared(core.K())
	return group{s: s, pub: pub, priv: priv, cs: pub.Suite}, nil
}

// gid returns a copy of the group id: it goes into effects and messages,
// which the caller owns.
func (g *group) gid() []byte   { return bytes.Clone(g.pub.Context.GroupID) }
func (g *group) epoch() uint64 { return g.pub.Context.Epoch }
func (g *group) self() treemath.LeafIndex {
	if g.public {
		return noLeaf
	}
	return g.priv.Self
}

func (g *group) signer(env Env) (*suite.Signer, error) {
	sg, ok := env.Keys.Signer(g.priv.SignatureKey)
	if !ok {
		return nil, fmt.Errorf("%w: signature key %x", ErrMissingKey, prefix(g.priv.SignatureKey))
	}
	return sg, nil
}

func prefix(b []byte) []byte {
	if len(b) > 8 {
		return b[:8]
	}
	return b
}

func signerFor(env Env, pub []byte) (*suite.Signer, error) {
	sg, ok := env.Keys.Signer(pub)
	if !ok {
		return nil, fmt.Errorf("%w: signature key %x", ErrMissingKey, prefix(pub))
	}
	return sg, nil
}

// secretID builds the ID of a per-group secret: group id || epoch || extra.
func secretID(gid []byte, epoch uint64, extra ...uint32) []byte {
	b := make([]byte, 0, len(gid)+8+4*len(extra))
	b = append(b, gid...)
	b = binary.BigEndian.AppendUint64(b, epoch)
	for _, x := range extra {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

// deleteMessageKey names the message key of leaf's kind ratchet at gen;
// the ID it builds is a copy, so gid may be the state's.
func deleteMessageKey(gid []byte, epoch uint64, leaf treemath.LeafIndex, kind uint8, gen uint32) effects.Effect {
	return effects.DeleteSecret{Ref: effects.SecretRef{Kind: effects.SecretMessageKey, ID: secretID(gid, epoch, uint32(leaf), gen, uint32(kind))}}
}

// defaultCapabilities fills empty capability lists with this suite, MLS 1.0
// and the credential's type (RFC 9420, Section 7.2).
func defaultCapabilities(c codec.Capabilities, cs suite.ID, ct codec.CredentialType) codec.Capabilities {
	if len(c.Versions) == 0 {
		c.Versions = []codec.ProtocolVersion{codec.MLS10}
	}
	if len(c.CipherSuites) == 0 {
		c.CipherSuites = []codec.CipherSuite{codec.CipherSuite(cs)}
	}
	if len(c.Credentials) == 0 {
		c.Credentials = []codec.CredentialType{ct}
	}
	return c
}

// censusAdd adds (delta = 1) or removes (delta = -1) one leaf's
// contribution. It returns a new Census; c is unchanged. state.CensusOf
// computes a whole tree's census; unlike its bump, the one here copies
// the lists and can count down.
func censusAdd(c state.Census, ln *codec.LeafNode, delta int) state.Census {
	bump := func(l []state.TypeCount, t uint16) []state.TypeCount {
		i, found := slices.BinarySearchFunc(l, t, func(tc state.TypeCount, t uint16) int { return int(tc.Type) - int(t) })
		out := slices.Clone(l)
		if !found {
			if delta < 0 {
				return out
			}
			return slices.Insert(out, i, state.TypeCount{Type: t, Count: 1})
		}
		n := int64(out[i].Count) + int64(delta)
		if n <= 0 {
			return slices.Delete(out, i, i+1)
		}
		out[i].Count = uint32(n)
		return out
	}
	c.Members = uint32(int64(c.Members) + int64(delta))
	c.CredentialsInUse = bump(c.CredentialsInUse, uint16(ln.Credential.CredentialType))
	for _, t := range uniq16(ln.Capabilities.Credentials) {
		c.CredentialSupport = bump(c.CredentialSupport, t)
	}
	for _, t := range uniq16(ln.Capabilities.Extensions) {
		c.ExtensionSupport = bump(c.ExtensionSupport, t)
	}
	for _, t := range uniq16(ln.Capabilities.Proposals) {
		c.ProposalSupport = bump(c.ProposalSupport, t)
	}
	return c
}

func uniq16[T ~uint16](l []T) []uint16 {
	out := make([]uint16, len(l))
	for i, v := range l {
		out[i] = uint16(v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func countOf(l []state.TypeCount, t uint16) uint32 {
	i, found := slices.BinarySearchFunc(l, t, func(tc state.TypeCount, t uint16) int { return int(tc.Type) - int(t) })
	if !found {
		return 0
	}
	return l[i].Count
}

func isDefaultExtension(t codec.ExtensionType) bool { return t >= 1 && t <= 5 }

func containsT[T comparable](l []T, v T) bool { return slices.Contains(l, v) }

func equalBytes(a, b []byte) bool { return bytes.Equal(a, b) }

// fanOutWorkers is the fixed number of goroutines that independent,
// per-index work (a Welcome's per-recipient HPKE seals) is spread over.
// Results are written by index, so the outcome never depends on
// scheduling.
const fanOutWorkers = 8

// fanOut calls f(i) for every i in [0, n), on up to fanOutWorkers
// goroutines for large n, and returns when all calls have returned.
func fanOut(n int, f func(i int)) {
	if n < 2*fanOutWorkers {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range fanOutWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += fanOutWorkers {
				f(i)
			}
		}()
	}
	wg.Wait()
}
