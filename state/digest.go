package state

import (
	"crypto/sha256"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/treemath"
)

// digestLabel versions the digest encoding: change it whenever the encoding
// changes, so old logs fail loudly instead of diverging subtly.
const digestLabel = "mlscore GroupState digest v1"

// Digest returns SHA-256 of a canonical encoding of the whole state: the
// public part in full (the GroupContext, the tree hash, the transcript
// hashes, the configuration, the proposal store, the active flag) and
// commitments to the private part — the own leaf and signature key, the
// public keys of the own path, a hash of the epoch secrets, the positions of
// every sender ratchet, the retained past epochs and resumption PSKs (hashed),
// and the digests of a pending commit, staged commit or staged join. It
// reveals no secret. Two states built by the same events from the same seeds
// have equal digests, and a difference in any field changes it.
func (s GroupState) Digest() [32]byte {
	var b cryptobyte.Builder
	b.AddBytes([]byte(digestLabel))
	s.marshalDigest(&b)
	out, err := b.Bytes()
	if err != nil {
		// Only a field over 2^30-1 bytes fails to encode; New and the
		// limits make that impossible for a built state.
		panic("state: digest encoding: " + err.Error())
	}
	return sha256.Sum256(out)
}

func addHash(b *cryptobyte.Builder, data ...[]byte) {
	h := sha256.New()
	for _, d := range data {
		var l [4]byte
		l[0], l[1], l[2], l[3] = byte(len(d)>>24), byte(len(d)>>16), byte(len(d)>>8), byte(len(d))
		h.Write(l[:])
		h.Write(d)
	}
	b.AddBytes(h.Sum(nil))
}

func addBool(b *cryptobyte.Builder, v bool) {
	if v {
		b.AddUint8(1)
	} else {
		b.AddUint8(0)
	}
}

func addLeaves(b *cryptobyte.Builder, ls []treemath.LeafIndex) {
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, l := range ls {
			b.AddUint32(uint32(l))
		}
	})
}

func addPositions(b *cryptobyte.Builder, st keysched.SecretTree) {
	b.AddUint32(uint32(st.Leaves()))
	cfg := st.Config()
	b.AddUint32(cfg.OutOfOrderTolerance)
	b.AddUint32(cfg.MaximumForwardDistance)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for p := range st.Positions() {
			b.AddUint32(uint32(p.Leaf))
			b.AddUint64(p.HandshakeNext)
			b.AddUint64(p.AppNext)
			codec.AddVector(b, func(b *cryptobyte.Builder) {
				for _, g := range p.HandshakeKept {
					b.AddUint32(g)
				}
			})
			codec.AddVector(b, func(b *cryptobyte.Builder) {
				for _, g := range p.AppKept {
					b.AddUint32(g)
				}
			})
		}
	})
}

// epochCommitment hashes every secret of an epoch (and the next init
// secret), so the digest changes with any of them without revealing them.
func epochCommitment(b *cryptobyte.Builder, e keysched.EpochSecrets) {
	if e.Suite() == nil {
		addHash(b)
		return
	}
	addHash(b, e.SenderDataSecret(), e.EncryptionSecret(), e.ExporterSecret(), e.ExternalSecret(),
		e.ConfirmationKey(), e.MembershipKey(), e.ResumptionPSK(), e.EpochAuthenticator(), e.Next().Bytes())
}

func (s GroupState) marshalDigest(b *cryptobyte.Builder) {
	switch {
	case s.pub == nil && (s.priv == nil || s.priv.join == nil):
		b.AddUint8(0) // not in a group
		return
	case s.pub == nil:
		b.AddUint8(1) // joining
		digestJoin(b, s.priv.join)
		return
	}
	b.AddUint8(2)
	p := s.pub.p
	s.digestPublic(b)
	q := s.priv.p
	b.AddUint32(uint32(q.Self))
	codec.AddOpaque(b, q.SignatureKey)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, x := range q.Path.Nodes() {
			pub, _ := q.Path.PublicKey(x)
			b.AddUint32(uint32(x))
			codec.AddOpaque(b, pub)
		}
	})
	epochCommitment(b, q.Epoch)
	addPositions(b, q.Secrets)
	digestPast(b, q.Past, p.Config.MaxPastEpochAge != 0)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, r := range q.Resumption {
			b.AddUint64(r.Epoch)
			addHash(b, r.Secret)
		}
	})
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, u := range q.OwnUpdates {
			codec.AddOpaque(b, u.Ref)
			addHash(b, u.EncryptionPriv)
		}
	})
	digestPendingStaged(b, q.Pending, q.Staged)
	if p.ReInit != nil {
		// Appended only when set, so that every other state keeps its
		// digest encoding.
		b.AddUint8(0x52)
		p.ReInit.Marshal(b)
	}
}

