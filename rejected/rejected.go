// Package rejected lists the files the stages rejected (under
// log/rejected/, each with its reason beside it) and moves them back to
// where they came from, to be taken again.
package rejected

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lagoon-dev/lagoon/lake"
)

// File is a rejected file: its reason (where it was, where it is now,
// why, when).
type File struct {
	lake.Reason
}

// ErrOccupied: the key a rejected file came from holds a file again; it
// is not overwritten.
var ErrOccupied = errors.New("a file is there again")

// List returns the rejected files, oldest first. A reason whose file is
// gone (a crash between the two, or a file deleted by hand) is left out;
// so is a file without a readable reason.
func List(ctx context.Context, st lake.Store) ([]File, error) {
	var out []File
	for info, err := range st.List(ctx, lake.RejectedPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list rejected files: %w", err)
		}
		if !strings.HasSuffix(info.Key, lake.ReasonSuffix) {
			continue
		}
		f, ok, err := read(ctx, st, strings.TrimSuffix(info.Key, lake.ReasonSuffix))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b File) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// read reads the rejected file at moved and its reason (false when either
// is missing).
func read(ctx context.Context, st lake.Store, moved string) (File, bool, error) {
	var f File
	err := lake.GetJSON(ctx, st, moved+lake.ReasonSuffix, &f.Reason)
	if errors.Is(err, lake.ErrNotExist) {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("reason of %s: %w", moved, err)
	}
	if _, err := st.Stat(ctx, moved); errors.Is(err, lake.ErrNotExist) {
		return f, false, nil
	} else if err != nil {
		return f, false, fmt.Errorf("rejected file %s: %w", moved, err)
	}
	f.MovedTo = moved
	return f, f.Key != "" && !strings.HasPrefix(f.Key, lake.RejectedPrefix), nil
}

// Retry moves f back to where it came from (f.Key), to be prepared or
// loaded again; its reason file is deleted, never moved. The retry is
// audited first: a crash before the move leaves the file rejected, to be
// retried again. A key that holds a file again is ErrOccupied.
func Retry(ctx context.Context, st lake.Store, audit lake.Auditor, f File) error {
	if _, err := st.Stat(ctx, f.Key); err == nil {
		return fmt.Errorf("retry %s: %w", f.Key, ErrOccupied)
	} else if !errors.Is(err, lake.ErrNotExist) {
		return fmt.Errorf("retry %s: %w", f.Key, err)
	}
	ev := lake.AuditEvent{Kind: lake.AuditRetried, Table: f.Table, Key: f.Key, Reason: f.Reason.Reason, Detail: f.MovedTo}
	if err := audit.Record(ctx, ev); err != nil {
		return fmt.Errorf("retry %s: %w", f.Key, err)
	}
	if err := st.Rename(ctx, f.MovedTo, f.Key); err != nil {
		return fmt.Errorf("retry %s: %w", f.Key, err)
	}
	if err := st.Delete(ctx, f.MovedTo+lake.ReasonSuffix); err != nil && !errors.Is(err, lake.ErrNotExist) {
		return fmt.Errorf("retry %s: %w", f.Key, err)
	}
	return nil
}

// Select picks, from files, those keys name (a key where a file was, or
// where it is under log/rejected/), those of table (when not ""), or all.
// A key that names no rejected file is returned in missing.
func Select(files []File, keys []string, table string, all bool) (picked []File, missing []string) {
	for _, k := range keys {
		i := slices.IndexFunc(files, func(f File) bool { return f.Key == k || f.MovedTo == k })
		if i < 0 {
			missing = append(missing, k)
			continue
		}
		picked = append(picked, files[i])
	}
	for _, f := range files {
		if all || table != "" && f.Table == table {
			picked = append(picked, f)
		}
	}
	return picked, missing
}
