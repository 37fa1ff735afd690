package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestPreparedFilesAreRegistered: prepare writes files that fit their
// table (its field ids, its _etl_loaded_at) — the first file of a new
// table too, with the ids the table takes when created from it — and the
// loader adds them as they are: the table's data files are the prepared
// files, not re-encodings. Path columns (day=…) keep their column across
// batches (they once came back as day_2).
func TestPreparedFilesAreRegistered(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	ctx := context.Background()
	for i, body := range []string{`{"id":1,"tags":["a"],"who":{"n":"x"}}`, `{"id":2,"tags":["b","c"],"who":{"n":"y"}}`} {
		key := fmt.Sprintf("prepare/shop/visits/day=2026-11-2%d/v%d.json", i, i)
		lakefixture.DropFile(t, filepath.Join(root, key), []byte(body+"\n"))
		if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitOK {
			t.Fatalf("run %d: %d %s %s", i, code, out, errOut)
		}
	}
	var got []string
	for _, r := range lakefixture.Rows(t, l, "shop.visits") {
		got = append(got, fmt.Sprintf("%v %v %v %v", r["id"], r["day"], r["tags"], r["who"]))
	}
	if want := "1 2026-11-20 [a] map[n:x]|2 2026-11-21 [b c] map[n:y]"; strings.Join(got, "|") != want {
		t.Errorf("rows = %q, want %q", strings.Join(got, "|"), want)
	}
	tbl, err := l.LoadTable(ctx, lake.TableRef{DB: "shop", Table: "visits"})
	if err != nil {
		t.Fatal(err)
	}
	if cols := fmt.Sprint(tbl.Schema().Fields()); strings.Contains(cols, "day_2") {
		t.Errorf("schema grew a second day column: %s", cols)
	}
	files, err := lake.DataFiles(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	registered := 0
	for _, f := range files {
		// Registered files keep the prepared output's name after the batch id.
		if strings.HasSuffix(path.Base(f), "-00000.parquet") && strings.Count(path.Base(f), "-") > 10 {
			registered++
		}
	}
	if len(files) != 2 || registered != 2 {
		t.Fatalf("data files %v: want both batches registered as prepared", files)
	}
	// An independent reader finds the table's field ids in both files.
	idField, _ := tbl.Schema().FindFieldByName("id")
	for _, f := range files {
		rows := lakefixture.DuckDB(t, fmt.Sprintf(`SELECT field_id FROM parquet_schema('%s') WHERE name = 'id'`,
			strings.TrimPrefix(f, "file://")))
		if fmt.Sprint(rows) != fmt.Sprintf("[map[field_id:%d]]", idField.ID) {
			t.Errorf("%s: id's field id = %v, want %d", f, rows, idField.ID)
		}
	}
	lakefixture.AssertNoOrphans(t, l, lake.TableRef{DB: "shop", Table: "visits"})
}

// A prepared file whose table changed schema before it loaded (or that
// shares a batch with other files) is re-encoded instead: its own
// _etl_loaded_at is dropped, its rows land once.
func TestPreparedFileFallsBackWhenTheTableChanged(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	run := func(args ...string) { t.Helper(); runOnce(t, root, exitOK, args...) }
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/visits/a.json"), []byte(`{"id":1}`+"\n"))
	run()
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/visits/b.json"), []byte(`{"id":2}`+"\n"))
	run("--stages", "prepare") // written for the table as it is now
	lakefixture.DropFile(t, filepath.Join(root, "load/shop/visits/zz.parquet"), lakefixture.Parquet(t,
		lakefixture.Schema("id", arrow.PrimitiveTypes.Int64, "extra", arrow.BinaryTypes.String), `[{"id":3,"extra":"e"}]`))
	run("--stages", "load")
	var got []string
	for _, r := range lakefixture.Rows(t, l, "shop.visits") {
		got = append(got, fmt.Sprintf("%v %v", r["id"], r["extra"]))
	}
	slices.Sort(got)
	if want := "1 <nil>|2 <nil>|3 e"; strings.Join(got, "|") != want {
		t.Errorf("rows = %q, want %q", strings.Join(got, "|"), want)
	}
}

// A file prepared for a table not yet created (a fresh mark) whose table
// was then created from another file, of other columns, is re-encoded:
// its rows land once, in the table's columns.
func TestFreshFileFallsBackWhenAnotherFileCreatedTheTable(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	run := func(args ...string) { t.Helper(); runOnce(t, root, exitOK, args...) }
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/visits/a.json"), []byte(`{"id":1,"n":"x"}`+"\n"))
	run("--stages", "prepare")
	aside := t.TempDir()
	outs, _ := filepath.Glob(filepath.Join(root, "load/shop/visits/*.parquet"))
	if len(outs) != 1 {
		t.Fatalf("outputs %v", outs)
	}
	moveFile(t, outs[0], filepath.Join(aside, "a.parquet"))
	lakefixture.DropFile(t, filepath.Join(root, "load/shop/visits/zz.parquet"), lakefixture.Parquet(t,
		lakefixture.Schema("extra", arrow.BinaryTypes.String, "id", arrow.PrimitiveTypes.Int64), `[{"id":3,"extra":"e"}]`))
	run("--stages", "load")
	moveFile(t, filepath.Join(aside, "a.parquet"), outs[0])
	run("--stages", "load")
	var got []string
	for _, r := range lakefixture.Rows(t, l, "shop.visits") {
		got = append(got, fmt.Sprintf("%v %v %v", r["id"], r["n"], r["extra"]))
	}
	slices.Sort(got)
	if want := "1 x <nil>|3 <nil> e"; strings.Join(got, "|") != want {
		t.Errorf("rows = %q, want %q", strings.Join(got, "|"), want)
	}
	lakefixture.AssertNoOrphans(t, l, lake.TableRef{DB: "shop", Table: "visits"})
}

func moveFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// TestSourcePreparedTwiceLoadsOnce: the same version of a source prepared
// twice by two batches (a prepare worker paused while its claim was taken
// over, both then publishing) loads once: the loader's fence finds that
// every source of the second output reached the table through the first,
// and skips it as a duplicate. (Content dedupe is off, to reach the
// fence.)
func TestSourcePreparedTwiceLoadsOnce(t *testing.T) {
	for _, between := range []bool{false, true} {
		name := map[bool]string{false: "both outputs in one load batch", true: "the first loaded before the second"}[between]
		t.Run(name, func(t *testing.T) { preparedTwice(t, between) })
	}
}

func preparedTwice(t *testing.T, loadBetween bool) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	run := func(args ...string) string { // content dedupe off, to reach the fence
		t.Helper()
		return runOnce(t, root, exitOK, append([]string{"--dedupe-window", "0"}, args...)...)
	}
	src := filepath.Join(root, "prepare/shop/visits/a.json")
	body := []byte(`{"id":1}` + "\n" + `{"id":2}` + "\n")
	lakefixture.DropFile(t, src, body)
	info, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	run("--stages", "prepare")
	if loadBetween {
		run("--stages", "load")
	}
	// The same version again (same size and mtime): a second batch of it.
	if err := os.WriteFile(src, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	run("--stages", "prepare")
	if outs, _ := filepath.Glob(filepath.Join(root, "load/shop/visits/*.parquet")); len(outs) != map[bool]int{false: 2, true: 1}[loadBetween] {
		t.Fatalf("outputs %v", outs)
	}
	if out := run("--stages", "load"); !strings.Contains(out, "skipped 1 duplicate") {
		t.Errorf("summary: %s", out)
	}
	if n := len(lakefixture.Rows(t, l, "shop.visits")); n != 2 {
		t.Errorf("rows = %d, want 2 (each once)", n)
	}
	if outs, _ := filepath.Glob(filepath.Join(root, "load/shop/visits/*.parquet")); len(outs) != 0 {
		t.Errorf("left in load/: %v", outs)
	}
}
