package loader

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/apache/iceberg-go"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/lake"
)

// FuzzOpenParquet: opening a file dropped under load/ and reading every
// row of it — arrow-go's footer and schema reading included — ends in a
// source or an error on any bytes; a panic inside arrow-go comes back as
// the file's *lake.FileError (lake.ErrInternal, which rejects it), never a
// crash. With LAGOON_FUZZ_STRICT=1 such a panic fails the target too, to
// list the inputs that make arrow-go panic. Inputs that took the process
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
	return err
}
