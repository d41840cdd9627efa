package keysched

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
)

// Labels of the Welcome (RFC 9420, Sections 12.4.3 and 12.4.3.1).
const (
	labelWelcomeHPKE = "Welcome"
	labelGroupInfo   = "GroupInfoTBS"
)

// FindGroupSecrets returns the EncryptedGroupSecrets of w addressed to ref,
// or ErrNoMatchingSecrets.
func FindGroupSecrets(w codec.Welcome, ref codec.KeyPackageRef) (codec.EncryptedGroupSecrets, error) {
	for _, s := range w.Secrets {
		if bytes.Equal(s.NewMember, ref) {
			return s, nil
		}
	}
	return codec.EncryptedGroupSecrets{}, ErrNoMatchingSecrets
}

// DecryptGroupSecrets finds the secrets of w addressed to ref and decrypts
// them with the key package's init private key: DecryptWithLabel(init_priv,
// "Welcome", encrypted_group_info, kem_output, ciphertext)
// ([RFC 9420, Section 12.4.3.1]).
//
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
func DecryptGroupSecrets(cs *suite.Suite, w codec.Welcome, ref codec.KeyPackageRef, initPriv []byte) (codec.GroupSecrets, error) {
	return DecryptGroupSecretsBounded(cs, w, ref, initPriv, codec.Bounds{})
}

