package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mlscore/mlscore/codec"
)

// FormatVersion is the version of the log encoding written by this package.
// Changing the encoding of a header or record means bumping it.
//
// Version 2 added the snapshot frame that follows the header of a
// SnapshotAndTail log. Version 3 lets a record carry the public digest of
// the state after it and a public checkpoint (Record.Public,
// Record.Checkpoint), which Public logs use; a record without them is
// encoded as in version 1. This package reads versions 1 to 3.
const FormatVersion uint16 = 3

// publicFormatVersion is the first version whose records may carry a
// public digest and checkpoint.
const publicFormatVersion uint16 = 3

// minFormatVersion is the oldest version this package reads.
const minFormatVersion uint16 = 1

// magic starts every log file.
const magic = "MLSLOG\x00\x01"

// Mode says how much of each record a log keeps, which decides what a
// replay can rebuild and what an attacker holding the log can learn.
type Mode uint8

const (
	// Full keeps every record's entropy seed. A replay rebuilds every state,
	// secrets included — and so can anyone who reads the log: the seeds
	// regenerate every key. For tests, simulation and consented debugging.
	Full Mode = 1
	// Public zeroes the seeds. A replay rebuilds the public group state (what
	// a delivery service or observer can verify), none of the secrets.
	Public Mode = 2
	// SnapshotAndTail keeps a snapshot of the state and only the records after
	// it; older records, and the secrets their seeds imply, are dropped.
	// The header is followed by one snapshot frame (see Snapshot); the
	// records after it keep their seeds, so the tail replays in full.
	SnapshotAndTail Mode = 3
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case Full:
		return "full"
	case Public:
		return "public"
	case SnapshotAndTail:
		return "snapshot-and-tail"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Header opens a log.
type Header struct {
	Format   uint16 // FormatVersion of the writer
	Mode     Mode
	Module   string // module version that wrote the log, for the reader's information
	PolicyID string // identifies the Policy the events were applied under
}

// OutcomeClass classifies the result of applying an event.
type OutcomeClass uint8

// The outcome classes.
const (
	OK          OutcomeClass = 0 // the event applied
	Rejected    OutcomeClass = 1 // a validation rule rejected it; Code is the valsem code
	DecodeError OutcomeClass = 2 // the input did not decode
	PolicyError OutcomeClass = 3 // the application's policy refused it
	LimitError  OutcomeClass = 4 // a limit was exceeded
	OtherError  OutcomeClass = 5 // any other error
)

// Outcome is the recorded result of an event: rejected inputs are logged
// too, so a replay checks that they are still rejected for the same reason.
type Outcome struct {
	Class OutcomeClass
	Code  uint16 // valsem code for Rejected, else 0
}

// Record is one entry of the log: an input to the group's state machine and
// digests of what it produced.
type Record struct {
	Seq     uint64   // position in the log, from 0
	Prev    [32]byte // SHA-256 of the previous record's encoding; zero for the first
	Group   []byte   // group id; empty for client-level events
	Event   []byte   // the encoded event
	Seed    [32]byte // entropy seed of the event; zero in Public mode
	Outcome Outcome
	State   [32]byte // digest of the state after the event
	Effects [32]byte // digest of the effects the event produced
	// Public is the public digest of the state after the event
	// (state.GroupState.PublicDigest), recorded in Public logs (format 3
	// on); zero when not recorded.
	Public [32]byte
	// Checkpoint is the public part of the state after the event
	// (state.EncodePublic), present in a Public log where an Observer
	// cannot derive that state from the one before and the event; it
	// holds no secret.
	Checkpoint []byte
}

// Log-reading errors.
var (
	// ErrNotLog reports input that does not start with a log header.
	ErrNotLog = errors.New("mls: not an mlscore event log")
	// ErrCorrupt reports a damaged record before the end of the log. It is
	// never skipped: the error says which record.
	ErrCorrupt = errors.New("mls: event log corrupt")
	// ErrChain reports a record whose sequence number or previous-record hash
	// does not continue the chain.
	ErrChain = errors.New("mls: event log hash chain broken")
)

// CorruptError names the record where a log is damaged.
type CorruptError struct {
	Seq    uint64 // sequence number of the damaged record
	Offset int64  // byte offset of its frame in the log
	Err    error  // ErrCorrupt or ErrChain, with detail
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("mls: event log damaged at record %d (byte %d): %v", e.Seq, e.Offset, e.Err)
}

// Unwrap returns ErrCorrupt or ErrChain.
func (e *CorruptError) Unwrap() error { return e.Err }

// crc returns the CRC-32C of b. (crc32 builds the Castagnoli table once.)
func crc(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

// Frames: every record is written as
//
//	uint32 length | uint32 crc32c(length) | body (length bytes) | uint32 crc32c(body)
//
// A torn write leaves a prefix of a frame, which the length and the body
// checksum detect; the checksum of the length tells a damaged length field
// (corruption) apart from a short final frame (a torn write).
const frameOverhead = 12

// maxRecordBytes bounds a record's length so a damaged length field never
// makes a reader allocate unboundedly.
const maxRecordBytes = 64 << 20

func encodeHeader(h Header) []byte {
	var b cryptobyte.Builder
	b.AddBytes([]byte(magic))
	b.AddUint16(h.Format)
	b.AddUint8(uint8(h.Mode))
	codec.AddOpaque(&b, []byte(h.Module))
	codec.AddOpaque(&b, []byte(h.PolicyID))
	body, err := b.Bytes()
	if err != nil {
		panic("replay: " + err.Error())
	}
	return frame(body)
}

// EncodeRecord returns the canonical encoding of r (the frame body), whose
// SHA-256 is the next record's Prev.
func EncodeRecord(r Record) []byte {
	var b cryptobyte.Builder
	b.AddUint64(r.Seq)
	b.AddBytes(r.Prev[:])
	codec.AddOpaque(&b, r.Group)
	codec.AddOpaque(&b, r.Event)
	b.AddBytes(r.Seed[:])
	b.AddUint8(uint8(r.Outcome.Class))
	b.AddUint16(r.Outcome.Code)
	b.AddBytes(r.State[:])
	b.AddBytes(r.Effects[:])
	if r.hasPublic() {
		// Format 3 trailer, absent otherwise so that other records keep
		// the encoding (and hash) of format 1.
		b.AddBytes(r.Public[:])
		codec.AddOpaque(&b, r.Checkpoint)
	}
	out, err := b.Bytes()
	if err != nil {
		panic("replay: " + err.Error())
	}
	return out
}

// DecodeRecord parses a record encoding.
func DecodeRecord(body []byte) (Record, error) {
	s := cryptobyte.String(body)
	var r Record
	var group, event, prev, seed, st, ef []byte
	var class uint8
	if !s.ReadUint64(&r.Seq) || !s.ReadBytes(&prev, 32) ||
		!codec.ReadOpaque(&s, &group) || !codec.ReadOpaque(&s, &event) ||
		!s.ReadBytes(&seed, 32) || !s.ReadUint8(&class) || !s.ReadUint16(&r.Outcome.Code) ||
		!s.ReadBytes(&st, 32) || !s.ReadBytes(&ef, 32) {
		return Record{}, fmt.Errorf("%w: record does not decode", ErrCorrupt)
	}
	if !s.Empty() {
		var pd, cp []byte
		if !s.ReadBytes(&pd, 32) || !codec.ReadOpaque(&s, &cp) || !s.Empty() {
			return Record{}, fmt.Errorf("%w: trailing bytes in record", ErrCorrupt)
		}
		copy(r.Public[:], pd)
		r.Checkpoint = bytes.Clone(cp)
		if !r.hasPublic() {
			return Record{}, fmt.Errorf("%w: empty public trailer in record", ErrCorrupt)
		}
	}
	if class > uint8(OtherError) {
		return Record{}, fmt.Errorf("%w: unknown outcome class %d", ErrCorrupt, class)
	}
	r.Outcome.Class = OutcomeClass(class)
	copy(r.Prev[:], prev)
	copy(r.Seed[:], seed)
	copy(r.State[:], st)
	copy(r.Effects[:], ef)
	r.Group = bytes.Clone(group)
	r.Event = bytes.Clone(event)
	return r, nil
}

// hasPublic reports whether r carries the format 3 trailer.
func (r Record) hasPublic() bool { return r.Public != [32]byte{} || len(r.Checkpoint) > 0 }

// Hash returns SHA-256 of r's encoding: the Prev of the record after it.
func Hash(r Record) [32]byte { return sha256.Sum256(EncodeRecord(r)) }

func frame(body []byte) []byte {
	out := make([]byte, 0, len(body)+frameOverhead)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	out = binary.BigEndian.AppendUint32(out, crc(out[:4]))
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc(body))
}

// Writer appends records to a log, keeping the hash chain. It does not sync;
// the shell decides when a record must be durable.
type Writer struct {
	w    io.Writer
	mode Mode
	seq  uint64
	prev [32]byte
}

// NewWriter writes h to w and returns a Writer for a new log.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	if h.Format == 0 {
		h.Format = FormatVersion
	}
	if _, err := w.Write(encodeHeader(h)); err != nil {
		return nil, err
	}
	return &Writer{w: w, mode: h.Mode}, nil
}

