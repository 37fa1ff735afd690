package lakefixture

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/lake"
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

// DuckIDs counts, with DuckDB over a table's live data files (each of
// which must be inside the lake), its rows and distinct values of id: the
// independent reader's word that every row is there once.
func DuckIDs(tb testing.TB, l *lake.Lake, name string) (rows, ids int) {
	tb.Helper()
	ref, err := lake.ParseTableRef(name)
	if err != nil {
		tb.Fatal(err)
	}
	tbl, err := l.LoadTable(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	files, err := lake.DataFiles(context.Background(), tbl)
	if err != nil {
		tb.Fatal(err)
	}
	quoted := make([]string, 0, len(files))
	for _, f := range files {
		if !strings.HasPrefix(f, l.Store.URL("")+"/") {
			tb.Errorf("%s: data file %s is outside the lake", name, f)
		}
		quoted = append(quoted, "'"+strings.TrimPrefix(f, "file://")+"'")
	}
	res := DuckDB(tb, "SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d FROM read_parquet(["+strings.Join(quoted, ",")+"], union_by_name=true)")
	n, _ := res[0]["n"].(float64)
	d, _ := res[0]["d"].(float64)
	return int(n), int(d)
}
