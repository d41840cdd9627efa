package codec

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/treemath"
)

// WireFormat says how an MLSMessage is framed [RFC 9420, Section 6]. It is
// treated as closed: decoding rejects values other than the five of the
// RFC, since the body of an MLSMessage cannot be parsed without knowing it.
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
type WireFormat uint16

// Wire formats of [RFC 9420, Section 6].
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
const (
	WireFormatPublicMessage  WireFormat = 1
	WireFormatPrivateMessage WireFormat = 2
	WireFormatWelcome        WireFormat = 3
	WireFormatGroupInfo      WireFormat = 4
	WireFormatKeyPackage     WireFormat = 5
)

// String returns the RFC name of w.
func (w WireFormat) String() string {
	switch w {
	case WireFormatPublicMessage:
		return "mls_public_message"
	case WireFormatPrivateMessage:
		return "mls_private_message"
	case WireFormatWelcome:
		return "mls_welcome"
	case WireFormatGroupInfo:
		return "mls_group_info"
	case WireFormatKeyPackage:
		return "mls_key_package"
	}
	return fmt.Sprintf("WireFormat(%d)", uint16(w))
}

func (w WireFormat) known() bool { return w >= WireFormatPublicMessage && w <= WireFormatKeyPackage }

func readWireFormat(d *Decoder) WireFormat {
	off := d.Offset()
	w := WireFormat(d.Uint16())
	if d.OK() && !w.known() {
		d.failAt(off, invalid("wire_format %d", w))
	}
	return w
}

// ContentType is the kind of content a message carries [RFC 9420,
// Section 6]. It is a closed enum: decoding rejects other values.
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
type ContentType uint8

// Content types of [RFC 9420, Section 6].
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
const (
	ContentTypeApplication ContentType = 1
	ContentTypeProposal    ContentType = 2
	ContentTypeCommit      ContentType = 3
)

// String returns the RFC name of c.
func (c ContentType) String() string {
	switch c {
	case ContentTypeApplication:
		return "application"
	case ContentTypeProposal:
		return "proposal"
	case ContentTypeCommit:
		return "commit"
	}
	return fmt.Sprintf("ContentType(%d)", uint8(c))
}

func (c ContentType) known() bool { return c >= ContentTypeApplication && c <= ContentTypeCommit }

func readContentType(d *Decoder) ContentType {
	off := d.Offset()
	c := ContentType(d.Uint8())
	if d.OK() && !c.known() {
		d.failAt(off, invalid("content_type %d", c))
	}
	return c
}

// SenderType is the kind of sender of a message [RFC 9420, Section 6]. It is
// a closed enum: decoding rejects other values.
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
type SenderType uint8

// Sender types of [RFC 9420, Section 6].
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
const (
	SenderTypeMember            SenderType = 1
	SenderTypeExternal          SenderType = 2
	SenderTypeNewMemberProposal SenderType = 3
	SenderTypeNewMemberCommit   SenderType = 4
)

// String returns the RFC name of s.
func (s SenderType) String() string {
	switch s {
	case SenderTypeMember:
		return "member"
	case SenderTypeExternal:
		return "external"
	case SenderTypeNewMemberProposal:
		return "new_member_proposal"
	case SenderTypeNewMemberCommit:
		return "new_member_commit"
	}
	return fmt.Sprintf("SenderType(%d)", uint8(s))
}

// Sender identifies the sender of a message [RFC 9420, Section 6]. LeafIndex
// is encoded for a member, SenderIndex (an index into the external_senders
// extension) for an external sender; new members carry no index. The field
// not selected by SenderType must be zero.
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
type Sender struct {
	SenderType  SenderType
	LeafIndex   treemath.LeafIndex // member
	SenderIndex uint32             // external
}

// MemberSender returns the Sender of the member at leaf i.
func MemberSender(i treemath.LeafIndex) Sender {
	return Sender{SenderType: SenderTypeMember, LeafIndex: i}
}

// Marshal appends the encoding of s to b.
func (s Sender) Marshal(b *cryptobyte.Builder) {
	b.AddUint8(uint8(s.SenderType))
	switch s.SenderType {
	case SenderTypeMember:
		b.AddUint32(uint32(s.LeafIndex))
	case SenderTypeExternal:
		b.AddUint32(s.SenderIndex)
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		b.SetError(invalid("sender_type %d", s.SenderType))
	}
}

