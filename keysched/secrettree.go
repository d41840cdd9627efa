package keysched

import (
	"fmt"
	"iter"
	"math"
	"slices"

	"github.com/mlscore/mlscore/internal/pds"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// RatchetKind selects one of a sender's two hash ratchets
// ([RFC 9420, Section 9]).
//
// [RFC 9420, Section 9]: https://www.rfc-editor.org/rfc/rfc9420#section-9
type RatchetKind uint8

const (
	// Handshake is the ratchet for Proposal and Commit content.
	Handshake RatchetKind = iota
	// Application is the ratchet for application data.
	Application
)

// String returns "handshake" or "application".
func (k RatchetKind) String() string {
	switch k {
	case Handshake:
		return "handshake"
	case Application:
		return "application"
	}
	return fmt.Sprintf("RatchetKind(%d)", uint8(k))
}

// RatchetConfig bounds what a receiver does for out-of-order and lost
// messages, like OpenMLS's SenderRatchetConfiguration. Both limits are
// counted in generations.
type RatchetConfig struct {
	// OutOfOrderTolerance is how many generations before a ratchet's next
	// unused generation keep their keys, so that late messages can still
	// be decrypted. Older keys are deleted. Zero keeps none.
	OutOfOrderTolerance uint32
	// MaximumForwardDistance is how far past the next unused generation a
	// request may reach; a receiver ratchets forward at most this many
	// steps for one message. It bounds the work an attacker-chosen
	// generation can cause.
	MaximumForwardDistance uint32
}

// DefaultRatchetConfig returns OpenMLS's defaults: a tolerance of 5 and a
// maximum forward distance of 1000 generations.
func DefaultRatchetConfig() RatchetConfig {
	return RatchetConfig{OutOfOrderTolerance: 5, MaximumForwardDistance: 1000}
}

// RatchetKey is the key and nonce of one ratchet generation:
// ratchet_key_[N]_[j] and ratchet_nonce_[N]_[j] ([RFC 9420, Section 9.1]).
// The nonce is the one from the key schedule, before the reuse guard is
// applied.
//
// [RFC 9420, Section 9.1]: https://www.rfc-editor.org/rfc/rfc9420#section-9.1
type RatchetKey struct {
	Generation uint32
	Key        []byte
	Nonce      []byte
}

// clone returns a copy of k that shares no memory with it.
func (k RatchetKey) clone() RatchetKey {
	return RatchetKey{Generation: k.Generation, Key: clone(k.Key), Nonce: clone(k.Nonce)}
}

// ratchet is one sender hash ratchet. It is immutable.
type ratchet struct {
	next   uint64              // next unused generation; 1<<32 once exhausted
	secret []byte              // ratchet_secret_[next]; nil once exhausted
	past   pds.Map[RatchetKey] // unused keys of generations in [next-tolerance, next)
}

// senderRatchets is the pair of ratchets of one leaf, indexed by RatchetKind.
// It is immutable; updates build a new one.
type senderRatchets [2]ratchet

// SecretTree is the secret tree of one epoch with the sender ratchets
// derived from it ([RFC 9420, Section 9]). It is a persistent value: every
// method leaves the receiver unchanged and returns a new SecretTree sharing
// all untouched parts with it, so copying one is O(1) and an old value stays
// usable (it still yields the keys that the new one has consumed).
//
// It follows the deletion schedule of [RFC 9420, Section 9.2] in the new
// values it returns. Keys are handed out once: a consumed generation gives
// ErrGenerationConsumed.
//
// [RFC 9420, Section 9]: https://www.rfc-editor.org/rfc/rfc9420#section-9
// [RFC 9420, Section 9.2]: https://www.rfc-editor.org/rfc/rfc9420#section-9.2
type SecretTree struct {
	cs      *suite.Suite
	leaves  treemath.LeafCount
	cfg     RatchetConfig
	nodes   pds.Map[[]byte]          // node index → tree_node_[N]_secret, for nodes not yet expanded
	senders pds.Map[*senderRatchets] // leaf index → ratchets, for leaves already expanded
}

// NewSecretTree returns the secret tree of an epoch with leaves leaves,
// rooted at encryptionSecret (EpochSecrets.EncryptionSecret).
func NewSecretTree(cs *suite.Suite, encryptionSecret []byte, leaves treemath.LeafCount, cfg RatchetConfig) (SecretTree, error) {
	if err := checkLen("encryption_secret", encryptionSecret, cs.HashLen()); err != nil {
		return SecretTree{}, err
	}
	if leaves == 0 || leaves > treemath.MaxLeaves {
		return SecretTree{}, fmt.Errorf("%w: %d leaves", ErrLeafOutOfRange, leaves)
	}
	t := SecretTree{cs: cs, leaves: leaves, cfg: cfg}
	t.nodes = t.nodes.Set(uint32(treemath.Root(leaves)), clone(encryptionSecret))
	return t, nil
}

// SecretTree returns the secret tree of this epoch for a group of leaves
// leaves.
func (e EpochSecrets) SecretTree(leaves treemath.LeafCount, cfg RatchetConfig) (SecretTree, error) {
	return NewSecretTree(e.cs, e.encryption, leaves, cfg)
}

// Leaves returns the number of leaves of the tree.
func (t SecretTree) Leaves() treemath.LeafCount { return t.leaves }

// Config returns the tree's ratchet configuration.
func (t SecretTree) Config() RatchetConfig { return t.cfg }

// NextGeneration returns the next unused generation of leaf's kind ratchet:
// the generation Next would use. It does not derive anything.
func (t SecretTree) NextGeneration(leaf treemath.LeafIndex, kind RatchetKind) uint64 {
	if s, ok := t.senders.Get(uint32(leaf)); ok {
		return s[kind].next
	}
	return 0
}

// RatchetPosition is where one sender's ratchets stand: the next unused
// generation of each, and the generations whose keys are still held for
// out-of-order messages.
type RatchetPosition struct {
	Leaf                   treemath.LeafIndex
	HandshakeNext, AppNext uint64
	HandshakeKept, AppKept []uint32 // increasing
}

// Positions returns the position of every sender whose ratchets have been
// derived, in increasing leaf order. It reveals no secret, so a state
// digest can commit to it.
func (t SecretTree) Positions() iter.Seq[RatchetPosition] {
	return func(yield func(RatchetPosition) bool) {
		for leaf, s := range t.senders.All() {
			p := RatchetPosition{
				Leaf:          treemath.LeafIndex(leaf),
				HandshakeNext: s[Handshake].next,
				AppNext:       s[Application].next,
				HandshakeKept: slices.Collect(s[Handshake].past.Keys()),
				AppKept:       slices.Collect(s[Application].past.Keys()),
			}
			if !yield(p) {
				return
			}
		}
	}
}

// Next returns the key and nonce of the next unused generation of leaf's
// kind ratchet, for encrypting a message, and the tree without them.
func (t SecretTree) Next(leaf treemath.LeafIndex, kind RatchetKind) (RatchetKey, SecretTree, error) {
	next := t.NextGeneration(leaf, kind)
	if next > math.MaxUint32 {
		return RatchetKey{}, t, &GenerationError{Leaf: leaf, Kind: kind, Generation: math.MaxUint32, Next: math.MaxUint32, Err: ErrRatchetExhausted}
	}
	return t.Key(leaf, kind, uint32(next))
}

// Key returns the key and nonce of generation of leaf's kind ratchet, for
// decrypting a message, and the tree without them. The returned
// RatchetKey.Generation is the generation consumed: a caller that persists
// secrets deletes it.
//
// A generation ahead of the ratchet is reached by ratcheting forward, at
// most cfg.MaximumForwardDistance steps (else ErrGenerationTooFar); the keys
// of skipped generations are kept if they fall within
// cfg.OutOfOrderTolerance of the new position. A past generation is served
// from those kept keys, once: a generation already used gives
// ErrGenerationConsumed, one outside the window ErrGenerationExpired. Errors
// are *GenerationError values, and leave t unchanged (it is returned as is).
func (t SecretTree) Key(leaf treemath.LeafIndex, kind RatchetKind, generation uint32) (RatchetKey, SecretTree, error) {
	if uint64(leaf) >= uint64(t.leaves) {
		return RatchetKey{}, t, fmt.Errorf("%w: leaf %d of %d", ErrLeafOutOfRange, leaf, t.leaves)
	}
	if kind > Application {
		return RatchetKey{}, t, fmt.Errorf("mls: invalid ratchet kind %d", kind)
	}
	nt := t
	s, ok := t.senders.Get(uint32(leaf))
	if !ok {
		var err error
		nt.nodes, s, err = t.expandLeaf(leaf)
		if err != nil {
			return RatchetKey{}, t, err
		}
	}
	r, key, err := t.step(s[kind], generation)
	if err != nil {
		if ge, ok := err.(*GenerationError); ok {
			ge.Leaf, ge.Kind = leaf, kind
		}
		return RatchetKey{}, t, err
	}
	ns := *s
	ns[kind] = r
	nt.senders = t.senders.Set(uint32(leaf), &ns)
	return key, nt, nil
}

// expandLeaf derives leaf's two ratchets from the closest stored ancestor
// secret, returning the new node map (ancestors on the path removed, their
// off-path children added) and the ratchets.
func (t SecretTree) expandLeaf(leaf treemath.LeafIndex) (pds.Map[[]byte], *senderRatchets, error) {
	target := leaf.Node()
	nodes := t.nodes
	// Exactly one node on the path from the root to an unexpanded leaf holds
	// a secret: walk down from the root until it is found.
	x := treemath.Root(t.leaves)
	secret, ok := nodes.Get(uint32(x))
	for !ok {
		if treemath.Level(x) == 0 {
			panic("keysched: secret tree lost the secret of leaf " + fmt.Sprint(leaf))
		}
		x = childToward(x, target)
		secret, ok = nodes.Get(uint32(x))
	}
	nodes = nodes.Delete(uint32(x))
	for treemath.Level(x) > 0 {
		l, r := treemath.Left(x), treemath.Right(x)
		ls, err := t.cs.ExpandWithLabel(secret, "tree", []byte("left"), t.cs.HashLen())
		if err != nil {
			return nodes, nil, err
		}
		rs, err := t.cs.ExpandWithLabel(secret, "tree", []byte("right"), t.cs.HashLen())
		if err != nil {
			return nodes, nil, err
		}
		// The parent secret is consumed once both children exist; keep the
		// child off the path for the other leaves below it.
		if target < x {
			x, secret = l, ls
			nodes = nodes.Set(uint32(r), rs)
		} else {
			x, secret = r, rs
			nodes = nodes.Set(uint32(l), ls)
		}
	}
	hs, err := t.cs.ExpandWithLabel(secret, "handshake", nil, t.cs.HashLen())
	if err != nil {
		return nodes, nil, err
	}
	as, err := t.cs.ExpandWithLabel(secret, "application", nil, t.cs.HashLen())
	if err != nil {
		return nodes, nil, err
	}
	return nodes, &senderRatchets{Handshake: {secret: hs}, Application: {secret: as}}, nil
}

// childToward returns the child of parent x on the way to node target.
func childToward(x, target treemath.NodeIndex) treemath.NodeIndex {
	if target < x {
		return treemath.Left(x)
	}
	return treemath.Right(x)
}

// keyAt derives the key and nonce of generation g from ratchet_secret_[g].
func (t SecretTree) keyAt(secret []byte, g uint32) (RatchetKey, error) {
	nonce, err := t.cs.DeriveTreeSecret(secret, "nonce", g, t.cs.AEADNonceLen())
	if err != nil {
		return RatchetKey{}, err
	}
	key, err := t.cs.DeriveTreeSecret(secret, "key", g, t.cs.AEADKeyLen())
	if err != nil {
		return RatchetKey{}, err
	}
	return RatchetKey{Generation: g, Key: key, Nonce: nonce}, nil
}

// step serves generation g from r, returning the new ratchet.
func (t SecretTree) step(r ratchet, g uint32) (ratchet, RatchetKey, error) {
	tol := uint64(t.cfg.OutOfOrderTolerance)
	gen := uint64(g)
	if gen < r.next {
		if k, ok := r.past.Get(g); ok {
			r.past = r.past.Delete(g)
			return r, k.clone(), nil
		}
		reason := ErrGenerationConsumed
		if r.next-gen > tol {
			reason = ErrGenerationExpired
		}
		return r, RatchetKey{}, &GenerationError{Generation: g, Next: uint32(min(r.next, math.MaxUint32)), Err: reason}
	}
	if r.secret == nil {
		return r, RatchetKey{}, &GenerationError{Generation: g, Next: math.MaxUint32, Err: ErrRatchetExhausted}
	}
	if gen-r.next > uint64(t.cfg.MaximumForwardDistance) {
		return r, RatchetKey{}, &GenerationError{Generation: g, Next: uint32(r.next), Err: ErrGenerationTooFar}
	}
	newNext := gen + 1
	var low uint64 // lowest generation kept after this step
	if newNext > tol {
		low = newNext - tol
	}
	secret := r.secret
	past := r.past
	for j := r.next; j < gen; j++ {
		if j >= low {
			k, err := t.keyAt(secret, uint32(j))
			if err != nil {
				return r, RatchetKey{}, err
			}
			past = past.Set(uint32(j), k)
		}
		var err error
		secret, err = t.cs.DeriveTreeSecret(secret, "secret", uint32(j), t.cs.HashLen())
		if err != nil {
			return r, RatchetKey{}, err
		}
	}
	key, err := t.keyAt(secret, g)
	if err != nil {
		return r, RatchetKey{}, err
	}
	var nextSecret []byte
	if g < math.MaxUint32 {
		nextSecret, err = t.cs.DeriveTreeSecret(secret, "secret", g, t.cs.HashLen())
		if err != nil {
			return r, RatchetKey{}, err
		}
	}
	// Forget kept keys that fell out of the window.
	for {
		k, _, ok := past.Min()
		if !ok || uint64(k) >= low {
			break
		}
		past = past.Delete(k)
	}
	return ratchet{next: newNext, secret: nextSecret, past: past}, key, nil
}
