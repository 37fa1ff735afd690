package prepare_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lagoon-dev/lagoon/prepare"
)

// BenchmarkConvert converts $LAGOON_BENCH_INPUT (a feed from
// ../shared/bench/gen) to Parquet; skipped when it is not set.
func BenchmarkConvert(b *testing.B) {
	in := os.Getenv("LAGOON_BENCH_INPUT")
	if in == "" {
		b.Skip("set LAGOON_BENCH_INPUT to a file made by ../shared/bench/gen")
	}
	src, err := prepare.LocalSource(in)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(src.Size)
	for b.Loop() {
		sink := &prepare.FileSink{Path: filepath.Join(b.TempDir(), "out.parquet")}
		if _, err := prepare.Convert(context.Background(), []prepare.Source{src}, sink, prepare.DefaultOptions()); err != nil {
			b.Fatal(err)
		}
		sink.Reset()
	}
}
