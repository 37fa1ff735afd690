package loader_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

// TestBadFiles: each kind of bad file is rejected under log/ with its
// reason; a good file of the same table still loads.
func TestBadFiles(t *testing.T) {
	good := lakefixture.ParquetBytes(t, lakefixture.Ints(0, 100))
	empty := lakefixture.Parquet(t, sch("id", i64), `[]`)
	cases := []struct {
		name, key string
		body      []byte
		reason    string
	}{
		{"empty", "load/db/t/empty.parquet", nil, "empty file"},
		{"zero rows", "load/db/t/zero.parquet", empty, "no rows"},
		{"not parquet", "load/db/t/text.parquet", []byte("id,name\n1,a\n"), "not a readable Parquet file"},
		{"binary junk", "load/db/t/junk.parquet", lakefixture.Junk(0, 4096), "not a readable Parquet file"},
		{"truncated", "load/db/t/trunc.parquet", good[:len(good)/2], "not a readable Parquet file"},
		{"corrupt pages", "load/db/t/corrupt.parquet", corruptPages(good), "cannot read the file's data"},
		{"wrong extension", "load/db/t/data.csv", []byte("id\n1\n"), "Parquet files (.parquet) only"},
		{"file under the database folder", "load/db/stray.parquet", good, "files go under load/<db>/<table>/"},
		{"file straight under load", "load/stray.parquet", good, "files go under load/<db>/<table>/"},
		{"table name that does not normalise", "load/db/--/x.parquet", good, "no letters or digits"},
		{"name starting with a digit", "load/2024/t/x.parquet", good, "must start with a letter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := lakefixture.Open(t)
			lakefixture.Drop(t, l, tc.key, tc.body)
			lakefixture.Drop(t, l, "load/db/t/good.parquet", good)
			res := loadAll(t, newLoader(t, l))
			if res.Files != 1 || res.Rows != 100 || len(res.Rejected) != 1 {
				t.Fatalf("result = %+v, want the good file loaded and one rejection", res)
			}
			if !strings.Contains(res.Rejected[0].Reason, tc.reason) {
				t.Errorf("reason = %q, want %q", res.Rejected[0].Reason, tc.reason)
			}
			assertRejected(t, l, tc.key, tc.reason)
			if n := len(lakefixture.Rows(t, l, "db.t")); n != 100 {
				t.Errorf("table rows = %d, want 100", n)
			}
		})
	}
}

// TestBadFirstFileCreatesNoTable: a file that cannot be read through does
// not leave an empty table behind.
func TestBadFirstFileCreatesNoTable(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "load/db/t/corrupt.parquet", corruptPages(lakefixture.ParquetBytes(t, lakefixture.Ints(0, 100))))
	res := loadAll(t, newLoader(t, l))
	if len(res.Rejected) != 1 {
		t.Fatalf("result = %+v", res)
	}
	if _, err := l.LoadTable(context.Background(), lake.TableRef{DB: "db", Table: "t"}); !lake.IsNoSuchTable(err) {
		t.Errorf("table exists after its only file was rejected: %v", err)
	}
}

func TestRejectKeepsEarlierRejectsOfTheSameKey(t *testing.T) {
	l := lakefixture.Open(t)
	ld := newLoader(t, l)
	for range 2 {
		lakefixture.Drop(t, l, "load/db/t/x.parquet", []byte("junk"))
		if res := loadAll(t, ld); len(res.Rejected) != 1 {
			t.Fatalf("result = %+v", res)
		}
	}
	entries, err := os.ReadDir(filepath.Join(lakefixture.Root(l), "log/rejected/load/db/t"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 { // two files, two reasons
		t.Errorf("log/rejected holds %d entries, want 4", len(entries))
	}
}

// corruptPages overwrites the middle of the data pages, keeping the header
// magic and the footer intact, so the file opens but its data cannot be
// decoded.
func corruptPages(good []byte) []byte {
	b := append([]byte(nil), good...)
	copy(b[8:len(b)/3], lakefixture.Junk(0, len(b)/3-8))
	return b
}

// TestFileBadMidBatch: a file whose pages fail after good files of its
// batch went to the writer is rejected; the batch commits without it and
// leaves no stray data file. (Orphans of killed attempts are covered by
// the crash test in cmd/lagoon.)
func TestFileBadMidBatch(t *testing.T) {
	l := lakefixture.Open(t)
	good := lakefixture.ParquetBytes(t, lakefixture.Ints(0, 100))
	lakefixture.Drop(t, l, "load/db/t/a.parquet", good)
	lakefixture.Drop(t, l, "load/db/t/b.parquet", good)
	lakefixture.Drop(t, l, "load/db/t/c.parquet", corruptPages(good))
	lakefixture.Drop(t, l, "load/db/t/0-first.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(100, 1)))
	res := loadAll(t, newLoader(t, l, func(c *loader.Config) { c.CleanOrphans = true }))
	if res.Files != 3 || res.Rows != 201 || len(res.Rejected) != 1 || res.Rejected[0].Key != "load/db/t/c.parquet" {
		t.Fatalf("result = %+v", res)
	}
	lakefixture.AssertNoOrphans(t, l, lake.TableRef{DB: "db", Table: "t"})
}
