// Package kit holds what the benchmark programs share: building lagoon,
// running it, failing loudly, and DuckDB (npm @duckdb/node-api, installed
// by scripts/install-test-deps) as the tool a user would otherwise use.
package kit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// BuildLagoon builds cmd/lagoon into a temporary folder and returns the
// binary's path. Benchmarks run from the module root.
func BuildLagoon() (string, error) {
	dir, err := os.MkdirTemp("", "lagoon-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "lagoon")
	return bin, Run("go", "build", "-o", bin, "./cmd/lagoon")
}

// Run runs a command, its stderr passed through.
func Run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// Check ends the program on an error.
func Check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// DuckDBScript is the path of testdata/duckdb/query.mjs (node query.mjs
// SQL, or @file with the SQL in it), false when DuckDB is not installed.
func DuckDBScript() (string, bool) {
	script, err := filepath.Abs(filepath.Join("testdata", "duckdb", "query.mjs"))
	if err != nil {
		return "", false
	}
	_, err = os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "@duckdb", "node-api"))
	return script, err == nil
}

// Median runs f n times and returns the median time and that run's peak
// RSS.
func Median(n int, f func() (time.Duration, int64)) (time.Duration, int64) {
	type r struct {
		d   time.Duration
		rss int64
	}
	var rs []r
	for range n {
		d, rss := f()
		rs = append(rs, r{d, rss})
	}
	slices.SortFunc(rs, func(a, b r) int { return int(a.d - b.d) })
	return rs[len(rs)/2].d, rs[len(rs)/2].rss
}

// Measure runs a command in dir and returns its wall time and peak RSS
// (bytes); a failure ends the program.
func Measure(dir, name string, args ...string) (time.Duration, int64) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	start := time.Now()
	Check(cmd.Run())
	return time.Since(start), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
}
