// Package sqlite is an mls.Storage in a SQLite database, through
// modernc.org/sqlite (pure Go, no cgo). It is a module of its own so that
// the root module's dependencies stay circl and x/crypto.
//
// The database holds one table, kv(k BLOB PRIMARY KEY, v BLOB, sum
// INTEGER), where sum is a CRC-32C of v by which Get detects a damaged
// value (mls.ErrDamaged); a rowid table, so that a value of up to a page
// stays in its leaf and replacing it writes one page. Each Commit is one SQL
// transaction, run by statements prepared once on the store's one
// connection and run on the driver's connection directly (sql.Conn.Raw),
// not through database/sql: a batch of one operation is one statement,
// which SQLite runs as a transaction of its own, and a longer one runs
// between BEGIN IMMEDIATE and COMMIT. A context that ends stops a Commit
// between two statements (and a Keys between two rows), not during one.
// The connection runs with PRAGMA secure_delete=ON, so that
// SQLite overwrites the content of deleted and replaced rows with zeros,
// and locking_mode=EXCLUSIVE: the store holds the database's lock from
// Open to Close, so that a second opener — another process — fails with
// mls.ErrLocked, and the lock goes away with the process if it dies.
//
// By default (Open) every Commit is durable and erasing once it returns:
// journal_mode=TRUNCATE and synchronous=FULL. The rollback journal, which
// holds the old pages during a transaction, is emptied at its end; a
// write-ahead log keeps old values after the commit, and in exclusive
// locking mode a DELETE-mode journal kept them too — the conformance
// suite's erasure check caught it. A write-ahead log checkpointed after
// every commit costs the same four fsyncs per commit as this journal
// (measured), so the default keeps the journal. Options.SyncEvery
// (OpenWith) is the faster mode: a write-ahead log with
// synchronous=NORMAL, checkpointed every K commits, which survives a crash
// of the process but may lose the last commits to an operating system
// crash, and erases replaced values at the checkpoint.
//
// The schema is versioned (PRAGMA user_version); Open migrates an older
// database step by step, in the transaction that takes the lock, and
// refuses a newer one (ErrSchema).
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/url"
	"strings"
	"sync"

	mls "github.com/mlscore/mlscore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SchemaVersion is the schema version Open writes.
const SchemaVersion = 3

// migrations[i] takes a database from schema version i to i+1.
//
//	1: the kv table
//	2: the sum column (a CRC-32C of each value), filled for existing rows
//	3: kv a rowid table (with an index on k) instead of WITHOUT ROWID: an
//	   index b-tree keeps at most about a quarter of a page in a row, so
//	   the group snapshots (1.3 to 2 KB) went to overflow pages, and
//	   replacing one wrote four pages (the leaf, the new overflow page,
//	   the old one zeroed, the free list); a table b-tree keeps a row of up
//	   to a page in its leaf, so it writes one
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
	func(ctx context.Context, tx *sql.Tx) error {
		// Dropping the old table frees its pages, which secure_delete
		// overwrites with zeros.
		for _, q := range []string{
			`CREATE TABLE kv3 (k BLOB PRIMARY KEY NOT NULL, v BLOB NOT NULL, sum INTEGER NOT NULL)`,
			`INSERT INTO kv3 (k, v, sum) SELECT k, v, sum FROM kv`,
			`DROP TABLE kv`,
			`ALTER TABLE kv3 RENAME TO kv`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	},
}

// ErrSchema reports a database written by a newer version of this package.
var ErrSchema = errors.New("mls/sqlite: database schema is newer than this package")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func sum(v []byte) int64 { return int64(crc32.Checksum(v, crcTable)) }

// The statements a Store prepares once, by index into Store.stmt.
const (
	stmtGet = iota
	stmtPut
	stmtDel
	stmtKeys
	stmtKeysFrom
	stmtKeysRange
	stmtBegin
	stmtCommit
	stmtRollback
	stmtCheckpoint
	numStmts
)

