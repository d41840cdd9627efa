// Package sqlite is an mls.Storage in a SQLite database, through
// modernc.org/sqlite (pure Go, no cgo). It is a module of its own so that
// the root module's dependencies stay circl and x/crypto.
//
// The database holds one table, kv(k BLOB PRIMARY KEY, v BLOB, sum
// INTEGER) WITHOUT ROWID, where sum is a CRC-32C of v by which Get
// detects a damaged value (mls.ErrDamaged). Each Commit is one SQL
// transaction. The connection runs with PRAGMA secure_delete=ON, so that
// SQLite overwrites the content of deleted and replaced rows with zeros,
// journal_mode=TRUNCATE (the rollback journal, which holds the old pages
// during a transaction, is emptied at its end; a write-ahead log keeps old
// values after the commit, and in exclusive locking mode a DELETE-mode
// journal kept them too — the conformance suite's erasure check caught
// it), synchronous=FULL, and
// locking_mode=EXCLUSIVE: the store holds the database's lock from Open to
// Close, so that a second opener — another process — fails with
// mls.ErrLocked, and the lock goes away with the process if it dies.
//
// The schema is versioned (PRAGMA user_version); Open migrates an older
// database step by step, in the transaction that takes the lock, and
// refuses a newer one (ErrSchema).
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/crc32"
	"net/url"
	"strings"

	mls "github.com/mlscore/mlscore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SchemaVersion is the schema version Open writes.
const SchemaVersion = 2

// migrations[i] takes a database from schema version i to i+1.
//
//	1: the kv table
//	2: the sum column (a CRC-32C of each value), filled for existing rows
var migrations = []func(ctx context.Context, tx *sql.Tx) error{
	func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE kv (k BLOB PRIMARY KEY NOT NULL, v BLOB NOT NULL) WITHOUT ROWID`)
		return err
	},
	func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE kv ADD COLUMN sum INTEGER NOT NULL DEFAULT 0`); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT k, v FROM kv`)
		if err != nil {
			return err
		}
		type row struct{ k, v []byte }
		var all []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.k, &r.v); err != nil {
				rows.Close()
				return err
			}
			all = append(all, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, r := range all {
			if _, err := tx.ExecContext(ctx, `UPDATE kv SET sum = ? WHERE k = ?`, sum(r.v), r.k); err != nil {
				return err
			}
			clear(r.v)
		}
		return nil
	},
}

// ErrSchema reports a database written by a newer version of this package.
var ErrSchema = errors.New("mls/sqlite: database schema is newer than this package")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func sum(v []byte) int64 { return int64(crc32.Checksum(v, crcTable)) }

// Store is an mls.Storage in a SQLite database. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
}

// Open opens (or creates) the database at path and locks it until Close.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	for _, p := range []string{"secure_delete(1)", "journal_mode(TRUNCATE)", "synchronous(FULL)", "locking_mode(EXCLUSIVE)", "busy_timeout(0)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+strings.ReplaceAll(path, "?", "%3F")+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: the pragmas and the exclusive lock are per
	// connection, and SQLite serializes writers anyway.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		if isBusy(err) {
			return nil, fmt.Errorf("%w: %s", mls.ErrLocked, path)
		}
		return nil, err
	}
	return s, nil
}

func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// migrate takes the lock (a write transaction: in EXCLUSIVE locking mode
// the connection keeps it) and brings the schema to SchemaVersion.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: version %d, this package knows %d", ErrSchema, v, SchemaVersion)
	}
	for ; v < SchemaVersion; v++ {
		if err := migrations[v](ctx, tx); err != nil {
			return fmt.Errorf("mls/sqlite: migrating the schema from version %d: %w", v, err)
		}
	}
	// Always write: the write takes the exclusive lock.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, SchemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close releases the database and its lock.
func (s *Store) Close() error { return s.db.Close() }

// Get implements mls.Storage.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var v []byte
	var c int64
	err := s.db.QueryRowContext(ctx, `SELECT v, sum FROM kv WHERE k = ?`, key).Scan(&v, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %q", mls.ErrNotFound, key)
	}
	if err != nil {
		return nil, err
	}
	if sum(v) != c {
		clear(v)
		return nil, fmt.Errorf("%w: value of %q", mls.ErrDamaged, key)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Keys implements mls.Storage.
func (s *Store) Keys(ctx context.Context, prefix []byte) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rows *sql.Rows
	var err error
	if len(prefix) == 0 {
		rows, err = s.db.QueryContext(ctx, `SELECT k FROM kv ORDER BY k`)
	} else if end, ok := prefixEnd(prefix); ok {
		rows, err = s.db.QueryContext(ctx, `SELECT k FROM kv WHERE k >= ? AND k < ? ORDER BY k`, prefix, end)
	} else {
		rows, err = s.db.QueryContext(ctx, `SELECT k FROM kv WHERE k >= ? ORDER BY k`, prefix)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(k, prefix) {
			continue
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// prefixEnd returns the smallest key greater than every key with prefix
// p, or false if there is none (p is empty or all 0xff).
func prefixEnd(p []byte) ([]byte, bool) {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1], true
		}
	}
	return nil, false
}

// Commit implements mls.Storage: one SQL transaction.
func (s *Store) Commit(ctx context.Context, b *mls.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.Check(); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, op := range b.Ops() {
		if op.Delete {
			_, err = tx.ExecContext(ctx, `DELETE FROM kv WHERE k = ?`, op.Key)
		} else {
			v := op.Value
			if v == nil {
				v = []byte{}
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO kv (k, v, sum) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v, sum = excluded.sum`, op.Key, v, sum(v))
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}
