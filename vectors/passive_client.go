package vectors

import (
	"bytes"
	"encoding/binary"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/entropy"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// passiveClientCase is one case of the passive-client-*.json files
// (FORMAT.md, "Passive Client Scenarios").
type passiveClientCase struct {
	CipherSuite               uint16         `json:"cipher_suite"`
	ExternalPSKs              []externalPSK  `json:"external_psks"`
	KeyPackage                HexBytes       `json:"key_package"`
	SignaturePriv             HexBytes       `json:"signature_priv"`
	EncryptionPriv            HexBytes       `json:"encryption_priv"`
	InitPriv                  HexBytes       `json:"init_priv"`
	Welcome                   HexBytes       `json:"welcome"`
	RatchetTree               HexBytes       `json:"ratchet_tree"`
	InitialEpochAuthenticator HexBytes       `json:"initial_epoch_authenticator"`
	Epochs                    []passiveEpoch `json:"epochs"`
}

// externalPSK is an external PSK of a passive-client case.
type externalPSK struct {
	PSKID HexBytes `json:"psk_id"`
	PSK   HexBytes `json:"psk"`
}

// passiveEpoch is one epoch of a passive-client case: the proposals and
// the commit received, and the epoch authenticator after the commit.
type passiveEpoch struct {
	Proposals          []HexBytes `json:"proposals"`
	Commit             HexBytes   `json:"commit"`
	EpochAuthenticator HexBytes   `json:"epoch_authenticator"`
}

// runPassiveClient runs a passive client through each case with the state
// machine: join from the Welcome with the given private keys, the ratchet
// tree if given and the external PSKs; compare the epoch authenticator;
// then for each epoch receive the proposals and the commit, merge it and
// compare the epoch authenticator.
func runPassiveClient(data []byte, r *Result) {
	cases, ok := decodeCases[passiveClientCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if msg := checkPassiveClient(c); msg != "" {
			r.Fail("case %d (suite %d): %s", i, c.CipherSuite, msg)
			continue
		}
		r.Pass()
	}
}

func checkPassiveClient(c passiveClientCase) string {
	cs, err := suite.Lookup(suite.ID(c.CipherSuite))
	if err != nil {
		return err.Error()
	}
	kpMsg, err := codec.DecodeMLSMessage(c.KeyPackage)
	if err != nil || kpMsg.KeyPackage == nil {
		return sprintf("key_package: not an MLSMessage(KeyPackage): %v", err)
	}
	kp := *kpMsg.KeyPackage
	// Some generators write NIST private scalars as minimal big-endian
	// integers (a P-521 scalar can come out as 65 bytes instead of Nsk =
	// 66); restore the fixed-length form RFC 9180 serializes.
	c.InitPriv = padScalar(c.InitPriv, func(k []byte) bool { _, err := cs.HPKEPublicKey(k); return err == nil })
	c.EncryptionPriv = padScalar(c.EncryptionPriv, func(k []byte) bool { _, err := cs.HPKEPublicKey(k); return err == nil })
	c.SignaturePriv = padScalar(c.SignaturePriv, func(k []byte) bool { _, err := cs.SignaturePublicKey(k); return err == nil })
	// The private keys must match the key package's public keys.
	if pub, err := cs.HPKEPublicKey(c.InitPriv); err != nil || !bytes.Equal(pub, kp.InitKey) {
		return "init_priv does not match the key package's init_key"
	}
	if pub, err := cs.HPKEPublicKey(c.EncryptionPriv); err != nil || !bytes.Equal(pub, kp.LeafNode.EncryptionKey) {
		return "encryption_priv does not match the leaf's encryption_key"
	}
	if pub, err := cs.SignaturePublicKey(c.SignaturePriv); err != nil || !bytes.Equal(pub, kp.LeafNode.SignatureKey) {
		return "signature_priv does not match the leaf's signature_key"
	}
	ref, err := keysched.KeyPackageRef(cs, kp)
	if err != nil {
		return err.Error()
	}
	keys := transitions.KeyStore{}.WithKeyPackage(ref, transitions.KeyPackageBundle{KeyPackage: kp, InitPriv: c.InitPriv, EncryptionPriv: c.EncryptionPriv})
	if keys, err = keys.WithSignatureKey(suite.ID(c.CipherSuite), c.SignaturePriv); err != nil {
		return err.Error()
	}
	for _, p := range c.ExternalPSKs {
		keys = keys.WithExternalPSK(p.PSKID, p.PSK)
	}
	at := passiveClientTime(c, cs, ref)
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	cfg.ResumptionPSKs = 64
	seq := uint64(0)
	apply := func(s state.GroupState, ev transitions.Event) (state.GroupState, error) {
		seq++
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], seq)
		next, _, err := transitions.Apply(s, ev, transitions.Env{Entropy: entropy.FromSeed(seed), Keys: keys})
		return next, err
	}
	s, err := apply(state.GroupState{}, transitions.JoinWelcome{At: at, Welcome: c.Welcome, RatchetTree: c.RatchetTree, Config: cfg})
	if err != nil {
		return sprintf("join: %v", err)
	}
	if s, err = apply(s, transitions.AcceptJoin{At: at}); err != nil {
		return sprintf("accept join: %v", err)
	}
	if got := s.EpochAuthenticator(); !bytes.Equal(got, c.InitialEpochAuthenticator) {
		return sprintf("initial epoch authenticator: got %x, want %x", got, c.InitialEpochAuthenticator)
	}
	for i, ep := range c.Epochs {
		for j, p := range ep.Proposals {
			if s, err = apply(s, transitions.Receive{At: at, Message: p}); err != nil {
				return sprintf("epoch %d: proposal %d: %v", i, j, err)
			}
		}
		if s, err = apply(s, transitions.Receive{At: at, Message: ep.Commit}); err != nil {
			return sprintf("epoch %d: commit: %v", i, err)
		}
		if s, err = apply(s, transitions.MergeStaged{At: at}); err != nil {
			return sprintf("epoch %d: merge: %v", i, err)
		}
		if got := s.EpochAuthenticator(); !bytes.Equal(got, ep.EpochAuthenticator) {
			return sprintf("epoch %d: epoch authenticator: got %x, want %x", i, got, ep.EpochAuthenticator)
		}
	}
	return ""
}