var queries = [numStmts]string{
	stmtGet:        `SELECT v, sum FROM kv WHERE k = ?`,
	stmtPut:        `INSERT INTO kv (k, v, sum) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v, sum = excluded.sum`,
	stmtDel:        `DELETE FROM kv WHERE k = ?`,
	stmtKeys:       `SELECT k FROM kv ORDER BY k`,
	stmtKeysFrom:   `SELECT k FROM kv WHERE k >= ? ORDER BY k`,
	stmtKeysRange:  `SELECT k FROM kv WHERE k >= ? AND k < ? ORDER BY k`,
	stmtBegin:      `BEGIN IMMEDIATE`,
	stmtCommit:     `COMMIT`,
	stmtRollback:   `ROLLBACK`,
	stmtCheckpoint: `PRAGMA wal_checkpoint(TRUNCATE)`,
}

// Options configure a Store (OpenWith). The zero value is Open's: every
// Commit durable and erasing once it returns.
type Options struct {
	// SyncEvery > 1 trades durability against an operating system crash
	// for CPU time, like mls.DirOptions.SyncEvery: the database runs with
	// a write-ahead log (journal_mode=WAL, synchronous=NORMAL), and the
	// log is checkpointed into the database and truncated on every
	// SyncEvery-th Commit, on Flush and on Close. The fsyncs are the
	// checkpoint's two (the log, then the database) and one of the new
	// log's header in the Commit after it; SQLite also checkpoints on its
	// own, without truncating the log, when the log passes 1000 pages
	// (wal_autocheckpoint), which lets the log be written over instead of
	// grown.
	// A commit then survives a crash of the process (the log is in the
	// operating system's hands when Commit returns), but an operating
	// system crash or power failure loses the commits since the last
	// checkpoint, each still atomic (the store reopens at the state after
	// one of them); and the values they replaced or deleted stay in the
	// log and the database file until the next checkpoint (OpenWith
	// checkpoints first, erasing what a crash left). Call Flush before
	// telling anyone outside (a peer, the delivery service) that an
	// operation happened.
	SyncEvery int
}

// Store is an mls.Storage in a SQLite database. It is safe for
// concurrent use.
type Store struct {
	db   *sql.DB
	opts Options

	mu       sync.Mutex           // serializes the operations on conn
	conn     *sql.Conn            // the one connection, which holds the lock
	stmt     [numStmts]dstmt      // prepared once on conn's driver connection, by index
	args     [3]driver.NamedValue // the arguments of the statement running (under mu)
	row      [3]driver.Value      // a row read (under mu)
	unsynced int                  // commits since the last checkpoint (SyncEvery > 1)
	closed   bool
}

// dstmt is a statement of the driver, which the store runs directly
// rather than through database/sql, saving its per-call work (the
// connection's locks, the conversion of the arguments, a result).
type dstmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// noCtx is the context the driver's statements run under. A context that
// can end makes the driver start a goroutine per statement, to interrupt
// it; the store's statements touch a few rows each, so the store checks
// the caller's context between them instead (Commit, Keys).
var noCtx = context.Background()