// DecryptGroupSecretsBounded is DecryptGroupSecrets with the plaintext
// decoded within b (codec.DecodeGroupSecretsBounded): a joiner's bound on
// the psks a Welcome's creator may list.
func DecryptGroupSecretsBounded(cs *suite.Suite, w codec.Welcome, ref codec.KeyPackageRef, initPriv []byte, b codec.Bounds) (codec.GroupSecrets, error) {
	egs, err := FindGroupSecrets(w, ref)
	if err != nil {
		return codec.GroupSecrets{}, err
	}
	ct := egs.EncryptedGroupSecrets
	pt, err := cs.DecryptWithLabel(initPriv, labelWelcomeHPKE, w.EncryptedGroupInfo, ct.KEMOutput, ct.Ciphertext)
	if err != nil {
		return codec.GroupSecrets{}, fmt.Errorf("mls: decrypting group secrets: %w", err)
	}
	gs, err := codec.DecodeGroupSecretsBounded(pt, b)
	if err != nil {
		return codec.GroupSecrets{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return gs, nil
}

// EncryptGroupSecrets encrypts gs to one new member's init key:
// EncryptWithLabel(init_key, "Welcome", encrypted_group_info, GroupSecrets),
// with the HPKE encapsulation seed given (RFC 9420, Section 12.4.3.1).
func EncryptGroupSecrets(cs *suite.Suite, initKey, encryptedGroupInfo []byte, gs codec.GroupSecrets, seed []byte) (codec.HPKECiphertext, error) {
	pt, err := gs.Encode()
	if err != nil {
		return codec.HPKECiphertext{}, err
	}
	kemOutput, ct, err := cs.EncryptWithLabel(initKey, labelWelcomeHPKE, encryptedGroupInfo, pt, seed)
	if err != nil {
		return codec.HPKECiphertext{}, err
	}
	return codec.HPKECiphertext{KEMOutput: kemOutput, Ciphertext: ct}, nil
}

// DecryptGroupInfo decrypts a Welcome's encrypted_group_info with the
// welcome key and nonce (empty associated data) and decodes the GroupInfo.
// It does not verify the GroupInfo's signature (see VerifyGroupInfo).
func (w WelcomeSecret) DecryptGroupInfo(encryptedGroupInfo []byte) (codec.GroupInfo, error) {
	key, nonce, err := w.KeyNonce()
	if err != nil {
		return codec.GroupInfo{}, err
	}
	pt, err := w.cs.Open(key, nonce, nil, encryptedGroupInfo)
	if err != nil {
		return codec.GroupInfo{}, fmt.Errorf("mls: decrypting group info: %w", err)
	}
	gi, err := codec.DecodeGroupInfo(pt)
	if err != nil {
		return codec.GroupInfo{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return gi, nil
}

// EncryptGroupInfo encrypts a signed GroupInfo with the welcome key and
// nonce, giving a Welcome's encrypted_group_info.
func (w WelcomeSecret) EncryptGroupInfo(gi codec.GroupInfo) ([]byte, error) {
	key, nonce, err := w.KeyNonce()
	if err != nil {
		return nil, err
	}
	pt, err := gi.Encode()
	if err != nil {
		return nil, err
	}
	return w.cs.Seal(key, nonce, nil, pt)
}

// WelcomeRecipient is one new member of a Welcome: the KeyPackageRef and
// init key of its key package, the GroupSecrets to send it, and the HPKE
// encapsulation seed (suite.HPKESeedLen bytes) for its encryption.
type WelcomeRecipient struct {
	Ref     codec.KeyPackageRef
	InitKey []byte
	Secrets codec.GroupSecrets
	Seed    []byte
}

// SealWelcome builds a Welcome ([RFC 9420, Section 12.4.3.1]): it encrypts
// the signed GroupInfo under welcome_secret, then each recipient's
// GroupSecrets to its init key, in the order given.
//
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
func SealWelcome(w WelcomeSecret, gi codec.GroupInfo, recipients []WelcomeRecipient) (codec.Welcome, error) {
	egi, err := w.EncryptGroupInfo(gi)
	if err != nil {
		return codec.Welcome{}, err
	}
	out := codec.Welcome{
		CipherSuite:        codec.CipherSuite(w.cs.ID()),
		Secrets:            make([]codec.EncryptedGroupSecrets, len(recipients)),
		EncryptedGroupInfo: egi,
	}
	for i, r := range recipients {
		ct, err := EncryptGroupSecrets(w.cs, r.InitKey, egi, r.Secrets, r.Seed)
		if err != nil {
			return codec.Welcome{}, fmt.Errorf("mls: welcome recipient %d: %w", i, err)
		}
		out.Secrets[i] = codec.EncryptedGroupSecrets{NewMember: clone(r.Ref), EncryptedGroupSecrets: ct}
	}
	return out, nil
}

// SignGroupInfo signs gi's GroupInfoTBS with SignWithLabel(., "GroupInfoTBS",
// .) and returns gi with its Signature set ([RFC 9420, Section 12.4.3]).
//
// [RFC 9420, Section 12.4.3]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3
func SignGroupInfo(cs *suite.Suite, signaturePriv []byte, gi codec.GroupInfo) (codec.GroupInfo, error) {
	tbs, err := gi.TBS().Encode()
	if err != nil {
		return codec.GroupInfo{}, err
	}
	sig, err := cs.SignWithLabel(signaturePriv, labelGroupInfo, tbs)
	if err != nil {
		return codec.GroupInfo{}, err
	}
	gi.Signature = sig
	return gi, nil
}

// ErrGroupInfoSignature reports a GroupInfo whose signature does not verify.
var ErrGroupInfoSignature = errors.New("mls: group info signature does not verify")

// VerifyGroupInfo verifies gi's signature with the signer's public key.
func VerifyGroupInfo(cs *suite.Suite, signerPub []byte, gi codec.GroupInfo) error {
	tbs, err := gi.TBS().Encode()
	if err != nil {
		return err
	}
	if err := cs.VerifyWithLabel(signerPub, labelGroupInfo, tbs, gi.Signature); err != nil {
		return fmt.Errorf("%w: %w", ErrGroupInfoSignature, err)
	}
	return nil
}

// KeyPackageRef computes a key package's reference, RefHash("MLS 1.0
// KeyPackage Reference", KeyPackage) ([RFC 9420, Section 5.2]), the name a
// Welcome addresses its secrets to.
//
// [RFC 9420, Section 5.2]: https://www.rfc-editor.org/rfc/rfc9420#section-5.2
func KeyPackageRef(cs *suite.Suite, kp codec.KeyPackage) (codec.KeyPackageRef, error) {
	enc, err := kp.Encode()
	if err != nil {
		return nil, err
	}
	return codec.KeyPackageRef(cs.RefHash("MLS 1.0 KeyPackage Reference", enc)), nil
}
