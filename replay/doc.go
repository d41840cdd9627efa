// Package replay owns mlscore's event log: an append-only, hash-chained,
// checksummed sequence of the inputs to a group's state machine, each with
// its entropy seed, its outcome and digests of the state and effects it
// produced. Replaying a log through the pure transitions rebuilds every
// state bit for bit; the first record whose digests differ is a divergence.
//
// A log is a header frame followed by record frames. Opening a log drops a
// torn or damaged final record (a crash during the last write) and reports
// damage anywhere else with the sequence number of the damaged record, never
// skipping it.
//
// Forward secrecy: a Full log holds every seed, and the seeds regenerate
// every key of every epoch, so a Full log is as sensitive as all of those
// keys together. Public logs zero the seeds and replay only the public group
// state. SnapshotAndTail logs keep a recent snapshot and the records after
// it, so secrets older than the snapshot cannot be rebuilt from the log.
package replay
