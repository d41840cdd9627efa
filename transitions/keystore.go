package transitions

import (
	"encoding/binary"
	"fmt"
	"maps"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/effects"
	"github.com/mlscore/mlscore/suite"
)

// KeyStore is an immutable in-memory KeyReader, for tests, the simulator and
// replay. Every With method returns a new store and leaves the receiver
// unchanged. The zero KeyStore is empty and ready to use.
type KeyStore struct {
	kps     map[string]KeyPackageBundle
	signers map[string]*suite.Signer
	psks    map[string][]byte
}

// KeyPackage implements KeyReader.
func (k KeyStore) KeyPackage(ref []byte) (KeyPackageBundle, bool) {
	b, ok := k.kps[string(ref)]
	return b, ok
}

// Signer implements KeyReader.
func (k KeyStore) Signer(pub []byte) (*suite.Signer, bool) {
	s, ok := k.signers[string(pub)]
	return s, ok
}

// ExternalPSK implements KeyReader.
func (k KeyStore) ExternalPSK(id []byte) ([]byte, bool) {
	p, ok := k.psks[string(id)]
	return p, ok
}

// WithKeyPackage returns a store that also holds b under ref.
func (k KeyStore) WithKeyPackage(ref []byte, b KeyPackageBundle) KeyStore {
	k.kps = maps.Clone(k.kps)
	if k.kps == nil {
		k.kps = map[string]KeyPackageBundle{}
	}
	k.kps[string(ref)] = b
	return k
}

// WithSignatureKey returns a store that also holds the signature private key
// priv of suite id.
func (k KeyStore) WithSignatureKey(id suite.ID, priv []byte) (KeyStore, error) {
	cs, err := suite.Lookup(id)
	if err != nil {
		return k, err
	}
	sg, err := cs.NewSigner(priv)
	if err != nil {
		return k, err
	}
	return k.WithSigner(sg), nil
}

// WithSigner returns a store that also holds sg, for its public key: a
// parsed key, or one held outside the store (suite.NewExternalSigner), as
// a tool replaying the log of a client with an external signer needs.
func (k KeyStore) WithSigner(sg *suite.Signer) KeyStore {
	k.signers = maps.Clone(k.signers)
	if k.signers == nil {
		k.signers = map[string]*suite.Signer{}
	}
	k.signers[string(sg.Public())] = sg
	return k
}

// WithExternalPSK returns a store that also holds the external PSK psk under
// psk_id id.
func (k KeyStore) WithExternalPSK(id, psk []byte) KeyStore {
	k.psks = maps.Clone(k.psks)
	if k.psks == nil {
		k.psks = map[string][]byte{}
	}
	k.psks[string(id)] = append([]byte(nil), psk...)
	return k
}

// With returns the store after the PersistSecret and DeleteSecret effects
// of effs (other effects are ignored): what a shell's secret storage holds
// after carrying them out. It fails on a PersistSecret it cannot parse.
func (k KeyStore) With(effs []effects.Effect) (KeyStore, error) {
	out := k
	for _, e := range effs {
		switch e := e.(type) {
		case effects.PersistSecret:
			switch e.Ref.Kind {
			case effects.SecretKeyPackage:
				b, err := DecodeKeyPackageBundle(e.Secret)
				if err != nil {
					return k, err
				}
				out = out.WithKeyPackage(e.Ref.ID, b)
			case effects.SecretSignatureKey:
				if len(e.Secret) < 2 {
					return k, fmt.Errorf("mls: malformed signature key secret")
				}
				var err error
				out, err = out.WithSignatureKey(suite.ID(binary.BigEndian.Uint16(e.Secret)), e.Secret[2:])
				if err != nil {
					return k, err
				}
			}
		case effects.DeleteSecret:
			switch e.Ref.Kind {
			case effects.SecretKeyPackage:
				if _, ok := out.kps[string(e.Ref.ID)]; ok {
					out.kps = maps.Clone(out.kps)
					delete(out.kps, string(e.Ref.ID))
				}
			case effects.SecretSignatureKey:
				if _, ok := out.signers[string(e.Ref.ID)]; ok {
					out.signers = maps.Clone(out.signers)
					delete(out.signers, string(e.Ref.ID))
				}
			}
		}
	}
	return out, nil
}

// Len returns the number of key packages, signature keys and PSKs held.
func (k KeyStore) Len() int { return len(k.kps) + len(k.signers) + len(k.psks) }

const bundleFormat = 1

// EncodeKeyPackageBundle returns the encoding of b carried by a
// PersistSecret of kind SecretKeyPackage: uint8 version, the KeyPackage,
// opaque init_priv<V>, opaque encryption_priv<V>, uint8 last_resort.
func EncodeKeyPackageBundle(b KeyPackageBundle) ([]byte, error) {
	var bb cryptobyte.Builder
	bb.AddUint8(bundleFormat)
	b.KeyPackage.Marshal(&bb)
	codec.AddOpaque(&bb, b.InitPriv)
	codec.AddOpaque(&bb, b.EncryptionPriv)
	addBool(&bb, b.LastResort)
	return bb.Bytes()
}

// DecodeKeyPackageBundle decodes what EncodeKeyPackageBundle encodes.
func DecodeKeyPackageBundle(data []byte) (KeyPackageBundle, error) {
	d := codec.NewDecoder(data)
	var b KeyPackageBundle
	if v := d.Uint8(); d.OK() && v != bundleFormat {
		return b, fmt.Errorf("mls: key package bundle format %d, want %d", v, bundleFormat)
	}
	b.KeyPackage.Unmarshal(d)
	b.InitPriv = d.Opaque()
	b.EncryptionPriv = d.Opaque()
	b.LastResort = d.Optional()
	if err := d.Finish("KeyPackageBundle"); err != nil {
		return KeyPackageBundle{}, err
	}
	return b, nil
}
