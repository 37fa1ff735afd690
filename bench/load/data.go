package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// invoiceSchema is a flat invoice feed like ../shared/bench/gen's CSV.
var invoiceSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "entity_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "provider", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "currency", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "total", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "quantity", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "reference", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var (
	providers = []string{"xero", "quickbooks", "netsuite", "sage", "freshbooks", "myob"}
	statuses  = []string{"DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED"}
	curr      = []string{"USD", "GBP", "EUR", "AUD", "NZD", "CAD"}
)

// writeFiles writes rows split over n zstd Parquet files in dir and returns
// their total size. Deterministic (seeded).
func writeFiles(dir string, rows, n int) (int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var total int64
	per := rows / n
	for f := range n {
		rec := invoices(r, f*per, per, base)
		p := filepath.Join(dir, fmt.Sprintf("part-%05d.parquet", f))
		size, err := writeParquet(p, rec)
		rec.Release()
		if err != nil {
			return 0, err
		}
		total += size
	}
	old := time.Now().Add(-time.Minute)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.Chtimes(filepath.Join(dir, e.Name()), old, old)
	}
	return total, nil
}

func invoices(r *rand.Rand, from, n int, base time.Time) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, invoiceSchema)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff))
		b.Field(2).(*array.StringBuilder).Append(providers[r.IntN(len(providers))])
		b.Field(3).(*array.StringBuilder).Append(statuses[r.IntN(len(statuses))])
		b.Field(4).(*array.StringBuilder).Append(curr[r.IntN(len(curr))])
		b.Field(5).(*array.Float64Builder).Append(float64(r.IntN(10_000_000)) / 100)
		b.Field(6).(*array.Int32Builder).Append(int32(1 + r.IntN(50)))
		b.Field(7).(*array.TimestampBuilder).Append(arrow.Timestamp(base.Add(time.Duration(r.IntN(1e9)) * time.Second / 10).UnixMicro()))
		if r.IntN(10) < 3 {
			b.Field(8).AppendNull()
		} else {
			b.Field(8).(*array.StringBuilder).Append(fmt.Sprintf("PO %d", r.IntN(100000)))
		}
	}
	return b.NewRecordBatch()
}

func writeParquet(path string, rec arrow.RecordBatch) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return 0, err
	}
	if err := w.Write(rec); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
