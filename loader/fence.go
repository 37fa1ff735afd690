package loader

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/journal"
	"github.com/lagoon-dev/lagoon/lake"
)

// SourcesProperty is the snapshot-summary property listing the files a
// commit appended, each as lake.SourceID(key, version): the loader's
// fence (see journal.Since). A batch about to commit drops the files a
// snapshot made since they were written holds already.
const SourcesProperty = "lagoon.sources"

// OriginsProperty is the snapshot-summary property listing the sources of
// the prepared files a commit appended, as "<lake.SourceID>:<prepare
// batch>" (the batch's first 12 hex digits): a source that reaches the
// table through the output of one prepare batch must not again through
// another's (a prepare worker paused while its claim was taken over).
const OriginsProperty = "lagoon.origins"

// commitProps are the snapshot-summary properties of a batch's commit.
func commitProps(batch string, srcs []*source) iceberg.Properties {
	var ids, origins []string
	for _, s := range srcs {
		ids = append(ids, lake.SourceID(s.info.Key, s.info.Version))
		for _, o := range s.origins {
			origins = append(origins, o+":"+shortBatch(s.prepBatch))
		}
	}
	slices.Sort(ids)
	props := iceberg.Properties{BatchProperty: batch, SourcesProperty: strings.Join(ids, ","),
		lake.ReceivedProperty: strconv.FormatInt(receivedAt(srcs).UnixMilli(), 10)}
	if len(origins) > 0 {
		slices.Sort(origins)
		props[OriginsProperty] = strings.Join(slices.Compact(origins), ",")
	}
	return props
}

func shortBatch(b string) string {
	b = strings.ReplaceAll(b, "-", "")
	return b[:min(12, len(b))]
}

// errCommitted says that files of a batch are in the table already: the
// batch goes on without them.
type errCommitted struct {
	keys     []string          // files a commit holds already
	by       map[string]string // of each of keys, the batch of that commit
	repeated []string          // prepared files every source of which another prepare batch's output loaded
	partly   []string          // prepared files some sources of which it loaded
}

func (e *errCommitted) Error() string {
	return fmt.Sprintf("%d files committed already by another batch", len(e.all()))
}

func (e *errCommitted) all() []string { return slices.Concat(e.keys, e.repeated, e.partly) }

// committedElsewhere looks for srcs in the snapshots of meta: files a
// snapshot holds already, and prepared files whose sources reached the
// table through another prepare batch. It walks back from the current
// snapshot until snapshots older than the oldest file or source arrival
// (see journal.Since), which cannot hold them. nil: none.
func committedElsewhere(meta table.Metadata, srcs []*source) *errCommitted {
	ids, origins := map[string]int{}, map[string]int{}
	hits := make([]int, len(srcs)) // origins loaded (or in this batch) by another prepare batch
	found := map[int]string{}      // file → the batch whose commit holds it
	oldest := time.Now()
	for i, s := range srcs {
		ids[lake.SourceID(s.info.Key, s.info.Version)] = i
		for _, o := range s.origins {
			if j, ok := origins[o]; ok && srcs[j].prepBatch != s.prepBatch {
				hits[i]++ // an earlier file of this batch brings it
				continue
			}
			origins[o] = i
		}
		oldest = earliest(oldest, s.info.ModTime, receivedAt([]*source{s}))
	}
	for snap := range journal.Since(meta, oldest) {
		for id := range journal.Listed(snap, SourcesProperty) {
			if i, ok := ids[id]; ok {
				found[i] = snap.Summary.Properties[BatchProperty]
			}
		}
		for entry := range journal.Listed(snap, OriginsProperty) {
			o, b, _ := strings.Cut(entry, ":")
			if i, ok := origins[o]; ok && b != shortBatch(srcs[i].prepBatch) {
				hits[i]++
				delete(origins, o)
			}
		}
	}
	return sortFenced(srcs, found, hits)
}

// sortFenced sorts what committedElsewhere found into an errCommitted.
func sortFenced(srcs []*source, found map[int]string, hits []int) *errCommitted {
	e := &errCommitted{by: map[string]string{}}
	for i, s := range srcs {
		batch, committed := found[i]
		switch {
		case committed:
			e.keys, e.by[s.info.Key] = append(e.keys, s.info.Key), batch
		case hits[i] > 0 && hits[i] == len(s.origins):
			e.repeated = append(e.repeated, s.info.Key)
		case hits[i] > 0:
			e.partly = append(e.partly, s.info.Key)
		}
	}
	if len(e.all()) == 0 {
		return nil
	}
	return e
}

func earliest(ts ...time.Time) time.Time {
	out := ts[0]
	for _, t := range ts[1:] {
		if !t.IsZero() && t.Before(out) {
			out = t
		}
	}
	return out
}

