package vectors

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// messageProtectionCase is one case of message-protection.json (FORMAT.md,
// "Message Protection").
type messageProtectionCase struct {
	CipherSuite             uint16   `json:"cipher_suite"`
	GroupID                 HexBytes `json:"group_id"`
	Epoch                   uint64   `json:"epoch"`
	TreeHash                HexBytes `json:"tree_hash"`
	ConfirmedTranscriptHash HexBytes `json:"confirmed_transcript_hash"`
	SignaturePriv           HexBytes `json:"signature_priv"`
	SignaturePub            HexBytes `json:"signature_pub"`
	EncryptionSecret        HexBytes `json:"encryption_secret"`
	SenderDataSecret        HexBytes `json:"sender_data_secret"`
	MembershipKey           HexBytes `json:"membership_key"`
	Proposal                HexBytes `json:"proposal"`
	ProposalPub             HexBytes `json:"proposal_pub"`
	ProposalPriv            HexBytes `json:"proposal_priv"`
	Commit                  HexBytes `json:"commit"`
	CommitPub               HexBytes `json:"commit_pub"`
	CommitPriv              HexBytes `json:"commit_priv"`
	Application             HexBytes `json:"application"`
	ApplicationPriv         HexBytes `json:"application_priv"`
}

// runMessageProtection checks keysched's PublicMessage and PrivateMessage
// protection against message-protection.json: the given messages
// unprotect to the given content, and content protected here unprotects
// again (and application data cannot be sent as a PublicMessage).
func runMessageProtection(data []byte, r *Result) {
	cases, ok := decodeCases[messageProtectionCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if err := checkMessageProtection(c); err != nil {
			r.Fail("case %d (suite %d): %v", i, c.CipherSuite, err)
			continue
		}
		r.Pass()
	}
}

// mpSender is the sender of every message of the vectors.
const mpSender treemath.LeafIndex = 1

// mpEnv is what one case's checks share.
type mpEnv struct {
	c   messageProtectionCase
	cs  *suite.Suite
	ctx *codec.GroupContext
}

func checkMessageProtection(c messageProtectionCase) error {
	cs, err := suite.Lookup(suite.ID(c.CipherSuite))
	if err != nil {
		return err
	}
	e := mpEnv{c: c, cs: cs, ctx: &codec.GroupContext{
		Version:                 codec.MLS10,
		CipherSuite:             codec.CipherSuite(c.CipherSuite),
		GroupID:                 c.GroupID,
		Epoch:                   c.Epoch,
		TreeHash:                c.TreeHash,
		ConfirmedTranscriptHash: c.ConfirmedTranscriptHash,
	}}
	prop, err := codec.DecodeProposal(c.Proposal)
	if err != nil {
		return fmt.Errorf("proposal: %w", err)
	}
	commit, err := codec.DecodeCommit(c.Commit)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	base := codec.FramedContent{GroupID: c.GroupID, Epoch: c.Epoch, Sender: codec.MemberSender(mpSender)}
	contents := []struct {
		name     string
		content  codec.FramedContent
		pub      []byte // nil for application
		priv     []byte
		wantBody []byte
	}{
		{"proposal", withBody(base, codec.ContentTypeProposal, nil, &prop, nil), c.ProposalPub, c.ProposalPriv, c.Proposal},
		{"commit", withBody(base, codec.ContentTypeCommit, nil, nil, &commit), c.CommitPub, c.CommitPriv, c.Commit},
		{"application", withBody(base, codec.ContentTypeApplication, c.Application, nil, nil), nil, c.ApplicationPriv, c.Application},
	}
	for _, x := range contents {
		if x.pub != nil {
			if err := e.checkPublic(x.pub, x.wantBody); err != nil {
				return fmt.Errorf("%s_pub: %w", x.name, err)
			}
		}
		if err := e.checkPublicRoundTrip(x.content, x.wantBody); err != nil {
			return fmt.Errorf("%s as PublicMessage: %w", x.name, err)
		}
		if err := e.checkPrivate(x.priv, x.wantBody); err != nil {
			return fmt.Errorf("%s_priv: %w", x.name, err)
		}
		if err := e.checkPrivateRoundTrip(x.content, x.wantBody); err != nil {
			return fmt.Errorf("%s as PrivateMessage: %w", x.name, err)
		}
	}
	return nil
}