// passiveClientTime chooses the event time: an instant inside the lifetime
// of every key package leaf the case shows (the joiner's key package, the
// leaves of the tree, the key packages of Add proposals), so that lifetime
// validation stays on even though the vectors' lifetimes may have expired.
// Without a common instant it falls back to the middle of the joiner's
// key package lifetime.
func passiveClientTime(c passiveClientCase, cs *suite.Suite, ref []byte) uint64 {
	kp, _ := codec.DecodeMLSMessage(c.KeyPackage)
	lo, hi := kp.KeyPackage.LeafNode.Lifetime.NotBefore, kp.KeyPackage.LeafNode.Lifetime.NotAfter
	fallback := lo + (hi-lo)/2
	narrow := func(l codec.Lifetime) {
		lo, hi = max(lo, l.NotBefore), min(hi, l.NotAfter)
	}
	leaves := func(t codec.RatchetTree) {
		for _, n := range t {
			if n != nil && n.Leaf != nil && n.Leaf.LeafNodeSource == codec.LeafNodeSourceKeyPackage {
				narrow(n.Leaf.Lifetime)
			}
		}
	}
	if c.RatchetTree != nil {
		if t, err := codec.DecodeRatchetTree(c.RatchetTree); err == nil {
			leaves(t)
		}
	}
	if t := welcomeTree(c, cs, ref); t != nil {
		leaves(t)
	}
	adds := func(p *codec.Proposal) {
		if p != nil && p.Add != nil {
			narrow(p.Add.KeyPackage.LeafNode.Lifetime)
		}
	}
	c.eachPublicProposal(adds)
	if lo > hi {
		return fallback
	}
	return lo + (hi-lo)/2
}

// welcomeTree returns the ratchet tree carried by the case's Welcome, if
// any, decrypting the GroupInfo with the case's keys.
// eachPublicProposal calls f with every proposal the case's epochs carry
// in PublicMessages: standalone proposals, and those a commit holds by
// value (nil for a reference). Messages that do not decode, and private
// ones, are passed over: what they hold is not readable without the
// epoch's keys.
func (c passiveClientCase) eachPublicProposal(f func(*codec.Proposal)) {
	for _, ep := range c.Epochs {
		for _, b := range append(append([]HexBytes(nil), ep.Proposals...), ep.Commit) {
			m, err := codec.DecodeMLSMessage(b)
			if err != nil || m.PublicMessage == nil {
				continue
			}
			ct := m.PublicMessage.Content
			f(ct.Proposal)
			if ct.Commit != nil {
				for _, por := range ct.Commit.Proposals {
					f(por.Proposal)
				}
			}
		}
	}
}

func welcomeTree(c passiveClientCase, cs *suite.Suite, ref []byte) codec.RatchetTree {
	m, err := codec.DecodeMLSMessage(c.Welcome)
	if err != nil || m.Welcome == nil {
		return nil
	}
	gs, err := keysched.DecryptGroupSecrets(cs, *m.Welcome, ref, c.InitPriv)
	if err != nil {
		return nil
	}
	var psks []keysched.PSK
	for _, id := range gs.PSKs {
		for _, p := range c.ExternalPSKs {
			if bytes.Equal(p.PSKID, id.PSKID) {
				psks = append(psks, keysched.PSK{ID: id, Secret: p.PSK})
			}
		}
	}
	ps, err := keysched.ComputePSKSecret(cs, psks)
	if err != nil {
		return nil
	}
	j, err := keysched.NewJoinerSecret(cs, gs.JoinerSecret)
	if err != nil {
		return nil
	}
	in, err := j.WithPSK(ps)
	if err != nil {
		return nil
	}
	ws, err := in.Welcome()
	if err != nil {
		return nil
	}
	gi, err := ws.DecryptGroupInfo(m.Welcome.EncryptedGroupInfo)
	if err != nil {
		return nil
	}
	x, ok := gi.Extensions.Find(codec.ExtensionRatchetTree)
	if !ok {
		return nil
	}
	t, err := codec.DecodeRatchetTree(x.ExtensionData)
	if err != nil {
		return nil
	}
	return t
}

// padScalar left-pads key with zero bytes (at most 2) until ok accepts it.
func padScalar(key []byte, ok func([]byte) bool) []byte {
	for k, i := key, 0; i <= 2; i, k = i+1, append([]byte{0}, k...) {
		if ok(k) {
			return k
		}
	}
	return key
}
