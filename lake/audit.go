package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
)

// Audit kinds.
const (
	AuditReceived      = "received"
	AuditPrepared      = "prepared"
	AuditLoaded        = "loaded"
	AuditDeleted       = "deleted"
	AuditRejected      = "rejected"
	AuditTableCreated  = "table_created"
	AuditSchemaChanged = "schema_changed"
	// AuditContractChanged: a table follows a new contract (Detail: its
	// SHA-256).
	AuditContractChanged = "contract_changed"
	// AuditSkippedDuplicate: a file whose content its table took in
	// already (see Dedupe), deleted without loading.
	AuditSkippedDuplicate = "skipped_duplicate"
	// AuditMaintained: a table's maintenance (compaction, expiry, …)
	// changed it; Detail says what, SnapshotID is the table's after.
	AuditMaintained = "maintained"
	// AuditRetried: a rejected file was moved back to where it came from
	// (lagoon retry); Detail is where it was under log/rejected/, Reason
	// why it had been rejected.
	AuditRetried = "retried"
)

// AuditEvent is one event of consequence for the audit trail. An event
// about one file names it in Key (with Size, SHA256, Rows); an event about
// a batch (one commit, one conversion) lists its files in Files.
type AuditEvent struct {
	Kind       string
	Table      string
	Key        string
	Size       int64
	SHA256     string
	Rows       int64
	Rejects    int64
	SnapshotID int64
	Reason     string
	Detail     string
	Files      []AuditFile
}

// AuditFile is one file of a batch event.
type AuditFile struct {
	Key     string `json:"key"`
	Size    int64  `json:"size,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Rows    int64  `json:"rows,omitempty"`
	Rejects int64  `json:"rejects,omitempty"`
	// Truncated counts the file's timestamps whose nanoseconds were cut
	// to microseconds (an ORC file's, in its "prepared" record).
	Truncated int64 `json:"truncated,omitempty"`
}

// Auditor records events durably: Record returns once the event is
// stored. Stages call it before they delete what an event describes.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// NoAudit records nothing.
type NoAudit struct{}

// Record implements Auditor.
func (NoAudit) Record(context.Context, AuditEvent) error { return nil }

// SHA256Of reads key through and returns its SHA-256 in hex.
func SHA256Of(ctx context.Context, st Store, key string) (string, error) {
	obj, err := st.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Received records that a stage took files in (one event for a batch).
func Received(ctx context.Context, a Auditor, ref TableRef, batch string, infos []ObjectInfo) error {
	if _, off := a.(NoAudit); off || len(infos) == 0 {
		return nil
	}
	ev := AuditEvent{Kind: AuditReceived, Table: ref.String(), Detail: "batch " + batch}
	for _, info := range infos {
		ev.Files = append(ev.Files, AuditFile{Key: info.Key, Size: info.Size})
		ev.Size += info.Size
	}
	return a.Record(ctx, ev)
}
