package lake

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TakenPrefix holds, per table, the content (SHA-256) of every file the
// table took in recently: tmp/lagoon/taken/<db>.<table>/<sha256>.json.
const TakenPrefix = PrefixTmp + "lagoon/taken/"

// Taken is what the content index holds of one file a table took in.
type Taken struct {
	Key      string    `json:"key"`
	SHA256   string    `json:"sha256"`
	Snapshot int64     `json:"snapshot,omitempty"` // the commit that loaded it (load/ files)
	Batch    string    `json:"batch,omitempty"`
	At       time.Time `json:"at"`
}

// Dedupe keeps files whose content a table already took in within Window
// from loading again (a file re-sent under the same name or another, as
// Snowpipe's load history does). A zero Window turns it off.
type Dedupe struct {
	Store  Store
	Window time.Duration
	Audit  Auditor
	Now    func() time.Time
}

// DefaultDedupeWindow is 14 days.
const DefaultDedupeWindow = 14 * 24 * time.Hour

// WantsSHA256 reports whether a stage must hash the files it takes in:
// for the content index, or for the audit trail a (its records carry each
// file's SHA-256).
func (d Dedupe) WantsSHA256(a Auditor) bool {
	_, noAudit := a.(NoAudit)
	return d.On() || (a != nil && !noAudit)
}

// On reports whether duplicates are looked for.
func (d Dedupe) On() bool { return d.Window > 0 && d.Store != nil }

func takenKey(ref TableRef, sha string) string {
	return TakenPrefix + ref.String() + "/" + sha + ".json"
}

// Seen returns the earlier file of content sha that ref took in within
// the window, if any.
func (d Dedupe) Seen(ctx context.Context, ref TableRef, sha string) (Taken, bool, error) {
	if !d.On() || sha == "" {
		return Taken{}, false, nil
	}
	var t Taken
	err := GetJSON(ctx, d.Store, takenKey(ref, sha), &t)
	switch {
	case errors.Is(err, ErrNotExist) || errors.Is(err, ErrCorrupt):
		return Taken{}, false, nil
	case err != nil:
		return Taken{}, false, fmt.Errorf("content index of %s: %w", ref, err)
	}
	return t, d.now().Sub(t.At) < d.Window, nil
}

// Find decides whether a file of content sha (key) is a duplicate: of an
// earlier file of its batch (batch maps the contents seen so far in it to
// their keys; Find adds this one), or of what ref took in within the
// window. It is the one place that decision is made, for both stages.
func (d Dedupe) Find(ctx context.Context, ref TableRef, key, sha string, batch map[string]string) (Taken, bool, error) {
	if !d.On() || sha == "" {
		return Taken{}, false, nil
	}
	if first, ok := batch[sha]; ok {
		return Taken{Key: first, SHA256: sha, At: d.now()}, true, nil
	}
	batch[sha] = key
	return d.Seen(ctx, ref, sha)
}

// Note records files ref took in (after their commit, or their publish
// under load/), up to StoreFanout at a time. Files without a SHA-256 are
// left out. Entries are put unsynced (UnsyncedPutter): one lost to a power
// failure, or torn, reads as absent, and costs at most one re-sent file
// loaded again; a killed process loses none.
func (d Dedupe) Note(ctx context.Context, ref TableRef, files ...Taken) error {
	if !d.On() {
		return nil
	}
	now := d.now().UTC()
	return Each(ctx, len(files), func(ctx context.Context, i int) error {
		t := files[i]
		if t.SHA256 == "" {
			return nil
		}
		if t.At.IsZero() {
			t.At = now
		}
		if err := PutJSONUnsynced(ctx, d.Store, takenKey(ref, t.SHA256), t); err != nil {
			return fmt.Errorf("content index of %s: %w", ref, err)
		}
		return nil
	})
}

// Skip settles a duplicate: it is recorded in the audit trail as
// skipped_duplicate (naming the earlier file and its commit), then
// deleted, if still the version info names.
func (d Dedupe) Skip(ctx context.Context, ref TableRef, info ObjectInfo, sha string, earlier Taken) error {
	ev := AuditEvent{Kind: AuditSkippedDuplicate, Table: ref.String(), Key: info.Key, Size: info.Size, SHA256: sha,
		SnapshotID: earlier.Snapshot, Detail: fmt.Sprintf("same content as %s, taken in %s", earlier.Key, earlier.At.Format(time.RFC3339))}
	if d.Audit != nil {
		if err := d.Audit.Record(ctx, ev); err != nil {
			return err
		}
	}
	_, err := DeleteTaken(ctx, d.Store, info.Key, info.Version)
	if errors.Is(err, ErrChanged) {
		return nil // written again: the new version is taken on its own
	}
	return err
}

func (d Dedupe) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}
