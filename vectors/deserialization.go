package vectors

import (
	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
)

// deserializationCase is one case of deserialization.json: a variable-length
// vector header and the length it encodes.
type deserializationCase struct {
	VLBytesHeader HexBytes `json:"vlbytes_header"`
	Length        uint32   `json:"length"`
}

// runDeserialization decodes each vlbytes_header as a varint and checks the
// length, that the whole header is consumed, and that re-encoding gives the
// same header (FORMAT.md, "Vector Deserialization").
func runDeserialization(data []byte, r *Result) {
	cases, ok := decodeCases[deserializationCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		s := cryptobyte.String(c.VLBytesHeader)
		n, err := codec.ReadVarintErr(&s)
		switch {
		case err != nil:
			r.Fail("case %d: field vlbytes_header: %v", i, err)
		case n != c.Length:
			r.Fail("case %d: field length: got %d, want %d", i, n, c.Length)
		case len(s) != 0:
			r.Fail("case %d: field vlbytes_header: %d bytes left after the header", i, len(s))
		default:
			var b cryptobyte.Builder
			codec.AddVarint(&b, n)
			if enc, err := b.Bytes(); err != nil || string(enc) != string(c.VLBytesHeader) {
				r.Fail("case %d: field vlbytes_header: re-encoded as %x (%v)", i, enc, err)
				continue
			}
			r.Pass()
		}
	}
}
