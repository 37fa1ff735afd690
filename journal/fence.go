package journal

import (
	"iter"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"
)

// The fence. A commit lists the sources it takes in (each as an id:
// lake.SourceID of a key and its version) under a snapshot-summary
// property; a later commit of the same sources looks at every snapshot
// made since they arrived and leaves out those one of them lists —
// whoever made it: a worker whose claim was taken over while it was
// paused, a batch recovered twice. Done against the table as the catalog
// has it, inside the commit's optimistic retry (or pinned to that
// snapshot), the look and the commit are one atomic step: a commit that
// lands in between fails ours, which then looks again.

// FenceSkew is how far before its sources arrived a commit still looks:
// the clocks of writers, stores and committers may disagree by that much.
const FenceSkew = 15 * time.Minute

// Since yields meta's snapshots from the current one back along its
// parents, to the first made before since (less FenceSkew): older ones
// cannot hold sources that arrived at since.
func Since(meta table.Metadata, since time.Time) iter.Seq[*table.Snapshot] {
	limit := since.Add(-FenceSkew).UnixMilli()
	return func(yield func(*table.Snapshot) bool) {
		for snap := meta.CurrentSnapshot(); snap != nil && snap.TimestampMs >= limit; snap = Parent(meta, snap) {
			if !yield(snap) {
				return
			}
		}
	}
}

// Listed yields the entries a snapshot's summary lists under prop
// (comma-separated).
func Listed(snap *table.Snapshot, prop string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if snap.Summary == nil || snap.Summary.Properties[prop] == "" {
			return
		}
		for e := range strings.SplitSeq(snap.Summary.Properties[prop], ",") {
			if !yield(e) {
				return
			}
		}
	}
}

// Committed returns, of ids, those a snapshot made since (see Since)
// lists under prop, each with the snapshot that holds it.
func Committed(meta table.Metadata, prop string, since time.Time, ids []string) map[string]*table.Snapshot {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	found := map[string]*table.Snapshot{}
	for snap := range Since(meta, since) {
		for id := range Listed(snap, prop) {
			if want[id] && found[id] == nil {
				found[id] = snap
			}
		}
	}
	return found
}

// Parent is snap's parent in meta (nil: none, or expired).
func Parent(meta table.Metadata, snap *table.Snapshot) *table.Snapshot {
	if snap.ParentSnapshotID == nil {
		return nil
	}
	return meta.SnapshotByID(*snap.ParentSnapshotID)
}
