package state

import (
	"reflect"
	"slices"
	"testing"
)

// TestEncodingCoversEveryField fails when a field is added to a part of
// GroupState, so that no new part of a state can silently escape Encode:
// encode the field in encode.go (and check it in Decode), or, if it is
// derived from encoded fields and rebuilt by Decode or New, list it in
// derived.
func TestEncodingCoversEveryField(t *testing.T) {
	derived := map[string]bool{
		"public.ctxBytes": true, // New encodes the GroupContext
		"Public.Census":   true, // CensusOf(tree)
		"private.rest":    true, // an identity, made by New and the other constructors
	}
	tests := []struct {
		typ    reflect.Type
		fields []string
	}{
		{reflect.TypeFor[GroupState](), []string{"pub", "priv"}},
		{reflect.TypeFor[public](), []string{"p"}},
		{reflect.TypeFor[private](), []string{"p", "join"}},
		{reflect.TypeFor[Public](), []string{"Suite", "Context", "Tree", "Interim", "ConfirmationTag", "Config", "Proposals", "Active", "ReInit"}},
		{reflect.TypeFor[Private](), []string{"Self", "SignatureKey", "Path", "Epoch", "Secrets", "Past", "Resumption", "OwnUpdates", "Pending", "Staged"}},
		{reflect.TypeFor[StoredProposal](), []string{"Ref", "Proposal", "Sender"}},
		{reflect.TypeFor[OwnUpdate](), []string{"Ref", "EncryptionPriv"}},
		{reflect.TypeFor[PastEpoch](), []string{"Ended", "Context", "Tree", "SenderDataSecret", "Secrets"}},
		{reflect.TypeFor[ResumptionPSK](), []string{"Epoch", "Secret"}},
		{reflect.TypeFor[PendingCommit](), []string{"Next", "Message", "Added", "Removed"}},
		{reflect.TypeFor[StagedCommit](), []string{"Next", "Sender", "Proposals", "Added", "Removed", "Updated", "SelfRemoved"}},
		{reflect.TypeFor[StagedJoin](), []string{"Next", "KeyPackageRef", "LastResort", "Prior"}},
		{reflect.TypeFor[Config](), []string{"WireFormat", "PaddingSize", "MaxPastEpochs", "MaxPastEpochAge", "ResumptionPSKs", "RatchetTreeExtension", "SenderRatchet"}},
	}
	for _, tt := range tests {
		var got []string
		for f := range tt.typ.Fields() {
			if !derived[tt.typ.Name()+"."+f.Name] {
				got = append(got, f.Name)
			}
		}
		if !slices.Equal(got, tt.fields) {
			t.Errorf("%s has fields %v, the encoding covers %v: encode the new field or declare it derived", tt.typ.Name(), got, tt.fields)
		}
	}
}