// ResumeWriter returns a Writer that continues a log whose last record is
// last (as returned by Read), appending to w. For a SnapshotAndTail log
// without records, use ResumeAfterSnapshot.
func ResumeWriter(w io.Writer, h Header, last *Record) *Writer {
	wr := &Writer{w: w, mode: h.Mode}
	if last != nil {
		wr.seq = last.Seq + 1
		wr.prev = Hash(*last)
	}
	return wr
}

// NewSnapshotWriter writes a SnapshotAndTail header (h.Mode is overridden)
// and snap to w, and returns a Writer for the records after the snapshot.
func NewSnapshotWriter(w io.Writer, h Header, snap Snapshot) (*Writer, error) {
	h.Mode = SnapshotAndTail
	h.Format = FormatVersion
	body := EncodeSnapshot(snap)
	if len(body) > maxRecordBytes {
		return nil, fmt.Errorf("mls: snapshot of %d bytes exceeds the log's limit of %d", len(body), maxRecordBytes)
	}
	if _, err := w.Write(append(encodeHeader(h), frame(body)...)); err != nil {
		return nil, err
	}
	return ResumeAfterSnapshot(w, h, snap), nil
}

// ResumeAfterSnapshot returns a Writer that continues a SnapshotAndTail log
// holding snap and no records yet.
func ResumeAfterSnapshot(w io.Writer, h Header, snap Snapshot) *Writer {
	return &Writer{w: w, mode: h.Mode, seq: snap.Seq, prev: snap.Prev}
}

