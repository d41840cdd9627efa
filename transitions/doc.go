// Package transitions is the MLS state machine of mlscore: the closed set of
// events, the environment they run in, and Apply, the pure transition
//
//	Apply(state, event, env) -> (state', effects, error)
//
// that implements RFC 9420: group creation (Section 11), key packages
// (Section 10), proposals and commits (Section 12), Welcome and joining
// (Section 12.4.3.1), message framing and protection (Section 6), the
// secret tree (Section 9), exporters and epoch authenticators (Sections 8.5
// and 8.7), and every validation rule of the valsem catalog for these
// operations, each failure a typed error.
//
// # The embedder's duties
//
// Apply is the core; it does no I/O, reads no clock and draws no
// randomness of its own. An embedder (the root package mls, the simulator,
// the replayer) drives it like this, for every input:
//
//  1. Build the event: a local intent (Commit, Protect, ...) or received
//     bytes (Receive, JoinWelcome), with At set to the current time in
//     seconds since the Unix epoch.
//  2. Draw a fresh 32-byte seed (package entropy/system: system.Seed) and set Env.Entropy to
//     entropy.FromSeed(seed). Set Env.Keys to a read-only view of the
//     secrets held outside the state (key package bundles, signature keys,
//     external PSKs), Env.Policy and Env.Limits.
//  3. Call Apply(current, event, env). On error the current state is still
//     valid and unchanged: log the rejection if desired and stop.
//  4. Durably append the event log record (event bytes from EncodeEvent,
//     seed, outcome, new state's Digest, effects.Digest) or store the new
//     state, before acting on any effect.
//  5. Carry out the PhasePersist effects: store each PersistSecret.
//  6. Carry out the PhaseSend effects: hand SendToGroup, SendWelcome and
//     PublishGroupInfo messages to the delivery service.
//  7. Carry out the PhaseDeliver effects: tell the application about
//     delivered plaintext, received proposals, staged commits (then decide:
//     MergeStaged or DiscardStaged), advanced epochs and removals.
//  8. Only after the new state is durable, carry out the PhaseDelete
//     effects: erase every secret a DeleteSecret names, and any stored copy
//     of the old state. Forward secrecy depends on this step.
//  9. For an own commit, wait for the delivery service's answer and apply
//     ConfirmCommit (accepted) or AbortCommit (rejected). Never send a
//     Welcome's recipients anything before the commit is confirmed.
//
// # Processing stages
//
// A received message moves through distinct internal types, so that no
// step can be skipped: bytes → decoded (MLSMessage, version, wire format
// policy) → framed (group id ValSem002, epoch ValSem003, sender ValSem004)
// → authenticated (membership tag ValSem007/008, decryption ValSem006/011,
// signature ValSem010, confirmation tag presence ValSem009) → for a commit,
// staged (proposal list ValSem101–113 and RFC 9420, Section 12.2, commit
// ValSem200–209) → applied (MergeStaged).
//
// Proposal lists are validated by one pipeline with two modes: a committer
// drops invalid by-reference proposals (RFC 9420, Section 12.2: "the
// committer MUST NOT include" them) and rejects invalid inline ones; a
// receiver rejects the commit on any invalid proposal.
//
// # Joining
//
// Joining is two-step: JoinWelcome validates the Welcome and returns a
// joining state (state.GroupState.StagedJoin shows the group and its
// members, a WelcomeStaged effect summarises it); AcceptJoin makes it a
// member's state, RejectJoin drops it. Env.Policy.AcceptCredential and
// AcceptCredentialAt (with the event's At) see every member's credential
// during JoinWelcome.
//
// An external join (RFC 9420, Section 12.4.3.2) follows the same two
// steps: a member publishes a GroupInfo with PublishGroupInfo; the joiner's
// ExternalJoin builds the external commit (ExternalInit, path, optional
// resync Remove and PSKs) and returns a joining state; AcceptJoin once the
// delivery service accepted the commit, RejectJoin (back to the prior
// state) otherwise. Members receive the commit like any other (ValSem240–
// ValSem246), with Env.Policy.AcceptResync judging a resync.
//
// # Outside senders, PSKs, reinit and branching
//
// Non-members send proposals with ExternalPropose (an external_senders
// entry, RFC 9420, Section 12.1.8.1) and ProposeAsNewMember (Section
// 12.1.8); Env.Policy.AcceptExternalProposal decides whether members store
// them, and Env.Policy.SelectProposals whether a commit covers them.
// External PSKs come from Env.Keys; resumption PSKs of the group's own past
// epochs from the state (Config.ResumptionPSKs of them, ValSem400), those of
// another group from Env.Keys under ResumptionPSKID. A commit covering a
// ReInit closes the group (state.Public.ReInit); ReInitGroup (with
// ReInitGroupFor) and BranchGroup found the successor group or a subgroup
// at epoch 1 with the reinit or branch PSK (Sections 11.2 and 11.3), and
// the other members join it with JoinWelcome. For both, every member puts
// the old epoch's Resumption (ResumptionOf: the secret with the old group's
// version, suite, members and committed ReInit) into Env.Keys
// (KeyStore.WithResumption); founder and joiners check the new group
// against it, the joiners with Env.Policy.MatchBranchMember for subgroups.
//
// With Env.Policy.Grease, key packages, leaf nodes and published
// GroupInfos carry GREASE values (Section 13.5); unknown values are
// ignored everywhere the RFC says so.
//
// # Bounded work for hostile input
//
// Every input from outside is checked against Env.Limits before it is
// decoded (MaxMessageBytes) and while it is decoded (MaxLeaves,
// MaxProposals), so that a rejected input costs memory proportional to its
// size with a small constant; a limit exceeded is a *LimitError naming the
// Limits field. The constants (bytes allocated per input byte, 64-bit,
// measured by the tests named):
//
//   - Receive (MLSMessage with a PublicMessage or PrivateMessage),
//     JoinWelcome, ExternalJoin, ProposeAsNewMember and ExternalPropose
//     (Welcome, GroupInfo): the message is decoded with
//     codec.DecodeMLSMessageBounded (or its shared variant) within
//     MaxProposals and MaxLeaves (an UpdatePath's nodes within the depth
//     of a tree of MaxLeaves leaves), at most 20 per byte plus 64 KiB
//     (codec.MaxMemoryPerByte; codec.TestDecodeAllocationBounded, and mls
//     TestHostileMessagesBounded through Group.Process); a vector over its
//     bound is rejected before its elements are allocated, an input whose
//     values would take more than the codec's allowance (16 per byte plus
//     48 KiB) when it is reached.
//   - A ratchet tree, in a ratchet_tree extension or given out of band,
//     is decoded with tree.Decode within MaxLeaves: a tree over the bound
//     is rejected after at most 8 bytes per node of the bound's width
//     (tree.TestDecodeBoundedByMaxLeaves); JoinWelcome with a genuine
//     Welcome and a 1 MiB tree of blank nodes allocates 1.0 per byte,
//     ExternalJoin with a GroupInfo carrying it 2.0 (mls
//     TestHostileTreeBounded). A tree within the bound costs about 150
//     bytes per node of the padded tree (at most 200, asserted by
//     tree.TestDecodeBoundedByMaxLeaves at the bound): a blank node is one
//     byte on the wire, so this cost is bounded by the limit, 27 MiB for
//     65536 leaves, not by the input. It is the price of holding a sparse
//     tree of that many leaves, which a group within MaxLeaves may
//     legitimately have; a caller expecting smaller groups lowers
//     MaxLeaves.
//   - Key packages (AddMembers, Commit with Add proposals) are decoded
//     within the same budget as messages; one that decodes is encoded
//     once for its two signatures (the key package's TBS holds its leaf
//     node's, each verified in place) before anything else is checked, at
//     most 20 per byte plus 64 KiB in all (mls
//     TestHostileKeyPackagesBounded through Group.AddMembers and
//     ProposeAdd: 19.0 per byte for a leaf node of 65535 empty extensions,
//     7.0 for capabilities of 2^19 proposal types; an x509 chain of empty
//     certificates is rejected while decoding, naming "decoded memory").
//
// Decoders outside Apply take the bounds from Limits.Bounds and reject a
// stored tree over MaxLeaves before reading it (under 1 byte allocated per
// input byte beyond 64 KiB: state.TestDecodeBoundedHostileTree,
// replay.TestHostileLogBounded, replay.TestHostileSnapshotResume):
// state.DecodeBounded for replay's snapshots (replay.ReplayLog, and
// replay.ResumeRecorder within its Env's Limits, both through
// replay.DecodeSnapshotDataBounded), state.DecodePublicBounded for a log's
// checkpoints (replay.Replay, within each record's Limits) and
// state.DecodeSplitBounded for the shell's stored snapshot (within the
// client's Limits). state.Decode, DecodePublic and DecodeSplit (and
// replay.DecodeSnapshotData) bound a tree by the leaf count the encoding
// declares; no entry point reading files, logs, snapshots, interop
// requests or the CLI's input uses them (the Recorder decodes with
// DecodePublic only the checkpoint it has just encoded).
package transitions
