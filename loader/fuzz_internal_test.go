package loader

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/pqcompat"
	"github.com/lagoon-dev/lagoon/pqcopy"
)

// FuzzOpenParquet: opening a file dropped under load/ and reading every
// row of it — arrow-go's footer and schema reading included — ends in a
// source or an error on any bytes; a panic inside arrow-go comes back as
// the file's *lake.FileError (lake.ErrInternal, which rejects it), never a
// crash. With LAGOON_FUZZ_STRICT=1 such a panic fails the target too, to
// list the inputs that make arrow-go panic. A file that decodes is copied
// too, when its columns fit (see checkCopy). Inputs that took the process
// down (../testdata/hostile-footers/) are seeds.
func FuzzOpenParquet(f *testing.F) {
	fuzzing.SeedFiles(f, "../testdata/parquet-testing/*.parquet", "../testdata/hostile-footers/*.parquet")
	st, err := lake.NewLocal(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	strict := os.Getenv("LAGOON_FUZZ_STRICT") == "1"
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		err := openAndRead(t, st, b)
		_, settled := blamed(err) // a rejection, or a recovered panic the strike book rejects
		if err != nil && (!settled || strict && errors.Is(err, lake.ErrInternal)) {
			t.Fatalf("open: %v\n%s", err, lake.StackOf(err))
		}
	})
}

func openAndRead(t *testing.T, st *lake.Local, b []byte) error {
	ctx := context.Background()
	const key = "load/f/t/x.parquet"
	if err := os.MkdirAll(st.Path("load/f/t"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.Path(key), b, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := st.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := lake.ParseKey(key)
	var s *source
	fuzzing.Within(t, "openSource", func() { s, err = openSource(ctx, st, info, k, sourceOptions{}) })
	if err != nil {
		return err
	}
	defer s.close()
	sc, err := s.icebergSchema()
	if err != nil {
		return reject(key, "unsupported schema", err)
	}
	fuzzing.Within(t, "decodeAll", func() { err = s.decodeAll(ctx, iceberg.NewSchema(0, sc.Fields()...)) })
	if err == nil {
		fuzzing.Within(t, "copy", func() { checkCopy(t, s, sc) })
	}
	return err
}

// checkCopy copies a file that decodes, if its plan fits: the copy is
// refused as unfit, or it reads back whole, every row there.
func checkCopy(t *testing.T, s *source, sc *iceberg.Schema) {
	plan, ok := s.copyPlan(sc, time.Unix(1, 0))
	if !ok {
		return
	}
	var out bytes.Buffer
	part := pqcopy.Part{Source: pqcopy.Source{R: s.obj, Size: s.info.Size, File: s.pf}, Plan: plan}
	if _, err := pqcopy.Write(context.Background(), &out, part); err != nil {
		if !errors.Is(err, pqcopy.ErrUnfit) {
			t.Fatalf("copy: %v", err)
		}
		return
	}
	pf, _, err := pqcompat.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()), memoryPool)
	if err != nil {
		t.Fatalf("the copy does not open: %v", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memoryPool)
	if err != nil {
		t.Fatalf("the copy's schema: %v", err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("the copy does not read back: %v", err)
	}
	defer tbl.Release()
	if tbl.NumRows() != s.rows {
		t.Fatalf("the copy reads back %d rows of %d", tbl.NumRows(), s.rows)
	}
}
