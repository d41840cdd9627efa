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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
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
	// mac is HMAC-SHA256 keyed with HKDF-Extract(salt = "", ikm = seed),
	// built once by FromSeed: Reset returns it to its keyed state without
	// hashing the key again, so a draw costs the HMACs of its blocks only.
	mac hash.Hash
	msg []byte // scratch for one HMAC input, reused by every draw
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
	return &seeded{seed: seed, counts: map[Label]uint32{}, mac: hmac.New(sha256.New, prk)}
}

// Draw implements Source.
func (s *seeded) Draw(label Label, n int) []byte {
	if n < 0 {
		panic("entropy: negative draw")
	}
	i := s.counts[label]
	s.counts[label] = i + 1
	var ib [64]byte // label, i, n and the block number, on the stack for the usual labels
	info := append(ib[:0], label...)
	info = binary.BigEndian.AppendUint32(info, i)
	info = binary.BigEndian.AppendUint32(info, uint32(n))
	// HKDF-Expand yields at most 255*32 bytes per call; longer draws are
	// assembled from numbered blocks, each expanded with info || block.
	out := make([]byte, 0, n+sha256.Size)
	for block := uint32(0); len(out) < n; block++ {
		out = s.expand(out, binary.BigEndian.AppendUint32(info, block), min(n-len(out), 255*sha256.Size))
	}
	clear(out[n:cap(out)]) // the unused tail of the last block
	return out[:n:n]
}

// expand appends HKDF-Expand(prk, info, m) (RFC 5869, Section 2.3) to out
// and returns it, m at most 255*32: T(j) = HMAC(prk, T(j-1) || info || j),
// concatenated and cut to m bytes. The cut leaves up to 31 bytes of the
// last T(j) in out's capacity, past the returned length (Draw clears
// them); out needs room for m+32 bytes so that Sum does not reallocate.
func (s *seeded) expand(out, info []byte, m int) []byte {
	start := len(out)
	var prev []byte
	for j := byte(1); len(out)-start < m; j++ {
		s.msg = append(append(append(s.msg[:0], prev...), info...), j)
		s.mac.Reset()
		s.mac.Write(s.msg)
		out = s.mac.Sum(out)
		prev = out[len(out)-sha256.Size:]
	}
	clear(s.msg) // it may hold output bytes (prev)
	return out[:start+m]
}
