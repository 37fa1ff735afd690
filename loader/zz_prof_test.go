package loader_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

func BenchmarkZZLoad(b *testing.B) {
	src, _ := filepath.Glob("/tmp/lagoon-bench-3614244310/src/*.parquet")
	for range b.N {
		b.StopTimer()
		l := lakefixture.Open(b)
		for _, f := range src {
			body, _ := os.ReadFile(f)
			lakefixture.Drop(b, l, "load/bench/inv/"+filepath.Base(f), body)
		}
		b.StartTimer()
		loadAll(b, newLoader(b, l))
	}
}
