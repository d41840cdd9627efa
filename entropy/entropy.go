// Package entropy owns the randomness of mlscore. Every random byte the core
// uses is drawn from a Source: a deterministic function of a 32-byte seed,
// addressed by label, so the same seed gives the same bytes for the same
// label and per-label draw count, whatever the order of the draws. The seed
// of each event is recorded in the event log, which is what lets a replay
// regenerate every key bit for bit.
//
// Nothing here reads the operating system's randomness: package
// entropy/system does, and the core packages may not import it.
package entropy

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
)

// Label names the purpose of a draw. Distinct purposes use distinct labels
// so that adding or reordering draws in one place does not shift the bytes
// drawn in another.
type Label string

// The labels the core uses.
const (
	LeafEncryption Label = "leaf.encryption"    // HPKE key of a new leaf node
	LeafSignature  Label = "leaf.signature"     // signature key generation
	InitKey        Label = "keypackage.init"    // KeyPackage init key
	CommitLeaf     Label = "commit.leaf_secret" // TreeKEM leaf secret of a commit
	HPKEEncap      Label = "hpke.encap"         // HPKE encapsulation randomness
	ReuseGuard     Label = "private.reuse_guard"
	GroupID        Label = "group.id"
	GroupInit      Label = "group.init"    // initial epoch secret material
	PSKNonce       Label = "psk.nonce"     // PreSharedKeyID nonces
	ExternalInit   Label = "external.init" // ExternalInit KEM output
	WelcomeEncap   Label = "welcome.encap" // per-recipient Welcome HPKE
)

// Source is a deterministic, label-addressed randomness source. Draw returns
// n bytes for label; the i-th draw for a label always returns the same bytes
// for the same seed. A Source is not safe for concurrent use.
type Source interface {
	Draw(label Label, n int) []byte
}

// seeded is the Source of FromSeed.
type seeded struct {
	seed   [32]byte
	counts map[Label]uint32
	prk    []byte // HKDF-Extract(salt = "", ikm = seed), computed once by FromSeed
}

// FromSeed returns the Source for seed. The i-th draw for label (counting
// from 0) of n bytes is HKDF-Expand(HKDF-Extract(nil, seed), label ||
// uint32(i) || uint32(n), n), so draws of different lengths never share a
// prefix.
func FromSeed(seed [32]byte) Source {
	prk, err := hkdf.Extract(sha256.New, seed[:], nil)
	if err != nil {
		panic("entropy: " + err.Error())
	}
	return &seeded{seed: seed, counts: map[Label]uint32{}, prk: prk}
}

// Draw implements Source.
func (s *seeded) Draw(label Label, n int) []byte {
	if n < 0 {
		panic("entropy: negative draw")
	}
	i := s.counts[label]
	s.counts[label] = i + 1
	info := make([]byte, 0, len(label)+8)
	info = append(info, label...)
	info = binary.BigEndian.AppendUint32(info, i)
	info = binary.BigEndian.AppendUint32(info, uint32(n))
	prk := s.prk
	// HKDF-Expand yields at most 255*32 bytes per call; longer draws are
	// assembled from numbered blocks.
	out := make([]byte, 0, n)
	for block := uint32(0); len(out) < n; block++ {
		m := min(n-len(out), 255*32)
		bi := binary.BigEndian.AppendUint32(append([]byte(nil), info...), block)
		b, err := hkdf.Expand(sha256.New, prk, string(bi), m)
		if err != nil {
			panic("entropy: " + err.Error())
		}
		out = append(out, b...)
	}
	return out
}
