// Package entropytest gives tests a deterministic entropy.Source tied to the
// test's name, so every test draws the same bytes on every run.
package entropytest

import (
	"crypto/sha256"
	"testing"

	"github.com/mlscore/mlscore/entropy"
)

// ForTest returns a Source seeded with SHA-256 of the test's name.
func ForTest(t testing.TB) entropy.Source {
	return entropy.FromSeed(Seed(t))
}

// Seed returns SHA-256 of the test's name.
func Seed(t testing.TB) [32]byte {
	return sha256.Sum256([]byte(t.Name()))
}
