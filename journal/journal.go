// Package journal is the one intent journal of lagoon's batches. Before a
// batch acts — commits files to a table (the loader), publishes outputs
// and consumes its sources (prepare), folds log entries into the log
// table (the log syncer) — its intent, naming what it consumes and what
// it makes, is stored. After a crash, Recover hands every intent left to
// its stage, which finishes the batch if it took effect (its id is in the
// table, it reached its publishing state) and undoes it otherwise. Every
// step of either is safe to redo.
//
// What keeps a batch from taking effect twice is not the journal but the
// commit's own fence (see fence.go): the journal makes sure that
// what a batch began is finished or undone, once.
//
// One Journal per kind of batch, each under its own prefix, intents
// grouped (by table) so that one group's recovery lists only its own:
// <prefix><group>/<id>.json.
package journal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// CorruptPrefix is where intents that cannot be read are moved, for a
// person to look at.
const CorruptPrefix = lake.PrefixLog + "corrupt-intents/"

// Journal keeps intents of type T (JSON) in a store.
type Journal[T any] struct {
	Store  lake.Store
	Prefix string // ends in "/"
	// Log says where an unreadable intent went (nil: not said).
	Log *slog.Logger
}

// Key is where the intent id of group is kept.
func (j Journal[T]) Key(group, id string) string {
	if group == "" {
		return j.Prefix + id + ".json"
	}
	return j.Prefix + group + "/" + id + ".json"
}

// Write stores (or replaces) an intent, atomically.
func (j Journal[T]) Write(ctx context.Context, group, id string, in T) error {
	if err := lake.PutJSON(ctx, j.Store, j.Key(group, id), in); err != nil {
		return fmt.Errorf("write intent %s: %w", id, err)
	}
	return nil
}

// ErrTaken: the batch's intent is no longer the one its worker wrote —
// another worker recovered it (finished or undid the batch) while this
// one was paused past its claim. The worker must stop: the batch is not
// its own any more.
var ErrTaken = errors.New("the batch was taken over: another worker recovered its intent")

// Begin stores a new intent (nothing may be under its key) and returns
// its version, for Advance.
func (j Journal[T]) Begin(ctx context.Context, group, id string, in T) (string, error) {
	return j.swap(ctx, group, id, "", in)
}

// Advance replaces the intent (a new state of the batch) only if it is
// still the version its worker last wrote: ErrTaken if another worker
// recovered it meanwhile. Stores without compare-and-swap replace it as
// Write does.
func (j Journal[T]) Advance(ctx context.Context, group, id, version string, in T) (string, error) {
	return j.swap(ctx, group, id, version, in)
}

func (j Journal[T]) swap(ctx context.Context, group, id, version string, in T) (string, error) {
	v, err := lake.PutJSONIfVersion(ctx, j.Store, j.Key(group, id), version, in)
	switch {
	case errors.Is(err, lake.ErrNoSwap):
		return "", j.Write(ctx, group, id, in)
	case errors.Is(err, lake.ErrChanged):
		return "", fmt.Errorf("intent %s: %w", id, ErrTaken)
	case err != nil:
		return "", fmt.Errorf("write intent %s: %w", id, err)
	}
	return v, nil
}

// Drop deletes an intent (idempotent).
func (j Journal[T]) Drop(ctx context.Context, group, id string) error {
	return j.Store.Delete(ctx, j.Key(group, id))
}

// Recover calls fn for every intent of group ("": every group), stopping
// at the first error, which names the intent. Temp files of intents whose
// writer died before publishing them are deleted (no batch acted on
// those). An intent whose bytes do not decode (lake.ErrCorrupt) is moved
// under CorruptPrefix, said in the log, and passed over: its batch's files
// are taken again, and the fences keep what it did from being done twice
// (see loader/fence.go). Callers hold the group: no batch of it is in
// flight.
func (j Journal[T]) Recover(ctx context.Context, group string, fn func(ctx context.Context, in T) error) error {
	prefix := j.Prefix
	if group != "" {
		prefix += group + "/"
	}
	keys, err := j.list(ctx, prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		var in T
		err := lake.GetJSON(ctx, j.Store, k, &in)
		if errors.Is(err, lake.ErrNotExist) {
			continue // finished meanwhile
		}
		if errors.Is(err, lake.ErrCorrupt) {
			err = j.quarantine(ctx, k, err)
			if err == nil {
				continue
			}
		}
		if err == nil {
			err = fn(ctx, in)
		}
		if err != nil {
			return fmt.Errorf("recover %s: %w", k, err)
		}
	}
	return nil
}

// Oldest returns when the oldest intent of group (one being written
// included) was written; zero when there is none. It only reads: the
// caller need not hold the group.
func (j Journal[T]) Oldest(ctx context.Context, group string) (time.Time, error) {
	var oldest time.Time
	for info, err := range j.Store.List(ctx, j.Prefix+group+"/") {
		if err != nil {
			return time.Time{}, err
		}
		if oldest.IsZero() || info.ModTime.Before(oldest) {
			oldest = info.ModTime
		}
	}
	return oldest, nil
}

// list returns the keys of the intents under prefix, deleting the temp
// files of intents never published.
func (j Journal[T]) list(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for info, err := range j.Store.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		switch {
		case lake.IsTemp(info.Key):
			if err := j.Store.Delete(ctx, info.Key); err != nil {
				return nil, err
			}
		case strings.HasSuffix(info.Key, ".json") && !strings.HasPrefix(path.Base(info.Key), "."):
			keys = append(keys, info.Key)
		}
	}
	return keys, nil
}

// quarantine moves an unreadable intent under CorruptPrefix.
func (j Journal[T]) quarantine(ctx context.Context, key string, cause error) error {
	if err := j.Store.Rename(ctx, key, CorruptPrefix+key); err != nil && !errors.Is(err, lake.ErrNotExist) {
		return err
	}
	if j.Log != nil {
		j.Log.Error("unreadable intent moved aside: its batch's files are taken again", "key", key,
			"moved_to", CorruptPrefix+key, "err", cause)
	}
	return nil
}
