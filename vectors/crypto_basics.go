package vectors

import (
	"bytes"

	"github.com/mlscore/mlscore/suite"
)

// cryptoBasicsCase is one case of crypto-basics.json (FORMAT.md, "Crypto
// Basics").
type cryptoBasicsCase struct {
	CipherSuite uint16 `json:"cipher_suite"`
	RefHash     *struct {
		Label string   `json:"label"`
		Value HexBytes `json:"value"`
		Out   HexBytes `json:"out"`
	} `json:"ref_hash"`
	ExpandWithLabel *struct {
		Secret  HexBytes `json:"secret"`
		Label   string   `json:"label"`
		Context HexBytes `json:"context"`
		Length  uint16   `json:"length"`
		Out     HexBytes `json:"out"`
	} `json:"expand_with_label"`
	DeriveSecret *struct {
		Secret HexBytes `json:"secret"`
		Label  string   `json:"label"`
		Out    HexBytes `json:"out"`
	} `json:"derive_secret"`
	DeriveTreeSecret *struct {
		Secret     HexBytes `json:"secret"`
		Label      string   `json:"label"`
		Generation uint32   `json:"generation"`
		Length     uint16   `json:"length"`
		Out        HexBytes `json:"out"`
	} `json:"derive_tree_secret"`
	SignWithLabel *struct {
		Priv      HexBytes `json:"priv"`
		Pub       HexBytes `json:"pub"`
		Content   HexBytes `json:"content"`
		Label     string   `json:"label"`
		Signature HexBytes `json:"signature"`
	} `json:"sign_with_label"`
	EncryptWithLabel *struct {
		Priv       HexBytes `json:"priv"`
		Pub        HexBytes `json:"pub"`
		Label      string   `json:"label"`
		Context    HexBytes `json:"context"`
		Plaintext  HexBytes `json:"plaintext"`
		KEMOutput  HexBytes `json:"kem_output"`
		Ciphertext HexBytes `json:"ciphertext"`
	} `json:"encrypt_with_label"`
}

// runCryptoBasics checks package suite against crypto-basics.json: RefHash,
// ExpandWithLabel, DeriveSecret, DeriveTreeSecret, SignWithLabel (the given
// signature verifies, and so does a fresh one) and EncryptWithLabel (the
// given ciphertext decrypts, and so does a fresh one).
func runCryptoBasics(data []byte, r *Result) {
	cases, ok := decodeCases[cryptoBasicsCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		cs, err := suite.Lookup(suite.ID(c.CipherSuite))
		if err != nil {
			r.Fail("case %d: %v", i, err)
			continue
		}
		if msg := checkCryptoBasics(cs, &c); msg != "" {
			r.Fail("case %d (suite %d): %s", i, c.CipherSuite, msg)
			continue
		}
		r.Pass()
	}
}

func checkCryptoBasics(cs *suite.Suite, c *cryptoBasicsCase) string {
	if c.RefHash == nil || c.ExpandWithLabel == nil || c.DeriveSecret == nil ||
		c.DeriveTreeSecret == nil || c.SignWithLabel == nil || c.EncryptWithLabel == nil {
		return "missing section"
	}

	if got := cs.RefHash(c.RefHash.Label, c.RefHash.Value); !bytes.Equal(got, c.RefHash.Out) {
		return sprintf("ref_hash: got %x, want %x", got, []byte(c.RefHash.Out))
	}

	e := c.ExpandWithLabel
	got, err := cs.ExpandWithLabel(e.Secret, e.Label, e.Context, int(e.Length))
	if err != nil {
		return sprintf("expand_with_label: %v", err)
	}
	if !bytes.Equal(got, e.Out) {
		return sprintf("expand_with_label: got %x, want %x", got, []byte(e.Out))
	}

	d := c.DeriveSecret
	if got, err = cs.DeriveSecret(d.Secret, d.Label); err != nil {
		return sprintf("derive_secret: %v", err)
	}
	if !bytes.Equal(got, d.Out) {
		return sprintf("derive_secret: got %x, want %x", got, []byte(d.Out))
	}

	t := c.DeriveTreeSecret
	if got, err = cs.DeriveTreeSecret(t.Secret, t.Label, t.Generation, int(t.Length)); err != nil {
		return sprintf("derive_tree_secret: %v", err)
	}
	if !bytes.Equal(got, t.Out) {
		return sprintf("derive_tree_secret: got %x, want %x", got, []byte(t.Out))
	}

	sg := c.SignWithLabel
	if err := cs.VerifyWithLabel(sg.Pub, sg.Label, sg.Content, sg.Signature); err != nil {
		return sprintf("sign_with_label: given signature: %v", err)
	}
	pub, err := cs.SignaturePublicKey(sg.Priv)
	if err != nil {
		return sprintf("sign_with_label: priv: %v", err)
	}
	if !bytes.Equal(pub, sg.Pub) {
		return sprintf("sign_with_label: public key of priv: got %x, want %x", pub, []byte(sg.Pub))
	}
	sig, err := cs.SignWithLabel(sg.Priv, sg.Label, sg.Content)
	if err != nil {
		return sprintf("sign_with_label: sign: %v", err)
	}
	if err := cs.VerifyWithLabel(sg.Pub, sg.Label, sg.Content, sig); err != nil {
		return sprintf("sign_with_label: own signature: %v", err)
	}

	en := c.EncryptWithLabel
	pt, err := cs.DecryptWithLabel(en.Priv, en.Label, en.Context, en.KEMOutput, en.Ciphertext)
	if err != nil {
		return sprintf("encrypt_with_label: given ciphertext: %v", err)
	}
	if !bytes.Equal(pt, en.Plaintext) {
		return sprintf("encrypt_with_label: given ciphertext: got %x, want %x", pt, []byte(en.Plaintext))
	}
	// The round trip's encapsulation seed is derived from the case itself,
	// so a run is reproducible.
	seed, err := cs.Expand(cs.Extract(nil, en.Context), []byte("crypto-basics encapsulation seed"), cs.HPKESeedLen())
	if err != nil {
		return sprintf("encrypt_with_label: seed: %v", err)
	}
	kemOutput, ct, err := cs.EncryptWithLabel(en.Pub, en.Label, en.Context, en.Plaintext, seed)
	if err != nil {
		return sprintf("encrypt_with_label: encrypt: %v", err)
	}
	if pt, err = cs.DecryptWithLabel(en.Priv, en.Label, en.Context, kemOutput, ct); err != nil {
		return sprintf("encrypt_with_label: own ciphertext: %v", err)
	}
	if !bytes.Equal(pt, en.Plaintext) {
		return sprintf("encrypt_with_label: own ciphertext: got %x, want %x", pt, []byte(en.Plaintext))
	}
	return ""
}