// withBody returns base with the given content.
func withBody(base codec.FramedContent, ct codec.ContentType, app []byte, p *codec.Proposal, c *codec.Commit) codec.FramedContent {
	base.ContentType = ct
	base.ApplicationData, base.Proposal, base.Commit = app, p, c
	return base
}

// body returns the encoded proposal or commit, or the application data.
func body(c codec.FramedContent) ([]byte, error) {
	switch c.ContentType {
	case codec.ContentTypeProposal:
		return c.Proposal.Encode()
	case codec.ContentTypeCommit:
		return c.Commit.Encode()
	}
	return c.ApplicationData, nil
}

func checkBody(c codec.FramedContent, want []byte) error {
	got, err := body(c)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("content mismatch")
	}
	return nil
}

func (e mpEnv) tree() (keysched.SecretTree, error) {
	return keysched.NewSecretTree(e.cs, e.c.EncryptionSecret, 2, keysched.DefaultRatchetConfig())
}

func (e mpEnv) senderKey(leaf treemath.LeafIndex) ([]byte, error) {
	if leaf != mpSender {
		return nil, fmt.Errorf("unexpected sender leaf %d", leaf)
	}
	return e.c.SignaturePub, nil
}

// sign signs content for wire format wf; a commit gets a confirmation tag.
func (e mpEnv) sign(content codec.FramedContent, wf codec.WireFormat) (codec.AuthenticatedContent, error) {
	ac, err := keysched.SignContent(keysched.KeySigner{Suite: e.cs, Priv: e.c.SignaturePriv}, wf, content, e.ctx)
	if err != nil {
		return ac, err
	}
	if content.ContentType == codec.ContentTypeCommit {
		ac.Auth.ConfirmationTag = e.cs.MAC(e.c.MembershipKey, e.c.ConfirmedTranscriptHash)
	}
	return ac, nil
}

func (e mpEnv) checkPublic(msg, want []byte) error {
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil {
		return err
	}
	if m.PublicMessage == nil {
		return errors.New("not a PublicMessage")
	}
	ac, err := keysched.UnprotectPublic(e.cs, e.c.MembershipKey, *m.PublicMessage, e.ctx, e.c.SignaturePub)
	if err != nil {
		return err
	}
	return checkBody(ac.Content, want)
}

func (e mpEnv) checkPublicRoundTrip(content codec.FramedContent, want []byte) error {
	ac, err := e.sign(content, codec.WireFormatPublicMessage)
	if err != nil {
		return err
	}
	pm, err := keysched.ProtectPublic(e.cs, e.c.MembershipKey, ac, e.ctx)
	if content.ContentType == codec.ContentTypeApplication {
		if !errors.Is(err, keysched.ErrContentType) {
			return fmt.Errorf("protecting application data as PublicMessage: err = %v, want ErrContentType", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	enc, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPublicMessage, PublicMessage: &pm}.Encode()
	if err != nil {
		return err
	}
	return e.checkPublic(enc, want)
}

func (e mpEnv) checkPrivate(msg, want []byte) error {
	m, err := codec.DecodeMLSMessage(msg)
	if err != nil {
		return err
	}
	if m.PrivateMessage == nil {
		return errors.New("not a PrivateMessage")
	}
	st, err := e.tree()
	if err != nil {
		return err
	}
	ac, _, _, err := keysched.UnprotectPrivate(e.cs, st, e.c.SenderDataSecret, *m.PrivateMessage, e.ctx, e.senderKey, codec.Bounds{})
	if err != nil {
		return err
	}
	return checkBody(ac.Content, want)
}

func (e mpEnv) checkPrivateRoundTrip(content codec.FramedContent, want []byte) error {
	ac, err := e.sign(content, codec.WireFormatPrivateMessage)
	if err != nil {
		return err
	}
	st, err := e.tree()
	if err != nil {
		return err
	}
	pm, _, _, err := keysched.ProtectPrivate(e.cs, st, e.c.SenderDataSecret, ac, keysched.PrivateParams{Padding: 7, ReuseGuard: [4]byte{1, 2, 3, 4}})
	if err != nil {
		return err
	}
	enc, err := codec.MLSMessage{Version: codec.MLS10, WireFormat: codec.WireFormatPrivateMessage, PrivateMessage: &pm}.Encode()
	if err != nil {
		return err
	}
	return e.checkPrivate(enc, want)
}
