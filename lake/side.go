package lake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// SideNamespace is the catalog namespace (Glue database) of lagoon's own
// tables: the trail, the statistics and the log. Files under
// prepare/lagoon/ and load/lagoon/ are rejected so that no user table
// lands there.
const SideNamespace = "lagoon"

// ErrSideConflict classifies a side-table commit that lost a race with
// another writer: nothing was committed; reload the table and redo.
var ErrSideConflict = errors.New("side table changed concurrently")

// SideTable describes one of lagoon's own Iceberg tables.
type SideTable struct {
	// Name is the table's name in SideNamespace.
	Name string
	// Dir is the key of the table's folder ("trail/"): its metadata and
	// data live under Dir+"metadata/" and Dir+"data/".
	Dir string
	// Schema is the table's schema; DayOf names the timestamp column the
	// table is partitioned by day of.
	Schema *iceberg.Schema
	DayOf  string
}

// Ref returns the table's catalog name.
func (d SideTable) Ref() TableRef { return TableRef{DB: SideNamespace, Table: d.Name} }

// OpenSide loads a side table, creating it (and its namespace) when it
// is missing. Idempotent and safe to race: a table created concurrently
// is loaded instead.
func (l *Lake) OpenSide(ctx context.Context, d SideTable) (*table.Table, error) {
	tbl, err := l.Catalog.LoadTable(ctx, d.Ref().Ident())
	if err == nil {
		if err := l.Owns(tbl); err != nil {
			return nil, err
		}
		return l.addSideColumns(ctx, d, tbl)
	}
	if !IsNoSuchTable(err) {
		return nil, err
	}
	if err := EnsureNamespace(ctx, l.Catalog, SideNamespace); err != nil {
		return nil, err
	}
	spec, err := DayPartition(d.Schema, d.DayOf)
	if err != nil {
		return nil, err
	}
	props := l.Identity.TableProperties()
	props[table.CommitNumRetriesKey] = "0" // a conflict is the caller's to redo
	// Side tables commit every few seconds for months: keep the metadata
	// log short and drop metadata files it no longer lists.
	props[table.MetadataDeleteAfterCommitEnabledKey] = "true"
	props[table.MetadataPreviousVersionsMaxKey] = "50"
	tbl, err = l.Catalog.CreateTable(ctx, d.Ref().Ident(), d.Schema, catalog.WithPartitionSpec(&spec),
		catalog.WithLocation(strings.TrimSuffix(l.Store.URL(d.Dir), "/")), catalog.WithProperties(props))
	if errors.Is(err, catalog.ErrTableAlreadyExists) {
		return l.Catalog.LoadTable(ctx, d.Ref().Ident())
	}
	if err != nil {
		return nil, fmt.Errorf("create table %s: %w", d.Ref(), err)
	}
	return tbl, WriteVersionHint(ctx, l.Store, d.Dir, tbl)
}

// addSideColumns adds to a side table the columns a newer lagoon defines
// for it (at the end, optional: older rows read as null), so that rows
// of d.Schema's shape fit it. A table that has them all is returned as
// it is.
func (l *Lake) addSideColumns(ctx context.Context, d SideTable, tbl *table.Table) (*table.Table, error) {
	var missing []iceberg.NestedField
	for _, f := range d.Schema.Fields() {
		if _, ok := tbl.Schema().FindFieldByName(f.Name); !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		return tbl, nil
	}
	return l.CommitSide(ctx, d, tbl, func(tx *table.Transaction) error {
		us := tx.UpdateSchema(true, false)
		for _, f := range missing {
			us = us.AddColumn([]string{f.Name}, f.Type, f.Doc, false, nil)
		}
		return us.Commit()
	})
}

// CommitSide commits what stage puts in a transaction on tbl, pinned to
// tbl's current snapshot: if another writer committed first, nothing is
// committed and the error wraps ErrSideConflict. Callers keep their
// progress marks in table properties set within the same transaction, so
// a mark and the rows it covers commit together or not at all.
func (l *Lake) CommitSide(ctx context.Context, d SideTable, tbl *table.Table, stage func(*table.Transaction) error) (*table.Table, error) {
	tx := tbl.NewTransaction()
	if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
		return nil, fmt.Errorf("commit %s: %w", d.Ref(), err)
	}
	if err := stage(tx); err != nil {
		return nil, fmt.Errorf("commit %s: %w", d.Ref(), err)
	}
	next, err := tx.Commit(ctx)
	if err != nil {
		if IsCommitConflict(err) {
			err = fmt.Errorf("%w: %v", ErrSideConflict, err)
		}
		return nil, fmt.Errorf("commit %s: %w", d.Ref(), err)
	}
	return next, WriteVersionHint(ctx, l.Store, d.Dir, next)
}

