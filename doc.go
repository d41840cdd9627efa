// Package mls is the imperative shell of mlscore, an implementation of the
// Messaging Layer Security protocol ([RFC 9420]). It wires the pure core —
// transitions.Apply, a deterministic function from (state, event,
// environment) to (new state, effects) — to durable storage, the system's
// clock and randomness, and offers an API in the manner of OpenMLS's
// MlsGroup:
//
//	store, _ := mls.OpenDirStorage("/var/lib/app/mls")
//	alice, _ := mls.NewClient(store, []byte("alice"), nil)
//	group, _ := alice.CreateGroup(nil)
//	out, _ := group.AddMembers(bobsKeyPackage) // Outgoing{Commit, Welcome, ...}
//	// send out.Commit; once the delivery service accepted it:
//	group.MergePendingCommit()
//	// send out.Welcome to bob, who calls bob.JoinGroup(welcome, tree)
//	msg, _ := group.Send([]byte("hello"))
//	pm, _ := group.ProcessMessage(received) // application, proposal or staged commit
//
// A Client is one identity (a signature key and a basic credential in one
// cipher suite) with its key packages (KeyPackage), external PSKs and
// groups. A Group is its membership in one group: create (CreateGroup),
// join from a Welcome in two steps (StageWelcome, then Accept or Reject)
// or one (JoinGroup), join from a GroupInfo (JoinExternal), commit
// (AddMembers, RemoveMembers, SelfUpdate, CommitPendingProposals), propose
// (ProposeAdd, ProposeRemove, ProposeSelfUpdate, ProposeExternalPSK,
// ProposeGroupContextExtensions, ProposeCustom), Leave, process messages
// (ProcessMessage, then MergeStagedCommit or DiscardStagedCommit for a
// commit), confirm or drop one's own commit (MergePendingCommit,
// ClearPendingCommit), Send, Export, EpochAuthenticator, Members, GroupInfo,
// reinitialize (ReInit or ProposeReInit, then Reinitialize and
// JoinResumed), branch a subgroup (Branch, JoinResumed) and inject a
// resumption PSK (ProposeResumptionPSK). A Client outside a group sends
// external proposals (ProposeExternal, as an external sender listed in the
// group's external_senders extension) and new member proposals
// (ProposeJoin), from the group's GroupInfo.
// Clients and Groups are safe for concurrent use: a Group serializes its
// operations (etcd's raft Node around its RawNode core plays the same
// role).
//
// # The shell's duties
//
// Every operation of a Group builds one event, with At = Options.Clock()
// (time.Now by default), and runs it through transitions.Apply (by way of
// replay.Apply, the driver the simulator and replay share) with an
// environment whose Entropy comes from a fresh 32-byte seed (Options.Seed,
// by default the operating system's randomness through package entropy),
// the client's key store, Policy and Limits. If Apply fails, its error is
// returned unchanged — errors.Is(err, valsem.ValSemNNN) works on it — with
// nothing written and the group unchanged. Otherwise the shell carries out
// the effects in the order package effects prescribes:
//
//  1. Make the new state durable and (2) store every secret a
//     PersistSecret effect names (key packages' private keys, signature
//     keys) and (5) erase every secret a DeleteSecret effect names: all
//     three go into one Storage Batch, committed atomically. If the commit
//     fails, the operation fails and the group stays in the state before
//     it; a crash leaves the old state or the new one, never a mixture,
//     and never a deleted key that a stored state still needs.
//  3. Return the outgoing messages (SendToGroup, SendWelcome,
//     PublishGroupInfo effects) to the caller as an Outgoing value or
//     bytes: the shell does no networking.
//  4. Return what was received: the ProcessedMessage of ProcessMessage.
//
// For an own commit the application then waits for the delivery
// service: MergePendingCommit if it accepted the commit (only then send
// the Welcome), ClearPendingCommit if another commit won the epoch.
//
// # Sending while a commit is pending
//
// One rule: while this member's own commit is pending (HasPendingCommit:
// a commit of the group's epoch, or the external commit of JoinExternal
// or Resync), the Group sends nothing. Every operation that would send a message —
// Send and SendWithAAD, every Propose method, Leave, every commit
// (AddMembers, RemoveMembers, SelfUpdate, SelfUpdateWith,
// CommitPendingProposals, Commit, ReInit) and Branch — fails with
// ErrCommitPending and changes nothing, until MergePendingCommit or
// ClearPendingCommit resolves the commit. Receiving goes on:
// ProcessMessage decrypts application messages and stores proposals of
// the epoch, and merging another member's commit of the same epoch
// (MergeStagedCommit) drops the own pending commit. OpenMLS refuses the
// same operations (MlsGroupStateError::PendingCommit).
//
// Time and randomness are injected: with a fixed Options.Clock and a
// deterministic Options.Seed, a client produces the same messages bit for
// bit, which is how this package's tests and example run.
//
// # Storage and forward secrecy
//
// A Storage is a small transactional key-value store (see Storage and
// docs/storage.md). It keeps the client's secrets and, per group, a
// snapshot of the group's state stored incrementally: the state without
// its ratchet trees and secret trees (state.AppendSplitSecrets: the epoch
// secrets and own path keys, small), the ratchet trees' nodes one key
// each, addressed by their tree hash, and the secret trees' entries one
// key each (a node secret, or a sender's ratchets), addressed by epoch
// and node. Trees are persistent values and so is their storage: a
// commit writes only the nodes on its changed paths and deletes the ones
// no tree references any more, and an application message, which changes
// one sender's ratchets, overwrites that sender's entry — the same few
// bytes at any group size, erasing the ratchet secret it consumed.
// Reopening a group (Client.OpenGroup after OpenClient)
// reads its snapshot and replays the records kept after it;
// Client.ExportLog writes the whole in package replay's log format.
// MemoryStorage keeps everything in memory; DirStorage keeps one
// append-only data file in a locked directory, overwriting replaced and
// deleted values with zeros; SealedStorage encrypts any backend's values;
// the nested module github.com/mlscore/mlscore/storage/sqlite keeps a
// SQLite database.
//
// The default is forward secret. A group then keeps no record at all:
// only the snapshot of the current state, updated on every change (the
// replaced values are overwritten), so the keys of past
// epochs and used message keys are gone from storage as soon as the
// core deletes them — as forward secrecy (RFC 9420, Section 9.2) demands.
// Options.KeepRecords = k keeps up to k records after the snapshot; their
// seeds regenerate the keys of those events, so up to k events lose
// forward secrecy until the next snapshot. KeepAllRecords keeps every
// record: a log for consented debugging (replay, time travel with package
// replay and `mls replay`) that is NOT forward secret, and whose snapshot
// also holds the signature private key so that it replays on its own. Whatever the mode,
// the snapshot holds the member's current keys: the storage must be
// protected like the keys themselves.
//
// Application messages are returned, not stored: a Group decrypts a
// message once (its key is then deleted) and the sender cannot decrypt its
// own messages. The application keeps the plaintext it needs. Delivery is
// at most once: a crash after ProcessMessage and before the application
// stored the plaintext loses it. Options.AtLeastOnce makes it at least
// once: the plaintext is kept in storage, in the batch that consumes its
// key, until Group.Ack; Group.Unacked lists what is kept.
//
// [RFC 9420]: https://www.rfc-editor.org/rfc/rfc9420
package mls
