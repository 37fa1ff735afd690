// Command latency measures drop-to-queryable on an idle local daemon:
// `lagoon run` on a fresh embedded lake (default flags: --settle 2s), a
// small file dropped atomically (written under a dot-name, renamed into
// place), and the time until its rows are in the table, read through the
// catalog as a user's query would. One NDJSON file under prepare/ (two
// stages), one Parquet file under load/ (one stage); medians of -runs.
//
//	go run ./bench/latency
//	go run ./bench/latency -runs 10 -- --settle 500ms
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lagoon-dev/lagoon/bench/internal/kit"
	"github.com/lagoon-dev/lagoon/lake"
)

func main() {
	runs := flag.Int("runs", 5, "files dropped per kind (the median counts)")
	flag.Parse()
	bin, err := kit.BuildLagoon()
	kit.Check(err)
	dir, err := os.MkdirTemp("", "lagoon-bench-latency-")
	kit.Check(err)
	defer os.RemoveAll(dir)
	kit.Check(kit.Run(bin, "init", "--root", dir))
	cmd := exec.Command(bin, append([]string{"run", "--root", dir, "--log-level", "warn"}, flag.Args()...)...)
	cmd.Stderr = os.Stderr
	kit.Check(cmd.Start())
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	time.Sleep(2 * time.Second) // the start-up sweep is over: the daemon is idle
	lk, err := lake.Open(context.Background(), lake.Config{Root: dir})
	kit.Check(err)
	defer lk.Close()
	fmt.Printf("machine: %d cores, %s/%s, %s; daemon flags %q; median of %d drops\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		time.Now().Format(time.DateOnly), strings.Join(flag.Args(), " "), *runs)
	fmt.Printf("%-34s %12s %12s\n", "file", "median", "max")
	ndjson := func(i int) (string, []byte) {
		return fmt.Sprintf("prepare/bench/events/e%03d.ndjson", i), []byte(fmt.Sprintf("{\"id\":%d,\"v\":\"a\"}\n{\"id\":%d,\"v\":\"b\"}\n", 2*i, 2*i+1))
	}
	parquet := func(i int) (string, []byte) {
		return fmt.Sprintf("load/bench/orders/o%03d.parquet", i), ints(int64(2 * i))
	}
	measure(lk, dir, *runs, "NDJSON, 2 rows (prepare → load)", "bench.events", ndjson)
	measure(lk, dir, *runs, "Parquet, 2 rows (load)", "bench.orders", parquet)
}

// measure drops runs files made by file and prints the times until each
// file's rows were in table.
func measure(lk *lake.Lake, root string, runs int, name, table string, file func(int) (string, []byte)) {
	var ds []time.Duration
	for i := range runs {
		key, body := file(i)
		start := time.Now()
		drop(root, key, body)
		waitRows(lk, table, int64(2*(i+1)))
		ds = append(ds, time.Since(start))
		time.Sleep(500 * time.Millisecond) // idle again
	}
	slices.Sort(ds)
	fmt.Printf("%-34s %12s %12s\n", name, ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
}

// drop writes body under a dot-name and renames it to key.
func drop(root, key string, body []byte) {
	path := filepath.Join(root, filepath.FromSlash(key))
	kit.Check(os.MkdirAll(filepath.Dir(path), 0o755))
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	kit.Check(os.WriteFile(tmp, body, 0o644))
	kit.Check(os.Rename(tmp, path))
}

// waitRows polls the catalog until table's current snapshot holds want
// rows (the snapshot summary's total-records).
func waitRows(lk *lake.Lake, table string, want int64) {
	ref, err := lake.ParseTableRef(table)
	kit.Check(err)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		tbl, err := lk.LoadTable(context.Background(), ref)
		if err != nil || tbl.CurrentSnapshot() == nil || tbl.CurrentSnapshot().Summary == nil {
			continue
		}
		if tbl.CurrentSnapshot().Summary.Properties["total-records"] == fmt.Sprint(want) {
			return
		}
	}
	kit.Check(fmt.Errorf("%s: %d rows did not come in 60 s", table, want))
}

// ints is a Parquet file of two int64 ids from first.
func ints(first int64) []byte {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues([]int64{first, first + 1}, nil)
	col := b.NewArray()
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, 2)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	kit.Check(err)
	kit.Check(w.Write(rec))
	kit.Check(w.Close())
	return buf.Bytes()
}