// leftOut names the files an attempt's error takes out of the batch, and
// why: files another commit holds already (errCommitted), or a file that
// changed while it was read (lake.ChangedError: taken again once
// finished). nil: the error is the batch's.
func leftOut(err error) ([]string, string) {
	var ec *errCommitted
	var ce *lake.ChangedError
	switch {
	case errors.As(err, &ec):
		return ec.all(), "committed already by another batch"
	case errors.As(err, &ce):
		return []string{ce.Key}, "changed while it was read; taken again once finished"
	}
	return nil, ""
}

// leaveOut takes keys out of the batch; its intent is written again
// without them, so that this batch's trail never claims them (what becomes
// of their files: settleLeftOut). It returns the sources left.
func (l *Loader) leaveOut(ctx context.Context, in *intent, srcs []*source, keys []string, why string) ([]*source, error) {
	l.log.Info("leaving files out of a batch: "+why, "table", in.ref().String(), "batch", in.Batch, "files", len(keys))
	srcs = slices.DeleteFunc(slices.Clone(srcs), func(s *source) bool { return slices.Contains(keys, s.info.Key) }) // the caller keeps (and closes) its own
	in.Files = slices.DeleteFunc(in.Files, func(f intentFile) bool { return slices.Contains(keys, f.Key) })
	return srcs, l.writeIntent(ctx, *in)
}

// emptyBatch ends a batch left with no file (or whose intent could not be
// written again: err), with what was set aside.
func (l *Loader) emptyBatch(ctx context.Context, ref lake.TableRef, in intent, aside lake.Result, err error) (lake.Result, error) {
	if err != nil {
		return lake.Result{}, err
	}
	aside.Table = ref
	return aside, l.dropIntent(ctx, in)
}

// settleLeftOut settles the files cause took out of a batch (all being the
// batch before): a changed file waits; a prepared file all of whose
// sources reached the table through another prepare batch holds nothing
// new and is skipped as a duplicate; one only some of whose sources did
// cannot be loaded without repeating their rows, and is rejected (its
// other rows are in the rejected file, not in the table: say so). A file
// another commit holds is that batch's to finish, unless the batch can no
// longer (finishOrphaned).
func (l *Loader) settleLeftOut(ctx context.Context, ref lake.TableRef, all []*source, cause error, aside *lake.Result) error {
	var ce *lake.ChangedError
	if errors.As(cause, &ce) {
		aside.WaitUntil(1, l.cfg.Now().Add(max(l.cfg.Settle, time.Second)))
		return nil
	}
	var ec *errCommitted
	if !errors.As(cause, &ec) {
		return nil
	}
	skip := lake.Dedupe{Store: l.st, Audit: l.cfg.Audit, Now: l.cfg.Now}
	for _, s := range all {
		var err error
		batch, committed := ec.by[s.info.Key]
		switch {
		case committed:
			err = l.finishOrphaned(ctx, ref, s, batch)
		case slices.Contains(ec.repeated, s.info.Key):
			aside.Skipped++
			err = skip.Skip(ctx, ref, s.info, s.sha, lake.Taken{Key: "the output of another prepare batch of the same sources", At: l.cfg.Now()})
		case slices.Contains(ec.partly, s.info.Key):
			err = l.rejecter().RejectInto(ctx, s.info.Key, ref, "some of the sources it was made from reached the table already "+
				"through another prepare batch (a prepare worker paused while its claim was taken over): loading it would repeat their rows; "+
				"the rows of its other sources are in this file only", aside)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finishOrphaned finishes a file that batch committed if that batch can no
// longer finish it itself (its intent is gone — unreadable, moved aside):
// the file is deleted if still the version committed, and the deletion
// recorded. While the intent is there, the batch (or its recovery) does
// it.
func (l *Loader) finishOrphaned(ctx context.Context, ref lake.TableRef, s *source, batch string) error {
	_, err := l.st.Stat(ctx, l.journal().Key(ref.String(), batch))
	if !errors.Is(err, lake.ErrNotExist) {
		return err // nil: the batch finishes it
	}
	l.log.Warn("finishing a file a batch committed and can no longer finish (its intent is gone)",
		"table", ref.String(), "key", s.info.Key, "batch", batch)
	gone := intent{Batch: batch, DB: ref.DB, Table: ref.Table,
		Files: []intentFile{{Key: s.info.Key, Version: s.info.Version, Size: s.info.Size}}}
	return l.deleteLoaded(ctx, gone)
}

// unchanged checks, just before a commit, that no file of the batch
// changed since it was listed (appended to in place, say): a
// *lake.ChangedError for the first that did.
func unchanged(ctx context.Context, st lake.Store, srcs []*source) error {
	infos := make([]lake.ObjectInfo, len(srcs))
	for i, s := range srcs {
		infos[i] = s.info
	}
	return lake.Unchanged(ctx, st, infos)
}
