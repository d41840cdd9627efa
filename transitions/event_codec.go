package transitions

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/suite"
)

// Each event type owns its encoding: marshal writes its fields after the
// common header (format, tag, At) and unmarshal reads them back. The tag of
// each type is its tag method; the way back from a tag to a name and a
// decoder is the one table eventSpec.

// eventPtr is the pointer type of an event type T, which unmarshals into it.
type eventPtr[T Event] interface {
	*T
	unmarshal(d *codec.Decoder, at uint64)
}

// decodeAs decodes the fields of an event of type T.
func decodeAs[T Event, P eventPtr[T]](d *codec.Decoder, at uint64) Event {
	var e T
	P(&e).unmarshal(d, at)
	return e
}

// eventSpec is the table of event tags: each known tag's name and decoder;
// ok is false for an unknown tag. Never renumber a tag: logs depend on them.
func eventSpec(t eventTag) (name string, decode func(d *codec.Decoder, at uint64) Event, ok bool) {
	switch t {
	case tagNewSignatureKey:
		return "NewSignatureKey", decodeAs[NewSignatureKey], true
	case tagNewKeyPackage:
		return "NewKeyPackage", decodeAs[NewKeyPackage], true
	case tagCreateGroup:
		return "CreateGroup", decodeAs[CreateGroup], true
	case tagPropose:
		return "Propose", decodeAs[Propose], true
	case tagLeave:
		return "Leave", decodeAs[Leave], true
	case tagCommit:
		return "Commit", decodeAs[Commit], true
	case tagConfirmCommit:
		return "ConfirmCommit", decodeAs[ConfirmCommit], true
	case tagAbortCommit:
		return "AbortCommit", decodeAs[AbortCommit], true
	case tagReceive:
		return "Receive", decodeAs[Receive], true
	case tagMergeStaged:
		return "MergeStaged", decodeAs[MergeStaged], true
	case tagDiscardStaged:
		return "DiscardStaged", decodeAs[DiscardStaged], true
	case tagDropProposal:
		return "DropProposal", decodeAs[DropProposal], true
	case tagProtect:
		return "Protect", decodeAs[Protect], true
	case tagExport:
		return "Export", decodeAs[Export], true
	case tagJoinWelcome:
		return "JoinWelcome", decodeAs[JoinWelcome], true
	case tagAcceptJoin:
		return "AcceptJoin", decodeAs[AcceptJoin], true
	case tagRejectJoin:
		return "RejectJoin", decodeAs[RejectJoin], true
	case tagPublishGroupInfo:
		return "PublishGroupInfo", decodeAs[PublishGroupInfo], true
	case tagExternalJoin:
		return "ExternalJoin", decodeAs[ExternalJoin], true
	case tagProposeAsNewMember:
		return "ProposeAsNewMember", decodeAs[ProposeAsNewMember], true
	case tagExternalPropose:
		return "ExternalPropose", decodeAs[ExternalPropose], true
	case tagReInitGroup:
		return "ReInitGroup", decodeAs[ReInitGroup], true
	case tagBranchGroup:
		return "BranchGroup", decodeAs[BranchGroup], true
	case tagExpirePastEpochs:
		return "ExpirePastEpochs", decodeAs[ExpirePastEpochs], true
	}
	return "", nil, false
}

func (e NewSignatureKey) marshal(b *cryptobyte.Builder) { b.AddUint16(uint16(e.Suite)) }
func (e *NewSignatureKey) unmarshal(d *codec.Decoder, at uint64) {
	e.At, e.Suite = at, suite.ID(d.Uint16())
}

func (e NewKeyPackage) marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(e.Suite))
	codec.AddOpaque(b, e.SignatureKey)
	e.Credential.Marshal(b)
	e.Capabilities.Marshal(b)
	e.Lifetime.Marshal(b)
	e.LeafExtensions.Marshal(b)
	e.Extensions.Marshal(b)
	addBool(b, e.LastResort)
}

