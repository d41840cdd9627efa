package keysched

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/suite"
)

// TestDecryptGroupSecretsBounded: a Welcome's creator lists more psks in
// the GroupSecrets than the joiner's MaxProposals allows; the bounded
// decryption rejects them with a *codec.LimitError before allocating
// them; the unbounded one too, on the decoder's memory allowance.
func TestDecryptGroupSecretsBounded(t *testing.T) {
	cs, err := suite.Lookup(1)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := cs.DeriveKeyPair(bytes.Repeat([]byte{7}, cs.HashLen()))
	if err != nil {
		t.Fatal(err)
	}
	const n = 1 << 12
	gs := codec.GroupSecrets{JoinerSecret: make([]byte, cs.HashLen()), PSKs: make([]codec.PreSharedKeyID, n)}
	for i := range gs.PSKs {
		gs.PSKs[i] = codec.PreSharedKeyID{PSKType: codec.PSKTypeExternal}
	}
	egi := []byte("encrypted group info")
	ct, err := EncryptGroupSecrets(cs, pub, egi, gs, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ref := codec.KeyPackageRef("ref")
	w := codec.Welcome{CipherSuite: 1, Secrets: []codec.EncryptedGroupSecrets{{NewMember: ref, EncryptedGroupSecrets: ct}}, EncryptedGroupInfo: egi}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = DecryptGroupSecretsBounded(cs, w, ref, priv, codec.Bounds{MaxProposals: 1024})
	runtime.ReadMemStats(&after)
	var le *codec.LimitError
	if !errors.As(err, &le) || le.Limit != "MaxProposals" || le.Max != 1024 {
		t.Fatalf("got %v, want a *codec.LimitError naming MaxProposals", err)
	}
	// The plaintext (about 3 bytes per psk) and the decryption; not the
	// 4096 PreSharedKeyIDs (over 100 bytes each).
	if got, max := after.TotalAlloc-before.TotalAlloc, uint64(2*len(ct.Ciphertext))+64<<10; got > max {
		t.Errorf("allocated %d bytes for a %d-byte ciphertext, want at most %d", got, len(ct.Ciphertext), max)
	}
	// Without the bound, the decoder's memory allowance rejects them:
	// 96 bytes a PreSharedKeyID for 3 bytes of input.
	_, err = DecryptGroupSecrets(cs, w, ref, priv)
	if !errors.As(err, &le) || le.Limit != "decoded memory" {
		t.Fatalf("unbounded: %v, want a *codec.LimitError naming decoded memory", err)
	}
}
