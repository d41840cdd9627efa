// Package system draws seeds from the operating system's randomness. It is
// where mlscore's entropy comes from (the shell's SealedStorage nonces and
// the interop runner's fresh ids read crypto/rand directly, outside the
// core's entropy), and it lives apart from package entropy so that the pure core, which imports entropy for Source
// and FromSeed, cannot reach it: deps_test.go forbids every core package to
// import this one. The shell (root package mls) and embedders draw a seed
// here per event, record it in the event log, and hand the core
// entropy.FromSeed(seed).
package system

import (
	"crypto/rand"

	"github.com/mlscore/mlscore/entropy"
)

// Source returns a Source seeded from the operating system's randomness,
// together with the seed, which the caller records in the event log.
func Source() (entropy.Source, [32]byte) {
	seed := Seed()
	return entropy.FromSeed(seed), seed
}

// Seed returns a fresh 32-byte seed from the operating system.
func Seed() [32]byte {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		panic("mls: entropy: crypto/rand failed: " + err.Error())
	}
	return seed
}
