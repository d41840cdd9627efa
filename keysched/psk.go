package keysched

import (
	"fmt"
	"math"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
)

// PSK is one pre-shared key to inject into an epoch: its PreSharedKeyID (as
// it appears in the PreSharedKey proposal) and the secret it names (an
// external PSK from the application, or a resumption_psk of an earlier
// epoch, see EpochSecrets.ResumptionPSK).
type PSK struct {
	ID     codec.PreSharedKeyID
	Secret []byte
}

// ExternalPSKID returns the PreSharedKeyID of an external PSK
// ([RFC 9420, Section 8.4]).
//
// [RFC 9420, Section 8.4]: https://www.rfc-editor.org/rfc/rfc9420#section-8.4
func ExternalPSKID(pskID, nonce []byte) codec.PreSharedKeyID {
	return codec.PreSharedKeyID{PSKType: codec.PSKTypeExternal, PSKID: clone(pskID), PSKNonce: clone(nonce)}
}

// ResumptionPSKID returns the PreSharedKeyID of a resumption PSK from epoch
// epoch of group groupID, for usage application, reinit or branch
// ([RFC 9420, Section 8.6]).
//
// [RFC 9420, Section 8.6]: https://www.rfc-editor.org/rfc/rfc9420#section-8.6
func ResumptionPSKID(usage codec.ResumptionPSKUsage, groupID []byte, epoch uint64, nonce []byte) codec.PreSharedKeyID {
	return codec.PreSharedKeyID{
		PSKType: codec.PSKTypeResumption, Usage: usage,
		PSKGroupID: clone(groupID), PSKEpoch: epoch, PSKNonce: clone(nonce),
	}
}

// PSKSecret is psk_secret, the combination of an epoch's pre-shared keys
// (RFC 9420, Section 8.4). The zero value, NoPSK, stands for the all-zero
// secret used when there are no PSKs.
type PSKSecret struct {
	secret []byte // nil means "0": KDF.Nh zero bytes
}

// NoPSK is the psk_secret of an epoch without pre-shared keys.
var NoPSK = PSKSecret{}

// Bytes returns a copy of psk_secret for suite cs (KDF.Nh zero bytes for NoPSK).
func (p PSKSecret) Bytes(cs *suite.Suite) []byte {
	if p.secret == nil {
		return zeros(cs)
	}
	return clone(p.secret)
}

// ComputePSKSecret combines psks, in order, into psk_secret
// ([RFC 9420, Section 8.4]):
//
//	psk_extracted_[i] = KDF.Extract(0, psk_[i])
//	psk_input_[i]     = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel, KDF.Nh)
//	psk_secret_[0]    = 0
//	psk_secret_[i]    = KDF.Extract(psk_input_[i-1], psk_secret_[i-1])
//	psk_secret        = psk_secret_[n]
//
// where PSKLabel = {id, index = i, count = n}. With no PSKs it returns NoPSK.
// The caller validates the ids (ValSem401–ValSem403) before calling.
//
// [RFC 9420, Section 8.4]: https://www.rfc-editor.org/rfc/rfc9420#section-8.4
func ComputePSKSecret(cs *suite.Suite, psks []PSK) (PSKSecret, error) {
	if len(psks) == 0 {
		return NoPSK, nil
	}
	if len(psks) > math.MaxUint16 {
		return PSKSecret{}, fmt.Errorf("%w: %d", ErrPSKCount, len(psks))
	}
	zero := zeros(cs)
	secret := zero
	for i, p := range psks {
		extracted := cs.Extract(zero, p.Secret)
		label, err := codec.PSKLabel{ID: p.ID, Index: uint16(i), Count: uint16(len(psks))}.Encode()
		if err != nil {
			return PSKSecret{}, fmt.Errorf("mls: encoding PSKLabel %d: %w", i, err)
		}
		input, err := cs.ExpandWithLabel(extracted, "derived psk", label, cs.HashLen())
		if err != nil {
			return PSKSecret{}, err
		}
		secret = cs.Extract(input, secret)
	}
	return PSKSecret{secret: secret}, nil
}

// NewPSKSecret wraps an already computed psk_secret (from storage or a test
// vector). It fails unless len(secret) == KDF.Nh.
func NewPSKSecret(cs *suite.Suite, secret []byte) (PSKSecret, error) {
	if err := checkLen("psk_secret", secret, cs.HashLen()); err != nil {
		return PSKSecret{}, err
	}
	return PSKSecret{secret: clone(secret)}, nil
}
