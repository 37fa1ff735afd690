package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestReuploadsAreSkipped: a file whose content its table took in already
// — dropped again under the same name or another, into prepare/ or load/,
// or twice in one batch — is not loaded again: it is deleted, counted in
// the summary and recorded in the trail as skipped_duplicate (naming the
// earlier file). The same bytes into another table load; with
// --dedupe-window 0 they load again.
func TestReuploadsAreSkipped(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	run := func(wantSkipped int, args ...string) {
		t.Helper()
		out := runOnce(t, root, exitOK, args...)
		if got := strings.Contains(out, "skipped"); got != (wantSkipped > 0) || wantSkipped > 0 && !strings.Contains(out, plural(wantSkipped, "duplicate")) {
			t.Errorf("summary %q: want %d skipped", out, wantSkipped)
		}
	}
	ndjson := []byte("{\"id\":1}\n{\"id\":2}\n")
	pq := lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3))
	drop := func(key string, body []byte) { lakefixture.DropFile(t, filepath.Join(root, key), body) }

	drop("prepare/db/d/a.ndjson", ndjson)
	drop("load/db/p/x.parquet", pq)
	run(0)
	drop("prepare/db/d/a.ndjson", ndjson) // the same file again
	drop("prepare/db/d/b.ndjson", ndjson) // under another name
	drop("load/db/p/y.parquet", pq)
	run(3)
	drop("prepare/db/e/a.ndjson", ndjson) // another table
	drop("prepare/db/d/c.ndjson", []byte("{\"id\":3}\n"))
	drop("prepare/db/d/c2.ndjson", []byte("{\"id\":3}\n")) // twice in one batch
	run(1)
	for table, want := range map[string]int{"db.d": 3, "db.p": 3, "db.e": 2} {
		if n := len(lakefixture.Rows(t, l, table)); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	for _, k := range []string{"prepare/db/d/a.ndjson", "prepare/db/d/b.ndjson", "load/db/p/y.parquet", "prepare/db/d/c2.ndjson"} {
		if lakefixture.Exists(l, k) {
			t.Errorf("%s is still in place", k)
		}
	}
	code, out, errOut := lagoon(t, "trail", "list", "--root", root, "--kind", "skipped_duplicate", "--json")
	if code != exitOK {
		t.Fatalf("trail: %d %s", code, errOut)
	}
	var recs []struct{ Key, Detail string }
	if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != 4 {
		t.Fatalf("skipped_duplicate records: %v %s", err, out)
	}
	if !strings.Contains(recs[0].Detail, "same content as prepare/db/d/a.ndjson") {
		t.Errorf("record = %+v", recs[0])
	}
	drop("load/db/p/z.parquet", pq)
	run(0, "--dedupe-window", "0")
	if n := len(lakefixture.Rows(t, l, "db.p")); n != 6 {
		t.Errorf("db.p with dedupe off: %d rows, want 6", n)
	}
}
