package keysched

import (
	"bytes"
	"crypto/subtle"
	"fmt"

	"github.com/mlscore/mlscore/suite"
)

// Labels of the epoch-derived secrets (RFC 9420, Section 8, Table 4).
const (
	labelJoiner         = "joiner"
	labelWelcome        = "welcome"
	labelEpoch          = "epoch"
	labelSenderData     = "sender data"
	labelEncryption     = "encryption"
	labelExporter       = "exporter"
	labelExternal       = "external"
	labelConfirm        = "confirm"
	labelMembership     = "membership"
	labelResumption     = "resumption"
	labelAuthentication = "authentication"
	labelInit           = "init"
	labelExported       = "exported"
)

// clone returns a copy of b that shares nothing with it (nil stays nil).
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}

// zeros returns the all-zero secret of length KDF.Nh, the "0" of the key
// schedule diagram.
func zeros(cs *suite.Suite) []byte { return make([]byte, cs.HashLen()) }

// checkLen returns an error wrapping ErrSecretLength unless len(b) == n.
func checkLen(what string, b []byte, n int) error {
	if len(b) != n {
		return fmt.Errorf("%w: %s is %d bytes, want %d", ErrSecretLength, what, len(b), n)
	}
	return nil
}

// InitSecret is init_secret_[n-1], the secret carried from one epoch to the
// next: the first input of the key schedule (RFC 9420, Section 8). The zero
// value is not usable; obtain one with NewInitSecret (group creation,
// external join) or EpochSecrets.Next.
type InitSecret struct {
	cs     *suite.Suite
	secret []byte
}

// NewInitSecret wraps secret as an init secret for cs. For group creation
// secret is KDF.Nh fresh random bytes chosen by the caller
// ([RFC 9420, Section 11]); for an external join it is the value exported
// from the external HPKE context (see ExternalInit). It fails unless
// len(secret) == KDF.Nh.
//
// [RFC 9420, Section 11]: https://www.rfc-editor.org/rfc/rfc9420#section-11
func NewInitSecret(cs *suite.Suite, secret []byte) (InitSecret, error) {
	if err := checkLen("init_secret", secret, cs.HashLen()); err != nil {
		return InitSecret{}, err
	}
	return InitSecret{cs: cs, secret: clone(secret)}, nil
}

// Bytes returns a copy of the init secret, for persisting it.
func (i InitSecret) Bytes() []byte { return clone(i.secret) }

// Joiner derives joiner_secret = ExpandWithLabel(KDF.Extract(init_secret,
// commit_secret), "joiner", GroupContext_[n], KDF.Nh). groupContext is the
// encoded GroupContext of the new epoch. A nil commitSecret stands for the
// all-zero secret used when a commit has no path.
func (i InitSecret) Joiner(commitSecret, groupContext []byte) (JoinerSecret, error) {
	if i.cs == nil {
		return JoinerSecret{}, fmt.Errorf("%w: zero InitSecret", ErrSecretLength)
	}
	if commitSecret == nil {
		commitSecret = zeros(i.cs)
	}
	if err := checkLen("commit_secret", commitSecret, i.cs.HashLen()); err != nil {
		return JoinerSecret{}, err
	}
	prk := i.cs.Extract(i.secret, commitSecret)
	j, err := i.cs.ExpandWithLabel(prk, labelJoiner, groupContext, i.cs.HashLen())
	if err != nil {
		return JoinerSecret{}, err
	}
	return JoinerSecret{cs: i.cs, secret: j}, nil
}

// JoinerSecret is joiner_secret: what a Welcome carries to new members
// (RFC 9420, Section 8).
type JoinerSecret struct {
	cs     *suite.Suite
	secret []byte
}

// NewJoinerSecret wraps a joiner secret decrypted from a Welcome's
// GroupSecrets. It fails unless len(secret) == KDF.Nh.
func NewJoinerSecret(cs *suite.Suite, secret []byte) (JoinerSecret, error) {
	if err := checkLen("joiner_secret", secret, cs.HashLen()); err != nil {
		return JoinerSecret{}, err
	}
	return JoinerSecret{cs: cs, secret: clone(secret)}, nil
}

// Bytes returns a copy of the joiner secret, for a Welcome's GroupSecrets.
func (j JoinerSecret) Bytes() []byte { return clone(j.secret) }

// WithPSK mixes in the PSK secret: KDF.Extract(joiner_secret, psk_secret).
// Use NoPSK when the epoch has no pre-shared keys.
func (j JoinerSecret) WithPSK(psk PSKSecret) (IntermediateSecret, error) {
	if j.cs == nil {
		return IntermediateSecret{}, fmt.Errorf("%w: zero JoinerSecret", ErrSecretLength)
	}
	ikm := psk.secret
	if ikm == nil {
		ikm = zeros(j.cs)
	}
	if err := checkLen("psk_secret", ikm, j.cs.HashLen()); err != nil {
		return IntermediateSecret{}, err
	}
	return IntermediateSecret{cs: j.cs, secret: j.cs.Extract(j.secret, ikm)}, nil
}

