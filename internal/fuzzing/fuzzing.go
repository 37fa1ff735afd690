// Package fuzzing holds what lagoon's fuzz targets share: seeding from
// real files and the per-input bounds every target asserts.
package fuzzing

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Budget is the time one input may take in any target. Generous: a fuzz
// worker shares the machine with others; a parser that loops for ever
// blows through it all the same.
const Budget = 5 * time.Second

// MaxInput bounds the inputs a target looks at (larger ones are skipped),
// so that memory per input stays bounded.
const MaxInput = 1 << 20

// SeedFiles adds the content of every file matching the globs (relative
// to the package) as a seed.
func SeedFiles(f *testing.F, globs ...string) {
	f.Helper()
	for _, g := range globs {
		paths, err := filepath.Glob(g)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			if len(b) <= MaxInput {
				f.Add(b)
			}
		}
	}
}

// Within runs fn and fails t when it takes longer than Budget. fn runs on
// the test's goroutine, so a panic in it fails the target as a crasher.
func Within(t *testing.T, what string, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	if took := time.Since(start); took > Budget {
		t.Fatalf("%s took %s (budget %s)", what, took, Budget)
	}
}
