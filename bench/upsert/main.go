// Command upsert measures what upserts cost against plain appends: the
// same overlapping files (each re-sends half the keys of the one before,
// newer) are loaded, one commit each, into a table without a contract and
// into one whose contract upserts by key (keys: [entity_id], order_by:
// updated_at), side by side in one run.
//
//	go run ./bench/upsert                    # 20 files of 50,000 rows
//	go run ./bench/upsert -files 40 -rows 100000
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lagoon-dev/lagoon/bench/internal/kit"
)

func main() {
	files := flag.Int("files", 20, "files, loaded one commit each")
	rows := flag.Int("rows", 50_000, "rows per file (half of them keys of the file before)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "lagoon-bench-upsert-")
	kit.Check(err)
	defer os.RemoveAll(dir)
	bin, err := kit.BuildLagoon()
	kit.Check(err)
	fmt.Printf("%d files of %d rows, one commit each; %s, %d cores\n", *files, *rows, runtime.Version(), runtime.NumCPU())
	appendS := load(bin, filepath.Join(dir, "append"), *files, *rows, "")
	upsertS := load(bin, filepath.Join(dir, "upsert"), *files, *rows, "keys: [entity_id]\norder_by: updated_at\n")
	total := float64(*files * *rows)
	fmt.Printf("| load | time | rows/s |\n|---|---|---|\n")
	fmt.Printf("| plain appends | %.1f s | %.0f |\n", appendS, total/appendS)
	fmt.Printf("| upserts (keys, order_by) | %.1f s | %.0f |\n", upsertS, total/upsertS)
	fmt.Printf("upserts take %.2fx the time of appends\n", upsertS/appendS)
}

// load writes the files into a fresh lake (with the contract, if any) and
// times lagoon loading them, one commit per file.
func load(bin, root string, files, rows int, contract string) float64 {
	if contract != "" {
		p := filepath.Join(root, "assets", "lagoon", "tables", "bench", "invoices.yaml")
		kit.Check(os.MkdirAll(filepath.Dir(p), 0o755))
		kit.Check(os.WriteFile(p, []byte(contract), 0o644))
	}
	for i := range files {
		kit.Check(writeParquet(filepath.Join(root, "load", "bench", "invoices", fmt.Sprintf("f%05d.parquet", i)), i, rows))
	}
	start := time.Now()
	kit.Check(kit.Run(bin, "run", "--root", root, "--once", "--settle", "0", "--max-batch-files", "1",
		"--maintain=false", "--dedupe-window", "0", "--log-level", "error"))
	return time.Since(start).Seconds()
}

// writeParquet writes file i: keys i*rows/2 … i*rows/2+rows-1 at version i
// (so half re-send the file before's keys, newer).
func writeParquet(path string, i, rows int) error {
	sc := arrow.NewSchema([]arrow.Field{{Name: "entity_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "updated_at", Type: arrow.FixedWidthTypes.Timestamp_us}, {Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "customer", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).UnixMicro()
	for k := i * rows / 2; k < i*rows/2+rows; k++ {
		b.Field(0).(*array.Int64Builder).Append(int64(k))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(base))
		b.Field(2).(*array.Float64Builder).Append(float64(k%1000) / 7)
		b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("customer-%d", k%97))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	if err := w.Write(rec); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
