package lakefixture

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// DuckDB runs sql with DuckDB (npm @duckdb/node-api, installed by
// scripts/install-test-deps) and returns the rows. The test is skipped,
// saying why, when node or the package is missing.
func DuckDB(tb testing.TB, sql string) []map[string]any {
	tb.Helper()
	_, here, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(here), "..", "..", "testdata", "duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		tb.Skip("DuckDB (npm @duckdb/node-api) is not installed: run scripts/install-test-deps")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Skip("node is not installed")
	}
	cmd := exec.Command(node, "query.mjs", sql)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		tb.Fatalf("duckdb %q: %v\n%s", sql, err, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		tb.Fatalf("duckdb output %q: %v", out, err)
	}
	return rows
}
