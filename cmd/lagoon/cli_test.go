package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

func TestInitIsIdempotent(t *testing.T) {
	root := t.TempDir()
	if code, _, errOut := lagoon(t, "init", "--root", root); code != exitOK {
		t.Fatalf("init: %d %s", code, errOut)
	}
	for _, p := range lake.Prefixes {
		if st, err := os.Stat(filepath.Join(root, p)); err != nil || !st.IsDir() {
			t.Errorf("prefix %s missing: %v", p, err)
		}
	}
	before := snapshotTree(t, root)
	if code, _, _ := lagoon(t, "init", "--root", root); code != exitOK {
		t.Fatalf("second init: %d", code)
	}
	if after := snapshotTree(t, root); after != before {
		t.Errorf("second init changed the lake:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshotTree lists every path with its size, the catalog's content
// included (its WAL is checkpointed on close).
func snapshotTree(tb testing.TB, root string) string {
	tb.Helper()
	var b strings.Builder
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			b.WriteString(strings.TrimPrefix(p, root))
			if !info.IsDir() {
				b.WriteString("=" + strconv.FormatInt(info.Size(), 10))
			}
			b.WriteString(" ")
		}
		return nil
	})
	return b.String()
}

func TestRunOnceExitCodesAndSummary(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	lakefixture.Drop(t, l, "load/db/t/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 1500)))
	code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0")
	if code != exitOK {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.HasPrefix(out, "loaded 1 file (1,500 rows,") || !strings.Contains(out, "into 1 table") {
		t.Errorf("summary = %q", out)
	}
	lakefixture.Drop(t, l, "load/db/t/b.parquet", []byte("junk"))
	lakefixture.Drop(t, l, "load/db/t/c.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(1500, 10)))
	code, out, _ = lagoon(t, "run", "--once", "--settle", "0", "--root", root, "--json")
	if code != exitRejected {
		t.Fatalf("exit %d, want %d: %s", code, exitRejected, out)
	}
	var sum struct {
		Files    int   `json:"files"`
		Rows     int64 `json:"rows"`
		Rejected []struct {
			Key, Reason string
		} `json:"rejected"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if sum.Files != 1 || sum.Rows != 10 || len(sum.Rejected) != 1 || sum.Rejected[0].Key != "load/db/t/b.parquet" {
		t.Errorf("summary = %+v", sum)
	}
}

func TestReadCommands(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	lakefixture.Drop(t, l, "load/shop/orders/a.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 25)))
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	t.Setenv("LAGOON_ROOT", root) // stands in for --root below

	code, out, _ := lagoon(t, "tables", "--json")
	var tables []tableInfo
	if code != exitOK || json.Unmarshal([]byte(out), &tables) != nil || len(tables) != 1 ||
		tables[0].Table != "shop.orders" || tables[0].Records != 25 || tables[0].DataFiles != 1 {
		t.Fatalf("tables --json: %d %s", code, out)
	}
	if code, out, _ = lagoon(t, "tables"); code != exitOK || !strings.Contains(out, "shop.orders") || !strings.Contains(out, "25") {
		t.Errorf("tables: %s", out)
	}

	code, out, _ = lagoon(t, "show", "shop.orders", "--json") // flag after the argument
	var info showInfo
	if code != exitOK || json.Unmarshal([]byte(out), &info) != nil {
		t.Fatalf("show --json: %d %s", code, out)
	}
	// id, name, the lineage of Parquet dropped into load/, then the load time
	if len(info.Schema) != 4 || info.Schema[2].Name != "_etl_source_key" || info.Schema[3].Name != "_etl_loaded_at" || info.Partitioning[0].Transform != "day" ||
		len(info.SnapshotList) != 1 || info.SnapshotList[0].AddedRecords != 25 || info.FormatVersion != 2 {
		t.Errorf("show = %+v", info)
	}
	if code, out, _ = lagoon(t, "show", "shop.orders"); code != exitOK || !strings.Contains(out, "day(_etl_loaded_at)") {
		t.Errorf("show: %s", out)
	}

	code, out, _ = lagoon(t, "head", "-n", "3", "shop.orders", "--json")
	var rows []map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 3 || rows[0]["name"] == nil {
		t.Fatalf("head --json: %d %s", code, out)
	}
	if code, out, _ = lagoon(t, "head", "shop.orders", "-n", "2"); code != exitOK || strings.Count(out, "\n") != 3 {
		t.Errorf("head: %q", out)
	}
	if code, _, errOut := lagoon(t, "head", "shop.nope"); code != exitError || !strings.Contains(errOut, "shop.nope") {
		t.Errorf("head of a missing table: %d %s", code, errOut)
	}
}

func TestHelpAndUsage(t *testing.T) {
	for _, c := range commands() {
		code, out, _ := lagoon(t, c.name, "--help")
		if code != exitOK || !strings.Contains(out, "Usage: lagoon "+c.name) || !strings.Contains(out, "-root") {
			t.Errorf("%s --help: %d %q", c.name, code, out)
		}
	}
	if code, out, _ := lagoon(t); code != exitOK || !strings.Contains(out, "Commands:") {
		t.Errorf("no args: %d %q", code, out)
	}
	if code, _, _ := lagoon(t, "frobnicate"); code != exitUsage {
		t.Errorf("unknown command exit %d", code)
	}
	t.Setenv("LAGOON_ROOT", "")
	if code, _, errOut := lagoon(t, "tables"); code != exitUsage || !strings.Contains(errOut, "--root") {
		t.Errorf("missing root: %d %s", code, errOut)
	}
	if code, _, _ := lagoon(t, "show", "--root", t.TempDir()); code != exitUsage {
		t.Errorf("show without a table: exit %d", code)
	}
}
