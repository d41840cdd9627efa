package codec

import (
	"golang.org/x/crypto/cryptobyte"
)

// PathSecret carries the path secret a new member needs [RFC 9420,
// Section 12.4.3.1].
//
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
type PathSecret struct {
	PathSecret []byte
}

// Marshal appends the encoding of p to b.
func (p PathSecret) Marshal(b *cryptobyte.Builder) { AddOpaque(b, p.PathSecret) }

// Unmarshal reads a PathSecret from d.
func (p *PathSecret) Unmarshal(d *Decoder) { p.PathSecret = d.Opaque() }

// GroupSecrets is the plaintext encrypted to each new member of a Welcome
// [RFC 9420, Section 12.4.3.1]. PathSecret is nil when absent.
//
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
type GroupSecrets struct {
	JoinerSecret []byte
	PathSecret   *PathSecret
	PSKs         []PreSharedKeyID
}

// Marshal appends the encoding of g to b.
func (g GroupSecrets) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, g.JoinerSecret)
	addOptional(b, g.PathSecret != nil, func(b *cryptobyte.Builder) { g.PathSecret.Marshal(b) })
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, p := range g.PSKs {
			p.Marshal(b)
		}
	})
}

// Unmarshal reads a GroupSecrets from d.
func (g *GroupSecrets) Unmarshal(d *Decoder) {
	*g = GroupSecrets{JoinerSecret: d.Opaque()}
	if d.Optional() {
		g.PathSecret = new(PathSecret)
		g.PathSecret.Unmarshal(d)
	}
	g.PSKs = list(d, "MaxProposals", d.bounds.MaxProposals, sizePreSharedKeyID, (*PreSharedKeyID).Unmarshal)
}

// Encode returns the encoding of g.
func (g GroupSecrets) Encode() ([]byte, error) { return encode(g) }

// DecodeGroupSecrets decodes a GroupSecrets.
func DecodeGroupSecrets(data []byte) (GroupSecrets, error) {
	return decode[GroupSecrets]("GroupSecrets", data)
}

// DecodeGroupSecretsBounded is DecodeGroupSecrets with at most
// b.MaxProposals psks (one per PreSharedKey proposal of the commit).
func DecodeGroupSecretsBounded(data []byte, b Bounds) (GroupSecrets, error) {
	return decodeWith[GroupSecrets](NewBoundedDecoder(data, b), "GroupSecrets")
}

// EncryptedGroupSecrets is the GroupSecrets of one new member, encrypted to
// the init key of its key package [RFC 9420, Section 12.4.3.1].
//
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
type EncryptedGroupSecrets struct {
	NewMember             KeyPackageRef
	EncryptedGroupSecrets HPKECiphertext
}

// Marshal appends the encoding of e to b.
func (e EncryptedGroupSecrets) Marshal(b *cryptobyte.Builder) {
	AddOpaque(b, e.NewMember)
	e.EncryptedGroupSecrets.Marshal(b)
}

// Unmarshal reads an EncryptedGroupSecrets from d.
func (e *EncryptedGroupSecrets) Unmarshal(d *Decoder) {
	e.NewMember = d.Opaque()
	e.EncryptedGroupSecrets.Unmarshal(d)
}

// Welcome lets new members join a group [RFC 9420, Section 12.4.3.1].
//
// [RFC 9420, Section 12.4.3.1]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4.3.1
type Welcome struct {
	CipherSuite        CipherSuite
	Secrets            []EncryptedGroupSecrets
	EncryptedGroupInfo []byte
}

// Marshal appends the encoding of w to b.
func (w Welcome) Marshal(b *cryptobyte.Builder) {
	b.AddUint16(uint16(w.CipherSuite))
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, s := range w.Secrets {
			s.Marshal(b)
		}
	})
	AddOpaque(b, w.EncryptedGroupInfo)
}

// Unmarshal reads a Welcome from d.
func (w *Welcome) Unmarshal(d *Decoder) {
	*w = Welcome{CipherSuite: CipherSuite(d.Uint16())}
	w.Secrets = list(d, "MaxProposals", d.bounds.MaxProposals, sizeEncryptedGroupSecrets, (*EncryptedGroupSecrets).Unmarshal)
	w.EncryptedGroupInfo = d.Opaque()
}

// Encode returns the encoding of w.
func (w Welcome) Encode() ([]byte, error) { return encode(w) }

// DecodeWelcome decodes a Welcome (not wrapped in an MLSMessage).
func DecodeWelcome(data []byte) (Welcome, error) {
	return decode[Welcome]("Welcome", data)
}
