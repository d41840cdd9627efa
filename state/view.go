package state

import (
	"encoding/hex"

	"github.com/mlscore/mlscore/internal/core"
	"github.com/mlscore/mlscore/keysched"
)

// View is a plain, exported snapshot of a GroupState for go-cmp diffs, dumps
// and scenario scripts. Byte strings are hex; secrets appear only through
// the digest and the epoch authenticator.
type View struct {
	InGroup, Joining, Active bool
	Suite                    uint16
	GroupID                  string
	Epoch                    uint64
	TreeHash                 string
	ConfirmedTranscriptHash  string
	InterimTranscriptHash    string
	Extensions               []uint16
	OwnLeaf                  uint32
	LeafCount                uint32
	Members                  []MemberView
	Proposals                []ProposalView
	Config                   Config
	EpochAuthenticator       string
	Ratchets                 []keysched.RatchetPosition
	PastEpochs               []uint64
	ResumptionEpochs         []uint64
	HasPending, HasStaged    bool
	ReInitPending            bool // a ReInit was committed (RFC 9420, Section 11.2)
	Digest                   string
}

// MemberView describes one member.
type MemberView struct {
	Leaf          uint32
	Credential    string // identity of a basic credential, else hex of the credential
	SignatureKey  string
	EncryptionKey string
}

// ProposalView describes one stored proposal.
type ProposalView struct {
	Ref    string
	Type   uint16
	Sender uint32
}

// View returns a snapshot of s.
func (s GroupState) View() View {
	d := s.Digest()
	v := View{InGroup: s.InGroup(), Active: s.Active(), Digest: hex.EncodeToString(d[:])}
	if _, ok := s.StagedJoin(); ok {
		v.Joining = true
	}
	if s.pub == nil {
		return v
	}
	p, q := s.pub.p, s.priv.p
	v.Suite = uint16(p.Suite.ID())
	v.GroupID = hex.EncodeToString(p.Context.GroupID)
	v.Epoch = p.Context.Epoch
	v.TreeHash = hex.EncodeToString(p.Context.TreeHash)
	v.ConfirmedTranscriptHash = hex.EncodeToString(p.Context.ConfirmedTranscriptHash)
	v.InterimTranscriptHash = hex.EncodeToString(p.Interim)
	for _, e := range p.Context.Extensions {
		v.Extensions = append(v.Extensions, uint16(e.ExtensionType))
	}
	v.OwnLeaf = uint32(q.Self)
	v.LeafCount = uint32(p.Tree.LeafCount())
	for i, ln := range p.Tree.SharedMembers(core.K()) {
		cred := hex.EncodeToString(ln.Credential.Identity)
		if ln.Credential.CredentialType == 1 {
			cred = string(ln.Credential.Identity)
		}
		v.Members = append(v.Members, MemberView{Leaf: uint32(i), Credential: cred,
			SignatureKey: hex.EncodeToString(ln.SignatureKey), EncryptionKey: hex.EncodeToString(ln.EncryptionKey)})
	}
	for _, sp := range p.Proposals {
		v.Proposals = append(v.Proposals, ProposalView{Ref: hex.EncodeToString(sp.Ref), Type: uint16(sp.Proposal.ProposalType), Sender: uint32(sp.Sender.LeafIndex)})
	}
	v.Config = p.Config
	v.EpochAuthenticator = hex.EncodeToString(q.Epoch.EpochAuthenticator())
	for pos := range q.Secrets.Positions() {
		v.Ratchets = append(v.Ratchets, pos)
	}
	for _, pe := range q.Past {
		v.PastEpochs = append(v.PastEpochs, pe.Context.Epoch)
	}
	for _, r := range q.Resumption {
		v.ResumptionEpochs = append(v.ResumptionEpochs, r.Epoch)
	}
	v.HasPending, v.HasStaged = q.Pending != nil, q.Staged != nil
	v.ReInitPending = p.ReInit != nil
	return v
}
