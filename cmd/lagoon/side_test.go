package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/logs"
	"github.com/lagoon-dev/lagoon/stats"
	"github.com/lagoon-dev/lagoon/trail"
)

// badInputs are the bad-input cases of the earlier issues, by key, each
// of which the log table must record.
var badInputs = map[string][]byte{
	"prepare/shop/events/malformed.json": []byte(`{"a":1,,}` + "\n" + `{"a":` + "\n"),
	"prepare/shop/events/ragged.csv":     []byte("id,name\n1,a\n2,b,extra\n3,c\n"),
	"prepare/shop/events/empty.json":     {},
	"prepare/shop/events/notes.xyz":      []byte("what is this"),
	"prepare/shop/events/junk.csv.gz":    {0x1f, 0x8b, 0x08, 0, 0xde, 0xad, 0xbe, 0xef},
	"prepare/straight.json":              []byte(`{"a":1}`),
	"load/shop/orders/bad.parquet":       []byte("PAR1 not really"),
	"load/shop/orders/empty.parquet":     {},
	"load/shop/orders/orders.csv":        []byte("id\n1\n"),
	"load/straight.parquet":              []byte("x"),
	"load/1shop/orders/x.parquet":        []byte("x"),
	"prepare/shop/events/huge.ndjson":    []byte(`{"id":7,"name":"ok"}` + "\n" + `{"id":8,"name":"` + strings.Repeat("x", 4096) + "\"}\n"),
}

