package mls

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mlscore/mlscore/internal/atomicfile"
)

// DirStorage is a Storage in a directory of the file system:
//
//	DIR/LOCK          held (flock; an unshared handle on Windows) while open
//	DIR/data.mlskv    the data: a header, then one record per Commit
//
// A record is a header — its operations (kind, key, value length),
// protected by a CRC-32C of its own — followed by the values, each after
// a CRC-32C of its bytes. Commit appends one record with one write and syncs the
// file: that is the commit point (with DirOptions.SyncEvery, group
// commit, every SyncEvery-th commit, Flush and Close sync). It then overwrites with zeros the
// values (and their CRCs) that the record replaced or deleted, so that
// no byte of an old value remains in the file; a zeroed value is
// recognised as erased (and Get reports ErrDamaged for one that no later
// record replaced: see DirOptions.EraseAtOnce). A batch that puts one value of the length of the
// value it replaces — an application message's secret-tree entry — is
// written over it in place instead, when the two lie within one sector
// (inPlace): nothing is appended and nothing is left to erase. Opening
// the store replays the records into an
// in-memory index (key → offset of the value), zeroes any superseded
// value still present (a crash between the commit point and the
// zeroing), and zeroes and cuts off a torn final record (a crash during
// the append, whose batch never committed). A value whose CRC fails makes
// Get of that key fail with ErrDamaged; the other keys stay readable.
// When more than two thirds of the file are dead (erased values,
// superseded records: twice the live bytes) and the dead bytes exceed
// four megabytes, the live values are copied to a new
// file that replaces the old one; a copy a crash interrupted is erased
// and removed at the next open.
//
// Overwriting reaches the file's blocks, not copies that a journaling or
// copy-on-write file system or an SSD's flash translation keeps: use
// full-disk encryption (or SealedStorage) for those.
//
// A DirStorage is safe for concurrent use. It holds the directory for
// itself until Close: a second OpenDirStorage of the same directory, from
// another process or from this one, fails with ErrLocked. The operating
// system releases the lock when the process dies, so a crash leaves no
// stale lock. (On js, wasip1 and other systems where the standard library
// offers no file lock, the application must ensure it.)
type DirStorage struct {
	dir string

	mu     sync.Mutex
	lock   *os.File // holds DIR/LOCK; nil once closed
	f      *os.File // DIR/data.mlskv
	size   int64    // end of the last complete record
	index  map[string]dirValue
	live   int64 // bytes of live values
	closed bool

	syncEvery   int        // DirOptions.SyncEvery (at least 1)
	eraseAtOnce bool       // DirOptions.EraseAtOnce
	compactMin  int64      // dirCompactMin; a test that lowers it compacts whenever that much is dead
	unsynced    int        // commits appended since the last sync
	stale       []dirValue // values superseded by commits not yet synced: zeroed after the sync
	markPending bool       // a sync mark was written after the last sync and is not durable yet
}

// DirOptions tunes a DirStorage. The zero value is the default: every
// Commit is durable when it returns.
type DirOptions struct {
	// SyncEvery, above 1, is group commit: Commit syncs the data file only
	// on every SyncEvery-th commit, and Flush and Close sync the rest.
	// fsync is most of a commit's CPU time on common file systems (50 to
	// 80 µs of kernel time for a one-page commit on the test machine, two
	// to four times the core's cost of protecting a message); syncing
	// every K commits divides it by K. The price: a power failure or an operating system crash
	// (not a crash of the process, whose writes the kernel keeps) loses
	// the commits since the last sync — up to SyncEvery-1 of them, each
	// still atomic: the store reopens at the state after one commit,
	// never a mixture. Values those commits replaced or deleted are
	// overwritten only once their replacements are synced, so old secrets
	// stay in the file until the next sync (unless EraseAtOnce; a value
	// overwritten in place, a message's, is gone at once). Open the store with the same
	// option: a record that an operating system crash damaged after the
	// last sync — its header, or a value no later record replaces — is
	// then taken as the end of the file, not as damage (each sync is
	// followed by a mark, a record of no operations, that tells an open
	// which records were synced; damage before the last mark is
	// reported). Without group commit, the last record is the one an
	// operating system crash can tear: a torn one is cut the same way. An
	// application that must not lose a message it acknowledged calls
	// Flush before acknowledging; the shell flushes before it hands out a
	// commit the member created (Flusher).
	SyncEvery int

	// EraseAtOnce, with SyncEvery above 1, overwrites the values a commit
	// replaced or deleted as the commit returns instead of after the next
	// sync: forward secrecy as if every commit were synced — once the
	// core has deleted a secret, no byte of it is left in the file — at
	// the price of consistency after an operating system crash. Such a
	// crash may then lose commits whose erasures reached the disk: the
	// store reopens before them with the values they replaced erased, and
	// Get reports each of those as ErrDamaged (a group whose state is
	// among them must be rejoined, Group.Resync). A crash of the process
	// loses nothing either way.
	EraseAtOnce bool
}

