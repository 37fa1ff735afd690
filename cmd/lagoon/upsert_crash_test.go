package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestUpsertCrashExactlyOnce SIGKILLs the daemon again and again while
// overlapping files of an upserted table arrive (file i holds ids
// 10i…10i+19 at version i, so each id comes twice), some of them twice.
// In the end each id is in the table once, at its newest version — read
// by DuckDB applying the delete files — and load/ and the intents are
// empty.
func TestUpsertCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	const files, kills = 60, 30
	root := t.TempDir()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	ref := lake.TableRef{DB: "crash", Table: "upserts"}
	lakefixture.DropFile(t, filepath.Join(root, contract.Key(ref)), []byte("keys: [id]\norder_by: version\n"))
	sc := lakefixture.Schema("id", arrow.PrimitiveTypes.Int64, "version", arrow.PrimitiveTypes.Int64)
	var keys []string
	var bodies [][]byte
	for i := range files {
		var rows []string
		for id := 10 * i; id < 10*i+20; id++ {
			rows = append(rows, fmt.Sprintf(`{"id":%d,"version":%d}`, id, i))
		}
		body := lakefixture.Parquet(t, sc, "["+strings.Join(rows, ",")+"]")
		keys, bodies = append(keys, fmt.Sprintf("load/crash/upserts/f%04d.parquet", i)), append(bodies, body)
		if i%7 == 3 { // sent again, later, under another name
			keys, bodies = append(keys, fmt.Sprintf("load/crash/upserts/again%04d.parquet", i)), append(bodies, body)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { dropKeys(ctx, t, root, keys, bodies) })
	killRepeatedly(t, rng, kills, "run", "--root", root, "--settle", "0", "--max-batch-files", "3", "--rescan", "500ms",
		"--side-every", "150ms", "--dedupe-window", "0")
	wg.Wait()
	code, out, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0", "--log-level", "error",
		"--orphan-age", "1ms", "--dedupe-window", "0")
	if code != exitOK {
		t.Fatalf("final run --once exit %d: %s %s", code, out, errOut)
	}
	var want []string
	for id := range 10*(files-1) + 20 {
		want = append(want, fmt.Sprintf("%d@%d", id, min(id/10, files-1)))
	}
	slices.Sort(want)
	l := lakefixture.OpenAt(t, root)
	got := lakefixture.DuckApplyingDeletes(t, l, "crash.upserts", []string{"id"}, "d.id::VARCHAR || '@' || d.version::VARCHAR")
	if !slices.Equal(got, want) {
		t.Errorf("DuckDB reads %d rows, want %d, one per id at its newest version; first differences: %s", len(got), len(want), firstDiff(got, want))
	}
	assertNothingLeft(t, l)
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: %s, want %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

// assertNothingLeft: load/ and the intents are empty.
func assertNothingLeft(tb testing.TB, l *lake.Lake) {
	tb.Helper()
	for _, p := range []string{"load/", "tmp/lagoon/intents/"} {
		for info, err := range l.Store.List(context.Background(), p) {
			if err == nil && !lake.Ignored(info.Key) {
				tb.Errorf("left behind: %s", info.Key)
			}
		}
	}
}
