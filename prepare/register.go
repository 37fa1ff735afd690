package prepare

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
)

// RegisterMetadata marks an output the loader may add as it is.
const RegisterMetadata = lake.RegisterMetadata

// Register asks for outputs that the loader can add to the table as they
// are, with no re-encoding. When every output column is one of the
// table's, with its type, the output carries the table's field ids and
// its _etl_loaded_at column (At on every row, so one day partition), and
// RegisterMetadata = Mark. Outputs with a column the table lacks are
// written as usual, for the loader to evolve the table.
//
// New says the table does not exist yet: the outputs then carry the ids
// the table will have once the loader creates it from them
// (lake.NewTableSchema) and its lake.FreshMark, so that even a table's
// first file is added as it is (re-encoding a large first file would cost
// memory in proportion to it). Table and Mark are unused.
type Register struct {
	Table *arrow.Schema // the table's whole schema, with field ids
	Mark  string        // names the table and its schema version
	At    time.Time
	New   bool
}

// registration is how a conversion's outputs are registered: the output
// schema with field ids and the loaded-at column the writer adds.
type registration struct {
	schema *arrow.Schema // the builders' columns, then _etl_loaded_at
	at     arrow.Timestamp
	mark   string
}

// registrable checks sc (the builders' schema) against the table: nil
// when some column is not the table's, with its type.
func registrable(sc *arrow.Schema, r *Register) *registration {
	if r != nil && r.New {
		r = freshTable(sc, r.At)
	}
	if r == nil || r.Table == nil {
		return nil
	}
	fields := make([]arrow.Field, 0, sc.NumFields()+1)
	for _, f := range sc.Fields() {
		i := r.Table.FieldIndices(f.Name)
		if len(i) != 1 || !arrow.TypeEqual(f.Type, r.Table.Field(i[0]).Type) {
			return nil
		}
		fields = append(fields, r.Table.Field(i[0]))
	}
	i := r.Table.FieldIndices(lake.LoadedAtColumn)
	if len(i) != 1 {
		return nil
	}
	fields = append(fields, r.Table.Field(i[0]))
	return &registration{schema: arrow.NewSchema(fields, nil), at: arrow.Timestamp(r.At.UnixMicro()), mark: r.Mark}
}

// freshTable is the table the loader will create from outputs of
// columns sc, as a Register; nil when Iceberg cannot take sc.
func freshTable(sc *arrow.Schema, at time.Time) *Register {
	isc, err := lake.NewTableSchema(sc)
	if err != nil {
		return nil
	}
	withIDs, err := table.SchemaToArrowSchema(isc, nil, true, false)
	if err != nil {
		return nil
	}
	return &Register{Table: withIDs, Mark: lake.FreshMark(isc), At: at}
}

// withLoadedAt returns rec under the registration's schema, with the
// _etl_loaded_at column added. The caller releases both.
func (g *registration) withLoadedAt(rec arrow.RecordBatch) arrow.RecordBatch {
	lf := g.schema.Field(g.schema.NumFields() - 1)
	b := array.NewTimestampBuilder(memory.DefaultAllocator, lf.Type.(*arrow.TimestampType))
	defer b.Release()
	n := int(rec.NumRows())
	b.Reserve(n)
	for range n {
		b.UnsafeAppend(g.at)
	}
	at := b.NewArray()
	defer at.Release()
	cols := append(append([]arrow.Array{}, rec.Columns()...), at)
	return array.NewRecordBatch(g.schema, cols, int64(n))
}