// IntermediateSecret is the unnamed value KDF.Extract(joiner_secret,
// psk_secret) of the key schedule, from which both welcome_secret and
// epoch_secret are derived.
type IntermediateSecret struct {
	cs     *suite.Suite
	secret []byte
}

// Welcome derives welcome_secret = DeriveSecret(., "welcome").
func (m IntermediateSecret) Welcome() (WelcomeSecret, error) {
	w, err := m.cs.DeriveSecret(m.secret, labelWelcome)
	if err != nil {
		return WelcomeSecret{}, err
	}
	return WelcomeSecret{cs: m.cs, secret: w}, nil
}

// Epoch derives epoch_secret = ExpandWithLabel(., "epoch", GroupContext_[n],
// KDF.Nh) and from it every epoch-derived secret. groupContext is the encoded
// GroupContext of the new epoch.
func (m IntermediateSecret) Epoch(groupContext []byte) (EpochSecrets, error) {
	es, err := m.cs.ExpandWithLabel(m.secret, labelEpoch, groupContext, m.cs.HashLen())
	if err != nil {
		return EpochSecrets{}, err
	}
	return newEpochSecrets(m.cs, es)
}

// WelcomeSecret is welcome_secret, from which the key and nonce protecting a
// Welcome's GroupInfo are derived (RFC 9420, Section 12.4.3.1).
type WelcomeSecret struct {
	cs     *suite.Suite
	secret []byte
}

// KeyNonce derives welcome_key = ExpandWithLabel(welcome_secret, "key", "",
// AEAD.Nk) and welcome_nonce = ExpandWithLabel(welcome_secret, "nonce", "",
// AEAD.Nn).
func (w WelcomeSecret) KeyNonce() (key, nonce []byte, err error) {
	key, err = w.cs.ExpandWithLabel(w.secret, "key", nil, w.cs.AEADKeyLen())
	if err != nil {
		return nil, nil, err
	}
	nonce, err = w.cs.ExpandWithLabel(w.secret, "nonce", nil, w.cs.AEADNonceLen())
	if err != nil {
		return nil, nil, err
	}
	return key, nonce, nil
}

// Bytes returns a copy of the welcome secret.
func (w WelcomeSecret) Bytes() []byte { return clone(w.secret) }

// EpochSecrets holds the secrets derived from epoch_secret
// ([RFC 9420, Section 8], Table 4). It is immutable: accessors return copies.
// epoch_secret itself is not kept, following the deletion schedule
// ([RFC 9420, Section 9.2]).
//
// [RFC 9420, Section 8]: https://www.rfc-editor.org/rfc/rfc9420#section-8
// [RFC 9420, Section 9.2]: https://www.rfc-editor.org/rfc/rfc9420#section-9.2
type EpochSecrets struct {
	cs                 *suite.Suite
	senderData         []byte
	encryption         []byte
	exporter           []byte
	external           []byte
	confirmationKey    []byte
	membershipKey      []byte
	resumptionPSK      []byte
	epochAuthenticator []byte
	init               []byte
}

// newEpochSecrets derives every epoch-derived secret from epochSecret.
func newEpochSecrets(cs *suite.Suite, epochSecret []byte) (EpochSecrets, error) {
	e := EpochSecrets{cs: cs}
	for _, d := range []struct {
		label string
		dst   *[]byte
	}{
		{labelSenderData, &e.senderData},
		{labelEncryption, &e.encryption},
		{labelExporter, &e.exporter},
		{labelExternal, &e.external},
		{labelConfirm, &e.confirmationKey},
		{labelMembership, &e.membershipKey},
		{labelResumption, &e.resumptionPSK},
		{labelAuthentication, &e.epochAuthenticator},
		{labelInit, &e.init},
	} {
		s, err := cs.DeriveSecret(epochSecret, d.label)
		if err != nil {
			return EpochSecrets{}, err
		}
		*d.dst = s
	}
	return e, nil
}

// Suite returns the cipher suite of the epoch.
func (e EpochSecrets) Suite() *suite.Suite { return e.cs }

// SenderDataSecret returns a copy of sender_data_secret.
func (e EpochSecrets) SenderDataSecret() []byte { return clone(e.senderData) }

// EncryptionSecret returns a copy of encryption_secret, the root of the
// secret tree (see NewSecretTree).
func (e EpochSecrets) EncryptionSecret() []byte { return clone(e.encryption) }

// ExporterSecret returns a copy of exporter_secret.
func (e EpochSecrets) ExporterSecret() []byte { return clone(e.exporter) }

// ExternalSecret returns a copy of external_secret.
func (e EpochSecrets) ExternalSecret() []byte { return clone(e.external) }

// ConfirmationKey returns a copy of confirmation_key.
func (e EpochSecrets) ConfirmationKey() []byte { return clone(e.confirmationKey) }

// MembershipKey returns a copy of membership_key.
func (e EpochSecrets) MembershipKey() []byte { return clone(e.membershipKey) }