// Unmarshal reads a Sender from d.
func (s *Sender) Unmarshal(d *Decoder) {
	*s = Sender{}
	off := d.Offset()
	s.SenderType = SenderType(d.Uint8())
	switch s.SenderType {
	case SenderTypeMember:
		s.LeafIndex = treemath.LeafIndex(d.Uint32())
	case SenderTypeExternal:
		s.SenderIndex = d.Uint32()
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		d.failAt(off, invalid("sender_type %d", s.SenderType))
	}
}

// Encode returns the encoding of s.
func (s Sender) Encode() ([]byte, error) { return encode(s) }

// DecodeSender decodes a Sender.
func DecodeSender(data []byte) (Sender, error) { return decode[Sender]("Sender", data) }

// marshalContent appends the content-type-selected body shared by
// FramedContent and PrivateMessageContent.
func marshalContent(b *cryptobyte.Builder, ct ContentType, app []byte, p *Proposal, c *Commit) {
	switch ct {
	case ContentTypeApplication:
		AddOpaque(b, app)
	case ContentTypeProposal:
		if p == nil {
			b.SetError(invalid("proposal content without a proposal"))
			return
		}
		p.Marshal(b)
	case ContentTypeCommit:
		if c == nil {
			b.SetError(invalid("commit content without a commit"))
			return
		}
		c.Marshal(b)
	default:
		b.SetError(invalid("content_type %d", ct))
	}
}

// unmarshalContent reads the body selected by a known content type.
func unmarshalContent(d *Decoder, ct ContentType) (app []byte, p *Proposal, c *Commit) {
	switch ct {
	case ContentTypeApplication:
		app = d.Opaque()
	case ContentTypeProposal:
		p = new(Proposal)
		p.Unmarshal(d)
	case ContentTypeCommit:
		c = new(Commit)
		c.Unmarshal(d)
	default:
		d.Fail(invalid("content_type %d", ct))
	}
	return app, p, c
}

// FramedContent is the content of a message with its framing [RFC 9420,
// Section 6]. ApplicationData, Proposal or Commit is set according to
// ContentType.
//
// [RFC 9420, Section 6]: https://www.rfc-editor.org/rfc/rfc9420#section-6
type FramedContent struct {
	GroupID           []byte
	Epoch             uint64
	Sender            Sender
	AuthenticatedData []byte
	ContentType       ContentType
	ApplicationData   []byte    // application
	Proposal          *Proposal // proposal
	Commit            *Commit   // commit
}

// Marshal appends the encoding of c to b.
func (c FramedContent) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, c.GroupID)
	b.AddUint64(c.Epoch)
	c.Sender.Marshal(b)
	AddOpaque(b, c.AuthenticatedData)
	b.AddUint8(uint8(c.ContentType))
	marshalContent(b, c.ContentType, c.ApplicationData, c.Proposal, c.Commit)
}

// Unmarshal reads a FramedContent from d.
func (c *FramedContent) Unmarshal(d *Decoder) {
	*c = FramedContent{}
	c.GroupID = d.Opaque()
	c.Epoch = d.Uint64()
	c.Sender.Unmarshal(d)
	c.AuthenticatedData = d.Opaque()
	c.ContentType = readContentType(d)
	if d.OK() {
		c.ApplicationData, c.Proposal, c.Commit = unmarshalContent(d, c.ContentType)
	}
}

// Encode returns the encoding of c.
func (c FramedContent) Encode() ([]byte, error) { return encode(c) }

// DecodeFramedContent decodes a FramedContent.
func DecodeFramedContent(data []byte) (FramedContent, error) {
	return decode[FramedContent]("FramedContent", data)
}

// FramedContentTBS is the content signed with label "FramedContentTBS"
// [RFC 9420, Section 6.1]. Context is encoded, and must be non-nil, exactly
// when the sender is a member or a new_member_commit.
//
// [RFC 9420, Section 6.1]: https://www.rfc-editor.org/rfc/rfc9420#section-6.1
type FramedContentTBS struct {
	Version    ProtocolVersion
	WireFormat WireFormat
	Content    FramedContent
	Context    *GroupContext
}

// hasContext reports whether the TBS of a message from s includes the
// group context.
func hasContext(s SenderType) bool {
	return s == SenderTypeMember || s == SenderTypeNewMemberCommit
}