// Open opens (or creates) the database at path and locks it until Close:
// every Commit is durable and erasing once it returns (OpenWith with the
// zero Options).
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith opens (or creates) the database at path with options o and
// locks it until Close. A database may be opened with other options than
// it was written with.
func OpenWith(ctx context.Context, path string, o Options) (*Store, error) {
	// The per-connection settings that do not depend on the order of
	// application go into the DSN (the driver applies its _pragma list
	// sorted by name); the journal mode is set on the connection after
	// the locking mode (open), so that a write-ahead log's first access
	// finds exclusive locking and uses no shared memory file.
	q := url.Values{}
	for _, p := range []string{"locking_mode(EXCLUSIVE)", "busy_timeout(0)", "secure_delete(1)"} {
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
	s := &Store{db: db, opts: o}
	if err := s.open(ctx); err != nil {
		s.closeStmts()
		if s.conn != nil {
			s.conn.Close()
		}
		db.Close()
		if isBusy(err) {
			return nil, fmt.Errorf("%w: %s", mls.ErrLocked, path)
		}
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	var err error
	if s.conn, err = s.db.Conn(ctx); err != nil {
		return err
	}
	journal, sync := "truncate", "FULL"
	if s.opts.SyncEvery > 1 {
		journal, sync = "wal", "NORMAL"
	}
	var mode string
	if err := s.conn.QueryRowContext(ctx, `PRAGMA journal_mode = `+journal).Scan(&mode); err != nil {
		return err
	}
	if mode != journal {
		return fmt.Errorf("mls/sqlite: journal_mode %s: the database stays in mode %q", journal, mode)
	}
	if _, err := s.conn.ExecContext(ctx, `PRAGMA synchronous = `+sync); err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	err = s.conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("mls/sqlite: the driver's connection %T cannot prepare statements with a context", dc)
		}
		for i, q := range queries {
			st, err := pc.PrepareContext(ctx, q)
			if err != nil {
				return err
			}
			ds, ok := st.(dstmt)
			if !ok {
				st.Close()
				return fmt.Errorf("mls/sqlite: the driver's statement %T runs no context", st)
			}
			s.stmt[i] = ds
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.opts.SyncEvery > 1 {
		// Erase what the commits before a crash replaced.
		return s.checkpoint()
	}
	return nil
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
	tx, err := s.conn.BeginTx(ctx, nil)
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

// raw runs f on the driver's connection (the caller holds s.mu or owns
// s): the statements in s.stmt run only inside it.
func (s *Store) raw(f func() error) error {
	return s.conn.Raw(func(any) error { return f() })
}

// exec runs statement i with arguments args (the caller is inside raw).
func (s *Store) exec(i int, args ...any) error {
	a := s.args[:len(args)]
	for j, v := range args {
		a[j] = driver.NamedValue{Ordinal: j + 1, Value: v}
	}
	_, err := s.stmt[i].ExecContext(noCtx, a)
	clear(a)
	return err
}

// query runs statement i with arguments args and returns its rows (the
// caller is inside raw, and closes them).
func (s *Store) query(i int, args ...any) (driver.Rows, error) {
	a := s.args[:len(args)]
	for j, v := range args {
		a[j] = driver.NamedValue{Ordinal: j + 1, Value: v}
	}
	r, err := s.stmt[i].QueryContext(noCtx, a)
	clear(a)
	return r, err
}

// queryRow runs statement i with arguments args and returns its first
// row, of n columns, in s.row[:n], or false if there is none (the caller
// is inside raw).
func (s *Store) queryRow(n int, i int, args ...any) (bool, error) {
	r, err := s.query(i, args...)
	if err != nil {
		return false, err
	}
	row := s.row[:n]
	err = r.Next(row)
	if err == io.EOF {
		return false, r.Close()
	}
	return err == nil, errors.Join(err, r.Close())
}

// checkpoint copies the write-ahead log into the database and truncates
// it (with SyncEvery > 1; the caller holds s.mu or owns s).
func (s *Store) checkpoint() error {
	return s.raw(s.checkpointRaw)
}

// checkpointRaw is checkpoint inside raw.
func (s *Store) checkpointRaw() error {
	ok, err := s.queryRow(3, stmtCheckpoint)
	if err != nil {
		return err
	}
	busy, _ := s.row[0].(int64)
	logFrames, _ := s.row[1].(int64)
	done, _ := s.row[2].(int64)
	clear(s.row[:])
	if !ok {
		return errors.New("mls/sqlite: checkpoint returned no row")
	}
	if busy != 0 {
		return fmt.Errorf("mls/sqlite: checkpoint incomplete (%d of %d frames)", done, logFrames)
	}
	s.unsynced = 0
	return nil
}

// Flush makes every commit durable and erases what they replaced: with
// SyncEvery > 1 it checkpoints the write-ahead log; otherwise every
// commit already is, and Flush does nothing.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return mls.ErrClosed
	}
	if s.opts.SyncEvery > 1 && s.unsynced > 0 {
		return s.checkpoint()
	}
	return nil
}

// Close flushes the store (Flush) and releases the database and its lock.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.opts.SyncEvery > 1 && s.unsynced > 0 {
		err = s.checkpoint()
	}
	return errors.Join(err, s.closeStmts(), s.conn.Close(), s.db.Close())
}

