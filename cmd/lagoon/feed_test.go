package main

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// genFeed runs ../shared/bench/gen and returns the file it wrote.
func genFeed(tb testing.TB, rows int, format string) string {
	tb.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "bench", "gen"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		tb.Skipf("the feed generator is not at %s", dir)
	}
	out := filepath.Join(tb.TempDir(), "feed."+format+".gz")
	cmd := exec.Command("go", "run", ".", "-rows", strconv.Itoa(rows), "-format", format, "-gzip", "-out", out)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("gen: %v\n%s", err, b)
	}
	return out
}

// TestIngestionFeed drops the generator's NDJSON (top-level ids and
// timestamps, a nested payload whose fields vary by record) and CSV into
// prepare/, runs the pipeline, and checks every value of every row against
// an independent parse of the source.
func TestIngestionFeed(t *testing.T) {
	const n = 5000
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	nd, cs := genFeed(t, n, "ndjson"), genFeed(t, n, "csv")
	for src, key := range map[string]string{nd: "prepare/acct/invoices/feed.ndjson.gz", cs: "prepare/acct/invoices_flat/feed.csv.gz"} {
		body, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		lakefixture.DropFile(t, filepath.Join(root, key), body)
	}
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	compareFeed(t, readNDJSON(t, nd), lakefixture.Rows(t, l, "acct.invoices"))
	compareFeed(t, readCSV(t, cs), lakefixture.Rows(t, l, "acct.invoices_flat"))
}

func compareFeed(tb testing.TB, src []map[string]any, rows []map[string]any) {
	tb.Helper()
	byID := map[string]map[string]any{}
	for _, r := range rows {
		byID[fmt.Sprint(r["entity_id"])] = r
	}
	if len(rows) != len(src) || len(byID) != len(src) {
		tb.Fatalf("table holds %d rows (%d ids), source %d", len(rows), len(byID), len(src))
	}
	bad := 0
	for _, s := range src {
		got := byID[fmt.Sprint(s["entity_id"])]
		if path, ok := sameValue(s, got, ""); !ok {
			if bad++; bad <= 5 {
				tb.Errorf("entity %v: %s differs", s["entity_id"], path)
			}
		}
	}
	if bad > 0 {
		tb.Errorf("%d of %d rows differ", bad, len(src))
	}
}

// sameValue compares a source value with the table's: numbers by value,
// dates and times by instant, objects key by key (the table may hold more
// keys, as nulls), CSV's empty fields as null.
func sameValue(src, got any, path string) (string, bool) {
	switch s := src.(type) {
	case nil:
		return path, got == nil || got == ""
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, false
		}
		for k, v := range s {
			if p, ok := sameValue(v, g[k], path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(s) {
			return path, false
		}
		for i := range s {
			if p, ok := sameValue(s[i], g[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	case json.Number:
		f, _ := s.Float64()
		return path, got == f
	case string:
		return path, sameText(s, got)
	}
	return path, src == got
}

func sameText(s string, got any) bool {
	switch g := got.(type) {
	case string:
		if g == s {
			return true
		}
		a, errA := parseAnyTime(s)
		b, errB := parseAnyTime(g)
		return errA == nil && errB == nil && a.Equal(b)
	case float64:
		f, err := strconv.ParseFloat(s, 64)
		return err == nil && f == g
	case bool:
		return strconv.FormatBool(g) == s
	case nil:
		return s == ""
	}
	return false
}

func parseAnyTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, time.DateOnly, "2006-01-02T15:04:05.999999"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

func gunzip(tb testing.TB, path string) io.Reader {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	return zr
}

func readNDJSON(tb testing.TB, path string) []map[string]any {
	tb.Helper()
	dec := json.NewDecoder(gunzip(tb, path))
	dec.UseNumber()
	var out []map[string]any
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return out
		} else if err != nil {
			tb.Fatal(err)
		}
		out = append(out, m)
	}
}

func readCSV(tb testing.TB, path string) []map[string]any {
	tb.Helper()
	recs, err := csv.NewReader(gunzip(tb, path)).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out []map[string]any
	for _, r := range recs[1:] {
		m := map[string]any{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}
