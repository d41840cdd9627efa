package mls

import (
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/transitions"
)

// MessageInfo is what an incoming MLSMessage says about where it goes
// before any group processes it: an application routes it to the Group
// with that id (Client.OpenGroup) or to Client.JoinGroup.
type MessageInfo struct {
	WireFormat codec.WireFormat
	// GroupID and Epoch are the group and epoch of a PublicMessage or
	// PrivateMessage (sent in the clear in both) and of a GroupInfo; nil
	// and 0 for a Welcome (its group is encrypted) and a KeyPackage.
	GroupID []byte
	Epoch   uint64
	// ContentType is a PublicMessage's or PrivateMessage's content type
	// (application, proposal or commit).
	ContentType codec.ContentType
	// Sender is a PublicMessage's sender; a PrivateMessage encrypts its
	// sender, so it is nil there and for the other wire formats.
	Sender *codec.Sender
}

// ReadMessageInfo decodes an MLSMessage far enough to route it (RFC 9420,
// Section 6: group_id, epoch and content_type are in the clear). It
// verifies nothing: ProcessMessage does. A message larger than the default
// MaxMessageBytes or that does not decode is an error.
func ReadMessageInfo(message []byte) (MessageInfo, error) {
	if max := transitions.DefaultLimits().MaxMessageBytes; uint64(len(message)) > uint64(max) {
		return MessageInfo{}, &transitions.LimitError{Limit: "MaxMessageBytes", Got: uint64(len(message)), Max: uint64(max)}
	}
	m, err := codec.DecodeMLSMessage(message)
	if err != nil {
		return MessageInfo{}, err
	}
	info := MessageInfo{WireFormat: m.WireFormat}
	switch {
	case m.PublicMessage != nil:
		c := m.PublicMessage.Content
		snd := c.Sender
		info.GroupID, info.Epoch, info.ContentType, info.Sender = c.GroupID, c.Epoch, c.ContentType, &snd
	case m.PrivateMessage != nil:
		info.GroupID, info.Epoch, info.ContentType = m.PrivateMessage.GroupID, m.PrivateMessage.Epoch, m.PrivateMessage.ContentType
	case m.GroupInfo != nil:
		info.GroupID, info.Epoch = m.GroupInfo.GroupContext.GroupID, m.GroupInfo.GroupContext.Epoch
	case m.Welcome != nil, m.KeyPackage != nil:
	default:
		return MessageInfo{}, fmt.Errorf("%w: wire format %s", transitions.ErrInvalidMessage, m.WireFormat)
	}
	return info, nil
}