func (e *NewKeyPackage) unmarshal(d *codec.Decoder, at uint64) {
	e.At, e.Suite = at, suite.ID(d.Uint16())
	e.SignatureKey = d.Opaque()
	e.Credential.Unmarshal(d)
	e.Capabilities.Unmarshal(d)
	e.Lifetime.Unmarshal(d)
	e.LeafExtensions.Unmarshal(d)
	e.Extensions.Unmarshal(d)
	e.LastResort = d.Optional()
}

func (e CreateGroup) marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(e.Suite))
	addOptionalOpaque(b, e.GroupID)
	codec.AddOpaque(b, e.SignatureKey)
	e.Credential.Marshal(b)
	e.Capabilities.Marshal(b)
	e.Lifetime.Marshal(b)
	e.LeafExtensions.Marshal(b)
	e.GroupContextExtensions.Marshal(b)
	e.Config.Marshal(b)
}

func (e *CreateGroup) unmarshal(d *codec.Decoder, at uint64) {
	e.At, e.Suite = at, suite.ID(d.Uint16())
	e.GroupID = readOptionalOpaque(d)
	e.SignatureKey = d.Opaque()
	e.Credential.Unmarshal(d)
	e.Capabilities.Unmarshal(d)
	e.Lifetime.Unmarshal(d)
	e.LeafExtensions.Unmarshal(d)
	e.GroupContextExtensions.Unmarshal(d)
	e.Config.Unmarshal(d)
}

func (e Propose) marshal(b *cryptobyte.Builder) {
	e.Proposal.Marshal(b)
	codec.AddOpaque(b, e.AAD)
}

func (e *Propose) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	e.Proposal.Unmarshal(d)
	e.AAD = d.Opaque()
}

func (e Leave) marshal(b *cryptobyte.Builder)                 { codec.AddOpaque(b, e.AAD) }
func (e *Leave) unmarshal(d *codec.Decoder, at uint64)        { e.At, e.AAD = at, d.Opaque() }
func (e Receive) marshal(b *cryptobyte.Builder)               { codec.AddOpaque(b, e.Message) }
func (e *Receive) unmarshal(d *codec.Decoder, at uint64)      { e.At, e.Message = at, d.Opaque() }
func (e DropProposal) marshal(b *cryptobyte.Builder)          { codec.AddOpaque(b, e.Ref) }
func (e *DropProposal) unmarshal(d *codec.Decoder, at uint64) { e.At, e.Ref = at, d.Opaque() }

func (e Commit) marshal(b *cryptobyte.Builder) {
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, p := range e.Inline {
			p.Marshal(b)
		}
	})
	addBool(b, e.ForcePath)
	b.AddUint8(uint8(e.RatchetTree))
	addBool(b, e.PublishGroupInfo)
	codec.AddOpaque(b, e.AAD)
}

func (e *Commit) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	d.VectorEach(func(sub *codec.Decoder) {
		var p codec.Proposal
		p.Unmarshal(sub)
		e.Inline = append(e.Inline, p)
	})
	e.ForcePath = d.Optional()
	e.RatchetTree = readTreeOption(d)
	e.PublishGroupInfo = d.Optional()
	e.AAD = d.Opaque()
}

// readTreeOption reads a TreeOption, rejecting unknown values.
func readTreeOption(d *codec.Decoder) TreeOption {
	o := TreeOption(d.Uint8())
	if o > TreeOmit {
		d.Failf(codec.ErrInvalidValue, "ratchet tree option %d", o)
	}
	return o
}

// The events without fields besides At.

