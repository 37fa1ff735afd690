package logs

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/journal"
	"github.com/lagoon-dev/lagoon/lake"
)

// SourcesProperty is the log table's snapshot-summary property listing
// the inbox objects a commit took in, each as lake.SourceID(key, ""): the
// fence (see journal.Since) by which a batch leaves out the objects
// another commit took in already (a syncer paused while another took its
// claim over), and by which recovery knows a batch committed.
const SourcesProperty = "lagoon.sources"

// LastBatchProperty is the log table's property naming the last batch
// committed by lagoon before the fence; recovery still reads it, for
// intents such a version left.
const LastBatchProperty = "lagoon.log.last-batch"

// intentPrefix holds the syncer's intents: which inbox objects a batch
// takes, written before its commit so a crash in between is resolved.
const intentPrefix = lake.PrefixTmp + "lagoon/side/log/"

func str() iceberg.Type { return iceberg.PrimitiveTypes.String }

// TableDef is the log table: lagoon.log, under log/metadata/ and log/data/.
var TableDef = lake.SideTable{
	Name: "log", Dir: lake.PrefixLog, DayOf: "time",
	Schema: iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "time", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
		iceberg.NestedField{ID: 2, Name: "level", Type: str(), Required: true},
		iceberg.NestedField{ID: 3, Name: "stage", Type: str()},
		iceberg.NestedField{ID: 4, Name: "db", Type: str()},
		iceberg.NestedField{ID: 5, Name: "table", Type: str()},
		iceberg.NestedField{ID: 6, Name: "key", Type: str()},
		iceberg.NestedField{ID: 7, Name: "message", Type: str(), Required: true},
		iceberg.NestedField{ID: 8, Name: "error", Type: str()},
		iceberg.NestedField{ID: 9, Name: "detail", Type: str(), Doc: "other attributes, as a JSON object"},
		iceberg.NestedField{ID: 10, Name: "worker", Type: str()},
	),
}

// Syncer folds the inbox (log/events/) into the log table in batches and
// deletes what it committed. Several syncers must not run at once on one
// lake: the daemon runs it under a claim.
type Syncer struct {
	lk    *lake.Lake
	batch int
	log   *slog.Logger
	// Sink, when set, is flushed first, so entries whose write failed
	// earlier get another chance before the sync.
	Sink *Sink
}

// NewSyncer returns a syncer taking up to 1,000 inbox objects per commit.
func NewSyncer(lk *lake.Lake, log *slog.Logger) *Syncer {
	return &Syncer{lk: lk, batch: 1000, log: log}
}

// Name implements the daemon's side task.
func (s *Syncer) Name() string { return TableDef.Name }

type intent struct {
	Batch string    `json:"batch"`
	Keys  []string  `json:"keys"`
	Since time.Time `json:"since"` // the oldest object's arrival
}

// Sync commits every inbox object to the log table and returns the
// number of entries. Each entry lands once: a batch's intent names its
// objects, its commit lists them (the fence: objects another commit
// listed are left out, and deleted as done), and only then are they
// deleted; after a crash the intent is finished or dropped.
func (s *Syncer) Sync(ctx context.Context) (int, error) {
	if s.Sink != nil {
		if err := s.Sink.Flush(ctx); err != nil {
			return 0, err
		}
	}
	if err := s.recover(ctx); err != nil {
		return 0, fmt.Errorf("sync log table: %w", err)
	}
	total := 0
	for {
		objs, err := s.inbox(ctx)
		if err != nil || len(objs) == 0 {
			return total, err
		}
		n, err := s.commit(ctx, objs)
		total += n
		if err != nil {
			return total, fmt.Errorf("sync log table: %w", err)
		}
		if len(objs) < s.batch {
			return total, nil
		}
	}
}