// Marshal appends the encoding of t to b.
func (t FramedContentTBS) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(t.Version))
	b.AddUint16(uint16(t.WireFormat))
	t.Content.Marshal(b)
	if hasContext(t.Content.Sender.SenderType) {
		if t.Context == nil {
			b.SetError(invalid("FramedContentTBS of a %v sender without group context", t.Content.Sender.SenderType))
			return
		}
		t.Context.Marshal(b)
	}
}

// Unmarshal reads a FramedContentTBS from d.
func (t *FramedContentTBS) Unmarshal(d *Decoder) {
	*t = FramedContentTBS{}
	t.Version = ProtocolVersion(d.Uint16())
	t.WireFormat = readWireFormat(d)
	t.Content.Unmarshal(d)
	if d.OK() && hasContext(t.Content.Sender.SenderType) {
		t.Context = new(GroupContext)
		t.Context.Unmarshal(d)
	}
}

// Encode returns the encoding of t.
func (t FramedContentTBS) Encode() ([]byte, error) { return encode(t) }

// DecodeFramedContentTBS decodes a FramedContentTBS.
func DecodeFramedContentTBS(data []byte) (FramedContentTBS, error) {
	return decode[FramedContentTBS]("FramedContentTBS", data)
}

// FramedContentAuthData authenticates a FramedContent [RFC 9420,
// Section 6.1]: a signature and, for commits only, a confirmation tag. Its
// encoding depends on the content type, so it has MarshalFor and
// UnmarshalFor instead of Marshal and Unmarshal.
//
// [RFC 9420, Section 6.1]: https://www.rfc-editor.org/rfc/rfc9420#section-6.1
type FramedContentAuthData struct {
	Signature       []byte
	ConfirmationTag []byte // MAC; commit only
}

// MarshalFor appends the encoding of a, for content of type ct, to b.
func (a FramedContentAuthData) MarshalFor(b *cryptobyte.Builder, ct ContentType) {
	AddOpaque(b, a.Signature)
	if ct == ContentTypeCommit {
		AddOpaque(b, a.ConfirmationTag)
	}
}

// UnmarshalFor reads a FramedContentAuthData, for content of type ct, from d.
func (a *FramedContentAuthData) UnmarshalFor(d *Decoder, ct ContentType) {
	*a = FramedContentAuthData{Signature: d.Opaque()}
	if ct == ContentTypeCommit {
		a.ConfirmationTag = d.Opaque()
	}
}

// AuthenticatedContent is a FramedContent with its authentication data and
// wire format [RFC 9420, Section 6.1]; proposal references hash it.
//
// [RFC 9420, Section 6.1]: https://www.rfc-editor.org/rfc/rfc9420#section-6.1
type AuthenticatedContent struct {
	WireFormat WireFormat
	Content    FramedContent
	Auth       FramedContentAuthData
}

// Marshal appends the encoding of a to b.
func (a AuthenticatedContent) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(a.WireFormat))
	a.Content.Marshal(b)
	a.Auth.MarshalFor(b, a.Content.ContentType)
}

// Unmarshal reads an AuthenticatedContent from d.
func (a *AuthenticatedContent) Unmarshal(d *Decoder) {
	a.WireFormat = readWireFormat(d)
	a.Content.Unmarshal(d)
	a.Auth.UnmarshalFor(d, a.Content.ContentType)
}

// Encode returns the encoding of a.
func (a AuthenticatedContent) Encode() ([]byte, error) { return encode(a) }

// DecodeAuthenticatedContent decodes an AuthenticatedContent.
func DecodeAuthenticatedContent(data []byte) (AuthenticatedContent, error) {
	return decode[AuthenticatedContent]("AuthenticatedContent", data)
}

// TBS returns the FramedContentTBS of a (version MLS10). ctx is used only
// when the sender is a member or a new_member_commit, and must then be
// non-nil.
func (a AuthenticatedContent) TBS(ctx *GroupContext) FramedContentTBS {
	t := FramedContentTBS{Version: MLS10, WireFormat: a.WireFormat, Content: a.Content}
	if hasContext(a.Content.Sender.SenderType) {
		t.Context = ctx
	}
	return t
}

// ConfirmedTranscriptHashInput returns the input of the confirmed
// transcript hash for a commit (RFC 9420, Section 8.2).
func (a AuthenticatedContent) ConfirmedTranscriptHashInput() ConfirmedTranscriptHashInput {
	return ConfirmedTranscriptHashInput{
		WireFormat: a.WireFormat,
		Content:    a.Content,
		Signature:  a.Auth.Signature,
	}
}

