package codec

import (
	"golang.org/x/crypto/cryptobyte"
)

// CredentialType identifies a kind of credential [RFC 9420, Section 5.3].
// The set is open (Section 17.5).
//
// [RFC 9420, Section 5.3]: https://www.rfc-editor.org/rfc/rfc9420#section-5.3
type CredentialType uint16

// Credential types of [RFC 9420, Section 5.3].
//
// [RFC 9420, Section 5.3]: https://www.rfc-editor.org/rfc/rfc9420#section-5.3
const (
	CredentialBasic CredentialType = 1
	CredentialX509  CredentialType = 2
)

// Credential binds an identity to a signature key [RFC 9420, Section 5.3].
//
// The RFC defines the body only for basic (identity<V>) and x509
// (Certificate certificates<V>) credentials; both bodies are one
// varint-length-prefixed field. A credential of any other type has no
// RFC-defined body, so its end could not be found at all. Following OpenMLS
// and mls-rs (and the convention for custom proposals), the body of any other
// type is read as one opaque<V>, kept in Data, so that unknown credential
// types (including GREASE values, Section 13.5) decode and re-encode
// unchanged; whether they are acceptable is left to validation.
//
// Only the field selected by CredentialType is encoded: Identity for basic,
// Certificates for x509, Data otherwise.
//
// [RFC 9420, Section 5.3]: https://www.rfc-editor.org/rfc/rfc9420#section-5.3
type Credential struct {
	CredentialType CredentialType
	Identity       []byte   // basic
	Certificates   [][]byte // x509: the cert_data of each Certificate, leaf first
	Data           []byte   // any other type: the opaque<V> body
}

// Marshal appends the encoding of c to b.
func (c Credential) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(c.CredentialType))
	switch c.CredentialType {
	case CredentialBasic:
		AddOpaque(b, c.Identity)
	case CredentialX509:
		AddVector(b, func(b *cryptobyte.Builder) {
			for _, cert := range c.Certificates {
				AddOpaque(b, cert)
			}
		})
	default:
		AddOpaque(b, c.Data)
	}
}

// Unmarshal reads a Credential from d.
func (c *Credential) Unmarshal(d *Decoder) {
	*c = Credential{CredentialType: CredentialType(d.Uint16())}
	switch c.CredentialType {
	case CredentialBasic:
		c.Identity = d.Opaque()
	case CredentialX509:
		c.Certificates = list(d, "", 0, sizeBytes, func(cert *[]byte, d *Decoder) { *cert = d.Opaque() })
	default:
		c.Data = d.Opaque()
	}
}

// Encode returns the encoding of c.
func (c Credential) Encode() ([]byte, error) { return encode(c) }

// DecodeCredential decodes a Credential.
func DecodeCredential(data []byte) (Credential, error) {
	return decode[Credential]("Credential", data)
}