// dirValue locates a value in the data file: the offset of its CRC,
// followed by its n bytes.
type dirValue struct {
	off     int64
	n       uint32
	damaged bool
}

const (
	dirDataFile = "data.mlskv"
	dirOpPut    = 1
	dirOpDelete = 2
	// dirMaxHeader bounds a record header: 1 + 2 + MaxKeyLen + 8 bytes per
	// operation, and at most 1<<20 operations.
	dirMaxOps = 1 << 20
	// dirCompactMin is the dead size above which a file is compacted
	// (when dead bytes also exceed dirDeadRatio times the live ones):
	// each compaction copies the live bytes, so the ratio bounds the
	// copying per byte written (1/dirDeadRatio) and the file's size
	// (1+dirDeadRatio times the live bytes, plus dirCompactMin).
	dirCompactMin = 4 << 20
	dirDeadRatio  = 2
)

// dirSyncHook, set by the crash-image test only, runs before each sync (flush
// true for flush's, false for EraseAtOnce's), so that the test can take
// the file as the disk may hold it then.
var dirSyncHook func(flush bool)

// dirMark is a sync mark: a record of no operations, which group commit
// appends after each sync (see tornFrom): on the disk, it says that the
// records before it were synced.
var dirMark = [12]byte{0, 0, 0, 4, 0x48, 0x67, 0x4b, 0xc7}

var (
	dirMagic = [8]byte{'M', 'L', 'S', 'K', 'V', 0, 0, 1}
	crcTable = crc32.MakeTable(crc32.Castagnoli)
)

// valueCRC is the CRC of a value as stored: never 0 for a value that was
// not erased (a zero CRC with zero bytes marks an erased value).
func valueCRC(v []byte) uint32 {
	c := crc32.Update(0x6d6c73, crcTable, v)
	if c == 0 {
		c = 1
	}
	return c
}

// OpenDirStorage opens (or creates, mode 0700) the store in dir, locks it
// until Close (ErrLocked if it is held), and cleans up after a crash: it
// erases and removes the copy of an interrupted compaction, zeroes and
// cuts off a torn final record, and zeroes superseded values.
func OpenDirStorage(dir string) (*DirStorage, error) {
	return OpenDirStorageWith(dir, DirOptions{})
}

// OpenDirStorageWith is OpenDirStorage with options.
func OpenDirStorageWith(dir string, opts DirOptions) (*DirStorage, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := lockFile(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, err
	}
	d := &DirStorage{dir: dir, lock: lock, index: map[string]dirValue{}, syncEvery: max(opts.SyncEvery, 1), eraseAtOnce: opts.EraseAtOnce, compactMin: dirCompactMin}
	if err := d.open(); err != nil {
		if d.f != nil {
			d.f.Close()
		}
		lock.Close()
		return nil, err
	}
	return d, nil
}