// ResumptionPSK returns a copy of resumption_psk, the secret a later epoch
// (or a reinit or branch) can inject as a resumption PSK
// ([RFC 9420, Section 8.6]).
//
// [RFC 9420, Section 8.6]: https://www.rfc-editor.org/rfc/rfc9420#section-8.6
func (e EpochSecrets) ResumptionPSK() []byte { return clone(e.resumptionPSK) }

// EpochAuthenticator returns a copy of epoch_authenticator
// ([RFC 9420, Section 8.7]).
//
// [RFC 9420, Section 8.7]: https://www.rfc-editor.org/rfc/rfc9420#section-8.7
func (e EpochSecrets) EpochAuthenticator() []byte { return clone(e.epochAuthenticator) }

// Next returns init_secret_[n], the input of the next epoch's key schedule.
func (e EpochSecrets) Next() InitSecret { return InitSecret{cs: e.cs, secret: clone(e.init)} }

// Export implements MLS-Exporter(label, context, length) =
// ExpandWithLabel(DeriveSecret(exporter_secret, label), "exported",
// Hash(context), length) ([RFC 9420, Section 8.5]).
//
// [RFC 9420, Section 8.5]: https://www.rfc-editor.org/rfc/rfc9420#section-8.5
func (e EpochSecrets) Export(label string, context []byte, length int) ([]byte, error) {
	s, err := e.cs.DeriveSecret(e.exporter, label)
	if err != nil {
		return nil, err
	}
	return e.cs.ExpandWithLabel(s, labelExported, e.cs.Hash(context), length)
}

// ExternalKeyPair returns external_priv, external_pub =
// KEM.DeriveKeyPair(external_secret) (RFC 9420, Section 8). external_pub is
// published in GroupInfo's external_pub extension for external joins.
func (e EpochSecrets) ExternalKeyPair() (priv, pub []byte, err error) {
	return e.cs.DeriveKeyPair(e.external)
}

// ConfirmationTag computes confirmation_tag = MAC(confirmation_key,
// confirmed_transcript_hash) ([RFC 9420, Section 6.1]).
//
// [RFC 9420, Section 6.1]: https://www.rfc-editor.org/rfc/rfc9420#section-6.1
func (e EpochSecrets) ConfirmationTag(confirmedTranscriptHash []byte) []byte {
	return ConfirmationTag(e.cs, e.confirmationKey, confirmedTranscriptHash)
}

// VerifyConfirmationTag reports whether tag is the confirmation tag of
// confirmedTranscriptHash, in constant time.
func (e EpochSecrets) VerifyConfirmationTag(confirmedTranscriptHash, tag []byte) bool {
	return VerifyConfirmationTag(e.cs, e.confirmationKey, confirmedTranscriptHash, tag)
}

// ConfirmationTag computes MAC(confirmationKey, confirmedTranscriptHash), for
// callers that hold only the confirmation key.
func ConfirmationTag(cs *suite.Suite, confirmationKey, confirmedTranscriptHash []byte) []byte {
	return cs.MAC(confirmationKey, confirmedTranscriptHash)
}

// VerifyConfirmationTag reports, in constant time, whether tag equals
// MAC(confirmationKey, confirmedTranscriptHash).
func VerifyConfirmationTag(cs *suite.Suite, confirmationKey, confirmedTranscriptHash, tag []byte) bool {
	want := cs.MAC(confirmationKey, confirmedTranscriptHash)
	return subtle.ConstantTimeCompare(want, tag) == 1
}

// externalInitLabel is the HPKE exporter context for external init
// (RFC 9420, Section 8.3).
var externalInitLabel = []byte("MLS 1.0 external init secret")

// ExternalInit is the joiner's side of an external join
// ([RFC 9420, Section 8.3]): it sets up an HPKE context to externalPub with
// the encapsulation seed and exports the new epoch's init_secret. kemOutput
// goes into the ExternalInit proposal.
//
// [RFC 9420, Section 8.3]: https://www.rfc-editor.org/rfc/rfc9420#section-8.3
func ExternalInit(cs *suite.Suite, externalPub, seed []byte) (kemOutput []byte, init InitSecret, err error) {
	kemOutput, secret, err := cs.HPKEExportSender(externalPub, nil, externalInitLabel, cs.HashLen(), seed)
	if err != nil {
		return nil, InitSecret{}, err
	}
	return kemOutput, InitSecret{cs: cs, secret: secret}, nil
}

// ExternalInit is the group's side of an external join: from an
// ExternalInit proposal's kemOutput it recovers the init_secret that
// replaces Next() for the new epoch ([RFC 9420, Section 8.3]).
//
// [RFC 9420, Section 8.3]: https://www.rfc-editor.org/rfc/rfc9420#section-8.3
func (e EpochSecrets) ExternalInit(kemOutput []byte) (InitSecret, error) {
	priv, _, err := e.ExternalKeyPair()
	if err != nil {
		return InitSecret{}, err
	}
	secret, err := e.cs.HPKEExportReceiver(priv, kemOutput, nil, externalInitLabel, e.cs.HashLen())
	if err != nil {
		return InitSecret{}, err
	}
	return InitSecret{cs: e.cs, secret: secret}, nil
}
