// Package core holds the key of the core's zero-copy accessors and
// constructors.
//
// The values the library hands out (a GroupState, a Tree, the nodes,
// proposals and commits inside them) are sealed: their exported accessors
// return copies, so no caller can change a state it was given. The core
// itself reads the same values on its hot paths and must not pay for a copy
// per read; it uses accessors that share memory and constructors that trust
// their input, and each of those takes a Key as its first argument.
//
// A Key can be named only by packages of this module (Go's internal rule),
// and deps_test.go allows only the core packages that own or build states
// (tree, state, transitions) to import this package. Holding a Key is a
// promise to treat the shared memory as immutable.
package core

// Key unlocks the core's zero-copy accessors and state constructors. Its
// zero value is the only value; what restricts its use is who may import
// this package.
type Key struct{ _ [0]func() }
