package vectors

import (
	"bytes"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
)

// keyScheduleCase is one case of key-schedule.json (FORMAT.md, "Key Schedule").
type keyScheduleCase struct {
	CipherSuite       uint16   `json:"cipher_suite"`
	GroupID           HexBytes `json:"group_id"`
	InitialInitSecret HexBytes `json:"initial_init_secret"`
	Epochs            []struct {
		TreeHash                HexBytes `json:"tree_hash"`
		CommitSecret            HexBytes `json:"commit_secret"`
		PSKSecret               HexBytes `json:"psk_secret"`
		ConfirmedTranscriptHash HexBytes `json:"confirmed_transcript_hash"`
		GroupContext            HexBytes `json:"group_context"`
		JoinerSecret            HexBytes `json:"joiner_secret"`
		WelcomeSecret           HexBytes `json:"welcome_secret"`
		InitSecret              HexBytes `json:"init_secret"`
		SenderDataSecret        HexBytes `json:"sender_data_secret"`
		EncryptionSecret        HexBytes `json:"encryption_secret"`
		ExporterSecret          HexBytes `json:"exporter_secret"`
		EpochAuthenticator      HexBytes `json:"epoch_authenticator"`
		ExternalSecret          HexBytes `json:"external_secret"`
		ConfirmationKey         HexBytes `json:"confirmation_key"`
		MembershipKey           HexBytes `json:"membership_key"`
		ResumptionPSK           HexBytes `json:"resumption_psk"`
		ExternalPub             HexBytes `json:"external_pub"`
		Exporter                struct {
			Label   string   `json:"label"`
			Context HexBytes `json:"context"`
			Length  int      `json:"length"`
			Secret  HexBytes `json:"secret"`
		} `json:"exporter"`
	} `json:"epochs"`
}

// runKeySchedule checks keysched's typed key schedule, exporter and external
// key pair against key-schedule.json, chaining each epoch's init secret
// into the next.
func runKeySchedule(data []byte, r *Result) {
	cases, ok := decodeCases[keyScheduleCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if msg := checkKeySchedule(c); msg != "" {
			r.Fail("case %d (suite %d): %s", i, c.CipherSuite, msg)
			continue
		}
		r.Pass()
	}
}

func checkKeySchedule(c keyScheduleCase) string {
	cs, err := suite.Lookup(suite.ID(c.CipherSuite))
	if err != nil {
		return err.Error()
	}
	init, err := keysched.NewInitSecret(cs, c.InitialInitSecret)
	if err != nil {
		return err.Error()
	}
	for n, e := range c.Epochs {
		gc, err := codec.GroupContext{
			Version:                 codec.MLS10,
			CipherSuite:             codec.CipherSuite(c.CipherSuite),
			GroupID:                 c.GroupID,
			Epoch:                   uint64(n),
			TreeHash:                e.TreeHash,
			ConfirmedTranscriptHash: e.ConfirmedTranscriptHash,
		}.Encode()
		if err != nil {
			return sprintf("epoch %d: encoding GroupContext: %v", n, err)
		}
		if !bytes.Equal(gc, e.GroupContext) {
			return sprintf("epoch %d: group_context mismatch", n)
		}
		joiner, err := init.Joiner(e.CommitSecret, gc)
		if err != nil {
			return sprintf("epoch %d: %v", n, err)
		}
		psk, err := keysched.NewPSKSecret(cs, e.PSKSecret)
		if err != nil {
			return sprintf("epoch %d: %v", n, err)
		}
		inter, err := joiner.WithPSK(psk)
		if err != nil {
			return sprintf("epoch %d: %v", n, err)
		}
		welcome, err := inter.Welcome()
		if err != nil {
			return sprintf("epoch %d: %v", n, err)
		}
		es, err := inter.Epoch(gc)
		if err != nil {
			return sprintf("epoch %d: %v", n, err)
		}
		init = es.Next()
		for _, f := range []struct {
			name      string
			got, want []byte
		}{
			{"joiner_secret", joiner.Bytes(), e.JoinerSecret},
			{"welcome_secret", welcome.Bytes(), e.WelcomeSecret},
			{"init_secret", init.Bytes(), e.InitSecret},
			{"sender_data_secret", es.SenderDataSecret(), e.SenderDataSecret},
			{"encryption_secret", es.EncryptionSecret(), e.EncryptionSecret},
			{"exporter_secret", es.ExporterSecret(), e.ExporterSecret},
			{"epoch_authenticator", es.EpochAuthenticator(), e.EpochAuthenticator},
			{"external_secret", es.ExternalSecret(), e.ExternalSecret},
			{"confirmation_key", es.ConfirmationKey(), e.ConfirmationKey},
			{"membership_key", es.MembershipKey(), e.MembershipKey},
			{"resumption_psk", es.ResumptionPSK(), e.ResumptionPSK},
		} {
			if !bytes.Equal(f.got, f.want) {
				return sprintf("epoch %d: %s mismatch", n, f.name)
			}
		}
		_, pub, err := es.ExternalKeyPair()
		if err != nil {
			return sprintf("epoch %d: external key pair: %v", n, err)
		}
		if !bytes.Equal(pub, e.ExternalPub) {
			return sprintf("epoch %d: external_pub mismatch", n)
		}
		exp, err := es.Export(e.Exporter.Label, e.Exporter.Context, e.Exporter.Length)
		if err != nil {
			return sprintf("epoch %d: exporter: %v", n, err)
		}
		if !bytes.Equal(exp, e.Exporter.Secret) {
			return sprintf("epoch %d: exporter secret mismatch", n)
		}
	}
	return ""
}
