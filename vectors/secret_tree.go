package vectors

import (
	"bytes"

	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
	"github.com/mlscore/mlscore/treemath"
)

// secretTreeCase is one case of secret-tree.json (FORMAT.md, "Secret Tree").
type secretTreeCase struct {
	CipherSuite uint16 `json:"cipher_suite"`
	SenderData  struct {
		SenderDataSecret HexBytes `json:"sender_data_secret"`
		Ciphertext       HexBytes `json:"ciphertext"`
		Key              HexBytes `json:"key"`
		Nonce            HexBytes `json:"nonce"`
	} `json:"sender_data"`
	EncryptionSecret HexBytes `json:"encryption_secret"`
	Leaves           [][]struct {
		Generation       uint32   `json:"generation"`
		HandshakeKey     HexBytes `json:"handshake_key"`
		HandshakeNonce   HexBytes `json:"handshake_nonce"`
		ApplicationKey   HexBytes `json:"application_key"`
		ApplicationNonce HexBytes `json:"application_nonce"`
	} `json:"leaves"`
}

// runSecretTree checks keysched's sender-data key derivation and secret tree
// against secret-tree.json. Each leaf's generations are requested in order
// from one persistent SecretTree value, so the test also covers ratcheting
// forward over skipped generations.
func runSecretTree(data []byte, r *Result) {
	cases, ok := decodeCases[secretTreeCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if msg := checkSecretTree(c); msg != "" {
			r.Fail("case %d (suite %d): %s", i, c.CipherSuite, msg)
			continue
		}
		r.Pass()
	}
}

func checkSecretTree(c secretTreeCase) string {
	cs, err := suite.Lookup(suite.ID(c.CipherSuite))
	if err != nil {
		return err.Error()
	}
	key, nonce, err := keysched.SenderDataKeyNonce(cs, c.SenderData.SenderDataSecret, c.SenderData.Ciphertext)
	if err != nil {
		return "sender data: " + err.Error()
	}
	if !bytes.Equal(key, c.SenderData.Key) || !bytes.Equal(nonce, c.SenderData.Nonce) {
		return "sender data key/nonce mismatch"
	}
	cfg := keysched.RatchetConfig{OutOfOrderTolerance: 0, MaximumForwardDistance: 1 << 16}
	tree, err := keysched.NewSecretTree(cs, c.EncryptionSecret, treemath.LeafCount(len(c.Leaves)), cfg)
	if err != nil {
		return err.Error()
	}
	for leaf, gens := range c.Leaves {
		for _, g := range gens {
			for _, k := range []struct {
				kind       keysched.RatchetKind
				key, nonce []byte
			}{
				{keysched.Handshake, g.HandshakeKey, g.HandshakeNonce},
				{keysched.Application, g.ApplicationKey, g.ApplicationNonce},
			} {
				var rk keysched.RatchetKey
				rk, tree, err = tree.Key(treemath.LeafIndex(leaf), k.kind, g.Generation)
				if err != nil {
					return sprintf("leaf %d %s generation %d: %v", leaf, k.kind, g.Generation, err)
				}
				if !bytes.Equal(rk.Key, k.key) || !bytes.Equal(rk.Nonce, k.nonce) {
					return sprintf("leaf %d %s generation %d: key/nonce mismatch", leaf, k.kind, g.Generation)
				}
			}
		}
	}
	return ""
}
