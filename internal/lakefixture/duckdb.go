package lakefixture

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
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
	arg := sql
	if len(sql) > 64<<10 { // past what an argument list takes: a file
		f := filepath.Join(tb.TempDir(), "query.sql")
		if err := os.WriteFile(f, []byte(sql), 0o644); err != nil {
			tb.Fatal(err)
		}
		arg = "@" + f
	}
	cmd := exec.Command(node, "query.mjs", arg)
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
	res := DuckDB(tb, "SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d FROM "+DuckTable(tb, l, name))
	n, _ := res[0]["n"].(float64)
	d, _ := res[0]["d"].(float64)
	return int(n), int(d)
}

// DuckTable returns the DuckDB table expression that reads a table's live
// data files (each of which must be inside the lake).
func DuckTable(tb testing.TB, l *lake.Lake, name string) string {
	tb.Helper()
	tbl := Table(tb, l, name)
	files, err := lake.DataFiles(context.Background(), tbl)
	if err != nil {
		tb.Fatal(err)
	}
	quoted := make([]string, 0, len(files))
	for _, f := range files {
		if !strings.HasPrefix(f, l.Store.URL("")+"/") {
			tb.Errorf("%s: data file %s is outside the lake", name, f)
		}
		quoted = append(quoted, DuckQuote(strings.TrimPrefix(f, "file://")))
	}
	return "read_parquet([" + strings.Join(quoted, ",") + "], union_by_name=true, hive_partitioning=false)"
}

// DuckQuote quotes s as a DuckDB string literal.
func DuckQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// DuckCanonicalRows runs sql and returns its rows as canonical JSON, sorted:
// object keys (column and struct field names) normalised as lagoon
// normalises column names, and the UTC offset DuckDB prints after a
// timestamptz ("+00") left out, so that a foreign file's rows and the rows
// lagoon stored from it compare cell by cell. (A legacy TIMESTAMP_MICROS
// column is UTC-adjusted by the Parquet specification, so lagoon stores a
// timestamptz; DuckDB reads it as a plain timestamp. The instants are the
// same.) Numbers compare as their text, as DuckDB prints its wider
// integers.
func DuckCanonicalRows(tb testing.TB, sql string) []string {
	tb.Helper()
	var out []string
	for _, r := range DuckDB(tb, sql) {
		out = append(out, mustJSON(tb, r))
	}
	return Canonical(tb, out...)
}

// Canonical returns rows (JSON objects, as DuckDB prints them) in the
// form DuckCanonicalRows returns, sorted.
func Canonical(tb testing.TB, rows ...string) []string {
	tb.Helper()
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		var v any
		if err := json.Unmarshal([]byte(r), &v); err != nil {
			tb.Fatalf("row %s: %v", r, err)
		}
		out = append(out, mustJSON(tb, normalizeKeys(v)))
	}
	slices.Sort(out)
	return out
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func normalizeKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[lake.NormalizeColumn(k)] = normalizeKeys(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = normalizeKeys(e)
		}
	case string:
		return strings.TrimSuffix(x, "+00")
	case float64:
		// DuckDB prints a BIGINT as a string, an INTEGER as a number: a
		// uint32 stored as a long is the same value
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return v
}
