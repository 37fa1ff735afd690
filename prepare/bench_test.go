package prepare_test

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/lagoon-dev/lagoon/prepare"
)

// discard is a sink that throws the Parquet away: benchmarks measure the
// conversion, not the disk.
type discard struct{}

func (discard) Create(int) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }
func (discard) Reset() error                       { return nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// benchConvert converts the file named by env (a feed from
// ../shared/bench/gen, e.g. LAGOON_BENCH_NDJSON=/tmp/feed.ndjson).
func benchConvert(b *testing.B, env string) {
	path := os.Getenv(env)
	if path == "" {
		b.Skipf("set %s to a feed file from ../shared/bench/gen", env)
	}
	src, err := prepare.LocalSource(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(src.Size)
	var rows int64
	for b.Loop() {
		res, err := prepare.Convert(context.Background(), []prepare.Source{src}, discard{}, prepare.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		rows += res.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkConvertNDJSON(b *testing.B) { benchConvert(b, "LAGOON_BENCH_NDJSON") }
func BenchmarkConvertCSV(b *testing.B)    { benchConvert(b, "LAGOON_BENCH_CSV") }
