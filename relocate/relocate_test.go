package relocate_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/loadfixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/relocate"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// madeLake is a lake at dir with a table db.t of 3 commits (10 rows).
func madeLake(tb testing.TB, dir string) {
	tb.Helper()
	l := lakefixture.OpenAt(tb, dir)
	for i, n := range []int{3, 3, 4} {
		lakefixture.Drop(tb, l, "load/db/t/f"+string(rune('a'+i))+".parquet", lakefixture.ParquetBytes(tb, lakefixture.Ints(i*3, n)))
		loadfixture.Load(tb, l)
	}
}

func copyDir(tb testing.TB, from, to string) {
	tb.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		tb.Fatalf("cp: %v %s", err, out)
	}
}

// assertRebased fails when the lake at dir still names files under old:
// its table's location, its data files (read through its manifest list
// and manifests) and its metadata files.
func assertRebased(tb testing.TB, dir, old string) {
	tb.Helper()
	ctx := context.Background()
	l := lakefixture.OpenAt(tb, dir)
	ref, _ := lake.ParseTableRef("db.t")
	tbl, err := l.LoadTable(ctx, ref)
	if err != nil {
		tb.Fatal(err)
	}
	if tbl.Location() != l.Store.URL("stg/db/t") {
		tb.Errorf("table location %s, want %s", tbl.Location(), l.Store.URL("stg/db/t"))
	}
	files, err := lake.DataFiles(ctx, tbl)
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasPrefix(f, l.Store.URL("")+"/") {
			tb.Errorf("data file %s is not in the lake", f)
		}
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*", "metadata", "*.json"))
	sides, _ := filepath.Glob(filepath.Join(dir, "*", "*", "metadata", "*.json"))
	for _, p := range append(metas, sides...) {
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(old+"/")) {
			tb.Errorf("%s names %s", p, old)
		}
	}
	if len(metas) == 0 {
		tb.Error("no metadata files found")
	}
}

// TestCopiedLakeIsItsOwn: a lake folder copied whole is relocated: its
// tables read the copy's files, a write to the copy leaves the original
// byte for byte as it was, and the copy has an id of its own.
func TestCopiedLakeIsItsOwn(t *testing.T) {
	orig := filepath.Join(t.TempDir(), "lake")
	madeLake(t, orig)
	before := lakefixture.TreeDigest(t, orig)
	cp := filepath.Join(t.TempDir(), "copy")
	copyDir(t, orig, cp)
	st, err := lake.NewLocal(cp)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := relocate.Run(context.Background(), st, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if !rep.Copy || rep.Tables != 1 || rep.Files < 7 || len(rep.Missing) != 0 {
		t.Errorf("report %+v; want a copy, 1 table, 3 manifests + 3 lists + the metadata files", rep)
	}
	c := lakefixture.OpenAt(t, cp)
	if c.IdentityErr != nil || c.Identity.ID == lakefixture.OpenAt(t, orig).Identity.ID {
		t.Fatalf("copy's identity %+v, %v: want its own id", c.Identity, c.IdentityErr)
	}
	assertRebased(t, cp, orig)
	lakefixture.Drop(t, c, "load/db/t/more.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(100, 5)))
	loadfixture.Load(t, c)
	if n := len(lakefixture.Rows(t, c, "db.t")); n != 15 {
		t.Errorf("copy has %d rows, want 15", n)
	}
	if lakefixture.TreeDigest(t, orig) != before {
		t.Error("the original changed")
	}
	if n := len(lakefixture.Rows(t, lakefixture.OpenAt(t, orig), "db.t")); n != 10 {
		t.Errorf("original has %d rows, want 10", n)
	}
}

// TestMovedLakeKeepsItsID: a lake folder moved is relocated and keeps its
// id; relocating again does nothing.
func TestMovedLakeKeepsItsID(t *testing.T) {
	orig := filepath.Join(t.TempDir(), "lake")
	madeLake(t, orig)
	id := lakefixture.OpenAt(t, orig).Identity.ID
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(orig, moved); err != nil {
		t.Fatal(err)
	}
	st, _ := lake.NewLocal(moved)
	rep, err := relocate.Run(context.Background(), st, quiet())
	if err != nil || rep.Copy || rep.ID != id || rep.Tables != 1 {
		t.Fatalf("report %+v, %v; want a move keeping id %s", rep, err, id)
	}
	if rep, err := relocate.Run(context.Background(), st, quiet()); err != nil || rep.Tables != 0 {
		t.Errorf("again: %+v, %v; want nothing to do", rep, err)
	}
	m := lakefixture.OpenAt(t, moved)
	if m.IdentityErr != nil || m.Identity.ID != id {
		t.Fatalf("moved identity %+v, %v", m.Identity, m.IdentityErr)
	}
	assertRebased(t, moved, orig)
	if n := len(lakefixture.Rows(t, m, "db.t")); n != 10 {
		t.Errorf("moved lake has %d rows, want 10", n)
	}
}

// TestRelocationCutShortResumes: a relocation stopped before any of its
// writes (each file, the catalog, the identity) finishes when run again,
// and the copy is whole: every table reads its own files, the original
// is untouched.
func TestRelocationCutShortResumes(t *testing.T) {
	orig := filepath.Join(t.TempDir(), "lake")
	madeLake(t, orig)
	before := lakefixture.TreeDigest(t, orig)
	for cut := 0; ; cut++ {
		cp := filepath.Join(t.TempDir(), "copy")
		copyDir(t, orig, cp)
		st, _ := lake.NewLocal(cp)
		relocate.CutAfter(t, cut)
		_, err := relocate.Run(context.Background(), st, quiet())
		relocate.CutAfter(t, -1)
		if err == nil {
			if cut < 8 {
				t.Fatalf("relocation took %d writes; want at least 8", cut)
			}
			t.Logf("cut at each of %d writes", cut)
			break
		}
		if !errors.Is(err, relocate.ErrCut) {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if _, err := relocate.Run(context.Background(), st, quiet()); err != nil {
			t.Fatalf("cut %d: resumed: %v", cut, err)
		}
		assertRebased(t, cp, orig)
		c := lakefixture.OpenAt(t, cp)
		if c.IdentityErr != nil || c.Identity.ID == lakefixture.OpenAt(t, orig).Identity.ID {
			t.Fatalf("cut %d: copy's identity %+v, %v", cut, c.Identity, c.IdentityErr)
		}
		if n := len(lakefixture.Rows(t, c, "db.t")); n != 10 {
			t.Fatalf("cut %d: copy has %d rows", cut, n)
		}
	}
	if lakefixture.TreeDigest(t, orig) != before {
		t.Error("the original changed")
	}
}

// TestLakeInUseIsNotRelocated: a copied lake another lagoon process holds
// (the same folder reached by another path: a container's mount) is not
// relocated under it.
func TestLakeInUseIsNotRelocated(t *testing.T) {
	orig := filepath.Join(t.TempDir(), "lake")
	madeLake(t, orig)
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(orig, moved); err != nil {
		t.Fatal(err)
	}
	st, _ := lake.NewLocal(moved)
	held, err := lake.LockLocal(st)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	if _, err := relocate.Run(context.Background(), st, quiet()); !errors.Is(err, lake.ErrLocked) {
		t.Errorf("relocating a lake in use: %v, want lake.ErrLocked", err)
	}
}
