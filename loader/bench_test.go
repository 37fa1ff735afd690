package loader_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// BenchmarkLoadDir loads the Parquet files of the directory named by
// LAGOON_BENCH_LOAD_DIR (bench/load -keep leaves them in src/) into a new
// table of a fresh local lake, once per iteration: the loader alone, for
// profiles (-cpuprofile). Without the variable it is skipped.
func BenchmarkLoadDir(b *testing.B) {
	dir := os.Getenv("LAGOON_BENCH_LOAD_DIR")
	if dir == "" {
		b.Skip("LAGOON_BENCH_LOAD_DIR is not set")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no Parquet files in %s (%v)", dir, err)
	}
	var bytes int64
	for b.Loop() {
		b.StopTimer()
		l := lakefixture.Open(b)
		bytes = 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			bytes += int64(len(data))
			lakefixture.Drop(b, l, "load/bench/invoices/"+filepath.Base(f), data)
		}
		ld := newLoader(b, l)
		b.StartTimer()
		loadAll(b, ld)
	}
	b.SetBytes(bytes)
}