// closeStmts finalizes the prepared statements: SQLite keeps a database
// with unfinalized statements open, and locked, after closing it.
func (s *Store) closeStmts() error {
	if s.conn == nil {
		return nil
	}
	return s.raw(func() error {
		var errs []error
		for i, st := range s.stmt {
			if st != nil {
				errs = append(errs, st.Close())
				s.stmt[i] = nil
			}
		}
		return errors.Join(errs...)
	})
}

// Get implements mls.Storage.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, mls.ErrClosed
	}
	var v []byte
	var c int64
	var found, typed bool
	err := s.raw(func() error {
		var err error
		found, err = s.queryRow(2, stmtGet, key)
		if found {
			// The driver returns a blob as a copy, nil if empty.
			var okv, okc bool
			v, okv = s.row[0].([]byte)
			c, okc = s.row[1].(int64)
			typed = (okv || s.row[0] == nil) && okc
		}
		clear(s.row[:])
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %q", mls.ErrNotFound, key)
	}
	if !typed || sum(v) != c {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, mls.ErrClosed
	}
	var out [][]byte
	err := s.raw(func() error {
		var rows driver.Rows
		var err error
		if len(prefix) == 0 {
			rows, err = s.query(stmtKeys)
		} else if end, ok := prefixEnd(prefix); ok {
			rows, err = s.query(stmtKeysRange, prefix, end)
		} else {
			rows, err = s.query(stmtKeysFrom, prefix)
		}
		if err != nil {
			return err
		}
		row := s.row[:1]
		defer clear(row)
		for {
			if err := ctx.Err(); err != nil {
				return errors.Join(err, rows.Close())
			}
			if err := rows.Next(row); err == io.EOF {
				break
			} else if err != nil {
				return errors.Join(err, rows.Close())
			}
			k, _ := row[0].([]byte) // a copy; nil if empty (no key is)
			if !bytes.HasPrefix(k, prefix) {
				continue
			}
			out = append(out, k)
		}
		return rows.Close()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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

// Commit implements mls.Storage: one SQL transaction, with statements
// prepared once. A batch of one operation is one statement, which SQLite
// runs as a transaction of its own; a longer one runs between BEGIN
// IMMEDIATE and COMMIT.
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return mls.ErrClosed
	}
	return s.raw(func() error {
		if ops := b.Ops(); len(ops) == 1 {
			if err := s.op(ops[0]); err != nil {
				return err
			}
		} else {
			if err := s.exec(stmtBegin); err != nil {
				return err
			}
			if err := s.apply(ctx, ops); err != nil {
				// (An error that ended the transaction already makes
				// ROLLBACK fail too: both are reported.)
				return errors.Join(err, s.exec(stmtRollback))
			}
		}
		if s.opts.SyncEvery > 1 {
			s.unsynced++
			if s.unsynced >= s.opts.SyncEvery {
				// The transaction is committed whatever the checkpoint
				// does: a failed one leaves unsynced at the bound, so the
				// next Commit tries again, and Flush and Close report it.
				s.checkpointRaw()
			}
		}
		return nil
	})
}

// apply runs ops and commits them (the caller has begun the transaction,
// holds s.mu and is inside raw). The context ends the transaction between
// two operations, not after them: once COMMIT runs, its result is
// Commit's.
func (s *Store) apply(ctx context.Context, ops []mls.BatchOp) error {
	for _, op := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.op(op); err != nil {
			return err
		}
	}
	return s.exec(stmtCommit)
}

// op runs one operation's statement (the caller holds s.mu and is inside
// raw).
func (s *Store) op(op mls.BatchOp) error {
	if op.Delete {
		return s.exec(stmtDel, op.Key)
	}
	v := op.Value
	if v == nil {
		v = []byte{}
	}
	return s.exec(stmtPut, op.Key, v, sum(v))
}
