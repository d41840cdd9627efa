package vectors

import (
	"bytes"

	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
)

// pskSecretCase is one case of psk_secret.json (FORMAT.md, "Pre-Shared Keys").
type pskSecretCase struct {
	CipherSuite uint16 `json:"cipher_suite"`
	PSKs        []struct {
		PSKID    HexBytes `json:"psk_id"`
		PSK      HexBytes `json:"psk"`
		PSKNonce HexBytes `json:"psk_nonce"`
	} `json:"psks"`
	PSKSecret HexBytes `json:"psk_secret"`
}

// runPSKSecret checks keysched.ComputePSKSecret against psk_secret.json,
// with every PSK external.
func runPSKSecret(data []byte, r *Result) {
	cases, ok := decodeCases[pskSecretCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		cs, err := suite.Lookup(suite.ID(c.CipherSuite))
		if err != nil {
			r.Fail("case %d (suite %d): %v", i, c.CipherSuite, err)
			continue
		}
		psks := make([]keysched.PSK, len(c.PSKs))
		for j, p := range c.PSKs {
			psks[j] = keysched.PSK{ID: keysched.ExternalPSKID(p.PSKID, p.PSKNonce), Secret: p.PSK}
		}
		got, err := keysched.ComputePSKSecret(cs, psks)
		if err != nil {
			r.Fail("case %d (suite %d): %v", i, c.CipherSuite, err)
			continue
		}
		if !bytes.Equal(got.Bytes(cs), c.PSKSecret) {
			r.Fail("case %d (suite %d, %d psks): psk_secret mismatch", i, c.CipherSuite, len(c.PSKs))
			continue
		}
		r.Pass()
	}
}