func (d *DirStorage) open() error {
	for _, old := range []string{"secrets", "groups"} {
		if _, err := os.Stat(filepath.Join(d.dir, old)); err == nil {
			return fmt.Errorf("%w: %s holds a store of the previous DirStorage layout (%s/), which this version does not read", ErrDamaged, d.dir, old)
		}
	}
	// An interrupted compaction's copy holds live secrets: erase it.
	if err := atomicfile.Erase(atomicfile.TempPath(filepath.Join(d.dir, dirDataFile))); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(d.dir, dirDataFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	d.f = f
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	defer clear(data)
	if len(data) < len(dirMagic) {
		if err := d.zeroTail(0, int64(len(data))); err != nil {
			return err
		}
		head := dirMagic[:]
		if d.syncEvery > 1 {
			head = append(head[:len(head):len(head)], dirMark[:]...) // group commit: a file always has a mark
		}
		if _, err := f.WriteAt(head, 0); err != nil {
			return err
		}
		d.size = int64(len(head))
		if err := f.Sync(); err != nil {
			return err
		}
		return atomicfile.SyncDir(d.dir)
	}
	if !bytes.Equal(data[:len(dirMagic)], dirMagic[:]) {
		return fmt.Errorf("%w: %s is not a DirStorage data file of this version", ErrDamaged, f.Name())
	}
	recs, tail, err := parseDirRecords(data, d.syncEvery > 1)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDamaged, f.Name(), err)
	}
	marked := false // records follow the last mark
	if d.syncEvery > 1 {
		// Records after the last sync may have reached the disk in part
		// (an operating system crash): the first that holds a value
		// whose bytes fail their CRC, and that no record kept after it
		// replaces, ends the file with it — its commit never completed.
		// A file without marks (written without group commit, or by an
		// older version) is taken as synced: its damage is reported.
		if cut := tornFrom(data, recs); cut < len(recs) {
			tail = recs[cut].off
			recs = recs[:cut]
		}
		marked = len(recs) == 0 || !recs[len(recs)-1].mark // a file of the magic alone gets one too
	} else if n := len(recs); n > 0 && !recs[n-1].mark {
		// Without group commit only the last record can be unsynced (an
		// operating system crash during its Commit's fsync): a value of it
		// that fails its CRC, and that no later operation of it replaces,
		// ends the file with it. (Damage of that value on the disk later is
		// taken for the same, and the commit dropped.)
		if tornFrom(data, append(recs[:n-1:n-1], dirRecord{mark: true}, recs[n-1])) == n {
			tail = recs[n-1].off
			recs = recs[:n-1]
		}
	}
	zeroed := false
	if tail < int64(len(data)) {
		// A torn final record (its batch never committed), or what
		// tornFrom cut.
		if err := d.zeroTail(tail, int64(len(data))); err != nil {
			return err
		}
		zeroed = true
	}
	for _, rec := range recs {
		for _, op := range rec.ops {
			if old, ok := d.index[string(op.key)]; ok {
				d.live -= int64(old.n)
				delete(d.index, string(op.key))
				if !isZero(data[old.off : old.off+4+int64(old.n)]) {
					if err := d.zero(old); err != nil {
						return err
					}
					zeroed = true
				}
			}
			if op.del {
				continue
			}
			v := data[op.val.off : op.val.off+4+int64(op.val.n)]
			// An erased value (zero CRC and bytes) is replaced by a later
			// record; if none does, the record that replaced it was lost
			// to an operating system crash after EraseAtOnce erased it
			// (or the file was damaged): the key's value is gone, which
			// Get reports as damage.
			op.val.damaged = binary.BigEndian.Uint32(v) != valueCRC(v[4:])
			d.index[string(op.key)] = op.val
			d.live += int64(op.val.n)
		}
	}
	d.size = tail
	if marked {
		// What was read is the store's state from now on: a mark after it,
		// synced, so that a later crash cannot cut it (tornFrom).
		if _, err := f.WriteAt(dirMark[:], d.size); err != nil {
			return err
		}
		d.size += int64(len(dirMark))
		zeroed = true
	}
	if zeroed {
		return f.Sync()
	}
	return nil
}

// dirRecord is a parsed record: where it starts, its operations, and
// whether it is a sync mark (no operations: written after each sync of
// group commit, so that an open knows which records were synced).
type dirRecord struct {
	off  int64
	ops  []dirOp
	mark bool
}

// parseDirRecords parses the records of data (after the magic) and
// returns them with the offset where the intact records end. A torn final
// record ends them; so does any damaged record under group commit (records
// after the last sync may reach the disk out of order). Other damage is an
// error.
func parseDirRecords(data []byte, groupCommit bool) ([]dirRecord, int64, error) {
	var recs []dirRecord
	off := int64(len(dirMagic))
	for off < int64(len(data)) {
		ops, end, err := parseDirRecord(data, off, groupCommit)
		if err != nil {
			// Under group commit a damaged record that no sync mark
			// follows was written after the last sync: the end.
			if end < 0 || groupCommit && !bytes.Contains(data[off+1:], dirMark[:]) {
				return recs, off, nil
			}
			return nil, 0, fmt.Errorf("at offset %d: %w", off, err)
		}
		recs = append(recs, dirRecord{off: off, ops: ops, mark: len(ops) == 0})
		off = end
	}
	return recs, off, nil
}