func (ConfirmCommit) marshal(*cryptobyte.Builder)              { /* no fields */ }
func (e *ConfirmCommit) unmarshal(_ *codec.Decoder, at uint64) { e.At = at }
func (AbortCommit) marshal(*cryptobyte.Builder)                { /* no fields */ }
func (e *AbortCommit) unmarshal(_ *codec.Decoder, at uint64)   { e.At = at }
func (MergeStaged) marshal(*cryptobyte.Builder)                { /* no fields */ }
func (e *MergeStaged) unmarshal(_ *codec.Decoder, at uint64)   { e.At = at }
func (DiscardStaged) marshal(*cryptobyte.Builder)              { /* no fields */ }
func (e *DiscardStaged) unmarshal(_ *codec.Decoder, at uint64) { e.At = at }
func (AcceptJoin) marshal(*cryptobyte.Builder)                 { /* no fields */ }
func (e *AcceptJoin) unmarshal(_ *codec.Decoder, at uint64)    { e.At = at }
func (RejectJoin) marshal(*cryptobyte.Builder)                 { /* no fields */ }
func (e *RejectJoin) unmarshal(_ *codec.Decoder, at uint64)    { e.At = at }
func (e PublishGroupInfo) marshal(b *cryptobyte.Builder)       { addBool(b, e.RatchetTree) }
func (e *PublishGroupInfo) unmarshal(d *codec.Decoder, at uint64) {
	e.At, e.RatchetTree = at, d.Optional()
}

func (e Protect) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Data)
	codec.AddOpaque(b, e.AAD)
}

func (e *Protect) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	e.Data = d.Opaque()
	e.AAD = d.Opaque()
}

func (e Export) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, []byte(e.Label))
	codec.AddOpaque(b, e.Context)
	b.AddUint32(e.Length)
}

func (e *Export) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	e.Label = string(d.Opaque())
	e.Context = d.Opaque()
	e.Length = d.Uint32()
}

func (e JoinWelcome) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.Welcome)
	addOptionalOpaque(b, e.RatchetTree)
	e.Config.Marshal(b)
}

func (e *JoinWelcome) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	e.Welcome = d.Opaque()
	e.RatchetTree = readOptionalOpaque(d)
	var c state.Config
	c.Unmarshal(d)
	e.Config = c
}

func (e ExternalJoin) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.GroupInfo)
	addOptionalOpaque(b, e.RatchetTree)
	codec.AddOpaque(b, e.SignatureKey)
	e.Credential.Marshal(b)
	e.Capabilities.Marshal(b)
	e.LeafExtensions.Marshal(b)
	e.Config.Marshal(b)
	addOpaqueList(b, e.PSKs)
	addBool(b, e.RemovePrior)
	codec.AddOpaque(b, e.AAD)
	// A later addition to EventFormat 1, present only when non-empty, so
	// those logs decode and re-encode unchanged.
	if len(e.SelfRemoves) > 0 {
		addOpaqueList(b, e.SelfRemoves)
	}
}

func (e *ExternalJoin) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	e.GroupInfo = d.Opaque()
	e.RatchetTree = readOptionalOpaque(d)
	e.SignatureKey = d.Opaque()
	e.Credential.Unmarshal(d)
	e.Capabilities.Unmarshal(d)
	e.LeafExtensions.Unmarshal(d)
	e.Config.Unmarshal(d)
	e.PSKs = readOpaqueList(d)
	e.RemovePrior = d.Optional()
	e.AAD = d.Opaque()
	if !d.Empty() {
		// An empty list is never encoded: reject it (canonical form).
		if e.SelfRemoves = readOpaqueList(d); len(e.SelfRemoves) == 0 {
			d.Fail(fmt.Errorf("%w: empty self_remove list", ErrEventEncoding))
		}
	}
}

func (e ProposeAsNewMember) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.GroupInfo)
	codec.AddOpaque(b, e.KeyPackageRef)
	codec.AddOpaque(b, e.AAD)
}

func (e *ProposeAsNewMember) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	e.GroupInfo = d.Opaque()
	e.KeyPackageRef = d.Opaque()
	e.AAD = d.Opaque()
}

