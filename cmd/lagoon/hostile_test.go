package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/zstd"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// hostile is one generated input and what must become of it.
type hostile struct {
	key  string
	body []byte
	// want >= 0: exactly this many rows of the file land, each id once
	// (the variant cannot forge rows: clean, truncated); -1: any number,
	// at most the rows of the file it came from.
	want int
	max  int
}

const hostileRows = 40

// feedRecords is a clean feed of n records: ids r0…, a few types.
func feedRecords(n int) (ndjson, csv, jsonArr []byte) {
	var nd, cs, ja bytes.Buffer
	cs.WriteString("id,n,amount,name,at\n")
	ja.WriteString("[\n")
	for i := range n {
		fmt.Fprintf(&nd, `{"id":"r%d","n":%d,"amount":%d.25,"name":"name %d","at":"2026-11-%02dT10:00:00Z"}`+"\n", i, i, i, i, i%28+1)
		fmt.Fprintf(&cs, "r%d,%d,%d.25,name %d,2026-11-%02dT10:00:00Z\n", i, i, i, i, i%28+1)
		sep := ","
		if i == n-1 {
			sep = ""
		}
		fmt.Fprintf(&ja, `  {"id":"r%d","n":%d}%s`+"\n", i, i, sep)
	}
	ja.WriteString("]\n")
	return nd.Bytes(), cs.Bytes(), ja.Bytes()
}

