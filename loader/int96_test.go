package loader_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// int96File writes n rows: id, ts = base + id µs (+ extra ns), and a note,
// with ts as INT96 in row groups of 100,000 rows.
func int96File(tb testing.TB, n int, extraNanos int64) []byte {
	tb.Helper()
	sc := lakefixture.Schema("id", i64, "ts", &arrow.TimestampType{Unit: arrow.Nanosecond}, "note", str)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%7 == 3 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(base + int64(i)*1000 + extraNanos))
		}
		b.Field(2).(*array.StringBuilder).Append("x")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(100_000)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithDeprecatedInt96Timestamps(true)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestInt96AlignsWithOtherColumns: INT96 columns, read by hand, stay in
// step with the other columns across batches and row groups.
func TestInt96AlignsWithOtherColumns(t *testing.T) {
	const n = 230_000 // three row groups, several batches each
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/x.parquet", int96File(t, n, 0))
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 || res.Rows != n {
		t.Fatalf("result = %+v", res)
	}
	if got := schemaString(t, l); got != "id:long ts:timestamp note:string" {
		t.Errorf("schema = %s", got)
	}
	ctx := context.Background()
	tbl, err := l.LoadTable(ctx, lake.TableRef{DB: "db", Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := lake.ReadTable(ctx, tbl, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Release()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	tr := array.NewTableReader(data, 8192)
	defer tr.Release()
	bad := 0
	for tr.Next() {
		rec := tr.RecordBatch()
		ids, ts := rec.Column(0).(*array.Int64), rec.Column(1).(*array.Timestamp)
		for i := range ids.Len() {
			id := ids.Value(i)
			wantNull := id%7 == 3
			if ts.IsNull(i) != wantNull || (!wantNull && int64(ts.Value(i)) != base+id) {
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d rows have a timestamp that does not match their id", bad)
	}
}

func TestInt96SubMicrosecondIsRejected(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/x.parquet", int96File(t, 10, 1))
	res := loadAll(t, newLoader(t, l))
	if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "sub-microsecond") {
		t.Fatalf("result = %+v", res)
	}
}
