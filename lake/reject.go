package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
