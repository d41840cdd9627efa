// Package shellhook reaches two unexported operations of the shell
// (package mls) that its benchmarks need and its API does not offer:
// putting a synthetic group state (package internal/synth) into a client,
// and putting a group back into a given state between iterations. Package
// mls sets both at initialisation; package internal/shellbench, which the
// root package's benchmarks and those of the nested storage modules
// (storage/sqlite) run, calls them. Being internal, it is reachable only
// from this module's tree, never from an application.
package shellhook

import (
	"github.com/mlscore/mlscore/state"
	"github.com/mlscore/mlscore/transitions"
)

// Adopt stores s as a new group of the client c (an *mls.Client), makes
// ks the client's key store (the group's secrets: synthetic states come
// with their keys, not with stored secrets) and returns the group (an
// *mls.Group). It writes the group's snapshot and tree nodes in one
// commit, as creating a group does. Set by package mls at initialisation;
// never written afterwards.
var Adopt func(c any, s state.GroupState, ks transitions.KeyStore) (g any, err error)

// Reset puts the group g (an *mls.Group that Adopt returned) back into
// state s, storing s's snapshot. Set by package mls at initialisation;
// never written afterwards.
var Reset func(g any, s state.GroupState) error
