package loader

import (
	"context"
	"crypto/sha256"
	"errors"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
)

// SourcesProperty is the snapshot-summary property listing the files a
// commit appended, each as sourceID(key, version). It fences commits: a
// batch about to commit looks at every snapshot made since its files were
// written, and drops the files one of them holds already — whoever made
// it (a worker whose claim was taken over while it was paused, a batch
// recovered twice). Inside the optimistic retry loop, with the table as
// the catalog has it, this check and the commit are one atomic step: a
// commit that lands in between fails ours, which then looks again.
const SourcesProperty = "lagoon.sources"

// fenceSkew is how far before a file's mtime the fence still looks: the
// clocks of writers, stores and committers may disagree by that much.
const fenceSkew = 15 * time.Minute

// sourceID names one version of one file: 16 hex digits of the SHA-256
// of its key and version.
func sourceID(key, version string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + version))
	return hex.EncodeToString(sum[:8])
}

// commitProps are the snapshot-summary properties of a batch's commit.
func commitProps(batch string, srcs []*source) iceberg.Properties {
	ids := make([]string, len(srcs))
	for i, s := range srcs {
		ids[i] = sourceID(s.info.Key, s.info.Version)
	}
	slices.Sort(ids)
	return iceberg.Properties{BatchProperty: batch, SourcesProperty: strings.Join(ids, ","),
		lake.ReceivedProperty: strconv.FormatInt(receivedAt(srcs).UnixMilli(), 10)}
}

// errCommitted says that some files of a batch are in the table already,
// by another commit: the batch goes on without them.
type errCommitted struct{ keys []string }

func (e *errCommitted) Error() string {
	return fmt.Sprintf("%d files committed already by another batch", len(e.keys))
}

// committedElsewhere returns the keys of srcs that a snapshot of meta
// holds already: it walks back from the current snapshot until snapshots
// older than the oldest file (less fenceSkew), which cannot hold them.
func committedElsewhere(meta table.Metadata, srcs []*source) []string {
	want := map[string]string{}
	oldest := time.Now()
	for _, s := range srcs {
		want[sourceID(s.info.Key, s.info.Version)] = s.info.Key
		if s.info.ModTime.Before(oldest) {
			oldest = s.info.ModTime
		}
	}
	limit := oldest.Add(-fenceSkew).UnixMilli()
	var found []string
	for snap := meta.CurrentSnapshot(); snap != nil && snap.TimestampMs >= limit; snap = parentOf(meta, snap) {
		if snap.Summary == nil {
			continue
		}
		for id := range strings.SplitSeq(snap.Summary.Properties[SourcesProperty], ",") {
			if key, ok := want[id]; ok {
				found = append(found, key)
				delete(want, id)
			}
		}
	}
	return found
}

func parentOf(meta table.Metadata, snap *table.Snapshot) *table.Snapshot {
	if snap.ParentSnapshotID == nil {
		return nil
	}
	return meta.SnapshotByID(*snap.ParentSnapshotID)
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
		return ec.keys, "committed already by another batch"
	case errors.As(err, &ce):
		return []string{ce.Key}, "changed while it was read; taken again once finished"
	}
	return nil, ""
}

// leaveOut takes keys out of the batch; its intent is written again
// without them, so that this batch's trail never claims them. Their files
// stay: a file committed by another batch is recorded and deleted when
// that batch finishes (or its recovery does); a file that changed is
// loaded once finished. It returns the sources left.
func (l *Loader) leaveOut(ctx context.Context, in *intent, srcs []*source, keys []string, why string) ([]*source, error) {
	l.log.Info("leaving files out of a batch: "+why, "table", in.ref().String(), "batch", in.Batch, "files", len(keys))
	srcs = slices.DeleteFunc(slices.Clone(srcs), func(s *source) bool { return slices.Contains(keys, s.info.Key) }) // the caller keeps (and closes) its own
	in.Files = slices.DeleteFunc(in.Files, func(f intentFile) bool { return slices.Contains(keys, f.Key) })
	return srcs, l.writeIntent(ctx, *in)
}

// emptyBatch ends a batch left with no file (or whose intent could not be
// written again: err): changed files wait.
func (l *Loader) emptyBatch(ctx context.Context, ref lake.TableRef, in intent, changed int, err error) (lake.Result, error) {
	if err != nil {
		return lake.Result{}, err
	}
	res := lake.Result{Table: ref}
	res.WaitUntil(changed, l.cfg.Now().Add(max(l.cfg.Settle, time.Second)))
	return res, l.dropIntent(ctx, in)
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
