// Package replay owns mlscore's event log: an append-only, hash-chained,
// checksummed sequence of the inputs to a member's state machine, each with
// its entropy seed, its outcome and digests of the state and effects it
// produced. Replaying a log through the pure transitions rebuilds every
// state bit for bit; the first record whose outcome or digests differ is a
// divergence.
//
// # Format
//
// A log is a header frame, then (SnapshotAndTail logs only) a snapshot
// frame, then record frames; every frame is length-prefixed and
// CRC-32C-checked, and every record holds the SHA-256 of the previous one
// (Hash). Read and ReadLog drop a torn or damaged final record (a crash
// during the last write) and report damage anywhere else as a
// *CorruptError with the sequence number of the damaged record, never
// skipping it. The package does no I/O of its own: it encodes to an
// io.Writer and reads bytes; package replay/logfile keeps a log in a file
// (Create, Open, which truncates a torn tail before appending, ReadFile).
//
// # Writing and replaying
//
// Apply is the one apply-and-record driver: it applies an event
// (transitions.Apply with the entropy of its seed), carries the
// PersistSecret and DeleteSecret effects into the key store, and gives the
// event's record (Applied.Record). The shell runs every Group and Client
// operation through it, and so do the Recorder and Replay. A Recorder
// drives one member's state machine and logs every event, rejected ones
// included. Replay and ReplayLog re-run a log
// the same way: they verify the chain, decode each event, apply it with the
// entropy of the record's seed, compare the outcome (OutcomeOf), the state
// digest and the effects digest, and rebuild the key store, stopping at the
// first mismatch with a *Divergence (the record, the event, the field, and
// the replayed views before and after it; DiffViews lists what changed).
// Result.StateAt gives the state after any record: time travel.
//
// # Why members split
//
// Diff compares members' logs of one group: it replays each, groups the
// members into views (same epoch, same epoch authenticator), and for each
// view that differs from the largest finds the last epoch they agreed on,
// what each member did next, the cause (a commit missed, rejected,
// discarded or left staged; two commits accepted for one epoch; a pending
// commit merged after another won; a state rolled back, seen either in a
// member's own log or as two logs of one member whose chains part), the
// messages rejected because of it, and the recovery as operations of the
// mls API (process the missing commits, whose bytes the report carries, or
// re-join with Group.Resync). DiffReport.Text writes it for a reader; `mls
// diff` is the command.
//
// # Modes and forward secrecy
//
// A Full log holds every seed, and the seeds regenerate every key of every
// epoch, so a Full log is as sensitive as all of those keys together: for
// tests, simulation and consented debugging. A Public log zeroes the seeds:
// its local intents cannot be re-run and no member state (and no secret)
// is rebuilt; see "Public logs" below. A SnapshotAndTail
// log (Retain, Compact) keeps a snapshot of the state (state.Encode with
// the live key store secrets, EncodeSnapshotData) and the records after
// it, so secrets older than the snapshot cannot be rebuilt from the log.
// ReplayLog starts such a log from its snapshot: the snapshot frame must
// pass its checksum and decode strictly, and the decoded state's digest
// must be the State of the record it replaces, or the snapshot is never
// used. The snapshot itself holds the member's current secrets (and
// those of retained past epochs): store it like key material and replace
// it, never keep old ones, or forward secrecy is lost.
//
// # Public logs
//
// A Public log (format 3 on) records with each event the public digest of
// the member's state after it (state.GroupState.PublicDigest) and, where
// an Observer holding the previous public state could not derive the new
// one from the event, a checkpoint: the public state itself
// (state.EncodePublic), which holds no secret. The Recorder decides where
// checkpoints go by running the same Observer, so a log holds them
// exactly where observation fails.
//
// Replaying a Public log proves:
//
//   - the hash chain is intact and every event decodes;
//   - every received PublicMessage proposal and commit — from a member, an
//     external sender or a new member (external commits included) — passes
//     the checks of transitions.PublicGroup, the public mode of the
//     member's own pipeline: framing, the signature of the sender's key,
//     the proposal rules, leaf node and key package validation, proposal
//     references that resolve, and an UpdatePath that merges with valid
//     parent hashes;
//   - after every record without a checkpoint, the recorded public digest
//     is the one the Observer derives: for a merged PublicMessage commit,
//     the new epoch's tree, tree hash, roster, census, GroupContext
//     extensions, confirmed and interim transcript hashes, confirmation
//     tag and ReInit parameters; for every other record, an unchanged
//     public state.
//
// It does not prove: membership tags or confirmation tags (their keys are
// secret), that UpdatePaths decrypt, ExternalInits decapsulate or PSKs
// exist; anything about PrivateMessage handshakes, the member's own
// proposals and commits (their messages are effects, not logged inputs)
// and Welcome joins (the GroupInfo is encrypted) — there the checkpoint
// is taken on the writer's word, checked only against the recorded
// digest; nor the recorded outcomes, full-state and effects digests. Result.Followed and Result.Checkpoints
// say how much of a log was derived and how much taken on trust. Public
// logs of format 1 and 2 carry no public digests: their replay checks the
// chain and the events only.
//
// # Bounded work for hostile input
//
// A log, a snapshot or a stored record may come from anyone who can write
// the file, so reading one costs memory proportional to its size with a
// small constant (bytes allocated per input byte, 64-bit, measured by the
// tests named; transitions' package documentation gives the constants of
// the inputs a member processes):
//
//   - Read and ReadLog: at most 20 bytes per byte of the log
//     (logAllocPerByte in TestHostileLogBounded, 7.9 measured for 10000
//     records of the shortest encoding; FuzzRead checks 20 per byte plus
//     64 KiB for every input). A frame's length is checked against its
//     CRC, the record size bound and the data before its body is read.
//   - ReplayLog's snapshot: decoded with DecodeSnapshotDataBounded within
//     the Limits of the Env its EnvFunc gives for the snapshot's sequence
//     number, so that a state declaring a tree over MaxLeaves is rejected
//     before its tree is read (TestHostileLogBounded: 2.0 per byte for a
//     1 MiB snapshot of blank nodes, within the 20 above), with at most
//     65536 key store secrets.
//   - ResumeRecorder: the snapshot decoded within the Limits of its base
//     Env the same way, at most 1 byte per byte of the snapshot plus 64 KiB
//     when its tree is over MaxLeaves (TestHostileSnapshotResume, 1.04
//     measured).
//   - Replay: each record's event is decoded by transitions.DecodeEvent
//     within the codec's memory allowance (16 per byte plus 48 KiB) and
//     applied within the record's Limits; a checkpoint is decoded with
//     state.DecodePublicBounded within them.
//
// DecodeSnapshotData bounds a tree only by the leaf count the encoding
// declares: it is for snapshots this process wrote.
package replay
