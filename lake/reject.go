package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"
)

// RejectedPrefix is where files that cannot be loaded are moved, keeping
// their key below it: log/rejected/load/db/t/x.parquet, with the reason
// beside it in x.parquet.reason.json.
const RejectedPrefix = PrefixLog + "rejected/"

// ReasonSuffix is appended to a rejected file's key for its reason file.
const ReasonSuffix = ".reason.json"

// Reason is what a reason file holds.
type Reason struct {
	Key     string    `json:"key"`      // where the file was
	MovedTo string    `json:"moved_to"` // where it is now
	Stage   string    `json:"stage"`    // "load" or "prepare"
	Table   string    `json:"table,omitempty"`
	Reason  string    `json:"reason"`
	Time    time.Time `json:"time"`
}

// Reject moves key under log/rejected/ and writes its reason beside it. It
// writes the reason first, so a crash in between leaves the file in place to
// be rejected again, never a file without its reason. It returns where the
// file went. A key already taken under log/rejected/ gets a time suffix.
func Reject(ctx context.Context, st Store, r Reason) (string, error) {
	dst, err := rejectTarget(ctx, st, r.Key, r.Time)
	if err != nil {
		return "", err
	}
	r.MovedTo = dst
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("reject %s: %w", r.Key, err)
	}
	if err := st.Put(ctx, dst+ReasonSuffix, bytes.NewReader(append(body, '\n'))); err != nil {
		return "", fmt.Errorf("reject %s: %w", r.Key, err)
	}
	if err := st.Rename(ctx, r.Key, dst); err != nil {
		if errors.Is(err, ErrNotExist) {
			// Gone already (another worker, or the user): nothing to move.
			_ = st.Delete(ctx, dst+ReasonSuffix)
		}
		return "", fmt.Errorf("reject %s: %w", r.Key, err)
	}
	return dst, nil
}

func rejectTarget(ctx context.Context, st Store, key string, now time.Time) (string, error) {
	dst := RejectedPrefix + key
	if _, err := st.Stat(ctx, dst); errors.Is(err, ErrNotExist) {
		return dst, nil
	} else if err != nil {
		return "", fmt.Errorf("reject %s: %w", key, err)
	}
	ext := path.Ext(dst)
	return strings.TrimSuffix(dst, ext) + now.UTC().Format(".20060102T150405.000000000") + ext, nil
}

// Rejecter rejects files for one stage: it moves them under log/rejected/
// with their reason, records the rejection in the audit trail, and logs it.
type Rejecter struct {
	Store Store
	Stage string // "load" or "prepare"
	Audit Auditor
	Log   *slog.Logger
	Now   func() time.Time
}

// Reject moves key away with its reason (see Reject) and audits it. attrs
// are added to the log entry (a panic's stack, say).
func (r Rejecter) Reject(ctx context.Context, key string, ref TableRef, reason string, attrs ...any) (Rejected, error) {
	rs := Reason{Key: key, Stage: r.Stage, Reason: reason, Time: r.Now().UTC()}
	if ref.DB != "" {
		rs.Table = ref.String()
	}
	// Logged first: the log table (fed from this logger) then has the
	// rejection even if the process dies right after the move.
	r.Log.Warn("file rejected", append([]any{"stage", r.Stage, "key", key, "table", rs.Table, "reason", reason,
		"moved_under", RejectedPrefix}, attrs...)...)
	dst, err := Reject(ctx, r.Store, rs)
	if err != nil {
		return Rejected{}, err
	}
	if err := r.Audit.Record(ctx, AuditEvent{Kind: AuditRejected, Table: rs.Table, Key: key, Reason: reason, Detail: dst}); err != nil {
		return Rejected{}, err
	}
	return Rejected{Key: key, MovedTo: dst, Reason: reason}, nil
}

// RejectInto is Reject that adds the rejection to res.
func (r Rejecter) RejectInto(ctx context.Context, key string, ref TableRef, reason string, res *Result, attrs ...any) error {
	rj, err := r.Reject(ctx, key, ref, reason, attrs...)
	if err != nil {
		return err
	}
	res.Rejected = append(res.Rejected, rj)
	return nil
}

// RejectErr rejects key for err: its Detail() when it has one (an error
// that names its file leaves the name out there), else its text, is the
// reason; a panic's stack goes to the log entry, not the reason.
func (r Rejecter) RejectErr(ctx context.Context, key string, ref TableRef, err error, res *Result) error {
	var attrs []any
	if stack := StackOf(err); stack != "" {
		attrs = append(attrs, "stack", stack)
	}
	reason := err.Error()
	if d, ok := err.(interface{ Detail() string }); ok {
		reason = d.Detail()
	}
	return r.RejectInto(ctx, key, ref, reason, res, attrs...)
}