// Next returns the sequence number the next appended record gets.
func (w *Writer) Next() uint64 { return w.seq }

// Append sets r's Seq and Prev to continue the chain (and zeroes its seed in
// Public mode), writes it, and returns the record as written.
func (w *Writer) Append(r Record) (Record, error) {
	r.Seq = w.seq
	r.Prev = w.prev
	if w.mode == Public {
		r.Seed = [32]byte{}
	}
	body := EncodeRecord(r)
	if len(body) > maxRecordBytes {
		return Record{}, fmt.Errorf("mls: record of %d bytes exceeds the log's limit of %d", len(body), maxRecordBytes)
	}
	if _, err := w.w.Write(frame(body)); err != nil {
		return Record{}, err
	}
	w.seq++
	w.prev = sha256.Sum256(body)
	return r, nil
}

// Recovery tells what opening a log had to repair.
type Recovery struct {
	// DroppedBytes is the length of a torn or damaged final record that was
	// dropped (0 if the log ended cleanly).
	DroppedBytes int
	// ValidBytes is the length of the log up to the end of its last good
	// record; a writer resuming the log truncates the file there.
	ValidBytes int64
}

// Read parses a whole log. A torn or damaged final record is dropped and
// reported in Recovery; damage anywhere before it returns a *CorruptError
// naming the record, together with the records before it. Records are
// checked to form a hash chain. The snapshot of a SnapshotAndTail log is
// checked but not returned: use ReadLog for it.
func Read(data []byte) (Header, []Record, Recovery, error) {
	l, err := ReadLog(data)
	return l.Header, l.Records, l.Recovery, err
}

// Log is a parsed log.
type Log struct {
	Header   Header
	Snapshot *Snapshot // the starting point of a SnapshotAndTail log; nil otherwise
	Records  []Record  // in order; the first has Seq 0, or Snapshot.Seq
	Recovery Recovery
}