// IsCommitConflict reports whether a commit failed because another writer
// committed first (nothing was committed). iceberg-go wraps most conflicts
// in table.ErrCommitFailed, but a stale base can surface as a failed
// requirement from the catalog, with no sentinel to match.
func IsCommitConflict(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, table.ErrCommitFailed) || strings.Contains(err.Error(), "requirement failed")
}

// AppendSide appends rows to a side table and sets its properties props,
// in one pinned commit (see CommitSide) whose snapshot summary holds
// summary. Each row holds one value per top-level field of d.Schema, in
// order (see AppendValue for the Go types taken).
func (l *Lake) AppendSide(ctx context.Context, d SideTable, tbl *table.Table, rows [][]any, props, summary iceberg.Properties) (*table.Table, error) {
	rec, err := SideRecord(tbl.Schema(), rows)
	if err != nil {
		return nil, fmt.Errorf("append %s: %w", d.Ref(), err)
	}
	defer rec.Release()
	return l.CommitSide(ctx, d, tbl, func(tx *table.Transaction) error {
		if len(props) > 0 {
			if err := tx.SetProperties(maps.Clone(props)); err != nil {
				return err
			}
		}
		rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
		if err != nil {
			return err
		}
		defer rdr.Release()
		return tx.Append(ctx, rdr, maps.Clone(summary))
	})
}

// SideRecord builds an Arrow record of sc's shape from rows.
func SideRecord(sc *iceberg.Schema, rows [][]any) (arrow.RecordBatch, error) {
	as, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, as)
	defer b.Release()
	for i, row := range rows {
		if len(row) != len(b.Fields()) {
			return nil, fmt.Errorf("row %d: %d values for %d columns", i, len(row), len(b.Fields()))
		}
		for j, v := range row {
			if err := AppendValue(b.Field(j), v); err != nil {
				return nil, fmt.Errorf("row %d, column %s: %w", i, as.Field(j).Name, err)
			}
		}
	}
	return b.NewRecordBatch(), nil
}

// AppendValue appends v to an Arrow builder. It takes nil (null), int64,
// int32, string, bool, time.Time, []any (a list) and map[string]any (a
// struct, by field name). An empty string appends to a
// string column as is; use nil for null.
func AppendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Int64Builder:
		return appendAs(v, b.Append)
	case *array.Int32Builder:
		return appendAs(v, b.Append)
	case *array.StringBuilder:
		return appendAs(v, b.Append)
	case *array.BooleanBuilder:
		return appendAs(v, b.Append)
	case *array.TimestampBuilder:
		return appendAs(v, func(t time.Time) { b.Append(arrow.Timestamp(t.UnixMicro())) })
	case *array.ListBuilder:
		return appendList(b, v)
	case *array.StructBuilder:
		return appendStruct(b, v)
	}
	return fmt.Errorf("no side-table support for %s", b.Type())
}

func appendAs[T any](v any, app func(T)) error {
	t, ok := v.(T)
	if !ok {
		return fmt.Errorf("got %T, want %T", v, *new(T))
	}
	app(t)
	return nil
}

func appendList(b *array.ListBuilder, v any) error {
	var items []any
	switch v := v.(type) {
	case []any:
		items = v
	default:
		return fmt.Errorf("got %T, want a list", v)
	}
	b.Append(true)
	for _, it := range items {
		if err := AppendValue(b.ValueBuilder(), it); err != nil {
			return err
		}
	}
	return nil
}

func appendStruct(b *array.StructBuilder, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("got %T, want a struct", v)
	}
	st := b.Type().(*arrow.StructType)
	b.Append(true)
	for i, f := range st.Fields() {
		if err := AppendValue(b.FieldBuilder(i), m[f.Name]); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

// OrNull returns v, or nil (a null) when v is its type's zero value: the
// side tables keep fields that do not apply as nulls.
func OrNull[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}