// tornFrom returns the index of the first record after the last sync
// mark (none if there is no mark) that holds a value whose bytes fail their CRC — torn, or erased by
// EraseAtOnce — which no record before the cut replaces; len(recs) if
// there is none. Cutting a record can leave an earlier value unreplaced:
// it repeats until the cut stays.
func tornFrom(data []byte, recs []dirRecord) int {
	from := -1
	for i, r := range recs {
		if r.mark {
			from = i + 1
		}
	}
	if from < 0 {
		return len(recs) // no mark: nothing is known unsynced
	}
	// next[i][j]: the index of the next record after i that sets or
	// deletes the key of recs[i].ops[j] (len(recs) if none).
	next := make([][]int, len(recs))
	last := map[string]int{}
	for i := len(recs) - 1; i >= from; i-- {
		next[i] = make([]int, len(recs[i].ops))
		for j := len(recs[i].ops) - 1; j >= 0; j-- {
			op := recs[i].ops[j]
			n, ok := last[string(op.key)]
			if !ok {
				n = len(recs)
			}
			next[i][j] = n
			last[string(op.key)] = i // a later operation of the same record replaces it too
		}
	}
	cut := len(recs)
	for again := true; again; {
		again = false
		for i := from; i < cut && !again; i++ {
			for j, op := range recs[i].ops {
				if op.del || next[i][j] < cut {
					continue
				}
				v := data[op.val.off : op.val.off+4+int64(op.val.n)]
				if binary.BigEndian.Uint32(v) != valueCRC(v[4:]) {
					cut, again = i, true
					break
				}
			}
		}
	}
	return cut
}

type dirOp struct {
	key []byte
	del bool
	val dirValue
}

// parseDirRecord parses the record at off. A record that runs past the
// end of data, or whose header fails its CRC while it is the last thing
// in the file, is torn: end is -1. Other errors are damage.
func parseDirRecord(data []byte, off int64, groupCommit bool) (ops []dirOp, end int64, err error) {
	rest := int64(len(data)) - off
	if rest < 8 {
		return nil, -1, errors.New("torn record header")
	}
	hl := int64(binary.BigEndian.Uint32(data[off:]))
	crc := binary.BigEndian.Uint32(data[off+4:])
	if hl > rest-8 {
		return nil, -1, errors.New("torn record")
	}
	h := data[off+8 : off+8+hl]
	if hl < 4 || crc32.Checksum(h, crcTable) != crc { // a zeroed header (length 0, CRC 0) would pass the CRC
		// The last record of the file is torn (an interrupted append);
		// one followed by another record is damaged.
		if !groupCommit && !recordAfter(data, off+8) { // group commit looks for a mark instead
			return nil, -1, errors.New("torn record (header CRC)")
		}
		return nil, 0, errors.New("record header CRC")
	}
	return parseDirHeader(data, off+8+hl, h)
}

// recordAfter reports whether an intact record header (its length in
// range, its CRC right, its operations parsed) starts anywhere in data
// from offset from: whether a damaged header is followed by a record, as
// a torn final one cannot be. Only an open that met a damaged header
// scans; most offsets fail the length check at once.
func recordAfter(data []byte, from int64) bool {
	for p := from; p+8 <= int64(len(data)); p++ {
		hl := int64(binary.BigEndian.Uint32(data[p:]))
		if hl < 4 || hl > int64(len(data))-p-8 {
			continue
		}
		// The header must parse before its CRC is computed: random bytes
		// fail the parse at once, where a CRC would read hl of them.
		h := data[p+8 : p+8+hl]
		if _, _, err := parseDirHeader(data, p+8+hl, h); err != nil {
			continue
		}
		if crc32.Checksum(h, crcTable) == binary.BigEndian.Uint32(data[p+4:]) {
			return true
		}
	}
	return false
}

