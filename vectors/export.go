package vectors

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/replay"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/transitions"
)

// MarshalJSON encodes h as a hex string (nil as null).
func (h HexBytes) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	return json.Marshal(hex.EncodeToString(h))
}

// ErrNotExportable reports a log from which no passive-client vector can be
// built: it is not a Full log replayed from its first record, or the
// member never joined a group with a Welcome.
var ErrNotExportable = errors.New("mls: log cannot be exported as a passive-client vector")

// Export describes a passive-client vector built by ExportPassiveClient.
type Export struct {
	// JSON is the vector file: a JSON array holding the one case, in the
	// working group's passive-client format (FORMAT.md, "Passive Client
	// Scenarios"), indented.
	JSON []byte
	// Suite is the case's cipher suite; Epochs the number of epochs
	// after the join; Proposals the proposals received in them.
	Suite             uint16
	Epochs, Proposals int
	// JoinSeq is the log record of the JoinWelcome; StopSeq the record at
	// which the history stopped being passive (the member sent a
	// proposal or a commit, joined another group, or was removed), or the
	// record after the last one; Stop says why.
	JoinSeq, StopSeq uint64
	Stop             string
}

// ExportPassiveClient builds a passive-client test vector from res, the
// replay of a member's Full log from its first record (a simulator log, or
// any replay.Full log): the key package the member joined with and its
// private keys, the Welcome (and the ratchet tree given beside it), the
// epoch authenticator after the join, then for every epoch the member
// followed passively the proposals and the commit it received and the
// epoch authenticator after merging it. The history ends where the member
// stops being passive: its own proposal or commit (a passive client sends
// nothing), a second join, or its removal; or after the epoch of a ReInit
// commit, which closes the group. External commits (a joiner's, or a
// member's resync) are epochs like any other. Application messages, rejected
// messages and discarded commits are left out. The vector is run through
// this package's passive-client runner before it is returned, so an
// exported file always passes here; keys supplies any external PSK the
// group used.
func ExportPassiveClient(res *replay.Result, keys transitions.KeyReader) (Export, error) {
	if res.Public || res.First != 0 || res.Start.InGroup() {
		return Export{}, fmt.Errorf("%w: it must be a Full log replayed from its first record (a snapshot log starts after the join, without the Welcome and the init key)", ErrNotExportable)
	}
	var c passiveClientCase
	var ks transitions.KeyStore // the key store before each record
	sigs := map[string][]byte{} // signature private keys seen, by public key
	joined := false
	var ex Export
	var props []HexBytes
	var commit HexBytes
	stop := func(seq uint64, why string) {
		ex.StopSeq, ex.Stop = seq, why
	}
	ex.StopSeq, ex.Stop = res.First+uint64(len(res.Steps)), "end of the log"
steps:
	for i, st := range res.Steps {
		seq := res.First + uint64(i)
		if st.Err == nil {
			switch ev := st.Event.(type) {
			case transitions.JoinWelcome:
				if joined {
					stop(seq, "second join")
					break steps
				}
				if err := c.setJoin(ev, ks, sigs); err != nil {
					return Export{}, fmt.Errorf("record %d: %w", seq, err)
				}
				ex.JoinSeq = seq
			case transitions.RejectJoin:
				if !joined {
					c = passiveClientCase{}
				}
			case transitions.AcceptJoin:
				if c.Welcome == nil || joined {
					break
				}
				joined = true
				c.InitialEpochAuthenticator = st.State.EpochAuthenticator()
			case transitions.Receive:
				if !joined {
					break
				}
				if _, ok := effects.Find[effects.ProposalReceived](st.Effects); ok {
					props = append(props, ev.Message)
				} else if _, ok := effects.Find[effects.CommitStaged](st.Effects); ok {
					commit = ev.Message
				}
			case transitions.DiscardStaged:
				commit = nil
			case transitions.MergeStaged:
				if !joined {
					break
				}
				if !st.State.Active() {
					stop(seq, "removed from the group")
					break steps
				}
				if commit == nil {
					return Export{}, fmt.Errorf("record %d: a merge without a received commit", seq)
				}
				if props == nil {
					props = []HexBytes{}
				}
				c.Epochs = append(c.Epochs, passiveEpoch{Proposals: props, Commit: commit, EpochAuthenticator: st.State.EpochAuthenticator()})
				ex.Proposals += len(props)
				props, commit = nil, nil
				if st.State.Public().ReInit != nil {
					// The group is closed: its last epoch is the ReInit
					// commit's, and the member's next group is joined
					// anew.
					stop(seq+1, "the group was reinitialized")
					break steps
				}
			case transitions.Protect, transitions.Export, transitions.PublishGroupInfo, transitions.AbortCommit,
				transitions.NewKeyPackage, transitions.NewSignatureKey, transitions.ExpirePastEpochs:
				// Nothing a passive client needs: no change to what it
				// follows.
			default:
				if joined {
					stop(seq, "the member's own "+transitions.Name(ev))
					break steps
				}
			}
		}
		// The key store and signature keys after the record.
		for _, e := range st.Effects {
			if p, ok := e.(effects.PersistSecret); ok && p.Ref.Kind == effects.SecretSignatureKey && len(p.Secret) > 2 {
				if cs, err := suite.Lookup(suite.ID(uint16(p.Secret[0])<<8 | uint16(p.Secret[1]))); err == nil {
					if pub, err := cs.SignaturePublicKey(p.Secret[2:]); err == nil {
						sigs[string(pub)] = bytes.Clone(p.Secret[2:])
					}
				}
			}
		}
		var err error
		if ks, err = ks.With(st.Effects); err != nil {
			return Export{}, fmt.Errorf("record %d: %w", seq, err)
		}
	}
	if !joined {
		return Export{}, fmt.Errorf("%w: the member never joined a group with a Welcome", ErrNotExportable)
	}
	c.ExternalPSKs = []externalPSK{}
	if err := c.setExternalPSKs(keys); err != nil {
		return Export{}, err
	}
	if c.Epochs == nil {
		c.Epochs = []passiveEpoch{}
	}
	if msg := checkPassiveClient(c); msg != "" {
		return Export{}, fmt.Errorf("mls: the exported vector does not pass: %s", msg)
	}
	data, err := json.MarshalIndent([]passiveClientCase{c}, "", "  ")
	if err != nil {
		return Export{}, err
	}
	ex.JSON = append(data, '\n')
	ex.Suite, ex.Epochs = c.CipherSuite, len(c.Epochs)
	return ex, nil
}

