package vectors

import (
	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
)

// welcomeCase is one case of welcome.json (FORMAT.md, "Welcome").
type welcomeCase struct {
	CipherSuite uint16   `json:"cipher_suite"`
	InitPriv    HexBytes `json:"init_priv"`
	SignerPub   HexBytes `json:"signer_pub"`
	KeyPackage  HexBytes `json:"key_package"`
	Welcome     HexBytes `json:"welcome"`
}

// runWelcome checks keysched's Welcome primitives against welcome.json:
// decrypt the group secrets addressed to the key package, then the
// GroupInfo, verify its signature and its confirmation tag from a key
// schedule started at the joiner secret without PSKs.
func runWelcome(data []byte, r *Result) {
	cases, ok := decodeCases[welcomeCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if msg := checkWelcome(c); msg != "" {
			r.Fail("case %d (suite %d): %s", i, c.CipherSuite, msg)
			continue
		}
		r.Pass()
	}
}

func checkWelcome(c welcomeCase) string {
	cs, err := suite.Lookup(suite.ID(c.CipherSuite))
	if err != nil {
		return err.Error()
	}
	kpMsg, err := codec.DecodeMLSMessage(c.KeyPackage)
	if err != nil || kpMsg.KeyPackage == nil {
		return sprintf("key_package: not an MLSMessage(KeyPackage): %v", err)
	}
	wMsg, err := codec.DecodeMLSMessage(c.Welcome)
	if err != nil || wMsg.Welcome == nil {
		return sprintf("welcome: not an MLSMessage(Welcome): %v", err)
	}
	ref, err := keysched.KeyPackageRef(cs, *kpMsg.KeyPackage)
	if err != nil {
		return err.Error()
	}
	gs, err := keysched.DecryptGroupSecrets(cs, *wMsg.Welcome, ref, c.InitPriv)
	if err != nil {
		return err.Error()
	}
	joiner, err := keysched.NewJoinerSecret(cs, gs.JoinerSecret)
	if err != nil {
		return err.Error()
	}
	inter, err := joiner.WithPSK(keysched.NoPSK)
	if err != nil {
		return err.Error()
	}
	ws, err := inter.Welcome()
	if err != nil {
		return err.Error()
	}
	gi, err := ws.DecryptGroupInfo(wMsg.Welcome.EncryptedGroupInfo)
	if err != nil {
		return err.Error()
	}
	if err := keysched.VerifyGroupInfo(cs, c.SignerPub, gi); err != nil {
		return err.Error()
	}
	gc, err := gi.GroupContext.Encode()
	if err != nil {
		return err.Error()
	}
	es, err := inter.Epoch(gc)
	if err != nil {
		return err.Error()
	}
	if !es.VerifyConfirmationTag(gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag) {
		return "confirmation_tag does not verify"
	}
	return ""
}
