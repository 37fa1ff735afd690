// Package kit holds what the benchmark programs share: building lagoon,
// running it, failing loudly, and DuckDB (npm @duckdb/node-api, installed
// by scripts/install-test-deps) as the tool a user would otherwise use.
package kit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
