package vectors

import (
	"bytes"

	"github.com/mlscore/mlscore/codec"
)

// messagesCase is one case of messages.json: serialized structures that
// must decode and re-encode byte for byte.
type messagesCase struct {
	MLSWelcome                     HexBytes `json:"mls_welcome"`
	MLSGroupInfo                   HexBytes `json:"mls_group_info"`
	MLSKeyPackage                  HexBytes `json:"mls_key_package"`
	RatchetTree                    HexBytes `json:"ratchet_tree"`
	GroupSecrets                   HexBytes `json:"group_secrets"`
	AddProposal                    HexBytes `json:"add_proposal"`
	UpdateProposal                 HexBytes `json:"update_proposal"`
	RemoveProposal                 HexBytes `json:"remove_proposal"`
	PreSharedKeyProposal           HexBytes `json:"pre_shared_key_proposal"`
	ReInitProposal                 HexBytes `json:"re_init_proposal"`
	ExternalInitProposal           HexBytes `json:"external_init_proposal"`
	GroupContextExtensionsProposal HexBytes `json:"group_context_extensions_proposal"`
	Commit                         HexBytes `json:"commit"`
	PublicMessageApplication       HexBytes `json:"public_message_application"`
	PublicMessageProposal          HexBytes `json:"public_message_proposal"`
	PublicMessageCommit            HexBytes `json:"public_message_commit"`
	PrivateMessage                 HexBytes `json:"private_message"`
}

// encoder is what every decoded codec value offers.
type encoder interface{ Encode() ([]byte, error) }

// roundTrip decodes data with dec and re-encodes it, returning "" or what
// went wrong.
func roundTrip[T encoder](data []byte, dec func([]byte) (T, error), check func(T) string) string {
	v, err := dec(data)
	if err != nil {
		return "decode: " + err.Error()
	}
	if check != nil {
		if msg := check(v); msg != "" {
			return msg
		}
	}
	got, err := v.Encode()
	if err != nil {
		return "encode: " + err.Error()
	}
	if !bytes.Equal(got, data) {
		return sprintf("re-encoding differs: got %x, want %x", got, data)
	}
	return ""
}

// wantWireFormat checks the wire format (and, for public messages, the
// content type) of a decoded MLSMessage.
func wantWireFormat(wf codec.WireFormat, ct codec.ContentType) func(codec.MLSMessage) string {
	return func(m codec.MLSMessage) string {
		if m.WireFormat != wf {
			return sprintf("wire_format %v, want %v", m.WireFormat, wf)
		}
		if ct != 0 && m.PublicMessage.Content.ContentType != ct {
			return sprintf("content_type %v, want %v", m.PublicMessage.Content.ContentType, ct)
		}
		return ""
	}
}

// runMessages checks that every structure of messages.json decodes and
// re-encodes to the same bytes (FORMAT.md, "Messages").
func runMessages(data []byte, r *Result) {
	cases, ok := decodeCases[messagesCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		checks := []struct {
			field string
			run   func() string
		}{
			{"mls_welcome", func() string {
				return roundTrip(c.MLSWelcome, codec.DecodeMLSMessage, wantWireFormat(codec.WireFormatWelcome, 0))
			}},
			{"mls_group_info", func() string {
				return roundTrip(c.MLSGroupInfo, codec.DecodeMLSMessage, wantWireFormat(codec.WireFormatGroupInfo, 0))
			}},
			{"mls_key_package", func() string {
				return roundTrip(c.MLSKeyPackage, codec.DecodeMLSMessage, wantWireFormat(codec.WireFormatKeyPackage, 0))
			}},
			{"ratchet_tree", func() string {
				return roundTrip(c.RatchetTree, codec.DecodeRatchetTree, func(t codec.RatchetTree) string {
					if err := t.Wellformed(); err != nil {
						return err.Error()
					}
					return ""
				})
			}},
			{"group_secrets", func() string { return roundTrip(c.GroupSecrets, codec.DecodeGroupSecrets, nil) }},
			{"add_proposal", func() string { return roundTrip(c.AddProposal, codec.DecodeAdd, nil) }},
			{"update_proposal", func() string { return roundTrip(c.UpdateProposal, codec.DecodeUpdate, nil) }},
			{"remove_proposal", func() string { return roundTrip(c.RemoveProposal, codec.DecodeRemove, nil) }},
			{"pre_shared_key_proposal", func() string {
				return roundTrip(c.PreSharedKeyProposal, codec.DecodePreSharedKey, nil)
			}},
			{"re_init_proposal", func() string { return roundTrip(c.ReInitProposal, codec.DecodeReInit, nil) }},
			{"external_init_proposal", func() string {
				return roundTrip(c.ExternalInitProposal, codec.DecodeExternalInit, nil)
			}},
			{"group_context_extensions_proposal", func() string {
				return roundTrip(c.GroupContextExtensionsProposal, codec.DecodeGroupContextExtensions, nil)
			}},
			{"commit", func() string { return roundTrip(c.Commit, codec.DecodeCommit, nil) }},
			{"public_message_application", func() string {
				return roundTrip(c.PublicMessageApplication, codec.DecodeMLSMessage,
					wantWireFormat(codec.WireFormatPublicMessage, codec.ContentTypeApplication))
			}},
			{"public_message_proposal", func() string {
				return roundTrip(c.PublicMessageProposal, codec.DecodeMLSMessage,
					wantWireFormat(codec.WireFormatPublicMessage, codec.ContentTypeProposal))
			}},
			{"public_message_commit", func() string {
				return roundTrip(c.PublicMessageCommit, codec.DecodeMLSMessage,
					wantWireFormat(codec.WireFormatPublicMessage, codec.ContentTypeCommit))
			}},
			{"private_message", func() string {
				return roundTrip(c.PrivateMessage, codec.DecodeMLSMessage, wantWireFormat(codec.WireFormatPrivateMessage, 0))
			}},
		}
		failed := false
		for _, ch := range checks {
			if msg := ch.run(); msg != "" {
				r.Fail("case %d: field %s: %s", i, ch.field, msg)
				failed = true
				break
			}
		}
		if !failed {
			r.Pass()
		}
	}
}