// InterimTranscriptHashInput returns the input of the interim transcript
// hash for a commit (RFC 9420, Section 8.2).
func (a AuthenticatedContent) InterimTranscriptHashInput() InterimTranscriptHashInput {
	return InterimTranscriptHashInput{ConfirmationTag: a.Auth.ConfirmationTag}
}

// AuthenticatedContentTBM is the input of a PublicMessage's membership tag
// [RFC 9420, Section 6.2].
//
// [RFC 9420, Section 6.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.2
type AuthenticatedContentTBM struct {
	ContentTBS FramedContentTBS
	Auth       FramedContentAuthData
}

// Marshal appends the encoding of t to b.
func (t AuthenticatedContentTBM) Marshal(b *cryptobyte.Builder) {
	t.ContentTBS.Marshal(b)
	t.Auth.MarshalFor(b, t.ContentTBS.Content.ContentType)
}

// Encode returns the encoding of t.
func (t AuthenticatedContentTBM) Encode() ([]byte, error) { return encode(t) }

// ConfirmedTranscriptHashInput is hashed into the confirmed transcript hash
// [RFC 9420, Section 8.2]. Content must be a commit.
//
// [RFC 9420, Section 8.2]: https://www.rfc-editor.org/rfc/rfc9420#section-8.2
type ConfirmedTranscriptHashInput struct {
	WireFormat WireFormat
	Content    FramedContent
	Signature  []byte
}

// Marshal appends the encoding of c to b.
func (c ConfirmedTranscriptHashInput) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(c.WireFormat))
	c.Content.Marshal(b)
	AddOpaque(b, c.Signature)
}

// Unmarshal reads a ConfirmedTranscriptHashInput from d.
func (c *ConfirmedTranscriptHashInput) Unmarshal(d *Decoder) {
	c.WireFormat = readWireFormat(d)
	c.Content.Unmarshal(d)
	c.Signature = d.Opaque()
}

// Encode returns the encoding of c.
func (c ConfirmedTranscriptHashInput) Encode() ([]byte, error) { return encode(c) }

// DecodeConfirmedTranscriptHashInput decodes a ConfirmedTranscriptHashInput.
func DecodeConfirmedTranscriptHashInput(data []byte) (ConfirmedTranscriptHashInput, error) {
	return decode[ConfirmedTranscriptHashInput]("ConfirmedTranscriptHashInput", data)
}

// InterimTranscriptHashInput is hashed into the interim transcript hash
// [RFC 9420, Section 8.2].
//
// [RFC 9420, Section 8.2]: https://www.rfc-editor.org/rfc/rfc9420#section-8.2
type InterimTranscriptHashInput struct {
	ConfirmationTag []byte // MAC
}

// Marshal appends the encoding of i to b.
func (i InterimTranscriptHashInput) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, i.ConfirmationTag)
}

// Unmarshal reads an InterimTranscriptHashInput from d.
func (i *InterimTranscriptHashInput) Unmarshal(d *Decoder) { i.ConfirmationTag = d.Opaque() }

// Encode returns the encoding of i.
func (i InterimTranscriptHashInput) Encode() ([]byte, error) { return encode(i) }

// DecodeInterimTranscriptHashInput decodes an InterimTranscriptHashInput.
func DecodeInterimTranscriptHashInput(data []byte) (InterimTranscriptHashInput, error) {
	return decode[InterimTranscriptHashInput]("InterimTranscriptHashInput", data)
}

// PublicMessage is a signed, unencrypted message [RFC 9420, Section 6.2].
// MembershipTag is encoded exactly when the sender is a member.
//
// [RFC 9420, Section 6.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.2
type PublicMessage struct {
	Content       FramedContent
	Auth          FramedContentAuthData
	MembershipTag []byte // MAC; member senders only
}

// Marshal appends the encoding of m to b.
func (m PublicMessage) Marshal(b *cryptobyte.Builder) {
	m.Content.Marshal(b)
	m.Auth.MarshalFor(b, m.Content.ContentType)
	if m.Content.Sender.SenderType == SenderTypeMember {
		AddOpaque(b, m.MembershipTag)
	}
}

// Unmarshal reads a PublicMessage from d.
func (m *PublicMessage) Unmarshal(d *Decoder) {
	*m = PublicMessage{}
	m.Content.Unmarshal(d)
	m.Auth.UnmarshalFor(d, m.Content.ContentType)
	if m.Content.Sender.SenderType == SenderTypeMember {
		m.MembershipTag = d.Opaque()
	}
}