// parseDirHeader parses a record header h whose values start at vals.
func parseDirHeader(data []byte, vals int64, h []byte) (ops []dirOp, end int64, err error) {
	if len(h) < 4 {
		return nil, 0, errors.New("short record header")
	}
	n := binary.BigEndian.Uint32(h)
	h = h[4:]
	if n > dirMaxOps {
		return nil, 0, fmt.Errorf("%d operations", n)
	}
	for range n {
		if len(h) < 3 {
			return nil, 0, errors.New("short operation")
		}
		kind, kl := h[0], int(binary.BigEndian.Uint16(h[1:]))
		h = h[3:]
		if kl == 0 || kl > MaxKeyLen || len(h) < kl {
			return nil, 0, errors.New("bad key")
		}
		op := dirOp{key: h[:kl]}
		h = h[kl:]
		switch kind {
		case dirOpDelete:
			op.del = true
		case dirOpPut:
			if len(h) < 4 {
				return nil, 0, errors.New("short value length")
			}
			vl := int64(binary.BigEndian.Uint32(h))
			h = h[4:]
			if vl > MaxValueLen || int64(len(data))-vals < 4+vl {
				return nil, -1, errors.New("torn values")
			}
			op.val = dirValue{off: vals, n: uint32(vl)}
			vals += 4 + vl
		default:
			return nil, 0, fmt.Errorf("operation kind %d", kind)
		}
		ops = append(ops, op)
	}
	if len(h) != 0 {
		return nil, 0, errors.New("trailing header bytes")
	}
	return ops, vals, nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// zero overwrites a value and its CRC with zeros (not synced: the record
// that superseded it is durable, and reopening zeroes it again).
func (d *DirStorage) zero(v dirValue) error {
	return d.writeZeros(v.off, v.off+4+int64(v.n))
}

// zeroBlock is what writeZeros writes; nothing writes into it.
var zeroBlock [16 << 10]byte

// writeZeros overwrites the file from off to end with zeros, a block at
// a time: a commit that replaces a value allocates nothing to erase it.
func (d *DirStorage) writeZeros(off, end int64) error {
	for off < end {
		n := min(end-off, int64(len(zeroBlock)))
		if _, err := d.f.WriteAt(zeroBlock[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// zeroTail overwrites the file from off to end with zeros, truncates it to
// off and syncs it.
func (d *DirStorage) zeroTail(off, end int64) error {
	if end > off {
		if err := d.writeZeros(off, end); err != nil {
			return err
		}
		if err := d.f.Sync(); err != nil {
			return err
		}
	}
	if err := d.f.Truncate(off); err != nil {
		return err
	}
	return d.f.Sync()
}

// Dir returns the storage's directory.
func (d *DirStorage) Dir() string { return d.dir }

// Close releases the file and the directory's lock. The DirStorage must
// not be used afterwards (its methods return ErrClosed).
func (d *DirStorage) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	ferr := d.flush()
	d.closed = true
	return errors.Join(ferr, d.f.Close(), d.lock.Close())
}

// Flush makes every committed batch durable: with DirOptions.SyncEvery it
// syncs the commits since the last sync and then overwrites the values
// they replaced. Without it every Commit is durable already and Flush
// does nothing.
func (d *DirStorage) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	return d.flush()
}

// sync syncs the data file (flush: for flush, else for EraseAtOnce's
// mark). On failure whether the records are durable is unknown: the store
// is usable only after reopening, which settles it. The caller holds d.mu.
func (d *DirStorage) sync(flush bool) error {
	if dirSyncHook != nil {
		dirSyncHook(flush)
	}
	if err := d.f.Sync(); err != nil {
		d.closed = true
		d.f.Close()
		d.lock.Close()
		return fmt.Errorf("mls: DirStorage sync failed, reopen the store: %w", err)
	}
	return nil
}

// flush syncs the unsynced commits and zeroes the values they superseded.
// The caller holds d.mu.
func (d *DirStorage) flush() error {
	if d.unsynced == 0 {
		return nil
	}
	if err := d.sync(true); err != nil {
		return err
	}
	d.unsynced = 0
	d.markPending = false
	if d.syncEvery > 1 {
		// The mark after the sync (a mark on the disk must not precede
		// records that are not): durable with the next sync, which an
		// EraseAtOnce commit forces before it erases (markPending). A mark
		// that fails to be written leaves d.size: the next record
		// overwrites it.
		if _, err := d.f.WriteAt(dirMark[:], d.size); err == nil {
			d.size += int64(len(dirMark))
			d.markPending = true
		}
	}
	zerr := d.zeroRuns(d.stale)
	clear(d.stale)
	d.stale = d.stale[:0]
	if zerr != nil {
		return fmt.Errorf("mls: DirStorage committed but could not erase old values (reopening retries): %w", zerr)
	}
	return nil
}

// zeroRuns overwrites the values vals with zeros (sorting vals by
// offset), one write per run of adjacent values: the nodes a commit
// replaces were mostly written together, by one earlier record. It
// reports the first error and goes on.
func (d *DirStorage) zeroRuns(vals []dirValue) error {
	slices.SortFunc(vals, func(a, b dirValue) int { return cmp.Compare(a.off, b.off) })
	var zerr error
	for i := 0; i < len(vals); {
		off, end := vals[i].off, vals[i].off+4+int64(vals[i].n)
		for i++; i < len(vals) && vals[i].off <= end; i++ {
			end = max(end, vals[i].off+4+int64(vals[i].n))
		}
		if err := d.writeZeros(off, end); err != nil && zerr == nil {
			zerr = err
		}
	}
	return zerr
}

// dirSector is the unit a storage device writes atomically (a sector of
// 512 bytes, the smallest in use): a value that lies within one is
// replaced in place (inPlace).
const dirSector = 512

// inPlace reports whether a batch that only puts v under a key whose
// current value is old can overwrite old where it is: v has old's length,
// old is not damaged, and old with its CRC lies within one sector of the
// file, so that the write is atomic for a crash of the process (the kernel
// copies one page at a time) and for a crash of the operating system
// (the device writes a sector whole) — the file then holds the old value
// or the new one, both of them consistent states of the store.
func (d *DirStorage) inPlace(old dirValue, v []byte) bool {
	return !old.damaged && int(old.n) == len(v) &&
		old.off/dirSector == (old.off+4+int64(old.n)-1)/dirSector
}

// overwrite replaces the value of key, old, by v in place: one write of
// v's CRC and bytes over old's, which leaves no byte of old in the file
// and appends nothing; then the sync that a Commit owes (every
// SyncEvery-th). The caller holds d.mu and has checked inPlace.
func (d *DirStorage) overwrite(key string, old dirValue, v []byte) error {
	var small [4 + 256]byte
	buf := small[:0]
	if 4+len(v) > len(small) {
		buf = make([]byte, 0, 4+len(v))
	}
	buf = binary.BigEndian.AppendUint32(buf, valueCRC(v))
	buf = append(buf, v...)
	defer clear(buf)
	if _, err := d.f.WriteAt(buf, old.off); err != nil {
		// The old value may be partly overwritten.
		old.damaged = true
		d.index[key] = old
		return err
	}
	d.unsynced++
	if d.unsynced >= d.syncEvery {
		return d.flush()
	}
	return nil
}

// Get implements Storage.
func (d *DirStorage) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	v, ok := d.index[string(key)]
	if !ok {
		return nil, notFound(key)
	}
	if v.damaged {
		return nil, fmt.Errorf("%w: value of %q", ErrDamaged, key)
	}
	buf := make([]byte, 4+int64(v.n))
	if _, err := d.f.ReadAt(buf, v.off); err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint32(buf) != valueCRC(buf[4:]) {
		clear(buf)
		return nil, fmt.Errorf("%w: value of %q", ErrDamaged, key)
	}
	return buf[4:], nil
}

// Keys implements Storage.
func (d *DirStorage) Keys(ctx context.Context, prefix []byte) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	var out [][]byte
	for k := range d.index {
		if strings.HasPrefix(k, string(prefix)) {
			out = append(out, []byte(k))
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return out, nil
}

// encodeDirRecord returns the record of ops and, for each put, the offset
// of its value's CRC from the record's start.
func encodeDirRecord(ops []BatchOp) ([]byte, []int64) {
	hl := 4
	vl := 0
	for _, op := range ops {
		hl += 3 + len(op.Key)
		if !op.Delete {
			hl += 4
			vl += 4 + len(op.Value)
		}
	}
	rec := make([]byte, 8+hl, 8+hl+vl)
	h := rec[8:8]
	h = binary.BigEndian.AppendUint32(h, uint32(len(ops)))
	offs := make([]int64, len(ops))
	for i, op := range ops {
		kind := byte(dirOpPut)
		if op.Delete {
			kind = dirOpDelete
		}
		h = append(h, kind)
		h = binary.BigEndian.AppendUint16(h, uint16(len(op.Key)))
		h = append(h, op.Key...)
		if !op.Delete {
			h = binary.BigEndian.AppendUint32(h, uint32(len(op.Value)))
			offs[i] = int64(len(rec))
			rec = binary.BigEndian.AppendUint32(rec, valueCRC(op.Value))
			rec = append(rec, op.Value...)
		}
	}
	binary.BigEndian.PutUint32(rec, uint32(hl))
	binary.BigEndian.PutUint32(rec[4:], crc32.Checksum(rec[8:8+hl], crcTable))
	return rec, offs
}

// Commit implements Storage: one appended record, synced, then the
// values it replaced are zeroed.
func (d *DirStorage) Commit(ctx context.Context, b *Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.Check(); err != nil {
		return err
	}
	if len(b.ops) > dirMaxOps {
		return fmt.Errorf("%w: batch of %d operations, DirStorage's limit is %d", ErrInvalidArgument, len(b.ops), dirMaxOps)
	}
	if len(b.ops) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if op := b.ops[0]; len(b.ops) == 1 && !op.Delete {
		if old, ok := d.index[string(op.Key)]; ok && d.inPlace(old, op.Value) {
			return d.overwrite(string(op.Key), old, op.Value)
		}
	}
	rec, offs := encodeDirRecord(b.ops)
	defer clear(rec)
	if _, err := d.f.WriteAt(rec, d.size); err != nil {
		d.zeroTail(d.size, d.size+int64(len(rec)))
		return err
	}
	at := len(d.stale)
	for i, op := range b.ops {
		if old, ok := d.index[string(op.Key)]; ok {
			d.live -= int64(old.n)
			delete(d.index, string(op.Key))
			d.stale = append(d.stale, old)
		}
		if !op.Delete {
			v := dirValue{off: d.size + offs[i], n: uint32(len(op.Value))}
			d.index[string(op.Key)] = v
			d.live += int64(v.n)
		}
	}
	d.size += int64(len(rec))
	d.unsynced++
	if d.eraseAtOnce && d.unsynced < d.syncEvery {
		// EraseAtOnce: what this commit replaced goes now, before the
		// sync (which would erase it otherwise).
		if d.markPending && len(d.stale) > at {
			// The mark durable before an erasure that an open would
			// otherwise find in a record it takes as unsynced.
			if err := d.sync(false); err != nil {
				return err
			}
			d.markPending = false
		}
		err := d.zeroRuns(d.stale[at:])
		clear(d.stale[at:])
		d.stale = d.stale[:at]
		if err != nil {
			return fmt.Errorf("mls: DirStorage committed but could not erase old values (reopening retries): %w", err)
		}
	}
	if d.unsynced >= d.syncEvery {
		// The commit point (with group commit, of the commits since the
		// last one); then the replaced values are overwritten.
		if err := d.flush(); err != nil {
			return err
		}
	}
	if dead := d.size - d.live; dead > d.compactMin && (dead > dirDeadRatio*d.live || d.compactMin < dirCompactMin) {
		return d.compact()
	}
	return nil
}

// compact copies the live values into a new data file that replaces the
// current one. The caller holds d.mu.
//
// It streams: the live values are read in file order through one buffer
// of dirCompactChunk bytes and written as records of at most that many
// bytes of values, each value with the CRC it was stored with (a value
// damaged on disk since it was written stays detectably damaged). A
// compaction thus allocates the chunk and 40 bytes per live key, not the
// file's size: a large group's store holds megabytes of tree nodes, and
// the compaction that a run of small commits triggers must not cost each
// of them a share that grows with the group.
func (d *DirStorage) compact() error {
	// The copy holds only live values; the file it replaces must hold
	// no value of an unsynced commit's predecessors.
	if err := d.flush(); err != nil {
		return err
	}
	live := liveInFileOrder(d.index)
	// Windows cannot rename over an open file: the current one is closed
	// before the rename and the data file reopened after it, replaced or
	// not.
	path := filepath.Join(d.dir, dirDataFile)
	released := false
	var size int64
	werr := atomicfile.WriteFrom(path, func(w io.Writer) (err error) {
		size, err = d.writeCompacted(w, live)
		return err
	}, func() {
		released = true
		d.f.Close()
	})
	if released {
		f, oerr := os.OpenFile(path, os.O_RDWR, 0)
		if oerr != nil {
			d.closed = true
			d.lock.Close()
			return errors.Join(werr, oerr)
		}
		d.f = f
	}
	if werr != nil {
		return werr // the old file, unchanged
	}
	d.live, d.size = 0, size
	for _, c := range live {
		d.index[c.key] = dirValue{off: c.off, n: c.old.n, damaged: c.old.damaged} // an existing key: no allocation
		d.live += int64(c.old.n)
	}
	return nil
}

// liveInFileOrder returns the values of index in the order of their
// offsets in the file. Damaged values are among them: a compaction copies
// their bytes as they are (a zeroed value, or one whose CRC fails, stays
// detectably damaged) so that each key keeps a place in the new file —
// an index entry left pointing into the old one would have a later
// replacement zero whatever the new file holds there. A large group's store holds
// tens of thousands of values: they are ordered by sorting integers (each
// offset with the value's position in the list), several times faster
// than sorting the values with a comparison function, and the order is
// applied in place (8 bytes per value besides the list).
func liveInFileOrder(index map[string]dirValue) []compactValue {
	live := make([]compactValue, 0, len(index))
	var maxOff int64
	for k, v := range index {
		live = append(live, compactValue{key: k, old: v})
		maxOff = max(maxOff, v.off)
	}
	const posBits = 24
	if len(live) > 1<<posBits || maxOff >= 1<<(64-posBits) {
		slices.SortFunc(live, func(a, b compactValue) int { return cmp.Compare(a.old.off, b.old.off) })
		return live
	}
	order := make([]uint64, len(live))
	for i, c := range live {
		order[i] = uint64(c.old.off)<<posBits | uint64(i)
	}
	slices.Sort(order)
	// Position i takes the value at order[i]'s position: the permutation
	// is applied in place, one cycle at a time (a done entry is all ones,
	// which no packed offset reaches).
	const done = ^uint64(0)
	for i := range live {
		if order[i] == done {
			continue
		}
		first, j := live[i], i
		for {
			k := int(order[j] & (1<<posBits - 1))
			order[j] = done
			if k == i {
				live[j] = first
				break
			}
			live[j], j = live[k], k
		}
	}
	return live
}

// compactValue is a live value during a compaction: its key, where it is
// in the current file, and where the copy puts its CRC.
type compactValue struct {
	key string
	old dirValue
	off int64
}

// dirCompactChunk is the size of a compaction's read buffer and of the
// values of one record it writes.
const dirCompactChunk = 256 << 10

// writeCompacted writes the data file of the live values to w, in
// records of at most dirCompactChunk bytes (or of one value), sets each
// value's new offset and returns the file's size. The buffers are cleared: they hold
// secrets.
func (d *DirStorage) writeCompacted(w io.Writer, live []compactValue) (int64, error) {
	if _, err := w.Write(dirMagic[:]); err != nil {
		return 0, err
	}
	src := &chunkReader{f: d.f, buf: make([]byte, dirCompactChunk)}
	defer clear(src.buf)
	var rec []byte
	defer func() { clear(rec) }()
	size := int64(len(dirMagic))
	for len(live) > 0 {
		// The record's values: as many as fit a chunk, at least one.
		n, hl, vl := 0, 4, 0
		for n < len(live) && (n == 0 || hl+3+len(live[n].key)+4+vl+4+int(live[n].old.n) <= dirCompactChunk) {
			hl += 3 + len(live[n].key) + 4
			vl += 4 + int(live[n].old.n)
			n++
		}
		if cap(rec) < 8+hl+vl {
			clear(rec)
			rec = make([]byte, 0, 8+hl+vl)
		}
		rec = rec[:8]
		rec = binary.BigEndian.AppendUint32(rec, uint32(n))
		for _, c := range live[:n] {
			rec = append(rec, dirOpPut)
			rec = binary.BigEndian.AppendUint16(rec, uint16(len(c.key)))
			rec = append(rec, c.key...)
			rec = binary.BigEndian.AppendUint32(rec, c.old.n)
		}
		binary.BigEndian.PutUint32(rec, uint32(hl))
		binary.BigEndian.PutUint32(rec[4:], crc32.Checksum(rec[8:8+hl], crcTable))
		end := size + int64(8+hl+vl)
		for i := range live[:n] {
			c := &live[i]
			c.off = size + int64(len(rec))
			at := len(rec)
			rec = rec[:at+4+int(c.old.n)]
			if err := src.readAt(rec[at:], c.old.off); err != nil {
				return 0, err
			}
		}
		if _, err := w.Write(rec); err != nil {
			return 0, err
		}
		size, live = end, live[n:]
	}
	// The copy is synced before it replaces the file: every record in it
	// is durable.
	if _, err := w.Write(dirMark[:]); err != nil {
		return 0, err
	}
	return size + int64(len(dirMark)), nil
}

// chunkReader reads a file in increasing offsets through one buffer.
type chunkReader struct {
	f          *os.File
	buf        []byte
	start, end int64 // buf[:end-start] holds the file's bytes [start, end)
}

// readAt fills dst with the file's bytes from off.
func (r *chunkReader) readAt(dst []byte, off int64) error {
	if len(dst) > len(r.buf) {
		_, err := r.f.ReadAt(dst, off) // a value larger than the buffer
		return err
	}
	if off < r.start || off+int64(len(dst)) > r.end {
		n, err := r.f.ReadAt(r.buf, off)
		if n < len(dst) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		r.start, r.end = off, off+int64(n)
	}
	copy(dst, r.buf[off-r.start:])
	return nil
}
