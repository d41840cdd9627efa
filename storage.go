package mls

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mlscore/mlscore/effects"
)

// Storage is where a Client keeps what must survive a restart: its secrets
// (signature keys, key package bundles, external PSKs, and its own identity
// record) and one event log per group, in the format of package replay.
// The group's state is recovered from its log (a snapshot and the records
// after it), so a log is as sensitive as the member's current keys.
//
// A Client calls its Storage from one goroutine at a time per group, but
// the groups of a Client may call it concurrently: implementations must be
// safe for concurrent use. Every method that writes must have made the
// write durable when it returns: the shell carries out an operation's
// effects (sending, delivering, deleting secrets) only after its log write
// returned.
//
// MemoryStorage and DirStorage are the two implementations of this package.
type Storage interface {
	// StoreSecret durably stores secret under ref, replacing any previous
	// value.
	StoreSecret(ref effects.SecretRef, secret []byte) error
	// DeleteSecret erases the secret under ref, and every copy of it the
	// storage holds. Deleting a secret that is not stored is not an error:
	// most DeleteSecret effects name secrets that live only inside the
	// group state, whose older versions the log rewrite already replaced.
	DeleteSecret(ref effects.SecretRef) error
	// Secrets returns every stored secret.
	Secrets() ([]effects.PersistSecret, error)

	// ReadLog returns the whole log of group groupID, or an error wrapping
	// fs.ErrNotExist if there is none.
	ReadLog(groupID []byte) ([]byte, error)
	// ReplaceLog atomically replaces the log of group groupID by data
	// (creating it if needed): after a crash, either the old log or the new
	// one is stored, never a mixture, and the old contents are gone.
	ReplaceLog(groupID []byte, data []byte) error
	// AppendLog durably appends data to the existing log of group groupID.
	AppendLog(groupID []byte, data []byte) error
	// DeleteLog erases the log of group groupID.
	DeleteLog(groupID []byte) error
	// Groups returns the ids of the groups that have a log, in a
	// deterministic order.
	Groups() ([][]byte, error)
}

// MemoryStorage is a Storage held in memory, for tests and for clients
// whose state need not survive the process. The zero value is not ready to
// use; call NewMemoryStorage. It is safe for concurrent use.
type MemoryStorage struct {
	mu      sync.Mutex
	secrets map[string]effects.PersistSecret
	logs    map[string][]byte
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{secrets: map[string]effects.PersistSecret{}, logs: map[string][]byte{}}
}

func secretKey(ref effects.SecretRef) string {
	return string(append([]byte{byte(ref.Kind)}, ref.ID...))
}

// StoreSecret implements Storage.
func (m *MemoryStorage) StoreSecret(ref effects.SecretRef, secret []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secrets[secretKey(ref)] = effects.PersistSecret{
		Ref:    effects.SecretRef{Kind: ref.Kind, ID: bytes.Clone(ref.ID)},
		Secret: bytes.Clone(secret),
	}
	return nil
}

// DeleteSecret implements Storage. The secret's bytes are overwritten with
// zeros before the entry is dropped.
func (m *MemoryStorage) DeleteSecret(ref effects.SecretRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := secretKey(ref)
	if p, ok := m.secrets[k]; ok {
		clear(p.Secret)
		delete(m.secrets, k)
	}
	return nil
}

// Secrets implements Storage. The result is sorted by kind and id.
func (m *MemoryStorage) Secrets() ([]effects.PersistSecret, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := slices.Sorted(maps.Keys(m.secrets))
	out := make([]effects.PersistSecret, 0, len(keys))
	for _, k := range keys {
		p := m.secrets[k]
		out = append(out, effects.PersistSecret{
			Ref:    effects.SecretRef{Kind: p.Ref.Kind, ID: bytes.Clone(p.Ref.ID)},
			Secret: bytes.Clone(p.Secret),
		})
	}
	return out, nil
}

