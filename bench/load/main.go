// Command load measures lagoon's load throughput: it writes realistic
// Parquet files into a fresh lake's load/ folder, runs `lagoon run --once`
// as a separate process, and reports rows/s, MB/s and the process's peak
// RSS. Two scenarios by default: 1M rows in 10 files, and 1,000 small
// files. With DuckDB installed (scripts/install-test-deps) it also times
// DuckDB re-encoding the same files to one zstd Parquet file with the load
// time added, the nearest thing a user would run by hand, and prints the
// ratio. A third scenario loads one 1M-row file that prepare wrote for an
// existing table, against a bare arrow-go read+write of it.
//
//	go run ./bench/load            # both scenarios
//	go run ./bench/load -rows 200000 -files 4
package main

import (
	"flag"
	"fmt"
	"github.com/lagoon-dev/lagoon/bench/internal/kit"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

func main() {
	rows := flag.Int("rows", 0, "rows in all (with -files: one custom scenario)")
	files := flag.Int("files", 0, "files the rows are split into")
	keep := flag.Bool("keep", false, "keep the work directory")
	registered := flag.Int("registered", 1_000_000, "rows of the prepared-file scenario (0: skip it)")
	flag.Parse()
	scenarios := [][2]int{{1_000_000, 10}, {100_000, 1000}}
	if *rows > 0 && *files > 0 {
		scenarios = [][2]int{{*rows, *files}}
	}
	bin, err := kit.BuildLagoon()
	kit.Check(err)
	fmt.Printf("machine: %d cores, %s/%s, %s\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().Format(time.DateOnly))
	fmt.Printf("%-22s %10s %8s %12s %9s %10s %12s\n", "scenario", "MB", "seconds", "rows/s", "MB/s", "peak RSS", "duckdb ratio")
	for _, s := range scenarios {
		runScenario(bin, s[0], s[1], *keep)
	}
	if *registered > 0 {
		runRegistered(bin, *registered, *keep)
	}
}

func runScenario(bin string, rows, files int, keep bool) {
	dir, err := os.MkdirTemp("", "lagoon-bench-")
	kit.Check(err)
	if !keep {
		defer os.RemoveAll(dir)
	}
	root := filepath.Join(dir, "lake")
	kit.Check(kit.Run(bin, "init", "--root", root))
	src := filepath.Join(root, "load", "bench", "invoices")
	bytes, err := writeFiles(src, rows, files)
	kit.Check(err)
	copyDir := filepath.Join(dir, "copy")
	kit.Check(os.CopyFS(copyDir, os.DirFS(src)))

	start := time.Now()
	cmd := exec.Command(bin, "run", "--root", root, "--once", "--settle", "0", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	kit.Check(cmd.Run())
	took := time.Since(start)
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
	mb := float64(bytes) / 1e6
	ratio := "n/a"
	if d, ok := duckdbCopy(copyDir, filepath.Join(dir, "duck.parquet")); ok {
		ratio = fmt.Sprintf("%.2f", took.Seconds()/d.Seconds())
	}
	fmt.Printf("%-22s %10.1f %8.2f %12.0f %9.1f %9.0fM %12s\n",
		fmt.Sprintf("%d rows / %d files", rows, files), mb, took.Seconds(),
		float64(rows)/took.Seconds(), mb/took.Seconds(), float64(rss)/(1<<20), ratio)
}

// duckdbCopy re-encodes the files with DuckDB (2 threads, zstd), adding a
// load-time column, and returns how long it took.
func duckdbCopy(srcDir, out string) (time.Duration, bool) {
	script, ok := kit.DuckDBScript()
	if !ok {
		return 0, false
	}
	sql := fmt.Sprintf(`COPY (SELECT *, now() AS _etl_loaded_at FROM read_parquet('%s/*.parquet')) TO '%s' (FORMAT parquet, COMPRESSION zstd)`, srcDir, out)
	start := time.Now()
	cmd := exec.Command("node", script, sql)
	cmd.Dir = filepath.Dir(script)
	if b, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "duckdb: %v %s\n", err, b)
		return 0, false
	}
	return time.Since(start), true
}
