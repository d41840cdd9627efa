// Package props holds mlscore's property-based tests (pgregory.net/rapid)
// and the machinery they share: generators of valid group histories and
// messages, one-rule mutators, and the Rejects/Accepts checks.
//
// # Generators
//
// Gen draws a World: a cipher suite (1, 2 or 3), a configuration per
// member (outgoing wire format, padding, retained past epochs and
// resumption PSKs), a group grown to 2–8 members by commits of drawn
// members, then drawn operations (adds, removes, self-updates, updates by
// reference), each commit delivered to every member in a drawn order and
// checked (World.Check: same epoch, group context, tree hash and epoch
// authenticator everywhere). Every event goes through CheckedApply, which
// fails the test if a transition changes its input state, returns effects
// out of phase order, or fails without returning its input state and no
// effects. World.ValidCommit, ValidProposal, ValidApplication,
// ValidMessage, ValidUpdate and ValidExternalCommit produce valid messages
// in the current state.
//
// # Mutators
//
// A mutated message must break exactly one rule, so mutators re-sign,
// re-tag and re-encrypt what they change: Open recovers the
// AuthenticatedContent of a message as a receiver sees it, Sign signs
// content as its sender, Seal frames it again (PublicMessage with its
// membership tag, or PrivateMessage encrypted with the sender's ratchet,
// with chosen padding), and Reframe does all three around a content
// mutation. ReframeExternal does the same for external commits.
// CraftKeyPackage and ResignLeaf re-sign changed key packages and leaf
// nodes; FixPath recomputes an UpdatePath's parent-hash chain after its
// keys changed. A commit's confirmation tag covers its signed content, so
// a mutated commit keeps a stale tag; receivers check it last (ValSem205),
// after every other rule.
//
// # Properties
//
// TestValSemNNN, one per rule of valsem.Catalog, in files by family
// (valsem_framing_test.go, valsem_proposals_test.go, valsem_commit_test.go,
// valsem_external_test.go, valsem_tree_test.go, valsem_psk_test.go): the
// mutated message is rejected with that rule as the outermost error
// (Rejects: errors.Is, input digest unchanged, no effects) and the valid
// one is accepted (Accepts). TestCatalogCoverage fails if a rule lacks its
// property. TestProp* are the global invariants. By default each property
// runs 10 checks (rapid's -rapid.checks chooses another number);
// MLS_PROPS_LONG=1 makes the long run (1000 checks per property,
// MLS_PROPS_LONG=N for N, and longer histories).
package props