// ReadLog implements Storage.
func (m *MemoryStorage) ReadLog(groupID []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logs[string(groupID)]
	if !ok {
		return nil, fmt.Errorf("mls: no log for group %x: %w", groupID, fs.ErrNotExist)
	}
	return bytes.Clone(l), nil
}

// ReplaceLog implements Storage.
func (m *MemoryStorage) ReplaceLog(groupID []byte, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.logs[string(groupID)]; ok {
		clear(old)
	}
	m.logs[string(groupID)] = bytes.Clone(data)
	return nil
}

// AppendLog implements Storage.
func (m *MemoryStorage) AppendLog(groupID []byte, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logs[string(groupID)]
	if !ok {
		return fmt.Errorf("mls: no log for group %x: %w", groupID, fs.ErrNotExist)
	}
	m.logs[string(groupID)] = append(l, data...)
	return nil
}

// DeleteLog implements Storage.
func (m *MemoryStorage) DeleteLog(groupID []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.logs[string(groupID)]; ok {
		clear(old)
		delete(m.logs, string(groupID))
	}
	return nil
}

// Groups implements Storage.
func (m *MemoryStorage) Groups() ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, k := range slices.Sorted(maps.Keys(m.logs)) {
		out = append(out, []byte(k))
	}
	return out, nil
}

// DirStorage is a Storage in a directory of the file system:
//
//	DIR/secrets/KK-HHHH…   one file per secret: kind KK (hex), HHHH… the
//	                       SHA-256 of its id; the file holds the id and
//	                       the secret
//	DIR/groups/GGGG….mlslog one event log per group (package replay's
//	                       format), GGGG… the hex group id
//
// Every write goes through a temporary file that is synced and renamed
// into place (and the directory synced), appends are synced, and
// DeleteSecret overwrites a secret's file with zeros, syncs it and removes
// it. (Overwriting cannot reach copies that a journaling or copy-on-write
// file system or an SSD's flash translation keeps; use full-disk encryption
// for those.) Group ids longer than 120 bytes are not supported.
//
// A DirStorage is safe for concurrent use. It holds the directory for
// itself until Close: OpenDirStorage takes an exclusive lock on DIR/LOCK
// (flock on Unix systems, an unshared handle on Windows), and a second
// OpenDirStorage of the same directory — from another process or from
// this one — fails with ErrLocked. The operating system releases the lock
// when the process dies, so a crash leaves no stale lock.
type DirStorage struct {
	dir  string
	lock *os.File   // holds the directory's lock; nil once closed
	mu   sync.Mutex // serializes appends and renames per process
}

// ErrLocked reports opening a storage that another DirStorage (in this
// process or another) holds open.
var ErrLocked = errors.New("mls: storage is locked by another user")

// maxDirGroupID bounds group ids in DirStorage file names (hex doubles
// them; file names are limited to 255 bytes).
const maxDirGroupID = 120

// OpenDirStorage returns a DirStorage in dir, creating dir and its
// subdirectories (mode 0700) if needed, and locks the directory until
// Close (ErrLocked if it is held).
func OpenDirStorage(dir string) (*DirStorage, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := lockFile(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"secrets", "groups"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			lock.Close()
			return nil, err
		}
	}
	return &DirStorage{dir: dir, lock: lock}, nil
}

// Close releases the directory's lock. The DirStorage must not be used
// afterwards.
func (d *DirStorage) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lock == nil {
		return nil
	}
	err := d.lock.Close()
	d.lock = nil
	return err
}

// Dir returns the storage's directory.
func (d *DirStorage) Dir() string { return d.dir }

func (d *DirStorage) secretPath(ref effects.SecretRef) string {
	h := sha256.Sum256(ref.ID)
	return filepath.Join(d.dir, "secrets", fmt.Sprintf("%02x-%x", uint8(ref.Kind), h))
}

