package state

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
	"github.com/mlscore/mlscore/valsem"
)

// TestConfigCheckResumptionPSKs: the bound on stored resumption PSKs is a
// ValSem400 error (RFC 9420, Section 8.6); other bad values match
// ErrInvalidConfig.
func TestConfigCheckResumptionPSKs(t *testing.T) {
	tests := []struct {
		name    string
		mut     func(*Config)
		wantErr bool
		code    error
	}{
		{"default", func(*Config) {}, false, nil},
		{"at the limit", func(c *Config) { c.ResumptionPSKs = MaxResumptionPSKsLimit }, false, nil},
		{"over the limit", func(c *Config) { c.ResumptionPSKs = MaxResumptionPSKsLimit + 1 }, true, valsem.ValSem400},
		{"far over the limit", func(c *Config) { c.ResumptionPSKs = 1 << 31 }, true, valsem.ValSem400},
		{"past epochs over their limit", func(c *Config) { c.MaxPastEpochs = MaxPastEpochsLimit + 1 }, true, ErrInvalidConfig},
		{"padding over its limit", func(c *Config) { c.PaddingSize = MaxPaddingSize + 1 }, true, ErrInvalidConfig},
		{"unknown outgoing wire format", func(c *Config) { c.WireFormat.Outgoing = 7 }, true, ErrInvalidConfig},
		{"unknown incoming wire format", func(c *Config) { c.WireFormat.Incoming = 7 }, true, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mut(&c)
			err := c.Check()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Check() = %v, want error %v", err, tt.wantErr)
			}
			if tt.code != nil && !errors.Is(err, tt.code) {
				t.Fatalf("Check() = %v, want %v", err, tt.code)
			}
			if tt.code != valsem.ValSem400 && errors.Is(err, valsem.ValSem400) {
				t.Fatalf("Check() = %v is a ValSem400 error", err)
			}
		})
	}
}

// TestConfigEncodingPastEpochAge: a configuration without an age encodes
// as before the age existed (the flags byte is the old boolean), one with
// an age appends it, and decoding is canonical.
func TestConfigEncodingPastEpochAge(t *testing.T) {
	enc := func(c Config) []byte {
		var b cryptobyte.Builder
		c.Marshal(&b)
		return b.BytesOrPanic()
	}
	dec := func(data []byte) (Config, error) {
		var c Config
		d := codec.NewDecoder(data)
		c.Unmarshal(d)
		return c, d.Finish("Config")
	}
	c := DefaultConfig()
	c.RatchetTreeExtension = true
	old := enc(c)
	// wire 1+1, padding 4, past epochs 4, resumption 4, flags 1, ratchet 4+4.
	if len(old) != 23 || old[14] != 1 {
		t.Fatalf("encoding without an age %x: not the version-1 layout", old)
	}
	c.MaxPastEpochAge = 300
	aged := enc(c)
	if !bytes.Equal(aged[:14], old[:14]) || aged[14] != 3 || !bytes.Equal(aged[15:23], old[15:23]) ||
		!bytes.Equal(aged[23:], []byte{0, 0, 0, 0, 0, 0, 1, 44}) {
		t.Fatalf("encoding with an age %x", aged)
	}
	for _, tt := range []struct {
		name string
		data []byte
		want *Config
	}{
		{"version-1 layout", old, &Config{WireFormat: c.WireFormat, RatchetTreeExtension: true, SenderRatchet: c.SenderRatchet}},
		{"with an age", aged, &c},
		{"age flag with age 0", append(bytes.Clone(aged[:23]), 0, 0, 0, 0, 0, 0, 0, 0), nil},
		{"unknown flag", append(append(bytes.Clone(old[:14]), 4), old[15:]...), nil},
		{"age flag without the age", aged[:23], nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dec(tt.data)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("decoded %+v", got)
				}
				return
			}
			if err != nil || got != *tt.want {
				t.Fatalf("decoded %+v, %v; want %+v", got, err, *tt.want)
			}
		})
	}
}
