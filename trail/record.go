// Package trail keeps the lake's audit trail: an append-only chain of
// binary records under trail/records/, each carrying the SHA-256 of its
// predecessor and, optionally, an Ed25519 signature. The format is in
// docs/trail.md, precise enough to write an independent verifier.
package trail

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// Magic starts every record; Version is the format version written.
const (
	Magic   = "LGTR"
	Version = 1
)

// Kind says what a record is about.
type Kind uint8

const (
	KindReceived      Kind = 1
	KindPrepared      Kind = 2
	KindLoaded        Kind = 3
	KindDeleted       Kind = 4
	KindRejected      Kind = 5
	KindTableCreated  Kind = 6
	KindSchemaChanged Kind = 7
	// KindSkippedDuplicate: a file whose content its table took in
	// already, deleted without loading (lake.Dedupe).
	KindSkippedDuplicate Kind = 8
	// KindMaintained: a table's maintenance changed it (what: Detail).
	KindMaintained Kind = 9
	// KindContractChanged: a table follows a new contract (Detail: its
	// SHA-256; Key: the contract's key).
	KindContractChanged Kind = 10
	// KindRetried: a rejected file was moved back to where it came from
	// (Key; Detail: where it was; Reason: why it had been rejected).
	KindRetried Kind = 11
)

var kindNames = map[Kind]string{KindReceived: "received", KindPrepared: "prepared", KindLoaded: "loaded",
	KindDeleted: "deleted", KindRejected: "rejected", KindTableCreated: "table_created", KindSchemaChanged: "schema_changed",
	KindSkippedDuplicate: "skipped_duplicate", KindMaintained: "maintained", KindContractChanged: "contract_changed",
	KindRetried: "retried"}

// String returns the kind's name ("loaded").
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind parses a kind's name.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return k, true
		}
	}
	return 0, false
}

// Event is what a record says happened. Fields that do not apply are empty.
type Event struct {
	Table      string `json:"table,omitempty"`
	Key        string `json:"key,omitempty"`
	Size       int64  `json:"size,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	Rows       int64  `json:"rows,omitempty"`
	Rejects    int64  `json:"rejects,omitempty"`
	SnapshotID int64  `json:"snapshot_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Detail     string `json:"detail,omitempty"`
	// Files lists the files of an event about a batch (a commit, a
	// conversion), each with its key, size, SHA-256 and rows.
	Files []lake.AuditFile `json:"files,omitempty"`
}

// Keys returns the keys an event names: Key and those of Files.
func (e Event) Keys() []string {
	var out []string
	if e.Key != "" {
		out = append(out, e.Key)
	}
	for _, f := range e.Files {
		out = append(out, f.Key)
	}
	return out
}

// Record is one link of the chain.
type Record struct {
	Seq       uint64
	Time      time.Time // microsecond precision
	Prev      [32]byte  // SHA-256 of the previous record's bytes; zero for the first
	Kind      Kind
	Event     Event
	Signature []byte // Ed25519 over every byte before it; empty when unsigned
}

// ErrFormat classifies bytes that are not a valid record.
var ErrFormat = errors.New("not a valid trail record")

const headerLen = 4 + 1 + 8 + 8 + 32 + 1 + 4

// Encode returns the record's bytes, signing them with key when key is
// not nil.
func (r Record) Encode(key ed25519.PrivateKey) ([]byte, error) {
	payload, err := json.Marshal(r.Event)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(Magic)
	b.WriteByte(Version)
	binary.Write(&b, binary.BigEndian, r.Seq)
	binary.Write(&b, binary.BigEndian, r.Time.UnixMicro())
	b.Write(r.Prev[:])
	b.WriteByte(byte(r.Kind))
	binary.Write(&b, binary.BigEndian, uint32(len(payload)))
	b.Write(payload)
	var sig []byte
	if key != nil {
		sig = ed25519.Sign(key, b.Bytes())
	}
	binary.Write(&b, binary.BigEndian, uint16(len(sig)))
	b.Write(sig)
	return b.Bytes(), nil
}

// Decode parses a record's bytes.
func Decode(data []byte) (Record, error) {
	var r Record
	if len(data) < headerLen+2 || string(data[:4]) != Magic {
		return r, fmt.Errorf("%w: bad magic or too short", ErrFormat)
	}
	if data[4] != Version {
		return r, fmt.Errorf("%w: unknown version %d", ErrFormat, data[4])
	}
	r.Seq = binary.BigEndian.Uint64(data[5:13])
	r.Time = time.UnixMicro(int64(binary.BigEndian.Uint64(data[13:21]))).UTC()
	copy(r.Prev[:], data[21:53])
	r.Kind = Kind(data[53])
	n := int(binary.BigEndian.Uint32(data[54:58]))
	if len(data) < headerLen+n+2 {
		return r, fmt.Errorf("%w: payload cut short", ErrFormat)
	}
	if err := json.Unmarshal(data[headerLen:headerLen+n], &r.Event); err != nil {
		return r, fmt.Errorf("%w: payload: %v", ErrFormat, err)
	}
	rest := data[headerLen+n:]
	sl := int(binary.BigEndian.Uint16(rest[:2]))
	if len(rest) != 2+sl {
		return r, fmt.Errorf("%w: signature length", ErrFormat)
	}
	r.Signature = rest[2:]
	return r, nil
}

// Hash is the SHA-256 of a record's bytes: what its successor's Prev holds.
func Hash(data []byte) [32]byte { return sha256.Sum256(data) }

// signed returns the bytes a record's signature covers.
func signed(data []byte) []byte {
	n := int(binary.BigEndian.Uint32(data[54:58]))
	return data[:headerLen+n]
}
