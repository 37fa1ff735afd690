package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestInferenceDriftFollowsTheTable: a later batch whose values alone
// would infer other types is converted to the table's types; a value that
// cannot be converted is a bad record, and run --once says so (exit 3).
func TestInferenceDriftFollowsTheTable(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/sales/1.csv"), []byte("amount,code,day\n12.50,123,2026-11-01\n"))
	if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitOK {
		t.Fatalf("first run: %d %s %s", code, out, errOut)
	}
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/sales/2.csv"), []byte("amount,code,day\n7,124,2026-11-02\n8,abc,\n"))
	code, out, _ := lagoon(t, "run", "--root", root, "--once", "--settle", "0")
	if code != exitRejected || !strings.Contains(out, "1 bad records") {
		t.Fatalf("second run: exit %d, %q; want 3 and one bad record", code, out)
	}
	var got []string
	for _, r := range lakefixture.Rows(t, l, "shop.sales") {
		got = append(got, text(r["amount"])+" "+text(r["code"])+" "+text(r["day"]))
	}
	want := "12.5 123 2026-11-01|7 124 2026-11-02"
	if strings.Join(got, "|") != want {
		t.Errorf("rows = %q, want %q", strings.Join(got, "|"), want)
	}
}

func text(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

func TestConvertCommand(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "b.csv")
	os.WriteFile(a, []byte("{\"id\":1,\"tags\":[\"x\"]}\n{\"id\":\n"), 0o644)
	os.WriteFile(b, []byte("id,note\n2,hello\n"), 0o644)
	out := filepath.Join(dir, "out", "all.parquet")
	code, stdout, errOut := lagoon(t, "convert", a, b, "--out", out, "--lineage")
	if code != exitRejected || !strings.HasPrefix(stdout, "converted 2 rows from 2 files into 1 Parquet file") {
		t.Fatalf("exit %d: %q %s", code, stdout, errOut)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out + ".rejects.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	var bad map[string]any
	if err := json.Unmarshal(sc.Bytes(), &bad); err != nil || bad["file"] != a || bad["line"] != float64(2) {
		t.Errorf("rejects line %q: %v", sc.Text(), err)
	}
	if code, _, _ := lagoon(t, "convert", b, "--out", filepath.Join(dir, "b.parquet")); code != exitOK {
		t.Errorf("clean convert exit %d", code)
	}
	if code, _, _ := lagoon(t, "convert", "--out", filepath.Join(dir, "x.parquet")); code != exitUsage {
		t.Errorf("convert without inputs exit %d", code)
	}
}

// TestConvertORC: lagoon convert takes an ORC file alone, says how many
// timestamps it cut to microseconds, and refuses a corrupt one (exit 3)
// or one with other inputs (exit 1).
func TestConvertORC(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("..", "..", "testdata", "orc", "TestOrcFile.testTimestamp.orc")
	code, stdout, errOut := lagoon(t, "convert", in, "--out", filepath.Join(dir, "t.parquet"), "--json")
	var sum map[string]any
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || code != exitOK {
		t.Fatalf("exit %d: %q %s", code, stdout, errOut)
	}
	if sum["rows"] != float64(12) || sum["timestamps_truncated"] != float64(9) {
		t.Errorf("summary %v, want 12 rows and 9 timestamps cut", sum)
	}
	bad := filepath.Join("..", "..", "testdata", "orc", "corrupt", "negative_dict_entry_lengths.orc")
	code, stdout, _ = lagoon(t, "convert", bad, "--out", filepath.Join(dir, "b.parquet"))
	if code != exitRejected || !strings.Contains(stdout, "corrupt ORC file") {
		t.Errorf("corrupt: exit %d: %q", code, stdout)
	}
	csv := filepath.Join(dir, "a.csv")
	os.WriteFile(csv, []byte("id\n1\n"), 0o644)
	if code, _, errOut := lagoon(t, "convert", in, csv, "--out", filepath.Join(dir, "m.parquet")); code != exitError || !strings.Contains(errOut, "one at a time") {
		t.Errorf("ORC with another input: exit %d: %s", code, errOut)
	}
}

// TestNewColumnsWaitForEarlierOutputs: a batch that brings a column the
// table lacks waits while an earlier output of the table (which may bring
// the same column, of another type) waits for the loader; converted after,
// to the table as that output left it, a value that does not fit is a bad
// record and the user's own file — not lagoon's intermediate Parquet —
// ends in log/rejected/. (The intermediate was refused at load time, the
// user's file long gone.)
func TestNewColumnsWaitForEarlierOutputs(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	run := func(want int, args ...string) { t.Helper(); runOnce(t, root, want, args...) }
	lakefixture.DropFile(t, filepath.Join(root, "prepare/db/c/first.json"), []byte(`{"id":0}`+"\n"))
	run(exitOK)
	lakefixture.DropFile(t, filepath.Join(root, "prepare/db/c/a.json"), []byte(`{"id":1,"c":{"x":1}}`+"\n"))
	run(exitOK, "--stages", "prepare") // a's output waits under load/, with c a struct
	lakefixture.DropFile(t, filepath.Join(root, "prepare/db/c/b.json"), []byte(`{"id":2,"c":"scalar"}`+"\n"))
	run(exitRejected) // b waits, a's output loads, then b converts to the table as it is now
	if !lakefixture.Exists(l, "log/rejected/prepare/db/c/b.json") {
		t.Errorf("b.json is not in log/rejected/")
	}
	var got []string
	for _, r := range lakefixture.Rows(t, l, "db.c") {
		got = append(got, fmt.Sprintf("%v %v", r["id"], r["c"]))
	}
	if want := "1 map[x:1]|0 <nil>"; strings.Join(got, "|") != want { // sorted by their JSON text
		t.Errorf("rows = %q, want %q", strings.Join(got, "|"), want)
	}
	if left, _ := filepath.Glob(filepath.Join(root, "log/rejected/load/db/c/*.parquet")); len(left) != 0 {
		t.Errorf("lagoon's own output was rejected: %v", left)
	}
}
