package props

import (
	"pgregory.net/rapid"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/treemath"
)

// Generators of codec structs for round-trip properties. They draw
// well-formed values: the fields a struct's type selects are set, the
// others left empty, as a decoder produces them.

func genOpaque(max int) *rapid.Generator[[]byte] { return rapid.SliceOfN(rapid.Byte(), 0, max) }

// GenCapabilities draws a Capabilities.
func GenCapabilities() *rapid.Generator[codec.Capabilities] {
	return rapid.Custom(func(t *rapid.T) codec.Capabilities {
		return codec.Capabilities{
			Versions:     rapid.SliceOfN(rapid.Custom(func(t *rapid.T) codec.ProtocolVersion { return codec.ProtocolVersion(rapid.Uint16().Draw(t, "v")) }), 0, 3).Draw(t, "versions"),
			CipherSuites: rapid.SliceOfN(rapid.Custom(func(t *rapid.T) codec.CipherSuite { return codec.CipherSuite(rapid.Uint16().Draw(t, "cs")) }), 0, 3).Draw(t, "suites"),
			Extensions:   rapid.SliceOfN(rapid.Custom(func(t *rapid.T) codec.ExtensionType { return codec.ExtensionType(rapid.Uint16().Draw(t, "ext")) }), 0, 3).Draw(t, "exts"),
			Proposals:    rapid.SliceOfN(rapid.Custom(func(t *rapid.T) codec.ProposalType { return codec.ProposalType(rapid.Uint16().Draw(t, "pt")) }), 0, 3).Draw(t, "props"),
			Credentials:  rapid.SliceOfN(rapid.Custom(func(t *rapid.T) codec.CredentialType { return codec.CredentialType(rapid.Uint16().Draw(t, "ct")) }), 0, 3).Draw(t, "creds"),
		}
	})
}

// GenExtensions draws an extension list (types and opaque data).
func GenExtensions() *rapid.Generator[codec.Extensions] {
	return rapid.Custom(func(t *rapid.T) codec.Extensions {
		var out codec.Extensions
		for _, ty := range rapid.SliceOfNDistinct(rapid.Uint16(), 0, 4, func(v uint16) uint16 { return v }).Draw(t, "types") {
			out = append(out, codec.Extension{ExtensionType: codec.ExtensionType(ty), ExtensionData: genOpaque(16).Draw(t, "data")})
		}
		return out
	})
}

// GenPreSharedKeyID draws an external or resumption PreSharedKeyID.
func GenPreSharedKeyID() *rapid.Generator[codec.PreSharedKeyID] {
	return rapid.Custom(func(t *rapid.T) codec.PreSharedKeyID {
		id := codec.PreSharedKeyID{PSKNonce: genOpaque(64).Draw(t, "nonce")}
		if rapid.Bool().Draw(t, "external") {
			id.PSKType = codec.PSKTypeExternal
			id.PSKID = genOpaque(32).Draw(t, "id")
			return id
		}
		id.PSKType = codec.PSKTypeResumption
		id.Usage = rapid.SampledFrom([]codec.ResumptionPSKUsage{codec.ResumptionPSKUsageApplication,
			codec.ResumptionPSKUsageReInit, codec.ResumptionPSKUsageBranch}).Draw(t, "usage")
		id.PSKGroupID = genOpaque(32).Draw(t, "group")
		id.PSKEpoch = rapid.Uint64().Draw(t, "epoch")
		return id
	})
}

// GenSender draws a Sender of any type.
func GenSender() *rapid.Generator[codec.Sender] {
	return rapid.Custom(func(t *rapid.T) codec.Sender {
		switch st := rapid.SampledFrom([]codec.SenderType{codec.SenderTypeMember, codec.SenderTypeExternal,
			codec.SenderTypeNewMemberProposal, codec.SenderTypeNewMemberCommit}).Draw(t, "type"); st {
		case codec.SenderTypeMember:
			return codec.Sender{SenderType: st, LeafIndex: treemath.LeafIndex(rapid.Uint32().Draw(t, "leaf"))}
		case codec.SenderTypeExternal:
			return codec.Sender{SenderType: st, SenderIndex: rapid.Uint32().Draw(t, "index")}
		default:
			return codec.Sender{SenderType: st}
		}
	})
}

// GenGroupContext draws a GroupContext.
func GenGroupContext() *rapid.Generator[codec.GroupContext] {
	return rapid.Custom(func(t *rapid.T) codec.GroupContext {
		return codec.GroupContext{
			Version:                 codec.ProtocolVersion(rapid.Uint16().Draw(t, "version")),
			CipherSuite:             codec.CipherSuite(rapid.Uint16().Draw(t, "suite")),
			GroupID:                 genOpaque(32).Draw(t, "gid"),
			Epoch:                   rapid.Uint64().Draw(t, "epoch"),
			TreeHash:                genOpaque(64).Draw(t, "treeHash"),
			ConfirmedTranscriptHash: genOpaque(64).Draw(t, "cth"),
			Extensions:              GenExtensions().Draw(t, "exts"),
		}
	})
}

// GenProposal draws a Remove, PreSharedKey, ExternalInit,
// GroupContextExtensions, ReInit, SelfRemove or custom proposal (Add and
// Update carry signed key packages and leaf nodes, which the histories
// produce). A custom proposal's type is one the codec does not know, so
// that its body is opaque: not 1 to 7, nor SelfRemove's 0x000A.
func GenProposal() *rapid.Generator[codec.Proposal] {
	return rapid.Custom(func(t *rapid.T) codec.Proposal {
		switch rapid.IntRange(0, 6).Draw(t, "kind") {
		case 5:
			return codec.Proposal{ProposalType: codec.ProposalSelfRemove}
		case 0:
			return RemoveOf(treemath.LeafIndex(rapid.Uint32().Draw(t, "leaf")))
		case 1:
			return codec.Proposal{ProposalType: codec.ProposalPreSharedKey, PreSharedKey: &codec.PreSharedKey{PSK: GenPreSharedKeyID().Draw(t, "psk")}}
		case 2:
			return codec.Proposal{ProposalType: codec.ProposalExternalInit, ExternalInit: &codec.ExternalInit{KEMOutput: genOpaque(97).Draw(t, "kem")}}
		case 3:
			return codec.Proposal{ProposalType: codec.ProposalGroupContextExtensions, GroupContextExtensions: &codec.GroupContextExtensions{Extensions: GenExtensions().Draw(t, "exts")}}
		case 4:
			return codec.Proposal{ProposalType: codec.ProposalReInit, ReInit: &codec.ReInit{GroupID: genOpaque(32).Draw(t, "gid"),
				Version: codec.ProtocolVersion(rapid.Uint16().Draw(t, "v")), CipherSuite: codec.CipherSuite(rapid.Uint16().Draw(t, "cs")),
				Extensions: GenExtensions().Draw(t, "exts")}}
		default:
			typ := rapid.Uint16Range(8, 0xffff).Filter(func(v uint16) bool { return v != uint16(codec.ProposalSelfRemove) }).Draw(t, "type")
			return codec.Proposal{ProposalType: codec.ProposalType(typ), Data: genOpaque(32).Draw(t, "data")}
		}
	})
}
