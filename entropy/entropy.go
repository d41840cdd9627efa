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
	counts []labelCount // the draws so far, per label (an event uses a few labels)
	// pads are the HMAC-SHA256 key blocks (RFC 2104) of HKDF-Extract(salt
	// = "", ikm = seed), XORed with ipad and opad, made by the first draw
	// (keyed reports it): a draw costs the hashes of its blocks only, and
	// allocates nothing but its output.
	pads  [2][sha256.BlockSize]byte
	keyed bool
}

// labelCount is how many draws a Source served for one label.
type labelCount struct {
	label Label
	n     uint32
}

// FromSeed returns the Source for seed. The i-th draw for label (counting
// from 0) of n bytes is HKDF-Expand(HKDF-Extract(nil, seed), label ||
// uint32(i) || uint32(n), n), so draws of different lengths never share a
// prefix.
//
// The Source extracts its key at the first draw: an event that draws
// nothing (decrypting a message) costs no hashing.
func FromSeed(seed [32]byte) Source {
	return &seeded{seed: seed}
}

// init keys s with HKDF-Extract(salt = "", ikm = seed) (RFC 5869, Section
// 2.2: the empty salt is HashLen zero bytes).
func (s *seeded) init() {
	var zeros [sha256.Size]byte
	setPads(&s.pads, zeros[:])
	prk := hmacSHA256(&s.pads, s.seed[:])
	setPads(&s.pads, prk[:])
	clear(prk[:])
	s.keyed = true
}

// setPads sets p to key (at most a block) XORed with ipad and opad.
func setPads(p *[2][sha256.BlockSize]byte, key []byte) {
	for i := range sha256.BlockSize {
		p[0][i], p[1][i] = 0x36, 0x5c
	}
	for i, b := range key {
		p[0][i] ^= b
		p[1][i] ^= b
	}
}

// hmacSHA256 returns HMAC-SHA256(key, msg) for the key whose pads are p.
// Its buffers are on the stack for messages up to 192 bytes (a draw's
// block input: the previous block, the info and a counter), and cleared.
func hmacSHA256(p *[2][sha256.BlockSize]byte, msg []byte) [sha256.Size]byte {
	var buf [sha256.BlockSize + 192]byte
	b := append(append(buf[:0], p[0][:]...), msg...)
	inner := sha256.Sum256(b)
	clear(b)
	b = append(append(buf[:0], p[1][:]...), inner[:]...)
	out := sha256.Sum256(b)
	clear(b)
	clear(inner[:])
	return out
}

// Draw implements Source.
func (s *seeded) Draw(label Label, n int) []byte {
	if n < 0 {
		panic("entropy: negative draw")
	}
	if !s.keyed {
		s.init()
	}
	i := s.next(label)
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

// next returns the number of draws served for label so far, and counts
// one more.
func (s *seeded) next(label Label) uint32 {
	for k := range s.counts {
		if s.counts[k].label == label {
			s.counts[k].n++
			return s.counts[k].n - 1
		}
	}
	s.counts = append(s.counts, labelCount{label: label, n: 1})
	return 0
}

// expand appends HKDF-Expand(prk, info, m) (RFC 5869, Section 2.3) to out
// and returns it, m at most 255*32: T(j) = HMAC(prk, T(j-1) || info || j),
// concatenated and cut to m bytes. The cut leaves up to 31 bytes of the
// last T(j) in out's capacity, past the returned length (Draw clears
// them); out needs room for m+32 bytes.
func (s *seeded) expand(out, info []byte, m int) []byte {
	start := len(out)
	var prev []byte
	var mb [sha256.Size + 80]byte // T(j-1) || info || j for the usual labels
	for j := byte(1); len(out)-start < m; j++ {
		msg := append(append(append(mb[:0], prev...), info...), j)
		t := hmacSHA256(&s.pads, msg)
		clear(msg) // it holds output bytes (prev)
		out = append(out, t[:]...)
		clear(t[:])
		prev = out[len(out)-sha256.Size:]
	}
	return out[:start+m]
}
