package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestFileModesFollowUmask: every file lagoon makes — data files (hard
// links too), metadata and version hints, trail records, rejected files'
// reasons, prepare's outputs, convert's output — has mode 0666 less the
// umask, like the rest of the user's files (os.CreateTemp's 0600 was
// used before).
func TestFileModesFollowUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "prepare/db/a/x.ndjson"), []byte(`{"id":1}`+"\n"))
	lakefixture.DropFile(t, filepath.Join(root, "prepare/db/a/bad.csv"), []byte(""))
	lakefixture.DropFile(t, filepath.Join(root, "load/db/b/y.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	runOnce(t, root, exitRejected)
	out := filepath.Join(t.TempDir(), "c.parquet")
	in := filepath.Join(t.TempDir(), "c.csv")
	os.WriteFile(in, []byte("a\n1\n"), 0o640)
	if code, _, errOut := lagoon(t, "convert", in, "--out", out); code != exitOK {
		t.Fatalf("convert: %d %s", code, errOut)
	}
	n := 0
	for _, dir := range []string{root, filepath.Dir(out)} {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || p == in {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			n++
			if mode := info.Mode().Perm(); mode != 0o640 {
				t.Errorf("%s: mode %o, want 0640 (0666 less the umask 027)", p, mode)
			}
			return nil
		})
	}
	if n < 10 {
		t.Errorf("only %d files looked at", n)
	}
}
