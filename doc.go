// Package mls is the imperative shell of mlscore: it wires the pure core
// (package transitions) to storage, the system's randomness and clock, and
// offers an ergonomic group API in the manner of OpenMLS's MlsGroup.
//
// The shell is built on top of the core packages as they land; see
// README.md for what is available today.
package mls
