package mls

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// TestReadMessageInfo reads the routing fields of every kind of MLSMessage.
func TestReadMessageInfo(t *testing.T) {
	cfg := state.DefaultConfig()
	cfg.WireFormat = state.MixedPlaintext
	alice, bob := newParty(t, backends[0], "alice"), newParty(t, backends[0], "bob")
	alice.g = must[*Group](t)(alice.c.CreateGroup(&GroupOptions{GroupID: []byte("route"), Config: &cfg}))
	kp := must[[]byte](t)(bob.c.KeyPackage())
	out := must[Outgoing](t)(alice.g.AddMembers(kp))
	check(t, alice.g.MergePendingCommit())
	app := must[[]byte](t)(alice.g.Send([]byte("x")))
	prop, _, err := alice.g.ProposeSelfUpdate()
	check(t, err)
	gi := must[[]byte](t)(alice.g.GroupInfo(false))
	self := codec.MemberSender(alice.g.OwnLeaf())
	tests := []struct {
		name string
		msg  []byte
		want MessageInfo
	}{
		{"public commit", out.Commit, MessageInfo{WireFormat: codec.WireFormatPublicMessage, GroupID: []byte("route"), Epoch: 0, ContentType: codec.ContentTypeCommit, Sender: &self}},
		{"private application", app, MessageInfo{WireFormat: codec.WireFormatPrivateMessage, GroupID: []byte("route"), Epoch: 1, ContentType: codec.ContentTypeApplication}},
		{"public proposal", prop, MessageInfo{WireFormat: codec.WireFormatPublicMessage, GroupID: []byte("route"), Epoch: 1, ContentType: codec.ContentTypeProposal, Sender: &self}},
		{"group info", gi, MessageInfo{WireFormat: codec.WireFormatGroupInfo, GroupID: []byte("route"), Epoch: 1}},
		{"welcome", out.Welcome, MessageInfo{WireFormat: codec.WireFormatWelcome}},
		{"key package", kp, MessageInfo{WireFormat: codec.WireFormatKeyPackage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadMessageInfo(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if got.WireFormat != tt.want.WireFormat || !bytes.Equal(got.GroupID, tt.want.GroupID) || got.Epoch != tt.want.Epoch ||
				got.ContentType != tt.want.ContentType || (got.Sender == nil) != (tt.want.Sender == nil) ||
				(got.Sender != nil && *got.Sender != *tt.want.Sender) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	var de *codec.DecodeError
	if _, err := ReadMessageInfo([]byte{0, 1, 0}); !errors.As(err, &de) {
		t.Errorf("garbage: %v, want a *codec.DecodeError", err)
	}
	var le *transitions.LimitError
	if _, err := ReadMessageInfo(make([]byte, transitions.DefaultLimits().MaxMessageBytes+1)); !errors.As(err, &le) {
		t.Errorf("oversized: %v, want a *transitions.LimitError", err)
	}
}
