package transitions

import (
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/codec"
)

// ErrUnsendable reports a value that this client refuses to send because
// no registry of RFC 9420, Section 17 allows it in that field: a proposal
// type that is reserved (0), a GREASE value (Section 13.5: GREASE "MUST
// NOT be sent" in Proposal.proposal_type, Credential.credential_type,
// GroupContext.extensions and GroupContextExtensions.extensions), or
// neither one of the RFC's seven proposal types, SelfRemove
// (draft-ietf-mls-extensions), nor in the private-use
// range 0xF000–0xFFFF (Section 17.4) that custom proposals use.
//
// [RFC 9420, Section 13.5]: https://www.rfc-editor.org/rfc/rfc9420#section-13.5
// [RFC 9420, Section 17.4]: https://www.rfc-editor.org/rfc/rfc9420#section-17.4
var ErrUnsendable = errors.New("mls: value may not be sent")

// privateUse reports whether v is in the private-use range 0xF000–0xFFFF
// of the MLS registries (RFC 9420, Section 17).
func privateUse(v uint16) bool { return v >= 0xF000 }

// checkSendableProposal checks a proposal this client is about to send,
// standalone or inline in a commit (RFC 9420, Sections 13.5 and 17.4): its
// type is one of the RFC's or a private-use custom type, never GREASE or
// reserved, the extensions it would put into the GroupContext (of a
// GroupContextExtensions or ReInit proposal) hold no GREASE type, and the
// credential of an Update's leaf has no GREASE type.
func checkSendableProposal(p codec.Proposal) error {
	pt := p.ProposalType
	switch {
	case IsGrease(uint16(pt)):
		return fmt.Errorf("%w: proposal type %#04x is a GREASE value", ErrUnsendable, uint16(pt))
	case !pt.IsDefault() && pt != codec.ProposalSelfRemove && !privateUse(uint16(pt)):
		return fmt.Errorf("%w: proposal type %#04x is neither defined by RFC 9420 nor in the private-use range 0xf000-0xffff", ErrUnsendable, uint16(pt))
	}
	switch pt {
	case codec.ProposalGroupContextExtensions:
		if p.GroupContextExtensions != nil {
			return checkSendableGroupExtensions(p.GroupContextExtensions.Extensions)
		}
	case codec.ProposalReInit:
		if p.ReInit != nil {
			return checkSendableGroupExtensions(p.ReInit.Extensions)
		}
	case codec.ProposalUpdate:
		if p.Update != nil {
			return checkSendableCredential(p.Update.LeafNode.Credential)
		}
	}
	return nil
}

// checkSendableGroupExtensions checks extensions meant for a GroupContext
// (RFC 9420, Section 13.5: no GREASE in GroupContext.extensions or
// GroupContextExtensions.extensions).
func checkSendableGroupExtensions(exts codec.Extensions) error {
	for _, x := range exts {
		if IsGrease(uint16(x.ExtensionType)) {
			return fmt.Errorf("%w: group context extension type %#04x is a GREASE value", ErrUnsendable, uint16(x.ExtensionType))
		}
	}
	return nil
}

// checkSendableCredential checks a credential this client is about to put
// into a leaf (RFC 9420, Section 13.5: no GREASE credential_type).
func checkSendableCredential(c codec.Credential) error {
	if IsGrease(uint16(c.CredentialType)) {
		return fmt.Errorf("%w: credential type %#04x is a GREASE value", ErrUnsendable, uint16(c.CredentialType))
	}
	return nil
}
