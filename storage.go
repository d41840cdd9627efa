package mls

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Storage is where a Client keeps what must survive a restart: a small
// transactional key-value store. The shell writes, in one atomic Batch
// per operation, everything the operation changed: the group state's new
// parts, the nodes of new ratchet trees, the secrets created and those
// deleted, and (with Options.KeepRecords) the event record. See
// docs/storage.md for the layout of the keys and for how to write a
// backend; package storagetest is the conformance suite every backend
// must pass.
//
// What each method must guarantee:
//
//   - Get returns a copy of the value stored under key, an error wrapping
//     ErrNotFound (and so fs.ErrNotExist) if there is none, or one wrapping
//     ErrDamaged if the backend detects that the value was corrupted.
//   - Keys returns the keys that start with prefix, sorted in increasing
//     byte order (bytes.Compare), each a copy.
//   - Commit applies the batch's operations in order, atomically and
//     durably: when it returns nil, all of them survive a crash or a
//     power loss; if it fails or the process dies during it, after
//     reopening either all of them or none are visible. A later operation
//     on a key overrides an earlier one of the same batch. A value that a
//     Put replaces or a Delete removes must be erased: no byte of it may
//     remain in the backend's files once Commit returned (after a crash,
//     once the store is reopened). Forward secrecy depends on this: old
//     values hold old epoch secrets and deleted private keys. Commit must
//     not keep references to the batch's slices.
//   - Every method returns ctx.Err() without effect if ctx is done when
//     it is called; a Commit that ctx cancels midway must leave the store
//     as if it had not been called.
//
// Keys are 1 to MaxKeyLen bytes, values at most MaxValueLen bytes (Batch
// checks both). Keys are not secret (group ids, public key hashes, tree
// hashes); values are. A Storage must be safe for concurrent use; the
// shell serializes the operations of one group but the groups of a
// Client commit concurrently.
//
// MemoryStorage and DirStorage are this package's backends, SealedStorage
// encrypts the values of any backend, and the nested module
// github.com/mlscore/mlscore/storage/sqlite keeps a store in SQLite.
type Storage interface {
	Get(ctx context.Context, key []byte) ([]byte, error)
	Keys(ctx context.Context, prefix []byte) ([][]byte, error)
	Commit(ctx context.Context, b *Batch) error
}

// Flusher is implemented by a Storage whose committed batches may not be
// durable yet when Commit returns (group commit: DirOptions.SyncEvery,
// the SQLite backend's SyncEvery): Flush makes every committed batch
// durable. The shell flushes before it hands out a message of its own
// that the group builds on — a commit (an external join's too), a
// proposal, a new group's Welcome — whose loss to an operating system
// crash after it was sent would leave the member behind its group; not
// before an application message (a sender whose state went back sends
// under a fresh reuse guard, RFC 9420, Section 6.3.1).
type Flusher interface {
	Flush() error
}

// Storage limits.
const (
	// MaxKeyLen is the longest key a Storage must accept.
	MaxKeyLen = 1024
	// MaxValueLen is the longest value a Storage must accept.
	MaxValueLen = 1 << 30
)

// Storage errors.
var (
	// ErrNotFound reports a key that is not stored. It wraps
	// fs.ErrNotExist.
	ErrNotFound = fmt.Errorf("mls: not found: %w", fs.ErrNotExist)
	// ErrDamaged reports a stored value (or a group, or a secret) that
	// cannot be read back because the storage's data were corrupted. Only
	// what depends on that value fails. OpenDirStorage also reports with
	// it a directory of the previous DirStorage layout, which this version
	// does not read.
	ErrDamaged = errors.New("mls: stored data damaged")
	// ErrLocked reports opening a storage that another user (another
	// process, or another open store of this process) holds.
	ErrLocked = errors.New("mls: storage is locked by another user")
)

// BatchOp is one operation of a Batch: a Put of Value under Key, or a
// Delete of Key.
type BatchOp struct {
	Key, Value []byte
	Delete     bool
}

// Batch is a list of puts and deletes that Storage.Commit applies
// atomically. The zero value is an empty batch. The slices given to Put
// and Delete must not be modified until Commit returns.
type Batch struct {
	ops []BatchOp
}

// Put adds a put of value under key.
func (b *Batch) Put(key, value []byte) {
	b.ops = append(b.ops, BatchOp{Key: key, Value: value})
}

// Delete adds the deletion of key (which need not be stored).
func (b *Batch) Delete(key []byte) {
	b.ops = append(b.ops, BatchOp{Key: key, Delete: true})
}

// Ops returns the batch's operations, in order. The caller must not
// modify them.
func (b *Batch) Ops() []BatchOp { return b.ops }

// Len returns the number of operations.
func (b *Batch) Len() int { return len(b.ops) }

// Check reports a key or value outside the limits of Storage, with an
// error matching ErrInvalidArgument.
func (b *Batch) Check() error {
	for _, op := range b.ops {
		if err := CheckKey(op.Key); err != nil {
			return err
		}
		if err := checkValueLen(len(op.Value)); err != nil {
			return err
		}
	}
	return nil
}

// checkValueLen reports a value of n bytes outside the limits of Storage.
func checkValueLen(n int) error {
	if n > MaxValueLen {
		return fmt.Errorf("%w: storage value of %d bytes, limit %d", ErrInvalidArgument, n, MaxValueLen)
	}
	return nil
}

// CheckKey reports a key outside the limits of Storage, with an error
// matching ErrInvalidArgument.
func CheckKey(key []byte) error {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: storage key of %d bytes, want 1 to %d", ErrInvalidArgument, len(key), MaxKeyLen)
	}
	return nil
}

// notFound returns the error of Get for a key that is not stored.
func notFound(key []byte) error {
	return fmt.Errorf("%w: %q", ErrNotFound, key)
}

// MemoryStorage is a Storage held in memory, for tests and for clients
// whose state need not survive the process. The zero value is not ready to
// use; call NewMemoryStorage. It is safe for concurrent use. Replaced and
// deleted values are overwritten with zeros.
type MemoryStorage struct {
	mu sync.Mutex
	kv map[string][]byte
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{kv: map[string][]byte{}}
}

// Get implements Storage.
func (m *MemoryStorage) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.kv[string(key)]
	if !ok {
		return nil, notFound(key)
	}
	return bytes.Clone(v), nil
}

// Keys implements Storage.
func (m *MemoryStorage) Keys(ctx context.Context, prefix []byte) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, k := range slices.Sorted(maps.Keys(m.kv)) {
		if strings.HasPrefix(k, string(prefix)) {
			out = append(out, []byte(k))
		}
	}
	return out, nil
}

// Commit implements Storage.
func (m *MemoryStorage) Commit(ctx context.Context, b *Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.Check(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range b.ops {
		if old, ok := m.kv[string(op.Key)]; ok {
			clear(old)
		}
		if op.Delete {
			delete(m.kv, string(op.Key))
		} else {
			m.kv[string(op.Key)] = bytes.Clone(op.Value)
		}
	}
	return nil
}
