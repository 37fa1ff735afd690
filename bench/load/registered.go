package main

import (
	"bufio"
	"context"
	"fmt"
	"github.com/lagoon-dev/lagoon/bench/internal/kit"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// runRegistered times the load of one file prepare wrote for an existing
// table (the daemon's usual case) against a bare arrow-go read and write
// of the same file: the loader adds such files as they are, with no
// re-encoding. The feed is ../shared/bench/gen's NDJSON.
func runRegistered(bin string, rows int, keep bool) {
	dir, err := os.MkdirTemp("", "lagoon-bench-reg-")
	kit.Check(err)
	if !keep {
		defer os.RemoveAll(dir)
	}
	feed := filepath.Join(dir, "feed.ndjson")
	gen, err := filepath.Abs(filepath.Join("..", "shared", "bench", "gen"))
	kit.Check(err)
	cmd := exec.Command("go", "run", ".", "-rows", strconv.Itoa(rows), "-format", "ndjson", "-out", feed)
	cmd.Dir, cmd.Stderr = gen, os.Stderr
	kit.Check(cmd.Run())
	root := filepath.Join(dir, "lake")
	kit.Check(kit.Run(bin, "init", "--root", root))
	in := filepath.Join(root, "prepare", "bench", "feed")
	kit.Check(os.MkdirAll(in, 0o755))
	// The table's first file creates it (and is re-encoded, as first files are).
	kit.Check(head(feed, filepath.Join(in, "first.ndjson"), 100))
	kit.Check(kit.Run(bin, "run", "--root", root, "--once", "--settle", "0", "--log-level", "warn", "--side-tables=false"))
	kit.Check(os.Link(feed, filepath.Join(in, "big.ndjson")))
	kit.Check(kit.Run(bin, "run", "--root", root, "--once", "--settle", "0", "--log-level", "warn", "--side-tables=false", "--stages", "prepare"))
	prepared, err := filepath.Glob(filepath.Join(root, "load", "bench", "feed", "*.parquet"))
	kit.Check(err)
	if len(prepared) != 1 {
		kit.Check(fmt.Errorf("want one prepared file, found %v", prepared))
	}
	aside := filepath.Join(dir, "prepared.parquet")
	kit.Check(os.Link(prepared[0], aside))
	st, err := os.Stat(aside)
	kit.Check(err)

	start := time.Now()
	kit.Check(kit.Run(bin, "run", "--root", root, "--once", "--settle", "0", "--log-level", "warn", "--side-tables=false", "--stages", "load"))
	load := time.Since(start)
	rw := roundTrip(aside, filepath.Join(dir, "rw.parquet"))
	fmt.Printf("%-22s %10.1f %8.2f %12.0f %9.1f %10s %12s\n", fmt.Sprintf("prepared file, %d rows", rows),
		float64(st.Size())/1e6, load.Seconds(), float64(rows)/load.Seconds(), float64(st.Size())/1e6/load.Seconds(), "", "")
	fmt.Printf("\nappending it: %.2f s; a bare arrow-go read+write of it: %.2f s; ratio %.2f (at most 0.5 wanted)\n",
		load.Seconds(), rw.Seconds(), load.Seconds()/rw.Seconds())
}

// roundTrip reads a Parquet file with arrow-go and writes it back (zstd),
// the least a loader that re-encodes must do.
func roundTrip(in, out string) time.Duration {
	start := time.Now()
	f, err := os.Open(in)
	kit.Check(err)
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	kit.Check(err)
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	kit.Check(err)
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	kit.Check(err)
	defer rr.Release()
	o, err := os.Create(out)
	kit.Check(err)
	w, err := pqarrow.NewFileWriter(rr.Schema(), o, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)),
		pqarrow.DefaultWriterProps())
	kit.Check(err)
	for rr.Next() {
		kit.Check(w.WriteBuffered(rr.RecordBatch()))
	}
	kit.Check(rr.Err())
	kit.Check(w.Close())
	return time.Since(start)
}

// head copies the first n lines of in to out.
func head(in, out string, n int) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for i := 0; i < n && sc.Scan(); i++ {
		fmt.Fprintln(o, sc.Text())
	}
	return o.Close()
}
