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
// Only K makes a Key that unlocks them. A Key can be named only by
// packages of this module (Go's internal rule), and deps_test.go allows
// only the core packages that own or build states (tree, state,
// transitions, and internal/synth's fixtures) to import this package. A
// caller elsewhere can still obtain the zero Key without naming its type
// (through a generic function's type inference), but not a valid one: its
// only field is unexported. The accessors treat the zero Key as no key —
// they return copies, and the constructors copy what they are given or
// refuse — so holding one gains nothing. Holding a valid Key is a
// promise to treat the shared memory as immutable.
package core

// Key unlocks the core's zero-copy accessors and state constructors when
// K made it; its zero value unlocks nothing.
type Key struct{ valid bool }

// K returns the Key that unlocks the zero-copy accessors.
func K() Key { return Key{valid: true} }

// Valid reports whether k is the Key K returns, not the zero Key.
func (k Key) Valid() bool { return k.valid }
