//go:build linux

package events_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/events"
)

// TestLocalReportsClosedFiles: on Linux the local watcher says when a
// file's writer closed it, or when it was renamed into place — and never
// of a file still open for writing.
func TestLocalReportsClosedFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "load", "db", "t")
	if err := os.MkdirAll(dir, 0o755); err != nil { // watched before ready
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := events.NewLocal(root, events.LocalConfig{Prefixes: []string{"load/"}, Rescan: time.Hour}, log)
	ready := make(chan struct{})
	w.OnReady(func() { close(ready) })
	out := make(chan events.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx, out) })
	defer func() { cancel(); wg.Wait() }()
	<-ready
	open, err := os.Create(filepath.Join(dir, "open.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	open.WriteString("still writing")
	if err := os.WriteFile(filepath.Join(dir, "closed.parquet"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(root, "load", "db", ".moved.tmp")
	if err := os.WriteFile(tmp, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "moved.parquet")); err != nil {
		t.Fatal(err)
	}
	closed := map[string]bool{}
	deadline := time.After(5 * time.Second)
	for !closed["load/db/t/closed.parquet"] || !closed["load/db/t/moved.parquet"] {
		select {
		case ev := <-out:
			if ev.Closed {
				closed[ev.Key] = true
			}
		case <-deadline:
			t.Fatalf("closed events: %v", closed)
		}
	}
	if closed["load/db/t/open.parquet"] {
		t.Fatal("a file still open for writing was reported closed")
	}
}
