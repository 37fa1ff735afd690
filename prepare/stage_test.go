package prepare_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/prepare"
)

func newStage(l *lake.Lake, tweak ...func(*prepare.StageConfig)) *prepare.Stage {
	cfg := prepare.DefaultStageConfig()
	cfg.Settle = 0
	for _, f := range tweak {
		f(&cfg)
	}
	return prepare.NewStage(l.Store, l.Catalog, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// prepareAll scans prepare/ and processes every table once.
func prepareAll(tb testing.TB, s *prepare.Stage) lake.Result {
	tb.Helper()
	ctx := context.Background()
	plan, err := s.Scan(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	total := lake.Result{Rejected: plan.Rejected}
	for ref, dirs := range plan.Tables {
		r, err := s.Process(ctx, ref, dirs)
		if err != nil {
			tb.Fatalf("prepare %s: %v", ref, err)
		}
		total.Add(r)
	}
	return total
}

// files lists the keys under prefix, sorted, leaving out dot-files.
func files(tb testing.TB, l *lake.Lake, prefix string) []string {
	tb.Helper()
	var out []string
	for info, err := range l.Store.List(context.Background(), prefix) {
		if err != nil {
			tb.Fatal(err)
		}
		if !strings.HasPrefix(path.Base(info.Key), ".") {
			out = append(out, info.Key)
		}
	}
	sort.Strings(out)
	return out
}

// loadRows reads every Parquet file under load/<db>/<table>/.
func loadRows(tb testing.TB, l *lake.Lake, ref string) []map[string]any {
	tb.Helper()
	var rows []map[string]any
	for _, k := range files(tb, l, "load/"+strings.ReplaceAll(ref, ".", "/")+"/") {
		_, r := readParquet(tb, filepath.Join(lakefixture.Root(l), k))
		rows = append(rows, r...)
	}
	return rows
}

func TestStagePreparesIntoLoad(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "prepare/Shop/Orders/day=2026-11-22/a.ndjson", []byte("{\"id\":1}\n{\"id\":\n{\"id\":2}\n"))
	lakefixture.Drop(t, l, "prepare/Shop/Orders/b.csv", []byte("id,note\n3,x\n"))
	res := prepareAll(t, newStage(l))
	if res.Files != 2 || res.Rows != 3 || res.BadRecords != 1 || res.Commits != 1 || len(res.Rejected) != 0 {
		t.Fatalf("result = %+v, want 2 files, 3 rows, 1 bad record, 1 output", res)
	}
	if left := files(t, l, "prepare/"); len(left) != 0 {
		t.Errorf("left in prepare/: %v", left)
	}
	outs := files(t, l, "load/shop/orders/")
	if len(outs) != 1 || !strings.HasSuffix(outs[0], "-00000.parquet") {
		t.Fatalf("load/ holds %v", outs)
	}
	rows := loadRows(t, l, "shop.orders")
	var got []string
	for _, r := range rows {
		got = append(got, text(r["id"])+"|"+text(r["note"])+"|"+text(r["day"])+"|"+text(r[prepare.LineageColumn]))
	}
	sort.Strings(got)
	want := []string{
		"1|<null>|2026-11-22|prepare/Shop/Orders/day=2026-11-22/a.ndjson",
		"2|<null>|2026-11-22|prepare/Shop/Orders/day=2026-11-22/a.ndjson",
		"3|x|<null>|prepare/Shop/Orders/b.csv",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rejects := files(t, l, "log/rejects/shop/orders/")
	if len(rejects) != 1 {
		t.Fatalf("rejects files: %v", rejects)
	}
	body, _ := os.ReadFile(filepath.Join(lakefixture.Root(l), rejects[0]))
	var bad prepare.BadRecord
	if err := json.Unmarshal(body, &bad); err != nil {
		t.Fatalf("rejects file %q: %v", body, err)
	}
	if bad.Key != "prepare/Shop/Orders/day=2026-11-22/a.ndjson" || bad.Line != 2 || bad.Raw != `{"id":` || bad.Reason == "" {
		t.Errorf("bad record = %+v", bad)
	}
	if left := files(t, l, "tmp/lagoon/prepare/"); len(left) != 0 {
		t.Errorf("intents left: %v", left)
	}
}

func TestLineageCanBeTurnedOff(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "prepare/db/t/a.json", []byte(`[{"id":1}]`))
	prepareAll(t, newStage(l, func(c *prepare.StageConfig) { c.Lineage = false }))
	rows := loadRows(t, l, "db.t")
	if len(rows) != 1 {
		t.Fatalf("rows = %v, want one", rows)
	}
	delete(rows[0], lake.LoadedAtColumn) // outputs for registering carry it
	if len(rows[0]) != 1 {
		t.Errorf("rows = %v, want only id", rows)
	}
}

// TestWholeFileRejections: files with no good record, unsupported formats
// and broken compression are moved to log/rejected/ with their reason;
// the other files of the table still prepare.
func TestWholeFileRejections(t *testing.T) {
	cases := []struct{ name, key, body, reason string }{
		{"all records bad", "prepare/db/t/bad.ndjson", "nope\n{\n", "no good record: 2 bad records"},
		{"header only", "prepare/db/t/h.csv", "a,b\n", "no records"},
		{"empty", "prepare/db/t/e.json", "", "empty file"},
		{"unknown extension", "prepare/db/t/x.xml", "<a/>", "unknown extension .xml"},
		{"ORC", "prepare/db/t/x.orc", "ORC", "ORC"},
		{"broken gzip", "prepare/db/t/x.json.gz", "not gzip", "gzip"},
		{"binary junk", "prepare/db/t/junk.gz", "\x1f\x8b\x08\x00junk", "gzip"},
		{"not parquet", "prepare/db/t/x.parquet", "PAR1 nope", "not a readable Parquet file"},
		{"no table folder", "prepare/db/x.csv", "a\n1\n", "files go under prepare/<db>/<table>/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := lakefixture.Open(t)
			lakefixture.Drop(t, l, tc.key, []byte(tc.body))
			lakefixture.Drop(t, l, "prepare/db/t/good.csv", []byte("a\n1\n"))
			res := prepareAll(t, newStage(l))
			if res.Files != 1 || len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, tc.reason) {
				t.Fatalf("result = %+v, want one rejection with %q", res, tc.reason)
			}
			if r := res.Rejected[0].Reason; strings.Contains(r, "gzip: gzip") {
				t.Errorf("reason %q says it twice", r)
			}
			if !lakefixture.Exists(l, lake.RejectedPrefix+tc.key) || !lakefixture.Exists(l, lake.RejectedPrefix+tc.key+lake.ReasonSuffix) {
				t.Errorf("%s not moved under log/rejected/ with its reason", tc.key)
			}
			if len(loadRows(t, l, "db.t")) != 1 {
				t.Errorf("the good file did not prepare")
			}
		})
	}
}

