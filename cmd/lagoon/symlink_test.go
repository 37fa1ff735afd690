package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestSymlinkedFilesLoadOnce: a symbolic link dropped into prepare/ or
// load/ is followed — its target's rows load, once — and the link, not
// the target, is what leaves the zone. (It once loaded again on every
// sweep: List saw the link's size and mtime, Stat the target's.)
func TestSymlinkedFilesLoadOnce(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	elsewhere := t.TempDir()
	targets := map[string][]byte{
		"x.ndjson":  []byte("{\"id\":1}\n"),
		"y.parquet": lakefixture.ParquetBytes(t, lakefixture.Ints(5, 3)),
	}
	for name, body := range targets {
		p := filepath.Join(elsewhere, name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Minute)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"prepare/db/j/link.ndjson": "x.ndjson", "load/db/p/link.parquet": "y.parquet"}
	for key, target := range links {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, key)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(elsewhere, target), filepath.Join(root, key)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitOK {
			t.Fatalf("run %d: %d %s %s", i, code, out, errOut)
		}
	}
	if n := len(lakefixture.Rows(t, l, "db.j")); n != 1 {
		t.Errorf("db.j rows = %d, want 1", n)
	}
	if n := len(lakefixture.Rows(t, l, "db.p")); n != 3 {
		t.Errorf("db.p rows = %d, want 3", n)
	}
	for key, target := range links {
		if _, err := os.Lstat(filepath.Join(root, key)); !os.IsNotExist(err) {
			t.Errorf("%s is still in place: %v", key, err)
		}
		if _, err := os.Stat(filepath.Join(elsewhere, target)); err != nil {
			t.Errorf("the link's target %s: %v", target, err)
		}
	}
}
