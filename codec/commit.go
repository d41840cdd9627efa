package codec

import (
	"golang.org/x/crypto/cryptobyte"
)

// Commit applies proposals and optionally updates the committer's path
// [RFC 9420, Section 12.4]. Path is nil when absent.
//
// [RFC 9420, Section 12.4]: https://www.rfc-editor.org/rfc/rfc9420#section-12.4
type Commit struct {
	Proposals []ProposalOrRef
	Path      *UpdatePath
}

// Marshal appends the encoding of c to b.
func (c Commit) Marshal(b *cryptobyte.Builder) {
	AddVector(b, func(b *cryptobyte.Builder) {
		for _, p := range c.Proposals {
			p.Marshal(b)
		}
	})
	addOptional(b, c.Path != nil, func(b *cryptobyte.Builder) { c.Path.Marshal(b) })
}

// Unmarshal reads a Commit from d.
func (c *Commit) Unmarshal(d *Decoder) {
	*c = Commit{}
	c.Proposals = list(d, "MaxProposals", d.bounds.MaxProposals, sizeProposalOrRef, (*ProposalOrRef).Unmarshal)
	if d.Optional() {
		c.Path = new(UpdatePath)
		c.Path.Unmarshal(d)
	}
}

// Encode returns the encoding of c.
func (c Commit) Encode() ([]byte, error) { return encode(c) }

// DecodeCommit decodes a Commit.
func DecodeCommit(data []byte) (Commit, error) { return decode[Commit]("Commit", data) }