// Encode returns the encoding of m.
func (m PublicMessage) Encode() ([]byte, error) { return encode(m) }

// DecodePublicMessage decodes a PublicMessage (not wrapped in an MLSMessage).
func DecodePublicMessage(data []byte) (PublicMessage, error) {
	return decode[PublicMessage]("PublicMessage", data)
}

// AuthenticatedContent returns the AuthenticatedContent of m (wire format
// mls_public_message).
func (m PublicMessage) AuthenticatedContent() AuthenticatedContent {
	return AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: m.Content, Auth: m.Auth}
}

// PrivateMessage is an encrypted message [RFC 9420, Section 6.3].
//
// [RFC 9420, Section 6.3]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3
type PrivateMessage struct {
	GroupID             []byte
	Epoch               uint64
	ContentType         ContentType
	AuthenticatedData   []byte
	EncryptedSenderData []byte
	Ciphertext          []byte
}

// Marshal appends the encoding of m to b.
func (m PrivateMessage) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, m.GroupID)
	b.AddUint64(m.Epoch)
	b.AddUint8(uint8(m.ContentType))
	AddOpaque(b, m.AuthenticatedData)
	AddOpaque(b, m.EncryptedSenderData)
	AddOpaque(b, m.Ciphertext)
}

// Unmarshal reads a PrivateMessage from d.
func (m *PrivateMessage) Unmarshal(d *Decoder) {
	m.GroupID = d.Opaque()
	m.Epoch = d.Uint64()
	m.ContentType = readContentType(d)
	m.AuthenticatedData = d.Opaque()
	// A shared decoder's ciphertexts alias the input (they are decrypted
	// at once and never kept).
	m.EncryptedSenderData = d.sharedOpaque()
	m.Ciphertext = d.sharedOpaque()
}

// Encode returns the encoding of m.
func (m PrivateMessage) Encode() ([]byte, error) { return encode(m) }

// DecodePrivateMessage decodes a PrivateMessage (not wrapped in an
// MLSMessage).
func DecodePrivateMessage(data []byte) (PrivateMessage, error) {
	return decode[PrivateMessage]("PrivateMessage", data)
}

// ContentAAD returns the PrivateContentAAD of m.
func (m PrivateMessage) ContentAAD() PrivateContentAAD {
	return PrivateContentAAD{GroupID: m.GroupID, Epoch: m.Epoch, ContentType: m.ContentType, AuthenticatedData: m.AuthenticatedData}
}

// SenderDataAAD returns the SenderDataAAD of m.
func (m PrivateMessage) SenderDataAAD() SenderDataAAD {
	return SenderDataAAD{GroupID: m.GroupID, Epoch: m.Epoch, ContentType: m.ContentType}
}

// PrivateMessageContent is the plaintext of a PrivateMessage's ciphertext
// [RFC 9420, Section 6.3.1]. ContentType is not encoded (it comes from the
// enclosing PrivateMessage) but selects ApplicationData, Proposal or Commit
// and whether Auth has a confirmation tag. Padding is the number of zero
// bytes that end the encoding.
//
// [RFC 9420, Section 6.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3.1
type PrivateMessageContent struct {
	ContentType     ContentType
	ApplicationData []byte    // application
	Proposal        *Proposal // proposal
	Commit          *Commit   // commit
	Auth            FramedContentAuthData
	Padding         int // number of zero bytes
}

// Marshal appends the encoding of c to b.
func (c PrivateMessageContent) Marshal(b *cryptobyte.Builder) {
	marshalContent(b, c.ContentType, c.ApplicationData, c.Proposal, c.Commit)
	c.Auth.MarshalFor(b, c.ContentType)
	if c.Padding < 0 {
		b.SetError(invalid("negative padding %d", c.Padding))
		return
	}
	b.AddBytes(make([]byte, c.Padding))
}

// UnmarshalFor reads a PrivateMessageContent of type ct from d; it
// consumes all of d, since the padding runs to the end. A non-zero padding
// byte fails with ErrNonZeroPadding.
func (c *PrivateMessageContent) UnmarshalFor(d *Decoder, ct ContentType) {
	*c = PrivateMessageContent{ContentType: ct}
	c.ApplicationData, c.Proposal, c.Commit = unmarshalContent(d, ct)
	c.Auth.UnmarshalFor(d, ct)
	if !d.OK() {
		return
	}
	// "the padding field MUST be filled with all zero bytes" (RFC 9420,
	// Section 6.3.1).
	for i, x := range d.s {
		if x != 0 {
			d.failAt(d.Offset()+i, ErrNonZeroPadding)
			return
		}
	}
	c.Padding = len(d.s)
	d.s = d.s[len(d.s):]
}

