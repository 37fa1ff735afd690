// Command convert measures `lagoon convert` against DuckDB on the feed of
// ../shared/bench/gen, side by side in one run: for each input it runs
// both (same thread count, zstd Parquet), takes the median of -runs, and
// prints the time ratio (lagoon / DuckDB; below 1.0 lagoon is faster) and
// both processes' peak RSS. It also times the daemon's prepare stage on
// the same file (`lagoon run --once --stages prepare` on a fresh local
// lake, trail on), the path daemon work takes. Side tables are left out:
// the daemon syncs them off the hot path, every --side-every.
//
//	scripts/install-test-deps   # DuckDB from npm
//	go run ./bench/convert -rows 1000000
//	go run ./bench/convert -rows 1000000 -first-file 2   # memory of a new table's first file
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/lagoon-dev/lagoon/bench/internal/kit"
)

type job struct {
	name, format string
	gzip         bool
	duckRead     string // DuckDB table function
}

var jobs = []job{
	{"NDJSON", "ndjson", false, "read_json_auto"},
	{"NDJSON.gz", "ndjson", true, "read_json_auto"},
	{"CSV", "csv", false, "read_csv_auto"},
	{"CSV.gz", "csv", true, "read_csv_auto"},
}

func main() {
	rows := flag.Int("rows", 1_000_000, "rows per input file")
	runs := flag.Int("runs", 3, "runs of each tool per input (the median counts)")
	only := flag.String("only", "", "run only this input (NDJSON, NDJSON.gz, CSV, CSV.gz)")
	baseline := flag.String("baseline", "", "another lagoon binary (an older build) whose convert is timed side by side")
	work := flag.String("work", filepath.Join(os.TempDir(), "lagoon-bench-convert"), "where inputs are generated (kept for reuse)")
	firstFile := flag.Int("first-file", 0, "instead: peak RSS of `lagoon run --once` on one NDJSON file of this many copies of the feed, into a new table and into an existing one")
	flag.Parse()
	check(os.MkdirAll(*work, 0o755))
	bin := filepath.Join(*work, "lagoon")
	check(run("", "go", "build", "-o", bin, "./cmd/lagoon"))
	duck, err := filepath.Abs("testdata/duckdb/query.mjs")
	check(err)
	if *firstFile > 0 {
		firstFileMemory(bin, *work, generate(*work, jobs[0], *rows), *firstFile)
		return
	}
	fmt.Printf("machine: %d cores, %s/%s, %s; %d rows per input, median of %d runs\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().Format(time.DateOnly), *rows, *runs)
	fmt.Printf("%-10s %9s %10s %10s %7s %12s %12s %10s %7s\n", "input", "MB", "lagoon s", "duckdb s", "ratio", "lagoon RSS", "duckdb RSS",
		"daemon s", "ratio")
	for _, j := range jobs {
		if *only != "" && j.name != *only {
			continue
		}
		in := generate(*work, j, *rows)
		lt, lr := kit.Median(*runs, func() (time.Duration, int64) {
			return kit.Measure("", bin, "convert", in, "--out", filepath.Join(*work, "lagoon.parquet"))
		})
		sql := fmt.Sprintf("COPY (SELECT * FROM %s('%s')) TO '%s' (FORMAT parquet, COMPRESSION zstd)", j.duckRead, in, filepath.Join(*work, "duck.parquet"))
		dt, dr := kit.Median(*runs, func() (time.Duration, int64) { return kit.Measure(filepath.Dir(duck), "node", duck, sql) })
		pt, _ := kit.Median(*runs, func() (time.Duration, int64) { return daemonPrepare(bin, *work, in) })
		st, _ := os.Stat(in)
		fmt.Printf("%-10s %9.1f %10.2f %10.2f %7.2f %11.0fM %11.0fM %10.2f %7.2f\n", j.name, float64(st.Size())/1e6,
			lt.Seconds(), dt.Seconds(), lt.Seconds()/dt.Seconds(), float64(lr)/(1<<20), float64(dr)/(1<<20),
			pt.Seconds(), pt.Seconds()/dt.Seconds())
		if *baseline != "" {
			convertWith := func(b string) time.Duration {
				d, _ := kit.Measure("", b, "convert", in, "--out", filepath.Join(*work, "pair.parquet"))
				return d
			}
			r := pairedRatio(*runs, func() time.Duration { return convertWith(bin) }, func() time.Duration { return convertWith(*baseline) })
			fmt.Printf("%-10s this build / baseline %.3f (convert, median of %d interleaved pairs)\n", j.name, r, *runs)
		}
	}
}

// daemonPrepare times the daemon's prepare stage on in: a fresh lake with
// the file (hard-linked, already settled) under prepare/.
func daemonPrepare(bin, work, in string) (time.Duration, int64) {
	root := filepath.Join(work, "lake")
	check(os.RemoveAll(root))
	check(run("", bin, "init", "--root", root))
	dir := filepath.Join(root, "prepare", "bench", "feed")
	check(os.MkdirAll(dir, 0o755))
	check(os.Link(in, filepath.Join(dir, filepath.Base(in))))
	return kit.Measure("", bin, "run", "--root", root, "--once", "--stages", "prepare", "--settle", "0", "--log-level", "warn",
		"--side-tables=false")
}

// firstFileMemory prints the peak RSS of a whole run (prepare and load)
// on one NDJSON file of copies × feed: into a new table (created from the
// file), and into the table as that run left it. Issue 10 asks the first
// to stay within 2× of the second.
func firstFileMemory(bin, work, feed string, copies int) {
	big := filepath.Join(work, fmt.Sprintf("first-file-%dx.ndjson", copies))
	if _, err := os.Stat(big); err != nil {
		check(concat(big, feed, copies))
	}
	root := filepath.Join(work, "first-file-lake")
	check(os.RemoveAll(root))
	check(run("", bin, "init", "--root", root))
	dir := filepath.Join(root, "prepare", "bench", "feed")
	once := func(name string) (time.Duration, int64) {
		check(os.MkdirAll(dir, 0o755))
		check(os.Link(big, filepath.Join(dir, name)))
		return kit.Measure("", bin, "run", "--root", root, "--once", "--settle", "0", "--log-level", "warn", "--side-tables=false")
	}
	st, _ := os.Stat(big)
	fmt.Printf("machine: %d cores, %s/%s, %s; one NDJSON file of %.2f GB, `lagoon run --once` (prepare and load)\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().Format(time.DateOnly), float64(st.Size())/1e9)
	nt, nr := once("a.ndjson")
	et, er := once("b.ndjson")
	fmt.Printf("%-16s %8s %10s\n", "table", "s", "peak RSS")
	fmt.Printf("%-16s %8.2f %9.0fM\n", "new", nt.Seconds(), float64(nr)/(1<<20))
	fmt.Printf("%-16s %8.2f %9.0fM\n", "existing", et.Seconds(), float64(er)/(1<<20))
	fmt.Printf("new / existing RSS %.2f (bound: 2)\n", float64(nr)/float64(er))
}

// concat writes n copies of src to dst.
func concat(dst, src string, n int) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	for range n {
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	return out.Close()
}

func generate(work string, j job, rows int) string {
	name := fmt.Sprintf("feed-%d.%s", rows, j.format)
	args := []string{"run", ".", "-rows", strconv.Itoa(rows), "-format", j.format}
	if j.gzip {
		name += ".gz"
		args = append(args, "-gzip")
	}
	out := filepath.Join(work, name)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	gen, err := filepath.Abs(filepath.Join("..", "shared", "bench", "gen"))
	check(err)
	check(run(gen, "go", append(args, "-out", out)...))
	return out
}

// pairedRatio times a then b, n times in alternation (so that the
// machine's drift hits both alike), and returns the median of a/b.
func pairedRatio(n int, a, b func() time.Duration) float64 {
	var rs []float64
	for range n {
		rs = append(rs, a().Seconds()/b().Seconds())
	}
	slices.Sort(rs)
	return rs[len(rs)/2]
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w", name, args, err)
	}
	return nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