func jsonOut[T any](tb testing.TB, args ...string) T {
	tb.Helper()
	code, out, errOut := lagoon(tb, args...)
	var v T
	if code != exitOK {
		tb.Fatalf("lagoon %v: exit %d %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		tb.Fatalf("lagoon %v: %v in %q", args, err, out)
	}
	return v
}

func TestSideTablesRecordBadInputStatsAndTrail(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	for k, body := range badInputs {
		lakefixture.Drop(t, l, k, body)
	}
	lakefixture.Drop(t, l, "load/shop/orders/o.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 12)))
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0", "--max-record-bytes", "1024"); code != exitRejected {
		t.Fatalf("run: exit %d %s %s", code, out, errOut)
	}
	entries := jsonOut[[]logs.Entry](t, "log", "--root", root, "--json")
	byKey := map[string]logs.Entry{}
	for _, e := range entries {
		byKey[e.Key] = e
	}
	for k := range badInputs {
		if e, ok := byKey[k]; !ok || e.Level != "warn" {
			t.Errorf("log table has no warning for %s (%+v)", k, e)
		}
	}
	if rf, _ := byKey["prepare/shop/events/ragged.csv"].Detail["rejects_file"].(string); !strings.HasPrefix(rf, "log/rejects/shop/events/") {
		t.Errorf("ragged.csv entry names no rejects file: %+v", byKey["prepare/shop/events/ragged.csv"])
	}
	if errs := jsonOut[[]logs.Entry](t, "log", "--root", root, "--json", "--level", "error"); len(errs) != 0 {
		t.Errorf("errors logged: %+v", errs)
	}
	if code, out, _ := lagoon(t, "log", "--root", root, "--table", "shop.orders"); code != exitOK || !strings.Contains(out, "bad.parquet") ||
		strings.Contains(out, "ragged") {
		t.Errorf("log --table shop.orders: exit %d\n%s", code, out)
	}

	st := jsonOut[[]stats.TableStats](t, "stats", "--root", root, "--json")
	got := map[string]stats.TableStats{}
	for _, s := range st {
		got[s.Table] = s
	}
	for name, want := range map[string]int{"shop.orders": 12, "shop.events": 3} {
		s := got[name]
		if s.RecordCount != int64(want) || int(s.RecordCount) != len(lakefixture.Rows(t, l, name)) || s.DataFiles != 1 ||
			s.CommittedAt.IsZero() || len(s.Columns) == 0 {
			t.Errorf("stats of %s = %+v; want %d records in 1 file", name, s, want)
		}
	}
	if code, out, _ := lagoon(t, "stats", "--root", root, "shop.orders"); code != exitOK || !strings.Contains(out, "shop.orders") ||
		!strings.Contains(out, "COLUMN") {
		t.Errorf("stats shop.orders: exit %d\n%s", code, out)
	}

	records := jsonOut[[]json.RawMessage](t, "trail", "list", "--root", root, "--json")
	independentReader(t, l, len(records), len(entries))
}

// independentReader has DuckDB read the side tables' data files (those of
// each current snapshot) and checks it sees what lagoon reports.
func independentReader(tb testing.TB, l *lake.Lake, records, entries int) {
	tb.Helper()
	files := func(d lake.SideTable) string {
		tbl, err := l.LoadTable(context.Background(), d.Ref())
		if err != nil {
			tb.Fatal(err)
		}
		fs, err := lake.DataFiles(context.Background(), tbl)
		if err != nil {
			tb.Fatal(err)
		}
		q := make([]string, len(fs))
		for i, f := range fs {
			q[i] = "'" + strings.TrimPrefix(f, "file://") + "'"
		}
		return "[" + strings.Join(q, ",") + "]"
	}
	tr := lakefixture.DuckDB(tb, fmt.Sprintf(`SELECT count(*) AS n, count(DISTINCT seq) AS seqs, max(seq) AS last,
		count(*) FILTER (WHERE kind = 'loaded') AS loaded FROM read_parquet(%s)`, files(trail.TableDef)))
	if want := fmt.Sprintf("map[last:%d loaded:2 n:%d seqs:%d]", records-1, records, records); fmt.Sprint(tr[0]) != want {
		tb.Errorf("DuckDB reads the trail table as %v, want %s", tr[0], want)
	}
	lg := lakefixture.DuckDB(tb, fmt.Sprintf(`SELECT count(*) AS n, count(*) FILTER (WHERE key = 'load/shop/orders/bad.parquet') AS bad
		FROM read_parquet(%s)`, files(logs.TableDef)))
	if want := fmt.Sprintf("map[bad:1 n:%d]", entries); fmt.Sprint(lg[0]) != want {
		tb.Errorf("DuckDB reads the log table as %v, want %s", lg[0], want)
	}
	ss := lakefixture.DuckDB(tb, fmt.Sprintf(`SELECT record_count FROM read_parquet(%s) WHERE "table" = 'shop.orders'`,
		files(stats.TablesDef)))
	if fmt.Sprint(ss) != "[map[record_count:12]]" {
		tb.Errorf("DuckDB reads shop.orders's stats as %v", ss)
	}
}

// The daemon brings warnings into the log table within a bounded delay,
// and syncs once more when it stops.
func TestDaemonSyncsSideTables(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	var stderr syncBuffer
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--settle", "100ms", "--side-every", "1s")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "lagoon running") })
	lakefixture.DropFile(t, filepath.Join(root, "load/web/hits/bad.parquet"), []byte("junk"))
	waitFor(t, 20*time.Second, func() bool {
		es, err := logs.Query(context.Background(), l, logs.Filter{})
		return err == nil && len(es) == 1 && es[0].Key == "load/web/hits/bad.parquet"
	})
	lakefixture.DropFile(t, filepath.Join(root, "load/web/hits/good.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	waitFor(t, 10*time.Second, func() bool { return !lakefixture.Exists(l, "load/web/hits/good.parquet") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("daemon exit: %v\n%s", err, stderr.String())
	}
	// The last sync at shutdown has the load in the statistics.
	all, err := stats.Latest(context.Background(), l, "web.hits")
	if err != nil || len(all) != 1 || all[0].RecordCount != 3 {
		t.Fatalf("stats after shutdown: %+v, %v\n%s", all, err, stderr.String())
	}
}

// A side table that cannot be written never fails or blocks loading: the
// rows land, run --once exits 0, and the failure is logged (and stays in
// the log's inbox until the table can take it).
func TestSideTableFailureDoesNotFailLoading(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	// A file where the statistics table's folder must go: its metadata
	// cannot be written.
	lakefixture.DropFile(t, filepath.Join(root, "stats", "tables"), []byte("in the way"))
	lakefixture.Drop(t, l, "load/shop/orders/o.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0")
	if code != exitOK || !strings.Contains(out, "loaded 1 file (5 rows") {
		t.Fatalf("run: exit %d %s %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "side table sync failed") {
		t.Errorf("the failure was not logged:\n%s", errOut)
	}
	if n := len(lakefixture.Rows(t, l, "shop.orders")); n != 5 {
		t.Errorf("rows = %d, want 5", n)
	}
	es := jsonOut[[]logs.Entry](t, "log", "--root", root, "--json")
	if !slices.ContainsFunc(es, func(e logs.Entry) bool { return e.Stage == "side" && e.Level == "error" }) {
		t.Errorf("the log table has no entry for the failed sync: %+v", es)
	}
}

// Tables that users' pipelines write under prd/ are in the statistics when
// asked: by the daemon (--stats-prd) or by lagoon stats --sync --prd.
func TestPrdStatisticsFromTheCLI(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	lakefixture.PrdTable(t, l, "sales", "daily", 7)
	lakefixture.Drop(t, l, "load/shop/orders/o.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	zones := func(args ...string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, s := range jsonOut[[]stats.TableStats](t, append([]string{"stats", "--root", root, "--json"}, args...)...) {
			out[s.Table] = fmt.Sprintf("%s %d", s.Zone, s.RecordCount)
		}
		return out
	}
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	if got := zones(); got["sales.daily"] != "" || got["shop.orders"] != "stg 3" {
		t.Errorf("without --stats-prd: %v", got)
	}
	if got := zones("--sync", "--prd"); got["sales.daily"] != "prd 7" {
		t.Errorf("stats --sync --prd: %v", got)
	}
	lakefixture.PrdTable(t, l, "sales", "weekly", 2)
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0", "--stats-prd"); code != exitOK {
		t.Fatalf("run --stats-prd: %d %s %s", code, out, errOut)
	}
	if got := zones(); got["sales.weekly"] != "prd 2" {
		t.Errorf("run --stats-prd: %v", got)
	}
}