// Encode returns the encoding of c.
func (c PrivateMessageContent) Encode() ([]byte, error) { return encode(c) }

// DecodePrivateMessageContent decodes the plaintext of a PrivateMessage
// whose content_type is ct.
func DecodePrivateMessageContent(data []byte, ct ContentType) (PrivateMessageContent, error) {
	var c PrivateMessageContent
	d := NewDecoder(data)
	c.UnmarshalFor(d, ct)
	if err := d.Finish("PrivateMessageContent"); err != nil {
		return PrivateMessageContent{}, err
	}
	return c, nil
}

// PrivateContentAAD is the AAD of a PrivateMessage's content encryption
// [RFC 9420, Section 6.3.1].
//
// [RFC 9420, Section 6.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3.1
type PrivateContentAAD struct {
	GroupID           []byte
	Epoch             uint64
	ContentType       ContentType
	AuthenticatedData []byte
}

// Marshal appends the encoding of a to b.
func (a PrivateContentAAD) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, a.GroupID)
	b.AddUint64(a.Epoch)
	b.AddUint8(uint8(a.ContentType))
	AddOpaque(b, a.AuthenticatedData)
}

// Unmarshal reads a PrivateContentAAD from d.
func (a *PrivateContentAAD) Unmarshal(d *Decoder) {
	a.GroupID = d.Opaque()
	a.Epoch = d.Uint64()
	a.ContentType = readContentType(d)
	a.AuthenticatedData = d.Opaque()
}

// Encode returns the encoding of a.
func (a PrivateContentAAD) Encode() ([]byte, error) { return encode(a) }

// DecodePrivateContentAAD decodes a PrivateContentAAD.
func DecodePrivateContentAAD(data []byte) (PrivateContentAAD, error) {
	return decode[PrivateContentAAD]("PrivateContentAAD", data)
}

// SenderData identifies the sender and the key of a PrivateMessage; it is
// encrypted into encrypted_sender_data [RFC 9420, Section 6.3.2].
//
// [RFC 9420, Section 6.3.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3.2
type SenderData struct {
	LeafIndex  treemath.LeafIndex
	Generation uint32
	ReuseGuard [4]byte
}

// Marshal appends the encoding of s to b.
func (s SenderData) Marshal(b *cryptobyte.Builder) {
	b.AddUint32(uint32(s.LeafIndex))
	b.AddUint32(s.Generation)
	b.AddBytes(s.ReuseGuard[:])
}

// Unmarshal reads a SenderData from d.
func (s *SenderData) Unmarshal(d *Decoder) {
	s.LeafIndex = treemath.LeafIndex(d.Uint32())
	s.Generation = d.Uint32()
	copy(s.ReuseGuard[:], d.take(4))
}

// Encode returns the encoding of s.
func (s SenderData) Encode() ([]byte, error) { return encode(s) }

// DecodeSenderData decodes a SenderData.
func DecodeSenderData(data []byte) (SenderData, error) {
	return decode[SenderData]("SenderData", data)
}

// SenderDataAAD is the AAD of a PrivateMessage's sender data encryption
// [RFC 9420, Section 6.3.2].
//
// [RFC 9420, Section 6.3.2]: https://www.rfc-editor.org/rfc/rfc9420#section-6.3.2
type SenderDataAAD struct {
	GroupID     []byte
	Epoch       uint64
	ContentType ContentType
}

// Marshal appends the encoding of a to b.
func (a SenderDataAAD) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, a.GroupID)
	b.AddUint64(a.Epoch)
	b.AddUint8(uint8(a.ContentType))
}

// Unmarshal reads a SenderDataAAD from d.
func (a *SenderDataAAD) Unmarshal(d *Decoder) {
	a.GroupID = d.Opaque()
	a.Epoch = d.Uint64()
	a.ContentType = readContentType(d)
}

// Encode returns the encoding of a.
func (a SenderDataAAD) Encode() ([]byte, error) { return encode(a) }

// DecodeSenderDataAAD decodes a SenderDataAAD.
func DecodeSenderDataAAD(data []byte) (SenderDataAAD, error) {
	return decode[SenderDataAAD]("SenderDataAAD", data)
}
