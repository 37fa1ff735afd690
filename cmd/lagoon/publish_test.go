package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
	"github.com/lagoon-dev/lagoon/prepare"
)

// TestHalfPublishedOutputsWait: on a store whose renames are a copy and a
// delete (S3), prepare is stopped between the two while publishing — its
// output is at the final name and still at the temp one. The loader must
// leave that output alone; recovery finishes publishing; the rows load
// once. The same for a Parquet file passed through prepare/.
func TestHalfPublishedOutputsWait(t *testing.T) {
	for _, tc := range []struct{ name, key string }{
		{"converted", "prepare/db/t/a.csv"},
		{"passed through", "prepare/db/t/x=1/a.parquet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l := lakefixture.Open(t)
			body := []byte("id\n1\n2\n3\n")
			if strings.HasSuffix(tc.key, ".parquet") {
				body = lakefixture.ParquetBytes(t, lakefixture.Ints(1, 3))
			}
			lakefixture.Drop(t, l, tc.key, body)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			pcfg := prepare.DefaultStageConfig()
			pcfg.Settle = 0
			faulty := &lakefixture.FaultyStore{Store: l.Store, FailRename: func(from, to string) bool {
				return strings.HasPrefix(to, "load/")
			}}
			ref := lake.TableRef{DB: "db", Table: "t"}
			if _, err := prepare.NewStage(faulty, l.Catalog, pcfg, log).Process(ctx, ref, []string{"prepare/db/"}); err == nil {
				t.Fatal("the injected failure did not surface")
			}
			lcfg := loader.DefaultConfig()
			lcfg.Settle = 0
			ld := loader.New(l.Store, l.Catalog, lcfg, log)
			res, err := ld.LoadTable(ctx, ref, []string{"load/db/t/"})
			if err != nil || res.Files != 0 || res.Waiting != 1 {
				t.Fatalf("loader took a half-published output: %+v %v", res, err)
			}
			if err := prepare.NewStage(l.Store, l.Catalog, pcfg, log).Recover(ctx); err != nil {
				t.Fatal(err)
			}
			if res, err = ld.LoadTable(ctx, ref, []string{"load/db/t/"}); err != nil || res.Files != 1 {
				t.Fatalf("after recovery: %+v %v", res, err)
			}
			if n := len(lakefixture.Rows(t, l, "db.t")); n != 3 {
				t.Errorf("rows = %d, want 3", n)
			}
			if lakefixture.Exists(l, tc.key) {
				t.Errorf("%s still in prepare/", tc.key)
			}
		})
	}
}
