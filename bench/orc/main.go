// Command orc measures `lagoon convert` of an ORC file to Parquet next to
// the same rows as CSV, side by side in one run: the ORC file (by default
// the ORC project's demo-12-zlib.orc, 1,920,800 rows written by the Java
// writer), a CSV of its rows made with lagoon's ORC reader, `lagoon
// convert` of each, and DuckDB's CSV conversion for reference (DuckDB
// reads no ORC offline). Medians of -runs; rows/s, MB/s of input and peak
// RSS.
//
//	go run ./bench/orc
//	go run ./bench/orc -in some.orc -runs 5
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/bench/internal/kit"
	"github.com/lagoon-dev/lagoon/prepare/orc"
)

func main() {
	in := flag.String("in", filepath.Join("testdata", "orc", "demo-12-zlib.orc"), "the ORC file")
	runs := flag.Int("runs", 3, "runs of each conversion (the median counts)")
	work := flag.String("work", filepath.Join(os.TempDir(), "lagoon-bench-orc"), "where the CSV and outputs go")
	flag.Parse()
	kit.Check(os.MkdirAll(*work, 0o755))
	bin, err := kit.BuildLagoon()
	kit.Check(err)
	csvPath := filepath.Join(*work, "same-rows.csv")
	rows, err := writeCSV(*in, csvPath)
	kit.Check(err)
	fmt.Printf("machine: %d cores, %s/%s, %s; %s: %d rows, median of %d runs\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().Format(time.DateOnly), filepath.Base(*in), rows, *runs)
	fmt.Printf("%-22s %9s %9s %12s %9s %10s\n", "conversion", "input MB", "seconds", "rows/s", "MB/s", "peak RSS")
	report := func(name, input string, f func() (time.Duration, int64)) {
		d, rss := kit.Median(*runs, f)
		st, err := os.Stat(input)
		kit.Check(err)
		mb := float64(st.Size()) / 1e6
		fmt.Printf("%-22s %9.2f %9.2f %12.0f %9.2f %9.0fM\n", name, mb, d.Seconds(), float64(rows)/d.Seconds(), mb/d.Seconds(), float64(rss)/(1<<20))
	}
	out := filepath.Join(*work, "out.parquet")
	report("lagoon convert ORC", *in, func() (time.Duration, int64) { return kit.Measure("", bin, "convert", *in, "--out", out) })
	report("lagoon convert CSV", csvPath, func() (time.Duration, int64) { return kit.Measure("", bin, "convert", csvPath, "--out", out) })
	if duck, ok := kit.DuckDBScript(); ok {
		sql := fmt.Sprintf("COPY (SELECT * FROM read_csv_auto('%s')) TO '%s' (FORMAT parquet, COMPRESSION zstd)", csvPath, out)
		report("DuckDB CSV (reference)", csvPath, func() (time.Duration, int64) { return kit.Measure(filepath.Dir(duck), "node", duck, sql) })
	}
}

// writeCSV writes the rows of ORC file in as CSV (a header, nulls as
// empty fields) and returns how many there are.
func writeCSV(in, out string) (int64, error) {
	f, err := os.Open(in)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	of, err := orc.Open(f, st.Size())
	if err != nil {
		return 0, err
	}
	r, err := orc.NewReader(of, orc.DefaultReaderOptions())
	if err != nil {
		return 0, err
	}
	o, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer o.Close()
	bw := bufio.NewWriter(o)
	w := csv.NewWriter(bw)
	var header []string
	for _, fl := range r.Schema().Fields() {
		header = append(header, fl.Name)
	}
	if err := w.Write(header); err != nil {
		return 0, err
	}
	n, err := writeRows(r, w)
	if err != nil {
		return n, err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func writeRows(r *orc.Reader, w *csv.Writer) (int64, error) {
	var n int64
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		err = writeBatch(rec, w)
		n += rec.NumRows()
		rec.Release()
		if err != nil {
			return n, err
		}
	}
}

func writeBatch(rec arrow.RecordBatch, w *csv.Writer) error {
	row := make([]string, rec.NumCols())
	for i := range int(rec.NumRows()) {
		for c, col := range rec.Columns() {
			row[c] = ""
			if col.IsValid(i) {
				row[c] = col.ValueStr(i)
			}
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	return nil
}