func TestParquetPassesThrough(t *testing.T) {
	l := lakefixture.Open(t)
	body := lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5))
	lakefixture.Drop(t, l, "prepare/db/t/x=1/a.parquet", body)
	res := prepareAll(t, newStage(l))
	if res.Files != 1 || !lakefixture.Exists(l, "load/db/t/x=1/a.parquet") || lakefixture.Exists(l, "prepare/db/t/x=1/a.parquet") {
		t.Fatalf("result = %+v; load/ holds %v", res, files(t, l, "load/"))
	}
}

func TestSmallFilesBatchTogether(t *testing.T) {
	l := lakefixture.Open(t)
	for i := range 50 {
		lakefixture.Drop(t, l, "prepare/db/t/f"+itoa(i)+".ndjson", []byte(`{"i":`+itoa(i)+`}`))
	}
	s := newStage(l, func(c *prepare.StageConfig) { c.BatchFiles = 20 })
	// A new table: the first batch alone; the rest wait until the loader
	// has made the table from it (so they convert to its types).
	res := prepareAll(t, s)
	if res.Files != 20 || res.Commits != 1 || res.Waiting != 30 || len(files(t, l, "load/db/t/")) != 1 {
		t.Fatalf("result = %+v, load/ = %v; want 20 files in 1 output, 30 waiting", res, files(t, l, "load/db/t/"))
	}
	if res := prepareAll(t, s); res.Files != 0 || res.Waiting != 30 {
		t.Fatalf("while the first output waits for the loader: %+v", res)
	}
	lakefixture.CreateTable(t, l, "db.t", arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil))
	for _, k := range files(t, l, "load/db/t/") {
		if err := l.Store.Delete(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	res = prepareAll(t, s)
	if res.Files != 30 || res.Commits != 2 || len(files(t, l, "load/db/t/")) != 2 {
		t.Fatalf("result = %+v, load/ = %v; want 30 files in 2 outputs", res, files(t, l, "load/db/t/"))
	}
}

func TestLargeFileRollsIntoSeveralOutputs(t *testing.T) {
	l := lakefixture.Open(t)
	var b strings.Builder
	for i := range 60_000 {
		b.WriteString(`{"i":` + itoa(i) + `,"s":"` + fmt.Sprintf("%x", sha256.Sum256([]byte(itoa(i)))) + `"}` + "\n")
	}
	lakefixture.Drop(t, l, "prepare/db/t/big.ndjson", []byte(b.String()))
	res := prepareAll(t, newStage(l, func(c *prepare.StageConfig) {
		c.Options.FileBytes = 200 << 10
		c.Options.RowGroupRows = 10_000
	}))
	outs := files(t, l, "load/db/t/")
	if res.Rows != 60_000 || len(outs) < 2 {
		t.Fatalf("result = %+v, outputs %v", res, outs)
	}
	if n := len(loadRows(t, l, "db.t")); n != 60_000 {
		t.Errorf("outputs hold %d rows", n)
	}
}

// TestFileAppendedDuringConversionIsTakenAgain: a file that grows while it
// is converted is not consumed: the output is dropped, the file waits,
// and the next pass converts it whole — each row once. (A 3M-line file
// once ended as 6M rows: the first pass published, then the whole file
// again.)
func TestFileAppendedDuringConversionIsTakenAgain(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.CreateTable(t, l, "db.grow", arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil))
	key := "prepare/db/grow/feed.ndjson"
	lakefixture.Drop(t, l, key, []byte(strings.Repeat("{\"id\":1}\n", 100)))
	lakefixture.Drop(t, l, "prepare/db/grow/other.ndjson", []byte("{\"id\":2}\n"))
	var appended atomic.Bool
	prepare.OnRecord(t, func(k string) {
		if k == key && appended.CompareAndSwap(false, true) {
			f, err := os.OpenFile(filepath.Join(lakefixture.Root(l), key), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Error(err)
				return
			}
			fmt.Fprint(f, strings.Repeat("{\"id\":3}\n", 50))
			f.Close()
		}
	})
	s := newStage(l)
	first := prepareAll(t, s)
	if first.Files != 1 || first.Waiting != 1 {
		t.Fatalf("first pass: %+v; want the other file prepared and the growing one waiting", first)
	}
	if second := prepareAll(t, s); second.Files != 1 || second.Rows != 150 {
		t.Fatalf("second pass: %+v; want the whole file, 150 rows", second)
	}
	if n := len(loadRows(t, l, "db.grow")); n != 151 {
		t.Errorf("%d rows prepared, want 151", n)
	}
}

// TestRecordFieldsNeverTakeLagoonsColumns: a record field named like a
// column lagoon fills itself (_etl_loaded_at, the lineage column, a path
// column) is kept under name_2, like any second field of one name — the
// loader once refused the whole output, after the user's file was gone.
func TestRecordFieldsNeverTakeLagoonsColumns(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "prepare/db/r/day=2026-01-01/a.ndjson",
		[]byte(`{"id":1,"_etl_loaded_at":"2020-01-01","_etl_source_key":"mine","day":"d"}`+"\n"))
	if res := prepareAll(t, newStage(l)); res.Files != 1 || len(res.Rejected) != 0 {
		t.Fatalf("result = %+v", res)
	}
	rows := loadRows(t, l, "db.r")
	if len(rows) != 1 {
		t.Fatalf("rows = %v", rows)
	}
	r := rows[0]
	got := fmt.Sprint(r["_etl_loaded_at_2"], " ", r["_etl_source_key_2"], " ", r["day_2"], " ", r["day"], " ", r[prepare.LineageColumn])
	if want := "2020-01-01 mine d 2026-01-01 prepare/db/r/day=2026-01-01/a.ndjson"; got != want {
		t.Errorf("row = %v; want %s", r, want)
	}
}