// hostileInputs generates several hundred hostile variants of real feed
// files, of every format the daemon reads.
func hostileInputs(tb testing.TB) []hostile {
	rng := rand.New(rand.NewPCG(10, 10))
	nd, cs, ja := feedRecords(hostileRows)
	var out []hostile
	add := func(table, ext string, body []byte, want int) {
		out = append(out, hostile{key: fmt.Sprintf("prepare/hostile/%s/v%04d%s", table, len(out), ext), body: body, want: want, max: max(want, hostileRows)})
	}
	for _, f := range []struct {
		table, ext string
		body       []byte
		lines      bool // one record a line (after a header for CSV)
		header     int
	}{{"ndjson", ".ndjson", nd, true, 0}, {"csv", ".csv", cs, true, 1}, {"json", ".json", ja, false, 0}} {
		add(f.table, f.ext, f.body, hostileRows) // clean
		for range 30 {                           // truncated at a random offset
			cut := f.body[:rng.IntN(len(f.body))]
			want := -1
			if f.lines && f.table == "ndjson" {
				want = bytes.Count(cut, []byte("\n"))
				if bytes.HasSuffix(cut, []byte("}")) {
					want++
				}
			}
			add(f.table, f.ext, cut, want)
		}
		for range 30 {
			add(f.table, f.ext, flipBits(rng, f.body, 1+rng.IntN(4)), -1)
		}
		add(f.table, f.ext, insertAt(rng, f.body, "\x00\x00"), -1)
		add(f.table, f.ext, insertAt(rng, f.body, "caf\xe9"), -1)
		add(f.table, f.ext, append([]byte("\xEF\xBB\xBF"), f.body...), hostileRows)
		add(f.table, f.ext, append([]byte("\xEF\xBB"), f.body...), -1)
		add(f.table, f.ext, utf16LE(f.body), -1)
		add(f.table, f.ext, bytes.Replace(f.body, []byte("3.25"), []byte("1e400"), 1), -1)
		add(f.table, f.ext, bytes.Replace(f.body, []byte("3.25"), []byte("18446744073709551616"), 1), -1)
		add(f.table, f.ext, bytes.ReplaceAll(f.body, []byte("\n"), []byte("\r")), -1)
		add(f.table, f.ext, bytes.ReplaceAll(f.body, []byte(","), []byte(";")), -1)
		add(f.table, f.ext, []byte("   \n\t\n"), map[bool]int{true: -1, false: 0}[f.table == "csv"]) // CSV: a header and a row of blanks
		add(f.table, f.ext+".gz", gz(f.body), hostileRows)
		add(f.table, f.ext+".gz", gz(f.body)[:len(gz(f.body))/2], -1)
		add(f.table, f.ext+".gz", append(gz(f.body[:len(f.body)/2]), gz(f.body[len(f.body)/2:])...), -1)
		add(f.table, f.ext+".zst", zst(tb, f.body), hostileRows)
		add(f.table, f.ext+".zst", zst(tb, f.body)[:len(zst(tb, f.body))*2/3], -1)
		add(f.table, f.ext+".gz", lakefixture.Junk(rng.Uint32()|1, 3000), 0)
		add(f.table, f.ext, lakefixture.Junk(rng.Uint32()|1, 3000), 0)
	}
	deep := `{"id":"deep","n":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "}\n"
	add("ndjson", ".ndjson", append([]byte(deep), nd...), hostileRows)
	long := `{"id":"long","name":"` + strings.Repeat("x", 50<<20) + `"}` + "\n"
	add("ndjson", ".ndjson", append([]byte(long), nd...), hostileRows+1) // a 50 MB record is still a record
	pq := lakefixture.ParquetBytes(tb, lakefixture.Ints(0, 50))
	for i := range 20 {
		body := pq[:rng.IntN(len(pq))]
		if i%2 == 1 {
			body = flipBits(rng, pq, 1+rng.IntN(8))
		}
		out = append(out, hostile{key: fmt.Sprintf("load/hostile/pq/p%04d.parquet", i), body: body, want: -1, max: 50})
	}
	footers, _ := filepath.Glob("../../testdata/hostile-footers/*.parquet")
	for _, p := range footers { // footers that once took the process down from inside arrow-go
		body, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, hostile{key: "load/hostile/pq/" + filepath.Base(p), body: body, want: 0})
	}
	return out
}

// TestHostileInputThroughTheDaemon drops several hundred hostile variants
// of real feed files into one lake while the daemon runs: it stays up,
// every file ends loaded or rejected with a reason within a bound, and
// the good rows land exactly once.
func TestHostileInputThroughTheDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	inputs := hostileInputs(t)
	var stderr syncBuffer
	// Some variants are byte for byte the same (two truncations past the
	// end, say): dedupe is off so that each is loaded as its own file.
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--settle", "300ms", "--rescan", "2s", "--side-every", "1h", "--dedupe-window", "0")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "lagoon running") })
	for _, in := range inputs {
		lakefixture.DropFile(t, filepath.Join(root, filepath.FromSlash(in.key)), in.body)
	}
	waitFor(t, 4*time.Minute, func() bool { return zoneEmpty(l, "prepare/") && zoneEmpty(l, "load/") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("the daemon is gone: %v\n%s", err, stderr.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("daemon: %v\n%s", err, lastLines(stderr.String(), 40))
	}
	rows := rowsBySource(t, l)
	if os.Getenv("HOSTILE_DEBUG") != "" {
		for k, v := range rows {
			t.Logf("rows %s: %d", k, len(v))
		}
		t.Logf("%s", lastLines(stderr.String(), 30))
	}
	for _, in := range inputs {
		got := rows[in.key]
		rejected := lakefixture.Exists(l, lake.RejectedPrefix+in.key+lake.ReasonSuffix)
		switch {
		case !rejected && len(got) == 0 && in.want != 0 && strings.HasPrefix(in.key, "prepare/"):
			t.Errorf("%s: neither loaded nor rejected", in.key)
		case !rejected && in.want == 0 && strings.HasPrefix(in.key, "load/"):
			t.Errorf("%s: not rejected", in.key)
		case in.want >= 0 && len(got) != in.want:
			t.Errorf("%s: %d rows, want %d", in.key, len(got), in.want)
		case len(got) > in.max:
			t.Errorf("%s: %d rows, more than the file held", in.key, len(got))
		}
		if in.want >= 0 {
			for id, n := range got {
				if n != 1 {
					t.Errorf("%s: id %s landed %d times", in.key, id, n)
				}
			}
		}
	}
	if strings.Contains(stderr.String(), "panic") && !strings.Contains(stderr.String(), "internal error") {
		t.Errorf("a panic reached stderr:\n%s", lastLines(stderr.String(), 40))
	}
}

func zoneEmpty(l *lake.Lake, zone string) bool {
	for info, err := range l.Store.List(context.Background(), zone) {
		if err != nil || !lake.Ignored(info.Key) {
			return false
		}
	}
	return true
}

// rowsBySource counts, per source file (the lineage column) and id, the
// rows of every hostile table; Parquet rows count under their file too.
func rowsBySource(tb testing.TB, l *lake.Lake) map[string]map[string]int {
	tb.Helper()
	out := map[string]map[string]int{}
	for _, name := range []string{"ndjson", "csv", "json"} {
		tbl, err := l.LoadTable(context.Background(), lake.TableRef{DB: "hostile", Table: name})
		if lake.IsNoSuchTable(err) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		data, err := lake.ReadTable(context.Background(), tbl, -1)
		if err != nil {
			tb.Fatal(err)
		}
		tr := array.NewTableReader(data, 4096)
		src, id := data.Schema().FieldIndices("_etl_source_key")[0], data.Schema().FieldIndices("id")
		for tr.Next() {
			rec := tr.RecordBatch()
			for i := range int(rec.NumRows()) {
				k := rec.Column(src).ValueStr(i)
				if out[k] == nil {
					out[k] = map[string]int{}
				}
				rid := fmt.Sprint(i)
				if len(id) > 0 {
					rid = rec.Column(id[0]).ValueStr(i)
				}
				out[k][rid]++
			}
		}
		tr.Release()
		data.Release()
	}
	return out
}

func flipBits(rng *rand.Rand, b []byte, n int) []byte {
	out := bytes.Clone(b)
	for range n {
		i := rng.IntN(len(out))
		out[i] ^= 1 << rng.IntN(8)
	}
	return out
}

func insertAt(rng *rand.Rand, b []byte, s string) []byte {
	i := rng.IntN(len(b))
	return append(append(bytes.Clone(b[:i]), s...), b[i:]...)
}

func utf16LE(b []byte) []byte {
	out := []byte{0xFF, 0xFE}
	for _, r := range string(b) {
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(tb testing.TB, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestRunOnceSettlesPoisonFiles: run --once with files that can never be
// read — a symbolic link to nothing, a named pipe — among good files of
// two tables: the good rows land, the link is tried again on its own and
// rejected at the third failure with its last error, the pipe is rejected
// without blocking anything, and the run ends with exit status 3.
func TestRunOnceSettlesPoisonFiles(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/orders/a.csv"), []byte("id\n1\n2\n"))
	lakefixture.DropFile(t, filepath.Join(root, "prepare/shop/visits/v.ndjson"), []byte("{\"id\":1}\n"))
	if err := os.Symlink(filepath.Join(root, "nowhere.csv"), filepath.Join(root, "prepare/shop/orders/link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "prepare/shop/visits/pipe.ndjson"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0", "--json")
	if code != exitRejected {
		t.Fatalf("exit %d\n%s\n%s", code, out, lastLines(errOut, 30))
	}
	if took := time.Since(start); took > time.Minute {
		t.Errorf("run --once took %s", took)
	}
	if n := len(lakefixture.Rows(t, l, "shop.orders")); n != 2 {
		t.Errorf("orders rows = %d, want 2", n)
	}
	if n := len(lakefixture.Rows(t, l, "shop.visits")); n != 1 {
		t.Errorf("visits rows = %d, want 1", n)
	}
	reason := readReason(t, l, "prepare/shop/orders/link.csv")
	if !strings.Contains(reason, "failed 3 times") || !strings.Contains(reason, "symbolic link to nothing") {
		t.Errorf("link rejected for %q", reason)
	}
	if reason := readReason(t, l, "prepare/shop/visits/pipe.ndjson"); reason == "" {
		t.Error("pipe not rejected")
	}
	if n := strings.Count(errOut, "file failed; will retry it on its own"); n != 2 {
		t.Errorf("%d retries logged, want 2 (the third failure rejects)", n)
	}
}

func readReason(tb testing.TB, l *lake.Lake, key string) string {
	tb.Helper()
	var r lake.Reason
	if err := lake.GetJSON(context.Background(), l.Store, lake.RejectedPrefix+key+lake.ReasonSuffix, &r); err != nil {
		tb.Errorf("%s: %v", key, err)
	}
	return r.Reason
}