// ReadLog parses a whole log like Read, and also returns its snapshot. On
// error, the returned Log holds what was read before the damage; it is never
// nil.
func ReadLog(data []byte) (*Log, error) {
	l := &Log{}
	h := &l.Header
	body, n, status := readFrame(data)
	if status != frameOK {
		return l, ErrNotLog
	}
	s := cryptobyte.String(body)
	var mg, module, policy []byte
	var mode uint8
	if !s.ReadBytes(&mg, 8) || string(mg) != magic || !s.ReadUint16(&h.Format) ||
		!s.ReadUint8(&mode) || !codec.ReadOpaque(&s, &module) || !codec.ReadOpaque(&s, &policy) || !s.Empty() {
		return l, ErrNotLog
	}
	if h.Format < minFormatVersion || h.Format > FormatVersion {
		return l, fmt.Errorf("%w: format %d, this reader knows %d to %d", ErrNotLog, h.Format, minFormatVersion, FormatVersion)
	}
	h.Mode, h.Module, h.PolicyID = Mode(mode), string(module), string(policy)
	if h.Mode < Full || h.Mode > SnapshotAndTail {
		return l, fmt.Errorf("%w: unknown mode %d", ErrNotLog, mode)
	}

	off := n
	var seq uint64
	var prev [32]byte
	if h.Mode == SnapshotAndTail {
		if h.Format < 2 {
			return l, fmt.Errorf("%w: snapshot-and-tail log of format %d", ErrNotLog, h.Format)
		}
		// Compaction writes a new log beside the old one and renames it,
		// so a damaged or torn snapshot is corruption, never a torn write.
		body, n, status := readFrame(data[off:])
		if status != frameOK {
			return l, &CorruptError{Offset: int64(off), Err: fmt.Errorf("%w: snapshot frame damaged", ErrCorrupt)}
		}
		snap, err := DecodeSnapshot(body)
		if err != nil {
			return l, &CorruptError{Offset: int64(off), Err: err}
		}
		l.Snapshot = &snap
		seq, prev = snap.Seq, snap.Prev
		off += n
	}

	for off < len(data) {
		body, n, status := readFrame(data[off:])
		switch status {
		case frameTorn:
			l.Recovery = Recovery{DroppedBytes: len(data) - off, ValidBytes: int64(off)}
			return l, nil
		case frameBadBody:
			if off+n == len(data) {
				// The final record is complete in length but fails its
				// checksum: a damaged final write, dropped like a torn one.
				l.Recovery = Recovery{DroppedBytes: n, ValidBytes: int64(off)}
				return l, nil
			}
			l.Recovery = Recovery{ValidBytes: int64(off)}
			return l, &CorruptError{Seq: seq, Offset: int64(off), Err: fmt.Errorf("%w: record checksum mismatch", ErrCorrupt)}
		case frameBadLength:
			l.Recovery = Recovery{ValidBytes: int64(off)}
			return l, &CorruptError{Seq: seq, Offset: int64(off), Err: fmt.Errorf("%w: length field damaged", ErrCorrupt)}
		}
		r, err := DecodeRecord(body)
		if err == nil && r.hasPublic() && h.Format < publicFormatVersion {
			err = fmt.Errorf("%w: public digest in a record of format %d", ErrCorrupt, h.Format)
		}
		if err != nil {
			l.Recovery = Recovery{ValidBytes: int64(off)}
			return l, &CorruptError{Seq: seq, Offset: int64(off), Err: err}
		}
		if r.Seq != seq || r.Prev != prev {
			l.Recovery = Recovery{ValidBytes: int64(off)}
			return l, &CorruptError{Seq: seq, Offset: int64(off),
				Err: fmt.Errorf("%w: record claims seq %d", ErrChain, r.Seq)}
		}
		prev = sha256.Sum256(body)
		l.Records = append(l.Records, r)
		seq++
		off += n
	}
	l.Recovery = Recovery{ValidBytes: int64(off)}
	return l, nil
}

type frameStatus uint8

const (
	frameOK frameStatus = iota
	frameTorn
	frameBadLength
	frameBadBody
)

// readFrame reads one frame at the start of data and returns its body and
// total length.
func readFrame(data []byte) ([]byte, int, frameStatus) {
	if len(data) < 8 {
		return nil, 0, frameTorn
	}
	if crc(data[:4]) != binary.BigEndian.Uint32(data[4:8]) {
		return nil, 0, frameBadLength
	}
	n := int(binary.BigEndian.Uint32(data[:4]))
	if n > maxRecordBytes {
		return nil, 0, frameBadLength
	}
	if len(data) < n+frameOverhead {
		return nil, 0, frameTorn
	}
	body := data[8 : 8+n]
	if crc(body) != binary.BigEndian.Uint32(data[8+n:12+n]) {
		return nil, n + frameOverhead, frameBadBody
	}
	return body, n + frameOverhead, frameOK
}
