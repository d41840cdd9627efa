package codec

import (
	"bytes"
	"testing"
)

// TestSelfRemoveEncoding checks SelfRemove's wire form: the proposal type
// 0x000A and no body (struct {} SelfRemove; draft-ietf-mls-extensions),
// unlike custom types, whose body is an opaque<V>.
func TestSelfRemoveEncoding(t *testing.T) {
	tests := []struct {
		name string
		p    Proposal
		want []byte
	}{
		{"self_remove", Proposal{ProposalType: ProposalSelfRemove}, []byte{0x00, 0x0a}},
		{"custom", Proposal{ProposalType: 0xf001}, []byte{0xf0, 0x01, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Encode()
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("Encode = %x, %v; want %x", got, err, tt.want)
			}
			back, err := DecodeProposal(got)
			if err != nil || back.ProposalType != tt.p.ProposalType || back.Data != nil {
				t.Fatalf("DecodeProposal = %+v, %v", back, err)
			}
		})
	}
	// A SelfRemove followed by a byte is trailing data, not a body.
	if _, err := DecodeProposal([]byte{0x00, 0x0a, 0x00}); err == nil {
		t.Error("a SelfRemove with a body decoded")
	}
	if ProposalSelfRemove.IsDefault() || ProposalSelfRemove.String() != "self_remove" {
		t.Errorf("IsDefault %v, String %q", ProposalSelfRemove.IsDefault(), ProposalSelfRemove.String())
	}
}
