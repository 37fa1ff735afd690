// Command load measures lagoon's load of users' Parquet files: it writes
// realistic Parquet files, copies them into a fresh lake's load/ folder,
// runs `lagoon run --once` as a separate process, and reports its time,
// rows/s, peak RSS and the size of the table's data files. Two scenarios
// by default: 1M rows in 10 files, and 1,000 small files; each is the
// median of -runs runs. Side by side, in the same run:
//
//   - DuckDB (scripts/install-test-deps) re-encoding the same files to one
//     zstd Parquet file with the load time added, the nearest thing a user
//     would run by hand: its time, the ratio (lagoon / DuckDB), its peak
//     RSS (Node's included) and its output's size;
//   - `cp -r` of the files: the physical floor of writing them again.
//
// A third scenario loads one 1M-row file that prepare wrote for an
// existing table, against a bare arrow-go read+write of it.
//
//	go run ./bench/load            # all three
//	go run ./bench/load -rows 200000 -files 4 -runs 1
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/lagoon-dev/lagoon/bench/internal/kit"
)

func main() {
	rows := flag.Int("rows", 0, "rows in all (with -files: one custom scenario)")
	files := flag.Int("files", 0, "files the rows are split into")
	runs := flag.Int("runs", 3, "runs of each tool; the median is reported")
	keep := flag.Bool("keep", false, "keep the work directory")
	registered := flag.Int("registered", 1_000_000, "rows of the prepared-file scenario (0: skip it)")
	flag.Parse()
	scenarios := [][2]int{{1_000_000, 10}, {100_000, 1000}}
	if *rows > 0 && *files > 0 {
		scenarios = [][2]int{{*rows, *files}}
	}
	bin, err := kit.BuildLagoon()
	kit.Check(err)
	fmt.Printf("machine: %d cores, %s/%s, %s; median of %d runs\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().Format(time.DateOnly), *runs)
	fmt.Printf("%-22s %7s %8s %10s %8s %6s %6s %9s %9s %9s %9s\n", "scenario", "MB", "lagoon s", "rows/s",
		"DuckDB s", "ratio", "cp s", "lagoon RSS", "DuckDB RSS", "lagoon MB", "DuckDB MB")
	for _, s := range scenarios {
		runScenario(bin, s[0], s[1], *runs, *keep)
	}
	if *registered > 0 {
		runRegistered(bin, *registered, *keep)
	}
}

func runScenario(bin string, rows, files, runs int, keep bool) {
	dir, err := os.MkdirTemp("", "lagoon-bench-")
	kit.Check(err)
	if !keep {
		defer os.RemoveAll(dir)
	}
	src := filepath.Join(dir, "src")
	size, err := writeFiles(src, rows, files)
	kit.Check(err)
	root := filepath.Join(dir, "lake")
	took, rss := kit.Median(runs, func() (time.Duration, int64) {
		kit.Check(os.RemoveAll(root))
		kit.Check(kit.Run(bin, "init", "--root", root))
		kit.Check(os.CopyFS(filepath.Join(root, "load", "bench", "invoices"), os.DirFS(src)))
		return kit.Measure(dir, bin, "run", "--root", root, "--once", "--settle", "0", "--log-level", "warn")
	})
	cp, _ := kit.Median(runs, func() (time.Duration, int64) {
		kit.Check(os.RemoveAll(filepath.Join(dir, "cp")))
		return kit.Measure(dir, "cp", "-r", src, filepath.Join(dir, "cp"))
	})
	lagoonMB := float64(treeSize(filepath.Join(root, "stg", "bench", "invoices", "data"))) / 1e6
	duck, duckRSS, duckMB, ok := duckdbCopy(src, filepath.Join(dir, "duck.parquet"), runs)
	ratio := "n/a"
	if ok {
		ratio = fmt.Sprintf("%.2f", took.Seconds()/duck.Seconds())
	}
	mb := float64(size) / 1e6
	fmt.Printf("%-22s %7.1f %8.2f %10.0f %8.2f %6s %6.2f %9.0fM %9.0fM %9.1f %9.1f\n",
		fmt.Sprintf("%d rows / %d files", rows, files), mb, took.Seconds(), float64(rows)/took.Seconds(),
		duck.Seconds(), ratio, cp.Seconds(), float64(rss)/(1<<20), float64(duckRSS)/(1<<20), lagoonMB, duckMB)
}

// duckdbCopy re-encodes the files with DuckDB (2 threads, zstd), adding a
// load-time column: the median time, its peak RSS and the output's MB.
func duckdbCopy(srcDir, out string, runs int) (time.Duration, int64, float64, bool) {
	script, ok := kit.DuckDBScript()
	if !ok {
		return 0, 0, 0, false
	}
	sql := fmt.Sprintf(`COPY (SELECT *, now() AS _etl_loaded_at FROM read_parquet('%s/*.parquet')) TO '%s' (FORMAT parquet, COMPRESSION zstd)`, srcDir, out)
	d, rss := kit.Median(runs, func() (time.Duration, int64) {
		return kit.Measure(filepath.Dir(script), "node", script, sql)
	})
	return d, rss, float64(treeSize(out)) / 1e6, true
}

// treeSize is the bytes of the files under path.
func treeSize(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
