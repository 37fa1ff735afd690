package loader_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

// TestGlueConcurrentCommits: two loaders, each with its own Glue client,
// append different files to one table at the same time, round after round,
// through a proxy that enforces Glue's VersionId locking. Conflicts happen
// and are retried; no commit is lost.
func TestGlueConcurrentCommits(t *testing.T) {
	moto := lakefixture.Moto(t)
	proxy := lakefixture.NewGlueProxy(t, moto)
	t.Setenv("AWS_ENDPOINT_URL_GLUE", proxy.URL)
	lakefixture.Bucket(t, lakefixture.S3Client(t), "glue-race")
	ctx := context.Background()
	cfg := lake.Config{Root: "s3://glue-race/lake", S3PathStyle: true}
	open := func() *loader.Loader {
		l, err := lake.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return newLoader(t, l)
	}
	a, b := open(), open()
	l, err := lake.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ref := lake.TableRef{DB: "db", Table: "t"}
	const rounds, rows = 8, 25
	for r := range rounds {
		for i, side := range []string{"a", "b"} {
			key := fmt.Sprintf("load/db/t/%s/r%02d.parquet", side, r)
			body := lakefixture.ParquetBytes(t, lakefixture.Ints((r*2+i)*rows, rows))
			if err := l.Store.Put(ctx, key, bytesReader(body)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for i, ld := range []*loader.Loader{a, b} {
			dir := []string{"load/db/t/a/", "load/db/t/b/"}[i]
			wg.Go(func() {
				if res, err := ld.LoadTable(ctx, ref, []string{dir}); err != nil || res.Files != 1 {
					t.Errorf("round %d %s: %+v %v", r, dir, res, err)
				}
			})
		}
		wg.Wait()
	}
	if n := len(lakefixture.Rows(t, l, "db.t")); n != rounds*2*rows {
		t.Errorf("table holds %d rows, want %d", n, rounds*2*rows)
	}
	if proxy.Conflicts.Load() == 0 {
		t.Errorf("no VersionId conflict happened: the test did not exercise the retry")
	}
	t.Logf("%d VersionId conflicts retried", proxy.Conflicts.Load())
}