// inbox lists up to a batch of inbox objects, oldest name first.
func (s *Syncer) inbox(ctx context.Context) ([]lake.ObjectInfo, error) {
	var objs []lake.ObjectInfo
	for info, err := range s.lk.Store.List(ctx, InboxPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", InboxPrefix, err)
		}
		if strings.HasSuffix(info.Key, ".ndjson") && !lake.Ignored(info.Key) {
			objs = append(objs, info)
		}
	}
	slices.SortFunc(objs, func(a, b lake.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return objs[:min(len(objs), s.batch)], nil
}

// commit commits the entries of objs that no commit took in yet, and
// deletes every one of objs.
func (s *Syncer) commit(ctx context.Context, objs []lake.ObjectInfo) (int, error) {
	tbl, err := s.lk.OpenSide(ctx, TableDef)
	if err != nil {
		return 0, err
	}
	in := intent{Batch: time.Now().UTC().Format("20060102T150405.000000000Z"), Since: time.Now()}
	var done []string
	fenced := journal.Committed(tbl.Metadata(), SourcesProperty, oldest(objs), sourceIDs(keysOf(objs)))
	for _, o := range objs {
		if fenced[lake.SourceID(o.Key, "")] != nil {
			done = append(done, o.Key)
		} else {
			in.Keys, in.Since = append(in.Keys, o.Key), earliestOf(in.Since, o.ModTime)
		}
	}
	if err := s.delete(ctx, done); err != nil {
		return 0, err
	}
	n, err := s.append(ctx, tbl, in)
	if err != nil {
		return 0, err
	}
	return n, s.finish(ctx, in)
}

// append commits the entries of the batch's objects under its intent,
// pinned to tbl (read with the fence: a commit since fails ours).
func (s *Syncer) append(ctx context.Context, tbl *table.Table, in intent) (int, error) {
	var rows [][]any
	for _, k := range in.Keys {
		es, err := ReadEntries(ctx, s.lk.Store, k)
		if err != nil {
			return 0, err
		}
		for _, e := range es {
			rows = append(rows, e.row())
		}
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if err := s.journal().Write(ctx, "", in.Batch, in); err != nil {
		return 0, err
	}
	summary := iceberg.Properties{SourcesProperty: strings.Join(sourceIDs(in.Keys), ",")}
	_, err := s.lk.AppendSide(ctx, TableDef, tbl, rows, nil, summary)
	return len(rows), err
}

// finish deletes a committed batch's inbox objects, then its intent.
func (s *Syncer) finish(ctx context.Context, in intent) error {
	if err := s.delete(ctx, in.Keys); err != nil {
		return err
	}
	return s.journal().Drop(ctx, "", in.Batch)
}

func (s *Syncer) delete(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if err := s.lk.Store.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// journal keeps the syncer's intents (one group: the log table).
func (s *Syncer) journal() journal.Journal[intent] {
	return journal.Journal[intent]{Store: s.lk.Store, Prefix: intentPrefix}
}

// recover finishes the batches that committed (the fence finds their
// objects in a snapshot) and drops the intents of those that did not
// (their objects are still in the inbox).
func (s *Syncer) recover(ctx context.Context) error {
	return s.journal().Recover(ctx, "", func(ctx context.Context, in intent) error {
		tbl, err := s.lk.OpenSide(ctx, TableDef)
		if err != nil {
			return err
		}
		committed := journal.Committed(tbl.Metadata(), SourcesProperty, in.Since, sourceIDs(in.Keys))
		if len(committed) > 0 || tbl.Properties()[LastBatchProperty] == in.Batch {
			return s.finish(ctx, in)
		}
		return s.journal().Drop(ctx, "", in.Batch)
	})
}

func keysOf(objs []lake.ObjectInfo) []string {
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	return keys
}

// sourceIDs are the fence's ids of inbox objects (written once each:
// their keys suffice).
func sourceIDs(keys []string) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = lake.SourceID(k, "")
	}
	return ids
}

// oldest is the earliest arrival of objs.
func oldest(objs []lake.ObjectInfo) time.Time {
	t := time.Now()
	for _, o := range objs {
		t = earliestOf(t, o.ModTime)
	}
	return t
}

func earliestOf(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// ReadEntries reads the entries of one inbox object.
func ReadEntries(ctx context.Context, st lake.Store, key string) ([]Entry, error) {
	obj, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	var out []Entry
	sc := bufio.NewScanner(obj)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Time.IsZero() {
			// Not written by a Sink: keep it, flagged, rather than stall.
			e = Entry{Time: time.Now().UTC(), Level: "error", Key: key, Message: "unreadable log entry",
				Detail: map[string]any{"raw": sc.Text()}}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return out, nil
}

func (e Entry) row() []any {
	var detail any
	if len(e.Detail) > 0 {
		b, _ := json.Marshal(e.Detail)
		detail = string(b)
	}
	return []any{e.Time, e.Level, lake.OrNull(e.Stage), lake.OrNull(e.DB), lake.OrNull(e.Table), lake.OrNull(e.Key), e.Message, lake.OrNull(e.Error),
		detail, lake.OrNull(e.Worker)}
}