func (d *DirStorage) logPath(groupID []byte) (string, error) {
	if len(groupID) == 0 || len(groupID) > maxDirGroupID {
		return "", fmt.Errorf("mls: DirStorage supports group ids of 1 to %d bytes, not %d", maxDirGroupID, len(groupID))
	}
	return filepath.Join(d.dir, "groups", hex.EncodeToString(groupID)+".mlslog"), nil
}

// writeAtomic writes data to path through a synced temporary file renamed
// over it, then syncs the directory so that the rename is durable. The
// replaced file, kept open across the rename, is then overwritten with
// zeros: an older snapshot holds older keys.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	old, _ := os.OpenFile(path, os.O_WRONLY, 0) // nil if there is none
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		if old != nil {
			old.Close()
		}
		return err
	}
	if err := syncDir(dir); err != nil {
		if old != nil {
			old.Close()
		}
		return err
	}
	if old != nil {
		// The new file is durable: erase the old one's contents.
		err := zeroFile(old)
		if cerr := old.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return nil
}

// zeroFile overwrites the contents of f with zeros and syncs it.
func zeroFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(make([]byte, fi.Size()), 0); err != nil {
		return err
	}
	return f.Sync()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(serr, cerr)
}

// StoreSecret implements Storage.
func (d *DirStorage) StoreSecret(ref effects.SecretRef, secret []byte) error {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(len(ref.ID)))
	b = append(b, ref.ID...)
	b = append(b, secret...)
	defer clear(b)
	return writeAtomic(d.secretPath(ref), b)
}

// DeleteSecret implements Storage: the file is overwritten with zeros,
// synced and removed.
func (d *DirStorage) DeleteSecret(ref effects.SecretRef) error {
	return eraseFile(d.secretPath(ref))
}

// eraseFile overwrites the file at path with zeros, syncs and removes it.
// A missing file is not an error.
func eraseFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = zeroFile(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// Secrets implements Storage. The result is in file-name order.
func (d *DirStorage) Secrets() ([]effects.PersistSecret, error) {
	dir := filepath.Join(d.dir, "secrets")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []effects.PersistSecret
	for _, e := range ents {
		name := e.Name()
		var kind uint8
		if strings.HasPrefix(name, ".") || len(name) < 3 {
			continue // a temporary file of an interrupted write
		}
		if _, err := fmt.Sscanf(name[:2], "%02x", &kind); err != nil || name[2] != '-' {
			return nil, fmt.Errorf("mls: unexpected file %s in %s", name, dir)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if len(b) < 4 || uint64(len(b)-4) < uint64(binary.BigEndian.Uint32(b)) {
			return nil, fmt.Errorf("mls: damaged secret file %s", name)
		}
		n := binary.BigEndian.Uint32(b)
		out = append(out, effects.PersistSecret{
			Ref:    effects.SecretRef{Kind: effects.SecretKind(kind), ID: bytes.Clone(b[4 : 4+n])},
			Secret: bytes.Clone(b[4+n:]),
		})
		clear(b)
	}
	return out, nil
}

// ReadLog implements Storage.
func (d *DirStorage) ReadLog(groupID []byte) ([]byte, error) {
	p, err := d.logPath(groupID)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// ReplaceLog implements Storage.
func (d *DirStorage) ReplaceLog(groupID []byte, data []byte) error {
	p, err := d.logPath(groupID)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return writeAtomic(p, data)
}

// AppendLog implements Storage.
func (d *DirStorage) AppendLog(groupID []byte, data []byte) error {
	p, err := d.logPath(groupID)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(werr, serr, cerr)
}

// DeleteLog implements Storage: the log is overwritten with zeros, synced
// and removed.
func (d *DirStorage) DeleteLog(groupID []byte) error {
	p, err := d.logPath(groupID)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return eraseFile(p)
}

// Groups implements Storage.
func (d *DirStorage) Groups() ([][]byte, error) {
	ents, err := os.ReadDir(filepath.Join(d.dir, "groups"))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".mlslog")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		id, err := hex.DecodeString(name)
		if err != nil {
			continue
		}
		out = append(out, id)
	}
	return out, nil
}
