package state

import (
	"errors"
	"testing"

	"github.com/mlscore/mlscore/valsem"
)

// TestConfigCheckResumptionPSKs: the bound on stored resumption PSKs is a
// ValSem400 error (RFC 9420, Section 8.6); other bad values are plain
// errors.
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
		{"past epochs over their limit", func(c *Config) { c.MaxPastEpochs = MaxPastEpochsLimit + 1 }, true, nil},
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
			if tt.code == nil && errors.Is(err, valsem.ValSem400) {
				t.Fatalf("Check() = %v is a ValSem400 error", err)
			}
		})
	}
}