// digestJoin adds a staged join to a digest: the next state's digest,
// the key package used and, for an external join, the prior state's
// digest.
func digestJoin(b *cryptobyte.Builder, j *StagedJoin) {
	d := j.Next.Digest()
	b.AddBytes(d[:])
	codec.AddOpaque(b, j.KeyPackageRef)
	addBool(b, j.LastResort)
	if j.Prior.pub != nil || j.Prior.priv != nil {
		// Only present for external joins, so that the digests of
		// Welcome joins keep their encoding.
		pd := j.Prior.Digest()
		b.AddBytes(pd[:])
	}
}

// digestPublic adds the public part of an in-group state to a digest.
func (s GroupState) digestPublic(b *cryptobyte.Builder) {
	p := s.pub.p
	b.AddUint16(uint16(p.Suite.ID()))
	codec.AddOpaque(b, s.pub.ctxBytes)
	codec.AddOpaque(b, p.Tree.Hash())
	b.AddUint32(uint32(p.Tree.LeafCount()))
	codec.AddOpaque(b, p.Interim)
	codec.AddOpaque(b, p.ConfirmationTag)
	p.Config.Marshal(b)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, sp := range p.Proposals {
			codec.AddOpaque(b, sp.Ref)
			sp.Proposal.Marshal(b)
			sp.Sender.Marshal(b)
		}
	})
	addBool(b, p.Active)
	b.AddUint32(p.Census.Members)
	for _, l := range [][]TypeCount{p.Census.CredentialsInUse, p.Census.CredentialSupport, p.Census.ExtensionSupport, p.Census.ProposalSupport} {
		codec.AddVector(b, func(b *cryptobyte.Builder) {
			for _, tc := range l {
				b.AddUint16(tc.Type)
				b.AddUint32(tc.Count)
			}
		})
	}
}

// digestPendingStaged adds the own pending commit and the staged received
// commit, each flagged present or absent, to a digest.
func digestPendingStaged(b *cryptobyte.Builder, pc *PendingCommit, sc *StagedCommit) {
	addBool(b, pc != nil)
	if pc != nil {
		d := pc.Next.Digest()
		b.AddBytes(d[:])
		addHash(b, pc.Message)
		addLeaves(b, pc.Added)
		addLeaves(b, pc.Removed)
	}
	addBool(b, sc != nil)
	if sc != nil {
		d := sc.Next.Digest()
		b.AddBytes(d[:])
		sc.Sender.Marshal(b)
		codec.AddVector(b, func(b *cryptobyte.Builder) {
			for _, sp := range sc.Proposals {
				codec.AddOpaque(b, sp.Ref)
				sp.Proposal.Marshal(b)
				sp.Sender.Marshal(b)
			}
		})
		addLeaves(b, sc.Added)
		addLeaves(b, sc.Removed)
		addLeaves(b, sc.Updated)
		addBool(b, sc.SelfRemoved)
	}
}

// digestPast adds the past epochs to a digest: their end times when the
// configuration bounds the window by age (aged), then their contexts,
// trees and secret commitments.
func digestPast(b *cryptobyte.Builder, past []PastEpoch, aged bool) {
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, pe := range past {
			if aged {
				b.AddUint64(pe.Ended)
			}
			pe.Context.Marshal(b)
			codec.AddOpaque(b, pe.Tree.Hash())
			addHash(b, pe.SenderDataSecret)
			addPositions(b, pe.Secrets)
		}
	})
}
