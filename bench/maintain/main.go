// Command maintain measures what table maintenance buys a reader and what
// it costs: a table of many small commits is queried with DuckDB over its
// live data files, maintained (lagoon maintain), and queried again.
//
//	go run ./bench/maintain                   # 500 commits of 200 rows
//	go run ./bench/maintain -files 2000 -rows 50
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/lagoon-dev/lagoon/bench/internal/kit"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lagoon-dev/lagoon/lake"
)

func main() {
	files := flag.Int("files", 500, "commits (one small file each)")
	rows := flag.Int("rows", 200, "rows per file")
	flag.Parse()
	dir, err := os.MkdirTemp("", "lagoon-bench-maintain-")
	kit.Check(err)
	defer os.RemoveAll(dir)
	bin, err := kit.BuildLagoon()
	kit.Check(err)
	root := filepath.Join(dir, "lake")
	for i := range *files {
		kit.Check(writeParquet(filepath.Join(root, "load", "bench", "t", fmt.Sprintf("f%05d.parquet", i)), i**rows, *rows))
	}
	start := time.Now()
	kit.Check(kit.Run(bin, "run", "--root", root, "--once", "--settle", "0", "--max-batch-files", "1", "--maintain=false", "--log-level", "error"))
	fmt.Printf("loaded %d commits of %d rows in %.1fs\n", *files, *rows, time.Since(start).Seconds())

	before, nBefore := query(root)
	start = time.Now()
	out, err := output(bin, "maintain", "--root", root, "bench.t", "--json", "--snapshot-retention", "0s", "--keep-snapshots", "1")
	kit.Check(err)
	took := time.Since(start)
	var reps []struct {
		FilesRewritten int   `json:"files_rewritten"`
		FilesWritten   int   `json:"files_written"`
		BytesRewritten int64 `json:"bytes_rewritten"`
		Snapshots      int   `json:"snapshots_expired"`
	}
	kit.Check(json.Unmarshal(out, &reps))
	after, nAfter := query(root)
	fmt.Printf("%-34s %8s %12s\n", "", "files", "query (s)")
	fmt.Printf("%-34s %8d %12.3f\n", "before maintenance", nBefore, before.Seconds())
	fmt.Printf("%-34s %8d %12.3f\n", "after maintenance", nAfter, after.Seconds())
	fmt.Printf("query time after / before: %.2f\n", after.Seconds()/before.Seconds())
	if len(reps) == 1 {
		r := reps[0]
		fmt.Printf("maintenance: %.2fs (process included): %d files (%.1f MiB) into %d, %d snapshots expired\n",
			took.Seconds(), r.FilesRewritten, float64(r.BytesRewritten)/(1<<20), r.FilesWritten, r.Snapshots)
	}
}

// query runs the benchmark query with DuckDB over the table's live files:
// the median of 3 runs, less the time of a query that reads nothing (node
// and DuckDB starting), and the number of files.
func query(root string) (time.Duration, int) {
	ctx := context.Background()
	l, err := lake.Open(ctx, lake.Config{Root: root})
	kit.Check(err)
	defer l.Close()
	tbl, err := l.LoadTable(ctx, lake.TableRef{DB: "bench", Table: "t"})
	kit.Check(err)
	files, err := lake.DataFiles(ctx, tbl)
	kit.Check(err)
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + strings.TrimPrefix(f, "file://") + "'"
	}
	sql := "SELECT count(*) AS n, sum(amount) AS s, count(DISTINCT name) AS d FROM read_parquet([" + strings.Join(quoted, ",") + "])"
	return median(sql) - median("SELECT 1"), len(files)
}

func median(sql string) time.Duration {
	var ts []time.Duration
	for range 3 {
		start := time.Now()
		kit.Check(duckdb(sql))
		ts = append(ts, time.Since(start))
	}
	slices.Sort(ts)
	return ts[1]
}

func duckdb(sql string) error {
	script, ok := kit.DuckDBScript()
	if !ok {
		return fmt.Errorf("duckdb is not installed: run scripts/install-test-deps")
	}
	f, err := os.CreateTemp("", "lagoon-bench-*.sql") // a long file list passes no command line
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(sql); err != nil {
		return err
	}
	f.Close()
	cmd := exec.Command("node", script, "@"+f.Name()) // 2 threads (query.mjs)
	cmd.Dir = filepath.Dir(script)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("duckdb: %w %s (run scripts/install-test-deps)", err, b)
	}
	return nil
}

// writeParquet writes n rows (ids from first) of an id, a name and an amount.
func writeParquet(path string, first, n int) error {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := first; i < first+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("customer-%d", i%97))
		b.Field(2).(*array.Float64Builder).Append(float64(i%1000) / 7)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)), pqarrow.DefaultWriterProps())
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

func output(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}