// setJoin fills the case's join from a JoinWelcome and the key store
// before it: the key package the Welcome is addressed to, its private
// keys and the signature key of its leaf.
func (c *passiveClientCase) setJoin(ev transitions.JoinWelcome, ks transitions.KeyStore, sigs map[string][]byte) error {
	m, err := codec.DecodeMLSMessage(ev.Welcome)
	if err != nil || m.Welcome == nil {
		return fmt.Errorf("%w: the JoinWelcome holds no Welcome", ErrNotExportable)
	}
	for _, egs := range m.Welcome.Secrets {
		b, ok := ks.KeyPackage(egs.NewMember)
		if !ok {
			continue
		}
		priv, ok := sigs[string(b.KeyPackage.LeafNode.SignatureKey)]
		if !ok {
			return fmt.Errorf("%w: the signature key of the joined leaf is not in the log", ErrNotExportable)
		}
		kp, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatKeyPackage, KeyPackage: &b.KeyPackage}.Encode()
		if err != nil {
			return err
		}
		*c = passiveClientCase{CipherSuite: uint16(m.Welcome.CipherSuite), KeyPackage: kp, SignaturePriv: priv,
			EncryptionPriv: bytes.Clone(b.EncryptionPriv), InitPriv: bytes.Clone(b.InitPriv),
			Welcome: bytes.Clone(ev.Welcome), RatchetTree: bytes.Clone(ev.RatchetTree)}
		return nil
	}
	return fmt.Errorf("%w: the Welcome names none of the member's key packages", ErrNotExportable)
}

// setExternalPSKs adds the external PSKs that the Welcome and the
// commits' PublicMessage proposals name and keys holds.
func (c *passiveClientCase) setExternalPSKs(keys transitions.KeyReader) error {
	if keys == nil {
		return nil
	}
	seen := map[string]bool{}
	add := func(p *codec.Proposal) {
		if p == nil || p.PreSharedKey == nil || p.PreSharedKey.PSK.PSKType != codec.PSKTypeExternal {
			return
		}
		id := p.PreSharedKey.PSK.PSKID
		if seen[string(id)] {
			return
		}
		if psk, ok := keys.ExternalPSK(id); ok {
			seen[string(id)] = true
			c.ExternalPSKs = append(c.ExternalPSKs, externalPSK{PSKID: bytes.Clone(id), PSK: bytes.Clone(psk)})
		}
	}
	c.eachPublicProposal(add)
	return nil
}

// looksPassiveClient reports whether data is a JSON array of cases that
// each have the fields of a passive-client case.
func looksPassiveClient(data []byte) bool {
	var cases []map[string]json.RawMessage
	if json.Unmarshal(data, &cases) != nil || len(cases) == 0 {
		return false
	}
	for _, c := range cases {
		for _, f := range []string{"cipher_suite", "key_package", "welcome", "initial_epoch_authenticator", "epochs"} {
			if _, ok := c[f]; !ok {
				return false
			}
		}
	}
	return true
}
