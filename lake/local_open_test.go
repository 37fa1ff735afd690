package lake_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// TestLocalOpenRefusesWhatIsNotAFile: a symbolic link to nothing, a
// directory and a named pipe no one writes to (which a plain open would
// block on for ever) under a file's key each fail at once with
// ErrUnreadable; a missing key is ErrNotExist; a link to a file opens.
func TestLocalOpenRefusesWhatIsNotAFile(t *testing.T) {
	root := t.TempDir()
	st, err := lake.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "prepare", "db", "t")
	if err := os.MkdirAll(filepath.Join(dir, "folder.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(dir, "dangling.csv")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.csv"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "real.csv"), []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "real.csv"), filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want error
	}{{"dangling.csv", lake.ErrUnreadable}, {"folder.csv", lake.ErrUnreadable}, {"pipe.csv", lake.ErrUnreadable},
		{"missing.csv", lake.ErrNotExist}, {"link.csv", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				obj, err := st.Open(context.Background(), "prepare/db/t/"+tc.name)
				if err == nil {
					obj.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
					t.Errorf("open: %v, want %v", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("open blocked")
			}
		})
	}
}

// TestOpenForWriting: a file some process holds open for writing is
// found (a writer still at work), one held open for reading only is not.
func TestOpenForWriting(t *testing.T) {
	if _, err := os.Stat("/proc/self/fdinfo"); err != nil {
		t.Skip("no /proc here")
	}
	st, err := lake.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, k := range []string{"prepare/db/t/w.json", "prepare/db/t/r.json"} {
		if err := st.Put(ctx, k, strings.NewReader("{}")); err != nil {
			t.Fatal(err)
		}
	}
	w, err := os.OpenFile(st.Path("prepare/db/t/w.json"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := os.Open(st.Path("prepare/db/t/r.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := st.OpenForWriting(ctx)
	if err != nil || !got["prepare/db/t/w.json"] || got["prepare/db/t/r.json"] {
		t.Errorf("open for writing = %v, %v; want w.json only", got, err)
	}
}
