package vectors

import (
	"bytes"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/keysched"
	"github.com/mlscore/mlscore/suite"
)

// transcriptHashesCase is one case of transcript-hashes.json (FORMAT.md,
// "Transcript Hashes").
type transcriptHashesCase struct {
	CipherSuite                  uint16   `json:"cipher_suite"`
	ConfirmationKey              HexBytes `json:"confirmation_key"`
	AuthenticatedContent         HexBytes `json:"authenticated_content"`
	InterimTranscriptHashBefore  HexBytes `json:"interim_transcript_hash_before"`
	ConfirmedTranscriptHashAfter HexBytes `json:"confirmed_transcript_hash_after"`
	InterimTranscriptHashAfter   HexBytes `json:"interim_transcript_hash_after"`
}

// runTranscriptHashes checks keysched's transcript hashes and confirmation
// tag against transcript-hashes.json.
func runTranscriptHashes(data []byte, r *Result) {
	cases, ok := decodeCases[transcriptHashesCase](data, r)
	if !ok {
		return
	}
	for i, c := range cases {
		if msg := checkTranscriptHashes(c); msg != "" {
			r.Fail("case %d (suite %d): %s", i, c.CipherSuite, msg)
			continue
		}
		r.Pass()
	}
}

func checkTranscriptHashes(c transcriptHashesCase) string {
	cs, err := suite.Lookup(suite.ID(c.CipherSuite))
	if err != nil {
		return err.Error()
	}
	ac, err := codec.DecodeAuthenticatedContent(c.AuthenticatedContent)
	if err != nil {
		return err.Error()
	}
	if ac.Content.ContentType != codec.ContentTypeCommit {
		return "authenticated_content is not a commit"
	}
	if !keysched.VerifyConfirmationTag(cs, c.ConfirmationKey, c.ConfirmedTranscriptHashAfter, ac.Auth.ConfirmationTag) {
		return "confirmation_tag does not verify"
	}
	confirmed, interim, err := keysched.TranscriptHashes(cs, c.InterimTranscriptHashBefore, ac)
	if err != nil {
		return err.Error()
	}
	if !bytes.Equal(confirmed, c.ConfirmedTranscriptHashAfter) {
		return "confirmed_transcript_hash_after mismatch"
	}
	if !bytes.Equal(interim, c.InterimTranscriptHashAfter) {
		return "interim_transcript_hash_after mismatch"
	}
	return ""
}
