package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") { // one object a line
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("head --json line %q: %v", line, err)
		}
		rows = append(rows, row)
	}
	if code != exitOK || len(rows) != 3 || rows[0]["name"] == nil {
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
		if code != exitOK || !strings.Contains(out, "Usage: lagoon "+c.name) || strings.Contains(out, "-root") == c.noRoot {
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

// TestCLIWithoutSurprises: what a new user tried and was surprised by.
// Flags a command would ignore are errors; commands that only read a lake
// create none where there is none; output keeps its promises.
func TestCLIWithoutSurprises(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{{"tables"}, {"show", "db.t"}, {"head", "db.t"}, {"stats"}, {"log"}, {"trail", "list"}, {"trail", "verify"}} {
		code, out, errOut := lagoon(t, append(args, "--root", missing)...)
		if code != exitUsage || !strings.Contains(errOut, "no lake") || out != "" {
			t.Errorf("%v on a missing lake: exit %d %q %q", args, code, out, errOut)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("%v made %s", args, missing)
		}
	}
	usage := [][]string{
		{"convert", "--root", "x", "a.csv", "--out", "b.parquet"},
		{"convert", "--catalog", "sqlite", "a.csv", "--out", "b.parquet"},
		{"tables", "--root", missing, "--log-level", "debug"},
		{"run", "--root", missing, "--once", "--log-level", "loud"},
		{"run", "--root", missing, "--once", "--events", "fs"},
		{"run", "--root", missing, "--once", "--rescan", "1s"},
	}
	for _, args := range usage {
		if code, _, errOut := lagoon(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, want %d with a reason: %q", args, code, exitUsage, errOut)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatalf("a refused command made %s", missing)
	}
	if code, out, _ := lagoon(t, "--version"); code != exitOK || !strings.HasPrefix(out, "lagoon ") {
		t.Errorf("--version: %d %q", code, out)
	}
	if _, out, _ := lagoon(t, "--help"); !strings.Contains(out, "prepare/<db>/<table>/") || !strings.Contains(out, "Exit status") {
		t.Errorf("the help says nothing of prepare/ or exit codes: %s", out)
	}
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "load/db/t/a.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	runOnce(t, root, exitOK)
	if code, _, errOut := lagoon(t, "log", "--root", root, "--since", "3 weeks"); code == exitOK || !strings.Contains(errOut, "24h, 7d") {
		t.Errorf("log --since 3 weeks: %d %s", code, errOut)
	}
	if code, _, errOut := lagoon(t, "log", "--root", root, "--since", "7d"); code != exitOK {
		t.Errorf("log --since 7d: %d %s", code, errOut)
	}
	code, out, _ := lagoon(t, "trail", "list", "--root", root, "--json")
	var recs []map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &recs) != nil || len(recs) < 2 {
		t.Fatalf("trail list --json: %d %s", code, out)
	}
	for i, r := range recs {
		h, _ := r["hash"].(string)
		p, _ := r["prev_hash"].(string)
		if len(h) != 64 || len(p) != 64 || i > 0 && p != recs[i-1]["hash"] {
			t.Errorf("record %d: hash %q prev_hash %q (want whole SHA-256s, chained)", i, h, p)
		}
	}
}

// TestTableFitsTheTerminal: on a terminal of 40 columns a table of long
// values is cut to fit, with "…"; control characters from the data are
// escaped, never printed.
func TestTableFitsTheTerminal(t *testing.T) {
	var b strings.Builder
	printTableWidth(&b, []string{"TABLE", "REASON"}, [][]string{{"db.t", strings.Repeat("x", 100) + "\x1b[31m\tred\nline"}}, 40)
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > 40 {
			t.Errorf("line of %d runes: %q", n, line)
		}
		if strings.ContainsAny(line, "\x1b\t\r") {
			t.Errorf("a control character printed: %q", line)
		}
	}
	if !strings.Contains(b.String(), "…") || strings.Count(b.String(), "\n") != 2 {
		t.Errorf("table = %q", b.String())
	}
}

// TestProgressText: the progress line of long work says how far it is,
// the rate and the time left; off a terminal nothing is drawn.
func TestProgressText(t *testing.T) {
	got := progressText(50<<20, 200<<20, 1_500_000, 5*time.Second)
	for _, want := range []string{"50.0 MiB of 200.0 MiB (25%)", "1,500,000 rows", "10.0 MiB/s", "15s left"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress %q lacks %q", got, want)
		}
	}
	if got := progressRate(10, 40, 3000, 2*time.Second); !strings.Contains(got, "1,500 rows/s") || !strings.Contains(got, "6s left") {
		t.Errorf("progress %q", got)
	}
	var b strings.Builder
	stop := startProgress(&b, func(time.Duration) string { return "drawn" })
	time.Sleep(2 * progressEvery)
	stop()
	if b.Len() != 0 {
		t.Errorf("progress drawn off a terminal: %q", b.String())
	}
}