func (e ExternalPropose) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.GroupInfo)
	codec.AddOpaque(b, e.SignatureKey)
	e.Proposal.Marshal(b)
	codec.AddOpaque(b, e.AAD)
	// A later addition to EventFormat 1: optional<GroupContext>, present
	// only when the GroupInfo is empty, so that logs of events with a
	// GroupInfo decode and re-encode unchanged.
	switch {
	case len(e.GroupInfo) > 0 && e.Context != nil:
		b.SetError(fmt.Errorf("%w: ExternalPropose with both a GroupInfo and a GroupContext", ErrEventEncoding))
	case len(e.GroupInfo) == 0:
		addBool(b, e.Context != nil)
		if e.Context != nil {
			e.Context.Marshal(b)
		}
	}
}

func (e *ExternalPropose) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	e.GroupInfo = d.Opaque()
	e.SignatureKey = d.Opaque()
	e.Proposal.Unmarshal(d)
	e.AAD = d.Opaque()
	if len(e.GroupInfo) == 0 && d.Optional() {
		e.Context = new(codec.GroupContext)
		e.Context.Unmarshal(d)
	}
}

func (e ReInitGroup) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.OldGroupID)
	b.AddUint64(e.OldEpoch)
	e.ReInit.Marshal(b)
	e.NewGroup.marshal(b)
}

func (e *ReInitGroup) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	e.OldGroupID = d.Opaque()
	e.OldEpoch = d.Uint64()
	e.ReInit.Unmarshal(d)
	e.NewGroup.unmarshal(d)
}

func (e BranchGroup) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, e.OldGroupID)
	b.AddUint64(e.OldEpoch)
	b.AddUint16(uint16(e.Suite))
	addOptionalOpaque(b, e.GroupID)
	e.GroupContextExtensions.Marshal(b)
	e.NewGroup.marshal(b)
}

func (e *BranchGroup) unmarshal(d *codec.Decoder, at uint64) {
	e.At = at
	e.OldGroupID = d.Opaque()
	e.OldEpoch = d.Uint64()
	e.Suite = suite.ID(d.Uint16())
	e.GroupID = readOptionalOpaque(d)
	e.GroupContextExtensions.Unmarshal(d)
	e.NewGroup.unmarshal(d)
}

func (n NewGroup) marshal(b *cryptobyte.Builder) {
	codec.AddOpaque(b, n.SignatureKey)
	n.Credential.Marshal(b)
	n.Capabilities.Marshal(b)
	n.Lifetime.Marshal(b)
	n.LeafExtensions.Marshal(b)
	n.Config.Marshal(b)
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, kp := range n.KeyPackages {
			kp.Marshal(b)
		}
	})
	addBool(b, n.ForcePath)
	b.AddUint8(uint8(n.RatchetTree))
}

func (n *NewGroup) unmarshal(d *codec.Decoder) {
	n.SignatureKey = d.Opaque()
	n.Credential.Unmarshal(d)
	n.Capabilities.Unmarshal(d)
	n.Lifetime.Unmarshal(d)
	n.LeafExtensions.Unmarshal(d)
	n.Config.Unmarshal(d)
	d.VectorEach(func(sub *codec.Decoder) {
		var kp codec.KeyPackage
		kp.Unmarshal(sub)
		n.KeyPackages = append(n.KeyPackages, kp)
	})
	n.ForcePath = d.Optional()
	n.RatchetTree = readTreeOption(d)
}

func addOpaqueList(b *cryptobyte.Builder, l [][]byte) {
	codec.AddVector(b, func(b *cryptobyte.Builder) {
		for _, x := range l {
			codec.AddOpaque(b, x)
		}
	})
}

func readOpaqueList(d *codec.Decoder) [][]byte {
	var out [][]byte
	d.VectorEach(func(sub *codec.Decoder) {
		out = append(out, sub.Opaque())
	})
	return out
}
