package trail

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/apache/iceberg-go"

	"github.com/lagoon-dev/lagoon/lake"
)

// NextSeqProperty is the trail table's property holding the sequence
// number of the first record not yet in it. It commits with the rows.
const NextSeqProperty = "lagoon.trail.next-seq"

func str() iceberg.Type  { return iceberg.PrimitiveTypes.String }
func long() iceberg.Type { return iceberg.PrimitiveTypes.Int64 }

// TableDef is the trail as an Iceberg table (lagoon.trail, under
// trail/metadata/ and trail/data/): one row per record.
var TableDef = lake.SideTable{
	Name: "trail", Dir: lake.PrefixTrail, DayOf: "time",
	Schema: iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "seq", Type: long(), Required: true},
		iceberg.NestedField{ID: 2, Name: "time", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
		iceberg.NestedField{ID: 3, Name: "kind", Type: str(), Required: true},
		iceberg.NestedField{ID: 4, Name: "table", Type: str()},
		iceberg.NestedField{ID: 5, Name: "key", Type: str()},
		iceberg.NestedField{ID: 6, Name: "size", Type: long()},
		iceberg.NestedField{ID: 7, Name: "sha256", Type: str()},
		iceberg.NestedField{ID: 8, Name: "rows", Type: long()},
		iceberg.NestedField{ID: 9, Name: "rejects", Type: long()},
		iceberg.NestedField{ID: 10, Name: "snapshot_id", Type: long()},
		iceberg.NestedField{ID: 11, Name: "reason", Type: str()},
		iceberg.NestedField{ID: 12, Name: "detail", Type: str()},
		iceberg.NestedField{ID: 13, Name: "files", Type: &iceberg.ListType{ElementID: 14, ElementRequired: true,
			Element: &iceberg.StructType{FieldList: []iceberg.NestedField{
				{ID: 15, Name: "key", Type: str(), Required: true},
				{ID: 16, Name: "size", Type: long()},
				{ID: 17, Name: "sha256", Type: str()},
				{ID: 18, Name: "rows", Type: long()},
				{ID: 19, Name: "rejects", Type: long()},
			}}}},
		iceberg.NestedField{ID: 20, Name: "prev_hash", Type: str(), Required: true},
		iceberg.NestedField{ID: 21, Name: "hash", Type: str(), Required: true},
		iceberg.NestedField{ID: 22, Name: "signed", Type: iceberg.PrimitiveTypes.Bool, Required: true},
	),
}

// Syncer copies new records into the trail table, in batches. The
// records stay the truth: the table can be dropped and rebuilt from them.
type Syncer struct {
	lk    *lake.Lake
	batch int
	log   *slog.Logger
}

// NewSyncer returns a syncer committing up to 5,000 records at a time.
func NewSyncer(lk *lake.Lake, log *slog.Logger) *Syncer {
	return &Syncer{lk: lk, batch: 5000, log: log}
}

// Name implements the daemon's side task.
func (s *Syncer) Name() string { return TableDef.Name }

// Sync appends every record not yet in the table and returns how many.
// Each batch commits with the next sequence number, so a record lands
// once however often Sync runs, concurrently or after a crash.
func (s *Syncer) Sync(ctx context.Context) (int, error) {
	total := 0
	for conflicts := 0; ; {
		n, err := s.step(ctx)
		total += n
		switch {
		case errors.Is(err, lake.ErrSideConflict) && conflicts < 10:
			conflicts++
		case err != nil:
			return total, fmt.Errorf("sync trail table: %w", err)
		case n < s.batch:
			return total, nil
		}
	}
}

func (s *Syncer) step(ctx context.Context) (int, error) {
	tbl, err := s.lk.OpenSide(ctx, TableDef)
	if err != nil {
		return 0, err
	}
	next, err := strconv.ParseUint(tbl.Properties().Get(NextSeqProperty, "0"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("property %s: %w", NextSeqProperty, err)
	}
	rows, err := s.read(ctx, next)
	if len(rows) == 0 || err != nil {
		return 0, err
	}
	props := iceberg.Properties{NextSeqProperty: strconv.FormatUint(next+uint64(len(rows)), 10)}
	if _, err := s.lk.AppendSide(ctx, TableDef, tbl, rows, props, nil); err != nil {
		return 0, err
	}
	s.log.Debug("trail table synced", "records", len(rows), "next_seq", props[NextSeqProperty])
	return len(rows), nil
}

// read returns the rows of up to s.batch records from seq next on.
func (s *Syncer) read(ctx context.Context, next uint64) ([][]any, error) {
	var rows [][]any
	for seq := next; len(rows) < s.batch; seq++ {
		data, err := readAll(ctx, s.lk.Store, KeyOf(seq))
		if errors.Is(err, lake.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, err
		}
		rec, err := Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyOf(seq), err)
		}
		rows = append(rows, row(rec, Hash(data)))
	}
	return rows, nil
}

func row(r Record, hash [32]byte) []any {
	e := r.Event
	files := make([]any, 0, len(e.Files))
	for _, f := range e.Files {
		files = append(files, map[string]any{"key": f.Key, "size": lake.OrNull(f.Size), "sha256": lake.OrNull(f.SHA256),
			"rows": lake.OrNull(f.Rows), "rejects": lake.OrNull(f.Rejects)})
	}
	return []any{int64(r.Seq), r.Time, r.Kind.String(), lake.OrNull(e.Table), lake.OrNull(e.Key), lake.OrNull(e.Size), lake.OrNull(e.SHA256),
		lake.OrNull(e.Rows), lake.OrNull(e.Rejects), lake.OrNull(e.SnapshotID), lake.OrNull(e.Reason), lake.OrNull(e.Detail), files,
		hex.EncodeToString(r.Prev[:]), hex.EncodeToString(hash[:]), len(r.Signature) > 0}
}

// Rebuild drops the trail table and builds it again from the records.
// Run it with no daemon syncing the trail, or that daemon will simply
// carry on from wherever the rebuilt table stands.
func (s *Syncer) Rebuild(ctx context.Context) (int, error) {
	err := s.lk.Catalog.DropTable(ctx, TableDef.Ref().Ident())
	if err != nil && !lake.IsNoSuchTable(err) {
		return 0, fmt.Errorf("rebuild trail table: %w", err)
	}
	for _, dir := range []string{"data/", "metadata/"} {
		if err := lake.DeleteAll(ctx, s.lk.Store, TableDef.Dir+dir); err != nil {
			return 0, fmt.Errorf("rebuild trail table: %w", err)
		}
	}
	return s.Sync(ctx)
}
